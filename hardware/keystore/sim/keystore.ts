/*
 * The keystore in the simulator: entries sealed by the host (keystore.c),
 * one flash record per entry in the "nvs" partition, as the device keeps them
 * in encrypted NVS. Entries are checked against the device's NVS limits
 * first (hardware/keystore/common), so a test meets the errors the device
 * would give. The records are plain (a CRC, no MAC:
 * store/record): AES-GCM authenticates each entry, bound to its name.
 */
import { readEntry, writeEntry } from "hardware/keystore/records";

function sealNative(this: unknown, name: string, plaintext: Uint8Array): ArrayBuffer {
	return native("xs_keystore_seal").call(this, name, plaintext);
}
function openNative(this: unknown, name: string, sealed: Uint8Array): ArrayBuffer {
	return native("xs_keystore_open").call(this, name, sealed);
}

export function read(name: string): Uint8Array | undefined {
	const sealed = readEntry(name);
	return sealed ? new Uint8Array(openNative(name, sealed)) : undefined;
}

export function write(name: string, secret: Uint8Array): void {
	writeEntry(name, secret, (value) => new Uint8Array(sealNative(name, value)));
}
