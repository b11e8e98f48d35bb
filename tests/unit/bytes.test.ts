import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { crc32, fromHex, toHex, utf8Decode, utf8Encode, concat, equal } from "util/bytes";

test("hex round-trips and refuses odd or non-hex input", () => {
	const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
	assert.equal(toHex(bytes), Buffer.from(bytes).toString("hex"));
	assert.deepEqual(fromHex(toHex(bytes)), bytes);
	assert.throws(() => fromHex("abc"), /even-length hex/);
	assert.throws(() => fromHex("zz"), /even-length hex/);
});

test("UTF-8 matches Node's encoder on every plane and refuses malformed input", () => {
	const text = "doorbell Tür 門 🔔 \u{10FFFF}";
	assert.deepEqual(Buffer.from(utf8Encode(text)), Buffer.from(text, "utf8"));
	assert.equal(utf8Decode(Buffer.from(text, "utf8")), text);
	for (const bad of [[0x80], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]])
		assert.throws(() => utf8Decode(Uint8Array.from(bad)), /UTF-8/, `refuses ${bad}`);
});

test("CRC-32 has the standard check value and agrees with zlib's", async () => {
	assert.equal(crc32(utf8Encode("123456789")), 0xCBF43926);
	const { crc32: zlibCrc32 } = await import("node:zlib") as unknown as { crc32?: (data: Uint8Array) => number };
	const sample = createHash("sha256").update("doorward").digest();
	if (zlibCrc32)
		assert.equal(crc32(sample), zlibCrc32(sample));
});

test("concat and constant-time equal", () => {
	assert.deepEqual(concat([Uint8Array.of(1), Uint8Array.of(), Uint8Array.of(2, 3)]), Uint8Array.of(1, 2, 3));
	assert.equal(equal(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
	assert.equal(equal(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
	assert.equal(equal(Uint8Array.of(1), Uint8Array.of(1, 2)), false);
});

test("base64 and PEM round-trip against Node's encoder", async () => {
	const { toBase64, fromBase64, toPem, pemBlocks } = await import("util/bytes");
	for (const length of [0, 1, 2, 3, 4, 5, 64, 65, 1000]) {
		const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 255);
		assert.equal(toBase64(bytes), Buffer.from(bytes).toString("base64"));
		assert.deepEqual(fromBase64(Buffer.from(bytes).toString("base64")), bytes);
		if (length)
			assert.deepEqual(pemBlocks(toPem("CERTIFICATE", bytes))[0], bytes);
	}
	assert.throws(() => fromBase64("abc"), /not base64/);
	assert.throws(() => pemBlocks("nothing"), /no PEM block/);
});
