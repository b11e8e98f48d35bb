/*
 * The keystore in the simulator: entries sealed by the host (keystore.c),
 * one flash record per entry in the "nvs" partition, as the device keeps them
 * in encrypted NVS. The records are plain (a CRC, no MAC: store/record):
 * AES-GCM authenticates each entry, bound to its name.
 */
import Flash from "flash";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { readPlainRecord, writePlainRecord } from "store/record";

/** One sector per entry; the names are the firmware's, fixed. */
const sectors: Readonly<Record<string, number>> = Object.freeze({ "device-keys": 0, recipients: 1, "tls-key": 2, "record-key": 3 });

function sealNative(this: unknown, name: string, plaintext: Uint8Array): ArrayBuffer {
	return native("xs_keystore_seal").call(this, name, plaintext);
}
function openNative(this: unknown, name: string, sealed: Uint8Array): ArrayBuffer {
	return native("xs_keystore_open").call(this, name, sealed);
}

let flash: FlashRegion | undefined;

function sectorOf(name: string): number {
	const sector = sectors[name];
	if (sector === undefined)
		throw new RangeError(`keystore: no entry named ${name}`);
	flash ??= flashRegion(new Flash("nvs"));
	return sector;
}

export function read(name: string): Uint8Array | undefined {
	const sector = sectorOf(name);
	const sealed = readPlainRecord(flash!, sector);
	return sealed ? new Uint8Array(openNative(name, sealed)) : undefined;
}

export function write(name: string, secret: Uint8Array): void {
	const sector = sectorOf(name);
	writePlainRecord(flash!, sector, new Uint8Array(sealNative(name, secret)));
}
