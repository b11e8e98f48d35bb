/*
 * NOR flash in memory, for unit tests of the stores on Node: 4 KiB sectors,
 * erase to 0xFF, writes that only clear bits, bounds checked, and an optional
 * power cut after a given number of write/erase operations.
 */
import type { FlashRegion } from "store/flash-region";

export class PowerCut extends Error {}

export class NorFlash implements FlashRegion {
	readonly blockSize = 4096;
	readonly bytes: Uint8Array;
	operations = 0;
	cutAfter = Infinity;

	constructor(sectors: number) {
		this.bytes = new Uint8Array(sectors * this.blockSize).fill(0xFF);
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
		this.#tick();
		const data = (buffer instanceof Uint8Array) ? buffer : new Uint8Array(buffer);
		for (let i = 0; i < byteLength; i++)
			this.bytes[offset + i] &= data[i];
	}

	erase(sector: number): void {
		this.#check(sector * this.blockSize, this.blockSize);
		this.#tick();
		this.bytes.fill(0xFF, sector * this.blockSize, (sector + 1) * this.blockSize);
	}

	#tick(): void {
		if (++this.operations > this.cutAfter)
			throw new PowerCut(`power cut at operation ${this.operations}`);
	}

	#check(offset: number, length: number): void {
		if ((offset < 0) || (length < 0) || (offset + length > this.bytes.length))
			throw new RangeError(`flash: ${length} bytes at ${offset} outside ${this.bytes.length}`);
	}
}
