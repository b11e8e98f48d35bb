/*
 * The trusted update root on flash, in two copies, as otadata keeps the boot
 * state: sectors 6 and 7 of the "doorward" partition (store/layout), each an
 * authenticated record (store/record) holding one signed root file
 * (docs/protocol/update.md).
 *
 * The valid copy with the higher root version is the trusted root. A new root
 * is always written to the other sector, never over the trusted one, so a
 * power cut at any write leaves the old root whole and trusted until the new
 * one is whole: then the new one wins. Roots only go up; the store never
 * writes one at or below the version it trusts.
 *
 * Nothing here checks signatures: callers store only what src/update/trust.ts
 * verified (a rotation), or what the factory installs (installFirstRoot).
 */
import type { FlashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { equal } from "util/bytes";
import { UpdateError } from "./errors";
import { parseSignedRoot } from "./format";
import type { Root } from "./format";

const copies = Object.freeze([Sectors.updateRoot, Sectors.updateRootCopy]);

export interface StoredRoot {
	readonly root: Root;
	/** The signed root file, as stored. */
	readonly bytes: Uint8Array;
	/** The sector it is in. */
	readonly sector: number;
}

function readCopy(flash: FlashRegion, sector: number): StoredRoot | undefined {
	const bytes = readRecord(flash, sector);
	if (!bytes)
		return undefined;
	try {
		return { root: parseSignedRoot(bytes).value, bytes, sector };
	}
	catch (error) {
		if (error instanceof UpdateError)
			return undefined;	// a record that is not a root reads as no copy
		throw error;
	}
}

/** The trusted root: the valid copy with the higher version, or undefined if neither copy is valid. */
export function loadRoot(flash: FlashRegion): StoredRoot | undefined {
	let best: StoredRoot | undefined;
	for (const sector of copies) {
		const copy = readCopy(flash, sector);
		if (copy && (!best || (copy.root.version > best.root.version)))
			best = copy;
	}
	return best;
}

/**
 * Stores a verified root rotation: into the sector that does not hold the
 * trusted root. Returns the new root.
 */
export function storeRoot(flash: FlashRegion, bytes: Uint8Array): Root {
	const root = parseSignedRoot(bytes).value;
	const current = loadRoot(flash);
	if (current && (root.version <= current.root.version))
		throw new RangeError(`update root: ${root.version} does not follow the trusted root ${current.root.version}`);
	const sector = (current?.sector === copies[0]) ? copies[1] : copies[0];
	writeRecord(flash, sector, bytes);
	return root;
}

/**
 * The factory's root, on a device that is not locked yet: stored if the
 * device has none; the same file again (a station retrying after a power
 * cut) changes nothing; any other is refused, so a root already trusted is
 * never replaced by a local message, only by a signed rotation.
 */
export function installFirstRoot(flash: FlashRegion, bytes: Uint8Array): Root {
	const current = loadRoot(flash);
	if (current) {
		if (equal(current.bytes, bytes))
			return current.root;
		throw new RangeError(`update root ${current.root.version} is already trusted; it changes only through a signed rotation`);
	}
	return storeRoot(flash, bytes);
}
