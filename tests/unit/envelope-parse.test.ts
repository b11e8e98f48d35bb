/*
 * The phone's envelope parser refuses malformed headers before any
 * cryptographic work, each with its reason.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHeader, MAX_CIPHERTEXT } from "../../tools/phone/open.js";

function envelope(recipients: number, ciphertext: number): Buffer {
	const headerLength = 93 + 88 * recipients;
	const bytes = Buffer.alloc(headerLength + 64 + ciphertext);
	bytes.write("DWE1", 0, "latin1");
	bytes[4] = 1;
	bytes[5] = 1;
	bytes.writeUInt16BE(headerLength, 6);
	bytes.writeUInt32BE(ciphertext, 56);
	bytes[92] = recipients;
	return bytes;
}

test("a well-formed header parses", () => {
	const parsed = parseHeader(envelope(2, 100));
	assert.equal(parsed.header.recipients.length, 2);
	assert.equal(parsed.ciphertext.length, 100);
});

test("each malformed field is refused with its reason", () => {
	const cases: [(bytes: Buffer) => Buffer, RegExp][] = [
		[(b) => { b.write("XXXX", 0, "latin1"); return b; }, /not a DWE1 envelope/],
		[(b) => { b[4] = 2; return b; }, /unknown version 2/],
		[(b) => { b[5] = 9; return b; }, /unknown suite 9/],
		[(b) => { b[92] = 0; return b; }, /recipient count 0/],
		[(b) => { b[92] = 17; return b; }, /recipient count 17/],
		[(b) => { b.writeUInt16BE(999, 6); return b; }, /header length 999/],
		[(b) => { b.writeUInt32BE(MAX_CIPHERTEXT + 1, 56); return b; }, /over the .* limit/],
		[(b) => b.subarray(0, b.length - 1), /truncated or extended/],
		[(b) => Buffer.concat([b, Buffer.of(0)]), /truncated or extended/],
		[(b) => { b.writeUInt32BE(0xFFFFFFFF, 40); return b; }, /beyond 2\^53/],
		[(b) => b.subarray(0, 100), /truncated/],
	];
	for (const [mutate, pattern] of cases)
		assert.throws(() => parseHeader(mutate(envelope(1, 100))), pattern);
});
