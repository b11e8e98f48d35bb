/*
 * Signed requests (docs/protocol/requests.md) on Node: the firmware's parser
 * (src/requests/format) against the phone's builder (tools/phone/requests),
 * with the worked example's node:crypto HPKE as the device's opener; and the
 * replay guard (src/requests/guard) under a clock the test moves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { openRequest, RequestRefusal, sealedSizes } from "requests/format";
import { ReplayGuard, cacheSize, futureMs, pastMs } from "requests/guard";
import { buildRequest } from "../../tools/phone/requests.js";
import { ed25519Verify, hpkeOpen } from "../../tools/protocol/requests-example.js";

const deviceSecret = x25519.utils.randomSecretKey();
const devicePublic = x25519.getPublicKey(deviceSecret);
const deviceId = randomBytes(16).toString("hex");
const phoneSeed = randomBytes(32).toString("hex");
const crypto = {
	open: (enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array) => hpkeOpen(deviceSecret, devicePublic, enc, info, aad, ciphertext),
	verify: ed25519Verify,
};
const fields = (payload: Uint8Array, more: Record<string, unknown> = {}) => ({ kind: 1, payload, deviceId, agreementPublicKey: Buffer.from(devicePublic).toString("hex"), signingSecretKey: phoneSeed, ...more });
const refused = (action: () => unknown, pattern: RegExp) => assert.throws(action, (error: Error) => (error instanceof RequestRefusal) && pattern.test(error.message));

test("a request opens with its fields; sizes are 564 or 2100 bytes and nothing else", async () => {
	const small = await buildRequest(fields(Buffer.alloc(8, 7), { time: 1795800000123 }));
	assert.equal(small.sealed.length, 564);
	const opened = openRequest(small.sealed, deviceId, crypto);
	assert.equal(opened.kind, 1);
	assert.equal(opened.time, 1795800000123);
	assert.equal(opened.signer, Buffer.from(ed25519.getPublicKey(Buffer.from(phoneSeed, "hex"))).toString("hex"));
	assert.deepEqual(Buffer.from(opened.payload), Buffer.alloc(8, 7));
	assert.equal((await buildRequest(fields(Buffer.alloc(368)))).sealed.length, 564, "the largest payload of the first bucket");
	assert.equal((await buildRequest(fields(Buffer.alloc(369)))).sealed.length, 2100, "one byte more: the second");
	assert.deepEqual([...sealedSizes], [564, 2100]);
	await assert.rejects(buildRequest(fields(Buffer.alloc(1905))), /too large/);
	refused(() => openRequest(small.sealed.subarray(0, 563), deviceId, crypto), /563 bytes/);
	refused(() => openRequest(Buffer.concat([small.sealed, Buffer.of(0)]), deviceId, crypto), /565 bytes/);
});

test("a request for another device, forged, tampered or sealed to another key is refused", async () => {
	const { sealed } = await buildRequest(fields(Buffer.alloc(8)));
	refused(() => openRequest(sealed, randomBytes(16).toString("hex"), crypto), /does not open/); // the HPKE info names the device
	for (const offset of [0, 4, 40, 300, 563]) {
		const tampered = Buffer.from(sealed);
		tampered[offset] ^= 1;
		refused(() => openRequest(tampered, deviceId, crypto), /magic|does not open/);
	}
	const otherDevice = x25519.getPublicKey(x25519.utils.randomSecretKey());
	const elsewhere = await buildRequest(fields(Buffer.alloc(8), { agreementPublicKey: Buffer.from(otherDevice).toString("hex") }));
	refused(() => openRequest(elsewhere.sealed, deviceId, crypto), /does not open/);
	// Signed for one device, sealed to this one: the signed device id tells.
	const opener = { ...crypto, open: () => Buffer.from(seal.plaintext) };
	const seal = await buildRequest(fields(Buffer.alloc(8), { deviceId: randomBytes(16).toString("hex") }));
	refused(() => openRequest(seal.sealed, deviceId, opener), /is for device/);
	// A signature by another key than the signer named.
	const forged = Buffer.from(seal.plaintext);
	forged[88] ^= 1;
	refused(() => openRequest(seal.sealed, seal.body.subarray(30, 46).toString("hex"), { ...crypto, open: () => forged }), /signature does not verify/);
	const padded = Buffer.from(seal.plaintext);
	padded[511] = 1;
	refused(() => openRequest(seal.sealed, deviceId, { ...crypto, open: () => padded }), /padding is not zeros/);
	const big = Buffer.concat([seal.plaintext, Buffer.alloc(1536)]);
	refused(() => openRequest(Buffer.concat([seal.sealed, Buffer.alloc(1536)]), deviceId, { ...crypto, open: () => big }), /padded to 2048 bytes, not 512/);
});

test("the guard takes a fresh new request once, refuses stale, early and replayed ones, and keeps its floor", () => {
	const now = 1795800000000;
	const guard = new ReplayGuard(now - 60000);
	const early = new ReplayGuard(now - pastMs - 1);
	const nonce = (i: number) => i.toString(16).padStart(32, "0");
	guard.check(now, nonce(1), now);
	guard.remember(now, nonce(1), now);
	refused(() => guard.check(now, nonce(1), now), /replayed nonce/);
	refused(() => guard.check(now - pastMs - 1, nonce(2), now), /s old/);
	refused(() => guard.check(now + futureMs + 1, nonce(2), now), /ahead of the device's clock/);
	refused(() => guard.check(now - 60000, nonce(2), now), /request floor/);
	early.check(now - pastMs, nonce(2), now);
	guard.check(now + futureMs, nonce(2), now);
	// Later, the entry is too old for the window: dropped, and the floor rises to it, so a clock set back cannot revive it.
	const later = now + pastMs + 1000;
	guard.remember(later, nonce(3), later);
	assert.equal(guard.floor, now);
	refused(() => guard.check(now, nonce(1), now), /request floor/);
	// A full cache drops its oldest entry only after raising the floor to it.
	const full = new ReplayGuard(0);
	for (let i = 0; i < cacheSize + 5; i++)
		full.remember(now + i, nonce(100 + i), now);
	assert.equal(full.size, cacheSize);
	assert.equal(full.floor, now + 4, "the five oldest dropped, the floor at the fifth");
	for (let i = 0; i < cacheSize + 5; i++)
		refused(() => full.check(now + i, nonce(100 + i), now), /replayed nonce|request floor/);
});
