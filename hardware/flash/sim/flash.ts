/*
 * Moddable's `flash` module for the simulator host (see flash.c): a partition
 * of the board's partitions.csv in a file that survives restarts.
 */
import type FlashClass from "flash";

type Handle = object;

function openNative(this: unknown, name: string): Handle {
	return native("xs_flash_open").call(this, name);
}
function sizeNative(this: unknown, handle: Handle): number {
	return native("xs_flash_size").call(this, handle);
}
function readNative(this: unknown, handle: Handle, offset: number, byteLength: number): ArrayBuffer {
	return native("xs_flash_read").call(this, handle, offset, byteLength);
}
function writeNative(this: unknown, handle: Handle, offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void {
	return native("xs_flash_write").call(this, handle, offset, byteLength, buffer);
}
function eraseNative(this: unknown, handle: Handle, sector: number): void {
	return native("xs_flash_erase").call(this, handle, sector);
}

class Flash {
	#handle: Handle;

	constructor(partition: string) {
		if (typeof partition !== "string")
			throw new TypeError("flash: the simulator opens partitions by name only");
		this.#handle = openNative(partition);
	}

	get byteLength(): number {
		return sizeNative(this.#handle);
	}
	get blockSize(): number {
		return 4096;
	}

	read(offset: number, byteLength: number): ArrayBuffer {
		return readNative(this.#handle, offset, byteLength);
	}

	write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void {
		writeNative(this.#handle, offset, byteLength, buffer);
	}

	erase(sector: number): void {
		eraseNative(this.#handle, sector);
	}

	map(): never {
		throw new Error("flash: map() is not available in the simulator");
	}
}

Object.freeze(Flash.prototype);

export default Flash as unknown as typeof FlashClass;
