/*
 * A monotonic counter in two flash sectors that survives power cuts and
 * spreads wear: each increment writes one more 32-byte slot in the active
 * sector instead of rewriting it, and each slot is authenticated with the
 * partition's record key (store/record):
 *
 *   slot = u32 value | first 28 bytes of HMAC-SHA-256 under the record key of
 *          "doorward/counter/v1" 0 | partition 0 | type 0 | u32 sector | u32 slot | u32 value
 *
 * (big-endian; an erased slot, all 0xFF, is free). 128 slots a sector. When
 * the active sector is full, the other one is erased and the next value goes
 * to its slot 0; the full sector stays as it is until the next rollover
 * erases it, so there is always a whole value on flash, and each sector is
 * erased once every 256 increments.
 *
 * Reading: the active sector is the one holding the largest value that
 * authenticates. In it, every written slot must be the next value in order,
 * or what a power cut leaves of the write of that next value: the device
 * knows that slot's exact bytes (the value and its MAC), and a half-programmed
 * write can only have cleared some of the bits those bytes clear. Anything
 * else (a slot that does not authenticate, a value out of order, a slot
 * written after a free one) is refused with the reason, and the counter
 * cannot be used. The other sector is not held to this: it is either the
 * previous full sector or erased, or what a cut in the middle of erasing it
 * left, which can be anything; nothing in it ever counts, since its values
 * are older.
 *
 * A flash attacker cannot make the counter take a value the device did not
 * write here; restoring an older copy of both sectors takes it back (see
 * docs/threat-model.md).
 */
import type { FlashRegion, RecordKey } from "./flash-region";
import { authenticate, recordKeyOf } from "./record";
import { equal } from "util/bytes";

const slotSize = 32;
const tagSize = slotSize - 4;
const label = "doorward/counter/v1";
const maxValue = 0xFFFFFFFE;

/** What one sector holds, slot by slot. */
interface Scan {
	readonly bytes: Uint8Array;
	/** The index after the last slot that is not erased. */
	readonly used: number;
	/** The largest value that authenticates in its slot, or -1. */
	readonly largest: number;
}

export default class Counter {
	#flash: FlashRegion;
	#key: RecordKey;
	#type: string;
	#sectors: readonly [number, number];
	#slots: number;
	#value = 0;
	#active = 0; // index into #sectors
	#next = 0; // next free slot in the active sector

	constructor(flash: FlashRegion, firstSector: number) {
		const { key, type } = recordKeyOf(flash, firstSector, "counter");
		this.#flash = flash;
		this.#key = key;
		this.#type = type;
		this.#sectors = [firstSector, firstSector + 1];
		this.#slots = flash.blockSize / slotSize;
		const scans = [this.#scan(0), this.#scan(1)];
		this.#active = (scans[1].largest > scans[0].largest) ? 1 : 0;
		this.#value = this.#check(this.#active, scans[this.#active], Math.max(scans[1 - this.#active].largest, 0));
		this.#next = scans[this.#active].used;
	}

	get value(): number {
		return this.#value;
	}

	/** Persists value + 1 and returns it. */
	increment(): number {
		const value = this.#value + 1;
		if (value > maxValue)
			throw new RangeError("counter: exhausted");
		if (this.#next === this.#slots) {
			const other = 1 - this.#active;
			this.#flash.erase(this.#sectors[other]);
			this.#flash.write(this.#offset(other, 0), slotSize, this.#slot(other, 0, value));
			this.#active = other;
			this.#next = 1;
		}
		else {
			this.#flash.write(this.#offset(this.#active, this.#next), slotSize, this.#slot(this.#active, this.#next, value));
			this.#next++;
		}
		this.#value = value;
		return value;
	}

	#offset(sectorIndex: number, slot: number): number {
		return this.#sectors[sectorIndex] * this.#flash.blockSize + slot * slotSize;
	}

	/** The exact bytes of `value` in `slot` of a sector. */
	#slot(sectorIndex: number, slot: number, value: number): Uint8Array {
		const bytes = new Uint8Array(slotSize);
		new DataView(bytes.buffer).setUint32(0, value);
		bytes.set(authenticate(this.#key, label, this.#type, [this.#sectors[sectorIndex], slot, value]).subarray(0, tagSize), 4);
		return bytes;
	}

	/** The value in `slot` of `bytes` if it authenticates there, else undefined. */
	#authentic(sectorIndex: number, bytes: Uint8Array, slot: number): number | undefined {
		const stored = bytes.subarray(slot * slotSize, (slot + 1) * slotSize);
		const value = new DataView(bytes.buffer, bytes.byteOffset + slot * slotSize, 4).getUint32(0);
		return (value <= maxValue) && equal(this.#slot(sectorIndex, slot, value), stored) ? value : undefined;
	}

	/** Finds the used slots and, from the last one back, the largest authentic value. */
	#scan(sectorIndex: number): Scan {
		const bytes = new Uint8Array(this.#flash.read(this.#sectors[sectorIndex] * this.#flash.blockSize, this.#flash.blockSize));
		let used = this.#slots;
		while ((used > 0) && erased(bytes, used - 1))
			used--;
		let largest = -1;
		for (let slot = used - 1; (slot >= 0) && (largest < 0); slot--)
			largest = this.#authentic(sectorIndex, bytes, slot) ?? -1;
		return { bytes, used, largest };
	}

	/** Checks every slot of the active sector; returns its value. `before` is the value before its first slot. */
	#check(sectorIndex: number, scan: Scan, before: number): number {
		const where = (slot: number) => `counter: ${this.#key.partition} sector ${this.#sectors[sectorIndex]} (${this.#type}) slot ${slot}`;
		let value: number | undefined;
		for (let slot = 0; slot < scan.used; slot++) {
			if (erased(scan.bytes, slot))
				throw new Error(`${where(slot)} is free, yet a later slot is written`);
			const found = this.#authentic(sectorIndex, scan.bytes, slot);
			if (found !== undefined) {
				if ((value !== undefined) && (found !== value + 1))
					throw new Error(`${where(slot)} holds ${found} after ${value}: out of order`);
				value = found;
				continue;
			}
			if (!tornWrite(scan.bytes.subarray(slot * slotSize, (slot + 1) * slotSize), this.#slot(sectorIndex, slot, (value ?? before) + 1)))
				throw new Error(`${where(slot)} does not authenticate: forged, moved from another slot, or written by another device`);
		}
		return value ?? before;
	}
}

function erased(bytes: Uint8Array, slot: number): boolean {
	for (let i = slot * slotSize; i < (slot + 1) * slotSize; i++) {
		if (bytes[i] !== 0xFF)
			return false;
	}
	return true;
}

/** Whether `found` is `intended` half-programmed: a NOR write cut short has cleared only some of the bits it clears. */
function tornWrite(found: Uint8Array, intended: Uint8Array): boolean {
	for (let i = 0; i < found.length; i++) {
		if ((found[i] & intended[i]) !== intended[i])
			return false;
	}
	return true;
}

Object.freeze(Counter.prototype);
