/*
 * A monotonic counter in two flash sectors that survives power cuts and
 * spreads wear: each increment clears one more 32-bit slot in the active
 * sector instead of rewriting it.
 *
 * A slot holds the complement of the value (so an erased slot, 0xFFFFFFFF,
 * reads as "unused"). When a sector fills up, the next value goes to slot 0 of
 * the other sector, which is erased first; the old sector is erased only after
 * the new value is written, so there is always one valid value on flash.
 * Reading takes the largest value found in either sector.
 */
import type { FlashRegion } from "./flash-region";

const unused = 0xFFFFFFFF;

export default class Counter {
	#flash: FlashRegion;
	#sectors: readonly [number, number];
	#slots: number;
	#value = 0;
	#active = 0; // index into #sectors
	#next = 0; // next free slot in the active sector

	constructor(flash: FlashRegion, firstSector: number) {
		this.#flash = flash;
		this.#sectors = [firstSector, firstSector + 1];
		this.#slots = flash.blockSize / 4;
		let best = -1;
		for (let s = 0; s < 2; s++) {
			const words = new DataView(flash.read(this.#sectors[s] * flash.blockSize, flash.blockSize));
			let used = 0;
			let largest = -1;
			for (; (used < this.#slots) && (words.getUint32(used * 4) !== unused); used++)
				largest = Math.max(largest, ~words.getUint32(used * 4) >>> 0);
			if (used && (largest > best)) {
				best = largest;
				this.#active = s;
				this.#next = used;
			}
		}
		this.#value = Math.max(best, 0);
	}

	get value(): number {
		return this.#value;
	}

	/** Persists value + 1 and returns it. */
	increment(): number {
		const value = this.#value + 1;
		if (value >= unused)
			throw new RangeError("counter: exhausted");
		if (this.#next === this.#slots) {
			const other = 1 - this.#active;
			this.#flash.erase(this.#sectors[other]);
			this.#writeSlot(other, 0, value);
			this.#flash.erase(this.#sectors[this.#active]);
			this.#active = other;
			this.#next = 1;
		}
		else {
			this.#writeSlot(this.#active, this.#next, value);
			this.#next++;
		}
		this.#value = value;
		return value;
	}

	#writeSlot(sectorIndex: number, slot: number, value: number): void {
		const word = new DataView(new ArrayBuffer(4));
		word.setUint32(0, ~value >>> 0);
		this.#flash.write(this.#sectors[sectorIndex] * this.#flash.blockSize + slot * 4, 4, word.buffer);
	}
}
