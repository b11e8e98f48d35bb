/*
 * The keystores that keep one flash record per entry in the "nvs" partition
 * (the simulator's, which seals each entry first, and lin's): where an entry
 * is and how it is read and written, checked against the device's NVS limits
 * (hardware/keystore/common). The partition is opened on first use, at run
 * time: the modules that import this one are preloaded, and the linker cannot
 * open flash.
 *
 * A write is atomic across a power cut, as it is in the device's ESP-IDF NVS
 * (nvs_flash: an update appends the new item, then marks the old one erased;
 * a cut loses at most the value being written, never the one before). An
 * entry has no fixed sector: its new record goes to a spare sector first,
 * and only once that is committed is the old record cleared and erased, so
 * the partition always holds the old record, the new one, or both. Each
 * record names its entry and carries a generation; where both survive a
 * cut, the higher generation is the value. The partition needs one sector
 * more than there are entries (common's entryNames), as NVS needs a free
 * page for its garbage collection: 7 sectors for 6 entries (the board's
 * partitions.csv; docs/architecture.md says why the partition grew rather
 * than entries sharing sectors).
 *
 * Each sector holds a plain record (store/record: "DWR1", length, CRC-32; a
 * cut leaves it absent, never half there) whose payload is
 *
 *   offset  0  u8  format, 1
 *           1  u8  n, the length of the entry's name
 *           2  name, n bytes of ASCII (at most 15: an NVS key)
 *       2 + n  u32 generation, one more than the entry's previous record's  (big-endian)
 *       6 + n  the entry as stored: sealed by the simulator, as it is on lin
 *
 * The largest, a sealed 4000-byte entry under a 15-character name, is 4049
 * bytes; with the plain record's 12 it fits a 4 KiB sector.
 *
 * The records are plain (a CRC, no MAC): the simulator's entries
 * authenticate themselves (AES-GCM, bound to the name), lin's protect nothing
 * real. On first use every sector is read once, which is the recovery after a
 * cut: a record torn while it was written is not committed and its sector is
 * spare; of two records of one entry the older is spare. A committed record
 * whose CRC fails (decay, or tampering, never a cut) cannot say which entry
 * it was: an entry without a good record then reads as an error, not as
 * absent, and its sector is reused only when no other sector is spare.
 */
import Flash from "flash";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { readPlainRecord, sectorErased, writePlainRecord } from "store/record";
import { checkEntry, checkKnownEntry, entryNames } from "hardware/keystore/common";

const format = 1;

interface Live {
	readonly sector: number;
	readonly generation: number;
}

/** Entries over a partition: what a keystore reads and writes, already encoded (sealed or copied). */
export interface EntryStore {
	read(name: string): Uint8Array | undefined;
	write(name: string, stored: Uint8Array): void;
}

/** Whether generation `a` is later than `b`, in serial-number arithmetic (they differ by one). */
function later(a: number, b: number): boolean {
	return ((a - b) | 0) > 0;
}

function encode(name: string, generation: number, stored: Uint8Array): Uint8Array {
	const payload = new Uint8Array(6 + name.length + stored.length);
	payload[0] = format;
	payload[1] = name.length;
	for (let i = 0; i < name.length; i++)
		payload[2 + i] = name.charCodeAt(i);
	new DataView(payload.buffer).setUint32(2 + name.length, generation);
	payload.set(stored, 6 + name.length);
	return payload;
}

/** The entry name, generation and stored bytes of a record's payload, or undefined if it is not one of this format. */
function decode(payload: Uint8Array): { name: string; generation: number; stored: Uint8Array } | undefined {
	if ((payload.length < 2) || (payload[0] !== format) || (payload.length < 6 + payload[1]))
		return undefined;
	const length = payload[1];
	const name = String.fromCharCode(...payload.subarray(2, 2 + length));
	if (!entryNames.includes(name))
		return undefined;
	return { name, generation: new DataView(payload.buffer, payload.byteOffset).getUint32(2 + length), stored: payload.subarray(6 + length) };
}

/** Opens the entries of `flash`, recovering from a cut write (see above). Throws if it has no spare sector. */
export function entryStore(flash: FlashRegion): EntryStore {
	const sectors = Math.floor(flash.byteLength / flash.blockSize);
	if (sectors < entryNames.length + 1)
		throw new RangeError(`keystore: the nvs partition has ${sectors} sectors; ${entryNames.length} entries need ${entryNames.length + 1}, one spare`);
	const live = new Map<string, Live>();
	const corrupt = new Map<number, string>();
	for (let sector = 0; sector < sectors; sector++) {
		let payload: Uint8Array | undefined;
		try {
			payload = readPlainRecord(flash, sector);
		}
		catch (error) {
			corrupt.set(sector, (error as Error).message);
			continue;
		}
		const record = payload && decode(payload);
		if (payload && !record) {
			corrupt.set(sector, `record: sector ${sector} is not a keystore record (format ${payload[0]})`);
			continue;
		}
		if (!record)
			continue;
		const other = live.get(record.name);
		if (!other || later(record.generation, other.generation))
			live.set(record.name, { sector, generation: record.generation });
	}

	const held = () => new Set(Array.from(live.values(), (entry) => entry.sector));
	/** A sector no entry holds: erased if one is (fewer operations), then a stale or torn one, a corrupt one last. */
	function spare(): number {
		const taken = held();
		let fallback: number | undefined;
		let last: number | undefined;
		for (let sector = 0; sector < sectors; sector++) {
			if (taken.has(sector))
				continue;
			if (corrupt.has(sector))
				last ??= sector;
			else if (sectorErased(flash, sector))
				return sector;
			else
				fallback ??= sector;
		}
		const found = fallback ?? last;
		if (found === undefined)
			throw new Error("keystore: no spare sector in the nvs partition");
		return found;
	}

	return Object.freeze({
		read(name: string): Uint8Array | undefined {
			checkKnownEntry(name);
			const entry = live.get(name);
			if (!entry) {
				if (corrupt.size)
					throw new Error(`keystore: entry ${name} has no good record, and ${Array.from(corrupt.values()).join("; ")}`);
				return undefined;
			}
			const record = decode(readPlainRecord(flash, entry.sector) ?? new Uint8Array(0));
			if (!record || (record.name !== name) || (record.generation !== entry.generation))
				throw new Error(`keystore: entry ${name}'s record in sector ${entry.sector} changed under it`);
			return record.stored.slice();
		},
		write(name: string, stored: Uint8Array): void {
			checkKnownEntry(name);
			const old = live.get(name);
			const generation = old ? (old.generation + 1) >>> 0 : 0;
			const sector = spare();
			writePlainRecord(flash, sector, encode(name, generation, stored));
			corrupt.delete(sector);
			live.set(name, { sector, generation });
			if (old) {
				// The new record is committed: now the old one may go. Its commit
				// word first, so that a cut erase cannot leave it looking whole
				// (as store/record's rewrite does), and erased at once so that the
				// spare is ready and no old secret stays on flash.
				flash.write(old.sector * flash.blockSize, 4, new Uint8Array(4));
				flash.erase(old.sector);
			}
		},
	});
}

let store: EntryStore | undefined;

function entries(): EntryStore {
	store ??= entryStore(flashRegion(new Flash("nvs")));
	return store;
}

/** The stored bytes of entry `name`, or undefined. */
export function readEntry(name: string): Uint8Array | undefined {
	checkKnownEntry(name);
	return entries().read(name);
}

/** Stores entry `name`: `value` is checked against the NVS limits first, then stored as `encode` makes it (sealed, or copied). */
export function writeEntry(name: string, value: Uint8Array, encodeValue: (value: Uint8Array) => Uint8Array): void {
	checkEntry(name, value);
	checkKnownEntry(name);
	entries().write(name, encodeValue(value));
}
