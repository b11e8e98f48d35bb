/*
 * The live view's bytes on Node (docs/protocol/live.md): the firmware's
 * functions (src/live/format) against the phone's code (tools/phone/live),
 * which shares nothing with them; and what the firmware refuses in a start.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { x25519 } from "@noble/curves/ed25519.js";
import { LiveRefusal, bucketFor, buckets, header, maxSeconds, nonce, parseStart, plaintext, sessionKeys, sessionTopic, startPayload } from "live/format";
import type { LiveCrypto } from "live/format";
import { BUCKETS, LiveFrameRefused, LiveSession, sessionTopic as phoneTopic } from "../../tools/phone/live.js";

const crypto: LiveCrypto = {
	sha256: (data) => createHash("sha256").update(data).digest(),
	hmacSha256: (key, data) => createHmac("sha256", key).update(data).digest(),
};
const refused = (action: () => unknown, pattern: RegExp) => assert.throws(action, (error: Error) => (error instanceof LiveRefusal) && pattern.test(error.message));

test("a start payload: sizes, the default and the limit of its duration, and what is refused", () => {
	const key = randomBytes(32);
	assert.deepEqual([parseStart(startPayload(0, 0, key)).seconds, parseStart(startPayload(0, 0, key)).size.name], [60, "qvga"]);
	assert.deepEqual([parseStart(startPayload(1, maxSeconds, key)).seconds, parseStart(startPayload(1, 300, key)).size.width], [300, 640]);
	refused(() => parseStart(startPayload(0, 301, key)), /301 s \(at most 300\)/);
	refused(() => parseStart(startPayload(2, 10, key)), /size 2/);
	refused(() => parseStart(startPayload(0, 10, key).subarray(0, 35)), /of 35 bytes/);
	const version = startPayload(0, 10, key);
	version[0] = 2;
	refused(() => parseStart(version), /version 2/);
});

test("the firmware and the phone agree on the topic, the buckets and the padding", () => {
	for (let i = 0; i < 8; i++) {
		const ephemeral = x25519.getPublicKey(x25519.utils.randomSecretKey());
		assert.equal(sessionTopic(crypto, ephemeral), phoneTopic(ephemeral));
		assert.match(phoneTopic(ephemeral), /^dw\/lv\/[0-9a-f]{32}$/);
	}
	assert.deepEqual([...buckets], [...BUCKETS]);
	assert.equal(bucketFor(1024 - 14), 1024);
	assert.equal(bucketFor(1024 - 13), 4096);
	assert.equal(bucketFor(131072 - 14), 131072);
	refused(() => bucketFor(131072 - 13), /at most 131058/);
	const padded = plaintext(1, 1795800000250, Buffer.from("frame"));
	assert.equal(padded.length, 1024);
	assert.ok(padded.subarray(19).every((byte) => byte === 0));
	assert.deepEqual([...header(258)], [1, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
	const salt = Buffer.alloc(12, 0xff);
	assert.equal(Buffer.from(nonce(salt, 1)).toString("hex"), "fffffffffffffffffffffffe");
	assert.throws(() => sessionKeys(crypto, new Uint8Array(32), new Uint8Array(10)), /low order/);
});

test("the phone refuses a message before the accept, and an accept that is not one", async () => {
	const session = await LiveSession.make({
		deviceId: "00".repeat(16), agreementPublicKey: Buffer.from(x25519.getPublicKey(x25519.utils.randomSecretKey())).toString("hex"),
		signingPublicKey: "00".repeat(32), signingSecretKey: randomBytes(32).toString("hex"), seconds: 10, size: "qvga",
	}, "00".repeat(16));
	assert.throws(() => session.open(Buffer.alloc(1050)), (error: Error) => (error instanceof LiveFrameRefused) && /before the accept/.test(error.message));
	assert.throws(() => session.accept(Buffer.alloc(100)), /not an accept/);
	const forged = Buffer.concat([Buffer.from("DWLA"), x25519.getPublicKey(x25519.utils.randomSecretKey()), Buffer.of(0, 0, 1, 64, 0, 240, 0, 10), randomBytes(64)]);
	assert.throws(() => session.accept(forged), /signature is not the device's/);
	const longer = Buffer.from(forged);
	longer.writeUInt16BE(11, 42);
	assert.throws(() => session.accept(longer), /grants 11 s, more than asked/);
	assert.equal(session.accepted, false);
});
