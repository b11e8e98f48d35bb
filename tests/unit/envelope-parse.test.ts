/*
 * The phone's envelope parser refuses malformed headers before any
 * cryptographic work, each with its reason (docs/protocol/events.md § Limits).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHeader, clipLengthFor, paddedLength, MAX_CIPHERTEXT, MIN_CIPHERTEXT } from "../../tools/phone/open.js";

/** The smallest ciphertext: a 4096-byte clip, salt, commitment and one chunk's tag. */
const smallest = 56 + 4096 + 16;

function envelope(recipients: number, ciphertext: number): Buffer {
	const headerLength = 93 + 88 * recipients;
	const bytes = Buffer.alloc(headerLength + 64 + ciphertext);
	bytes.write("DWE2", 0, "latin1");
	bytes[4] = 2;
	bytes[5] = 1;
	bytes.writeUInt16BE(headerLength, 6);
	bytes[47] = 1; // sequence number 1
	bytes.writeUInt32BE(ciphertext, 56);
	bytes[92] = recipients;
	for (let i = 0; i < recipients; i++)
		bytes[93 + 88 * i] = i; // distinct key ids
	return bytes;
}

test("a well-formed header parses", () => {
	const parsed = parseHeader(envelope(2, smallest));
	assert.equal(parsed.header.recipients.length, 2);
	assert.equal(parsed.ciphertext.length, smallest);
	assert.equal(parsed.header.clipLength, 4096);
	assert.equal(MIN_CIPHERTEXT, smallest);
});

test("each malformed field is refused with its reason", () => {
	const cases: [(bytes: Buffer) => Buffer, RegExp][] = [
		[(b) => { b.write("XXXX", 0, "latin1"); return b; }, /not a DWE2 envelope/],
		[(b) => { b.write("DWE1", 0, "latin1"); b[4] = 1; return b; }, /DWE1 envelope: that format is withdrawn/],
		[(b) => { b[4] = 1; return b; }, /unknown version 1/],
		[(b) => { b[4] = 3; return b; }, /unknown version 3/],
		[(b) => { b[5] = 9; return b; }, /unknown suite 9/],
		[(b) => { b[92] = 0; return b; }, /recipient count 0/],
		[(b) => { b[92] = 17; return b; }, /recipient count 17/],
		[(b) => { b.writeUInt16BE(999, 6); return b; }, /header length 999/],
		[(b) => { b.writeUInt32BE(MAX_CIPHERTEXT + 1, 56); return b; }, /over the .* limit/],
		[(b) => { b.writeUInt32BE(smallest - 1, 56); return b; }, /under the 4168 bytes of the smallest padded clip/],
		[(b) => { b.writeUInt32BE(smallest + 1, 56); return b; }, /not that of a padded clip/],
		[(b) => b.subarray(0, b.length - 1), /truncated or extended/],
		[(b) => Buffer.concat([b, Buffer.of(0)]), /truncated or extended/],
		[(b) => { b.writeUInt32BE(0xFFFFFFFF, 40); return b; }, /sequence number is at or beyond 2\^53/],
		[(b) => { b.writeUInt32BE(0xFFFFFFFF, 48); return b; }, /time is at or beyond 2\^53/],
		[(b) => { b[47] = 0; return b; }, /sequence number 0/],
		[(b) => b.subarray(0, 100), /truncated/],
	];
	for (const [mutate, pattern] of cases)
		assert.throws(() => parseHeader(mutate(envelope(1, smallest))), pattern);
	const twins = envelope(2, smallest);
	twins[93 + 88] = 0;
	assert.throws(() => parseHeader(twins), /two recipients have the same key id/);
});

test("the ciphertext length says the padded clip's, or that there is none", () => {
	const sealed = (clip: number) => 56 + clip + 16 * (Math.floor(clip / 16384) + 1);
	for (const clip of [4096, 4608, 12800, 13312, 16384, 20480, 32768, 1 << 20])
		assert.equal(clipLengthFor(sealed(clip)), clip, `a clip of ${clip}`);
	assert.equal(paddedLength(16384), 16384);
	assert.equal(clipLengthFor(sealed(4097)), undefined, "4097 is not a padded length");
	assert.equal(clipLengthFor(56 + 16400), undefined, "a full final chunk: the final chunk must be short");
	assert.equal(clipLengthFor(56 + 15), undefined);
	// The Padmé formula of the specification, at its bucket edges.
	assert.deepEqual([4096, 4097, 8192, 8193, 12923].map(paddedLength), [4096, 4352, 8192, 8704, 13312]);
});
