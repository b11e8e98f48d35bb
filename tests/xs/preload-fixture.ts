/*
 * A module that the test module map preloads (tools/build/firmware.ts), so
 * tests/xs/preload.test.ts can show what the host's preload-and-freeze does
 * to state a preloaded module made, as mcconfig's linker does on the device.
 */

export class AssignedNameError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "AssignedNameError"; // the override mistake: throws once Error.prototype is frozen
	}
}

export class FieldNameError extends Error {
	override readonly name = "FieldNameError";
}

export class Counter {
	static made = 0;
	count = 0;
	bump(): number {
		return ++this.count;
	}
}

export const table = new Map<string, number>([["one", 1]]);
export const bytes = new Uint8Array([1, 2, 3]);
export const settings: { level: number; extra?: string } = { level: 1 };
export const list: number[] = [1, 2];
export const frozen = Object.freeze({ level: 1 });

let counter = 0;
let handler: () => string = () => "preloaded";

export function increment(): number {
	return ++counter;
}

export function replaceHandler(next: () => string): void {
	handler = next;
}

export function callHandler(): string {
	return handler();
}

export class Keeper {
	#secret = 1;
	get secret(): number {
		return this.#secret;
	}
	set secret(value: number) {
		this.#secret = value;
	}
}

// Frozen in the module: on the device its private field then goes to flash read-only too.
export const kept = new Keeper();
Object.freeze(kept);
export const open = new Keeper();
