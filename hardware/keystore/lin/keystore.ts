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

export function read(name: string): Uint8Array | undefined {
	const sector = entrySector(name);
	return readPlainRecord(partition(), sector);
}

export function write(name: string, secret: Uint8Array): void {
	checkEntry(name, secret);
	writePlainRecord(partition(), entrySector(name), secret.slice());
}
