/*
 * The simulator's flash behaves like the device's NOR flash: erase sets a
 * sector to 0xFF, writes only clear bits, and partitions are bounded.
 */
import { test, equal, throws, bytesEqual } from "tests/harness";
import Flash from "flash";

test("the doorward partition has the size partitions.csv gives it", () => {
	const flash = new Flash("doorward");
	equal(flash.byteLength, 0x10000, "byteLength");
	equal(flash.blockSize, 4096, "blockSize");
});

test("erase sets 0xFF and writes only clear bits", () => {
	const flash = new Flash("outbox");
	flash.erase(3);
	const base = 3 * 4096;
	bytesEqual(new Uint8Array(flash.read(base, 4) as ArrayBuffer), Uint8Array.of(255, 255, 255, 255), "erased");
	flash.write(base, 2, Uint8Array.of(0xF0, 0x0F));
	flash.write(base, 2, Uint8Array.of(0x3C, 0xFF));
	bytesEqual(new Uint8Array(flash.read(base, 2) as ArrayBuffer), Uint8Array.of(0x30, 0x0F), "AND of both writes");
});

test("out-of-range access and unknown partitions are refused", () => {
	const flash = new Flash("doorward");
	throws(() => flash.read(0x10000 - 2, 4), /exceed the partition/);
	throws(() => flash.erase(16), /outside the partition/);
	throws(() => new Flash("nonexistent"), /no partition named nonexistent/);
});
