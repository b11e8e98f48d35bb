/*
 * The simulator's flash is as strict as the device's (Moddable's
 * modules/files/flash/esp32/flash.c over ESP-IDF's esp_partition_*): only
 * the names the device resolves, NOR semantics (erase sets a 4 KiB sector to
 * 0xFF, writes only clear bits), the device's bounds and its errors. A test
 * here that passed only because the simulator were lenient would hide a
 * device bug, as "ota_1" once did.
 */
import { test, equal, ok, throws, bytesEqual } from "tests/harness";
import Flash from "flash";
import { bootState } from "hardware/ota";

/** The device raises these with xsUnknownError: plain Errors, not RangeErrors. */
function failsPlainly(body: () => unknown, message: string): void {
	try {
		body();
	}
	catch (error) {
		equal((error as Error).constructor, Error, `the class of "${(error as Error).message}"`);
		ok((error as Error).message.endsWith(message), `"${(error as Error).message}" says "${message}"`);
		return;
	}
	throw new Error(`did not throw "${message}"`);
}

test("the doorward partition has the size partitions.csv gives it", () => {
	const flash = new Flash("doorward");
	equal(flash.byteLength, 0x10000, "byteLength");
	equal(flash.blockSize, 4096, "blockSize");
	equal(new Flash("otadata").byteLength, 0x2000, "otadata is a DATA partition too");
});

test("erase sets 0xFF and writes only clear bits", () => {
	const flash = new Flash("outbox");
	flash.erase(3);
	const base = 3 * 4096;
	bytesEqual(new Uint8Array(flash.read(base, 4)), Uint8Array.of(255, 255, 255, 255), "erased");
	flash.write(base, 2, Uint8Array.of(0xF0, 0x0F));
	flash.write(base, 2, Uint8Array.of(0x3C, 0xFF));
	bytesEqual(new Uint8Array(flash.read(base, 2)), Uint8Array.of(0x30, 0x0F), "AND of both writes");
	flash.write(base + 2, 2, new DataView(Uint8Array.of(0x12, 0x34).buffer));
	bytesEqual(new Uint8Array(flash.read(base + 2, 2)), Uint8Array.of(0x12, 0x34), "a DataView is a byte buffer too");
});

test("app slots are not opened by label: the device knows only xs, running, nextota and DATA labels", () => {
	throws(() => new Flash("ota_0"), /can't find partition$/, "ota_0");
	throws(() => new Flash("ota_1"), /can't find partition$/, "ota_1");
	throws(() => new Flash("nonexistent"), /can't find partition$/, "an unknown label");
	// The table has no partition of type 0x40, subtype 1 for "xs" (mods).
	throws(() => new Flash("xs"), /can't find partition$/, "xs");
});

test("nextota is the slot bootState() calls inactive; the factory image runs from no partition", () => {
	const state = bootState();
	equal(state.running, "factory", "no boot record in a fresh flash");
	equal(state.inactive, "ota_0", "inactive");
	const slot = new Flash("nextota");
	equal(slot.byteLength, 0x300000, "an app slot's size");
	slot.erase(0);
	slot.write(0, 4, Uint8Array.of(1, 2, 3, 4));
	bytesEqual(new Uint8Array(slot.read(0, 4)), Uint8Array.of(1, 2, 3, 4), "written and read back");
	throws(() => new Flash("running"), /can't find partition$/, "running, on the factory image");
});

test("writes need 0 < byteLength <= the buffer's length, and a byte buffer", () => {
	const flash = new Flash("doorward");
	flash.erase(15);
	const at = 15 * 4096;
	throws(() => flash.write(at, 0, Uint8Array.of(1)), /invalid$/, "zero bytes");
	throws(() => flash.write(at, 3, Uint8Array.of(1, 2)), /invalid$/, "more than the buffer holds");
	throws(() => flash.write(at, 2, Uint16Array.of(1) as unknown as Uint8Array), /buffer/, "a Uint16Array (XS says \"invalid buffer\" on the device)");
	bytesEqual(new Uint8Array(flash.read(at, 3)), Uint8Array.of(255, 255, 255), "nothing was written");
});

test("out of the partition, each call fails as on the device", () => {
	const flash = new Flash("doorward");
	throws(() => flash.read(0x10000 - 2, 4), /read failed$/, "a read past the end");
	throws(() => flash.read(-1, 1), /read failed$/, "a negative offset");
	equal(flash.read(0x10000, 0).byteLength, 0, "an empty read at the end is in bounds");
	throws(() => flash.write(0x10000 - 1, 2, Uint8Array.of(0, 0)), /write failed$/, "a write past the end");
	throws(() => flash.erase(16), /erase failed$/, "the sector after the last");
	throws(() => flash.erase(-1), /erase failed$/, "a negative sector");
	failsPlainly(() => flash.erase(16), "erase failed");
	failsPlainly(() => new Flash("ota_1"), "can't find partition");
	flash.erase(15);
	ok(!("map" in flash) && !("status" in flash), "no method the firmware does not use, and none the device lacks");
});
