/*
 * NOR flash in memory, for unit tests of the stores on Node: 4 KiB sectors,
 * erase to 0xFF, writes that only clear bits, bounds checked, and an optional
 * power cut after a given number of write/erase operations.
 *
 * What the cut operation leaves (`tear`): "none", nothing of it; "half", its
 * first half, as the simulator host's DOORWARD_FLASH_CUT_AFTER does; "bits",
 * what a real chip may leave, a random part of its bits anywhere in its range
 * (a write cut short has cleared some of the bits it clears, an erase cut
 * short has set some of the bits it sets), from a seeded generator so that a
 * failure repeats.
 */
import type { FlashRegion } from "store/flash-region";

export class PowerCut extends Error {}

export type Tear = "none" | "half" | "bits";

export class NorFlash implements FlashRegion {
	readonly blockSize = 4096;
	readonly bytes: Uint8Array;
	operations = 0;
	cutAfter = Infinity;
	tear: Tear = "none";
	#seed: number;

	constructor(sectors: number, seed = 1) {
		this.bytes = new Uint8Array(sectors * this.blockSize).fill(0xFF);
		this.#seed = seed >>> 0 || 1;
	}

	get byteLength(): number {
		return this.bytes.length;
	}

	read(offset: number, byteLength: number): ArrayBuffer {
		this.#check(offset, byteLength);
		return this.bytes.slice(offset, offset + byteLength).buffer;
	}

	write(offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array): void {
		this.#check(offset, byteLength);
		const data = (buffer instanceof Uint8Array) ? buffer : new Uint8Array(buffer);
		this.#tick(offset, byteLength, (i) => data[i]);
		for (let i = 0; i < byteLength; i++)
			this.bytes[offset + i] &= data[i];
	}

	erase(sector: number): void {
		const offset = sector * this.blockSize;
		this.#check(offset, this.blockSize);
		this.#tick(offset, this.blockSize, undefined);
		this.bytes.fill(0xFF, offset, offset + this.blockSize);
	}

	/** Counts the operation; at the cut, leaves part of it (see `tear`) and throws. `data` is undefined for an erase. */
	#tick(offset: number, length: number, data: ((i: number) => number) | undefined): void {
		if (++this.operations <= this.cutAfter)
			return;
		// Only the operation the cut falls in is torn: after it, the power is off.
		if (this.operations > this.cutAfter + 1)
			throw new PowerCut(`power cut before operation ${this.operations}`);
		for (let i = 0; i < length; i++) {
			const old = this.bytes[offset + i];
			const full = data ? (old & data(i)) : 0xFF;
			let mask = 0;
			if (this.tear === "half")
				mask = (i < length / 2) ? 0xFF : 0;
			else if (this.tear === "bits")
				mask = this.#random() & 0xFF;
			// The bits in `mask` reached their new state; the others kept the old one.
			this.bytes[offset + i] = (full & mask) | (old & ~mask);
		}
		throw new PowerCut(`power cut at operation ${this.operations}`);
	}

	/** xorshift32: a fixed sequence for a given seed. */
	#random(): number {
		let x = this.#seed;
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		this.#seed = x >>> 0;
		return this.#seed;
	}

	#check(offset: number, length: number): void {
		if ((offset < 0) || (length < 0) || (offset + length > this.bytes.length))
			throw new RangeError(`flash: ${length} bytes at ${offset} outside ${this.bytes.length}`);
	}
}
