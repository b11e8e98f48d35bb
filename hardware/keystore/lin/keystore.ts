/*
 * The keystore in Moddable's lin simulator: one flash record per entry in
 * the "nvs" partition, which lin's flash module keeps in
 * /tmp/doorward-lin-nvs.flash (hardware/flash/lin), as the simulator host's
 * keystore does in its flash file. Entries are plain: lin is for
 * development, and its keys protect nothing real. They are checked against
 * the device's NVS limits first (hardware/keystore/common), so an entry the
 * device would refuse is refused here too.
 *
 * Not the SDK's lin Preference, which cannot keep anything in a preloaded
 * app (see hardware/keystore/preference/keystore.ts). The partition is
 * opened on first use, at run time: the modules that import this one are
 * preloaded, and the linker cannot open files.
 */
import { readEntry, writeEntry } from "hardware/keystore/records";

export function read(name: string): Uint8Array | undefined {
	return readEntry(name);
}

export function write(name: string, secret: Uint8Array): void {
	writeEntry(name, secret, (value) => value.slice());
}
