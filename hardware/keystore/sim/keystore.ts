/*
 * The keystore in the simulator: entries sealed by the host (keystore.c),
 * one flash record per entry in the "nvs" partition, as the device keeps them
 * in encrypted NVS. Entries are checked against the device's NVS limits
 * first (hardware/keystore/common), so a test meets the errors the device
 * would give. The records are plain (a CRC, no MAC:
 * store/record): AES-GCM authenticates each entry, bound to its name.
 */
import Flash from "flash";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { readPlainRecord, writePlainRecord } from "store/record";
import { checkEntry, entrySector } from "hardware/keystore/common";

function sealNative(this: unknown, name: string, plaintext: Uint8Array): ArrayBuffer {
	return native("xs_keystore_seal").call(this, name, plaintext);
}
function openNative(this: unknown, name: string, sealed: Uint8Array): ArrayBuffer {
	return native("xs_keystore_open").call(this, name, sealed);
}

let flash: FlashRegion | undefined;

function partition(): FlashRegion {
	flash ??= flashRegion(new Flash("nvs"));
	return flash;
}

export function read(name: string): Uint8Array | undefined {
	const sector = entrySector(name);
	const sealed = readPlainRecord(partition(), sector);
	return sealed ? new Uint8Array(openNative(name, sealed)) : undefined;
}

export function write(name: string, secret: Uint8Array): void {
	checkEntry(name, secret);
	writePlainRecord(partition(), entrySector(name), new Uint8Array(sealNative(name, secret)));
}
