/*
 * The keystores that keep one flash record per entry in the "nvs" partition
 * (the simulator's, which seals each entry first, and lin's): where an entry
 * is and how it is read and written, checked against the device's NVS limits
 * (hardware/keystore/common). The partition is opened on first use, at run
 * time: the modules that import this one are preloaded, and the linker cannot
 * open flash. The records are plain (a CRC, no MAC: store/record).
 */
import Flash from "flash";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { readPlainRecord, writePlainRecord } from "store/record";
import { checkEntry, entrySector } from "hardware/keystore/common";

let flash: FlashRegion | undefined;

function partition(): FlashRegion {
	flash ??= flashRegion(new Flash("nvs"));
	return flash;
}

/** The stored bytes of entry `name`, or undefined. */
export function readEntry(name: string): Uint8Array | undefined {
	return readPlainRecord(partition(), entrySector(name));
}

/** Stores entry `name`: `value` is checked against the NVS limits first, then stored as `encode` makes it (sealed, or copied). */
export function writeEntry(name: string, value: Uint8Array, encode: (value: Uint8Array) => Uint8Array): void {
	checkEntry(name, value);
	writePlainRecord(partition(), entrySector(name), encode(value));
}
