/*
 * The owner's app opens events with its own code (tools/app/web/envelope.ts,
 * for the browser: WebCrypto and @hpke/core's native X25519 with a
 * non-extractable key pair). Node 20 has the same WebCrypto, so the module
 * runs here too: against the specification's worked example, byte for byte,
 * and against the Node phone (tools/phone/open.ts) on envelopes that break
 * one rule each, sealed by the tests' own device side (tests/support/seal.ts):
 * the two must accept and refuse the same envelopes, for the same rule.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { EnvelopeError as AppEnvelopeError, openEvent as appOpen, verifySignature as appVerify } from "../../tools/app/web/envelope.js";
import { markSeen, replayProblem, emptyReplayState } from "../../tools/app/web/replay.js";
import { openEvent as phoneOpen } from "../../tools/phone/open.js";
import { documentedExample, exampleInputs } from "../../tools/protocol/example.js";
import { frame, metadataBody, noFaces, paddedClip, ringRecords, seal, thumbnailBody } from "../support/seal.js";
import type { Record as ClipRecord, SealOptions } from "../support/seal.js";

/** An X25519 secret as the app holds one: imported once, non-extractable, then used only through WebCrypto. */
async function appKeys(secret: Uint8Array) {
	const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), secret]);
	const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]);
	const publicBytes = x25519.getPublicKey(secret);
	const publicKey = await crypto.subtle.importKey("raw", publicBytes, { name: "X25519" }, true, []);
	return { keys: { privateKey, publicKey }, publicKey: publicBytes };
}

const deviceSeed = Buffer.from(exampleInputs.deviceSeed, "hex");
const deviceKey = ed25519.getPublicKey(deviceSeed);

test("the app opens the specification's worked example with a non-extractable key, as the Node phone does", async () => {
	const documented = /<summary>The whole envelope, hex<\/summary>\s*```\s*([0-9a-f\s]+)```/.exec(documentedExample());
	assert.ok(documented, "the worked example has its envelope");
	const envelope = Buffer.from(documented[1].replace(/\s/g, ""), "hex");
	const secret = Buffer.from(exampleInputs.phoneSecretKey, "hex");
	const keys = await appKeys(secret);
	assert.equal(keys.keys.privateKey.extractable, false);
	const app = await appOpen(envelope, keys, deviceKey);
	const phone = await phoneOpen(envelope, { secretKey: secret, publicKey: keys.publicKey }, deviceKey);
	assert.deepEqual(app.metadata, phone.metadata);
	assert.deepEqual(app.frames.map((bytes) => Buffer.from(bytes).toString("hex")), phone.frames.map((bytes) => Buffer.from(bytes).toString("hex")));
	assert.deepEqual([app.header.seq, app.header.time, app.header.eventId], [phone.header.seq, phone.header.time, phone.header.eventId]);
});

test("the app and the Node phone accept and refuse the same envelopes, each for the rule it breaks", async () => {
	const secret = randomBytes(32);
	const keys = await appKeys(secret);
	const other = x25519.getPublicKey(randomBytes(32));
	const deviceId = "00112233445566778899aabbccddeeff";
	let seq = 1;
	const options = (overrides: Partial<SealOptions> = {}): SealOptions => ({ deviceSeed, deviceId, eventId: randomBytes(16).toString("hex"), seq: seq++, time: 1795800000000, phones: [keys.publicKey], ...overrides });
	const sealed = (records: ClipRecord[], overrides: Partial<SealOptions> = {}) => seal(paddedClip(records), options(overrides));
	const notification = (metadata: object = {}, jpeg: Uint8Array | null = frame): ClipRecord[] => [
		{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 0, startedAt: 1795799999700, kind: "ring", notification: true, triggeredAt: 1795799999750, ...metadata }, 1024) },
		{ type: 4, body: thumbnailBody(jpeg ?? undefined, 14336) },
	];
	const altered = async (change: (bytes: Buffer) => void) => {
		const bytes = await sealed(ringRecords());
		change(bytes);
		return bytes;
	};
	const cases: [string, Buffer | Promise<Buffer>, RegExp | undefined][] = [
		["a ring's clip", sealed(ringRecords()), undefined],
		["a notification with its snapshot", sealed(notification()), undefined],
		["a notification without a snapshot, saying why", sealed(notification({ snapshotError: "no snapshot: camera: no frame within 1000 ms" }, null)), undefined],
		["a face with its thumbnail", sealed([
			{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: 1, kind: "face", faces: { ...noFaces, status: "found", faces: [{ frame: 0, box: [1, 1, 4, 4], score: 0.9 }] } }, 4096) },
			{ type: 3, body: thumbnailBody(frame) }, { type: 2, body: frame },
		]), undefined],
		["a DWE1 envelope", altered((bytes) => bytes.write("DWE1", 0, "latin1")), /DWE1/],
		["a truncated envelope", altered((bytes) => bytes.fill(0, bytes.length - 1)).then((bytes) => bytes.subarray(0, bytes.length - 1)), /truncated or extended/],
		["a changed sequence number", altered((bytes) => bytes.writeUInt32BE(bytes.readUInt32BE(44) + 1, 44)), /signature does not verify/],
		["a changed ciphertext", altered((bytes) => (bytes[bytes.length - 1] ^= 1)), /ciphertext digest does not match/],
		["sealed to another phone", sealed(ringRecords(), { phones: [other] }), /not a recipient/],
		["a notification with a snapshot and a snapshotError", sealed(notification({ snapshotError: "why" })), /a snapshot, and a snapshotError/],
		["a notification with frames", sealed(notification({ frameCount: 1 })), /notification that is not a ring with frameCount 0/],
		["a thumbnail without a face found", sealed([
			{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 0, startedAt: 1, kind: "motion", faces: noFaces }, 4096) },
			{ type: 3, body: thumbnailBody(frame) },
		]), /face thumbnail, but the face report found no face/],
		["metadata that repeats a name", sealed([{ type: 1, body: Buffer.concat([Buffer.from("{\"kind\":\"ring\",\"kind\":\"motion\"}"), Buffer.alloc(4096 - 31, 0x20)]) }, { type: 3, body: thumbnailBody() }]), /./],
		["a reserved record type", sealed([...ringRecords(), { type: 9, body: Buffer.of(1) }]), /record type 9 is reserved/],
		["an event that follows itself", (async () => {
			const eventId = randomBytes(16).toString("hex");
			return seal(paddedClip(ringRecords({ follows: eventId })), options({ eventId }));
		})(), /follows itself/],
	];
	for (const [name, envelopePromise, refusal] of cases) {
		const envelope = await envelopePromise;
		const app = await appOpen(envelope, keys, deviceKey).then((opened) => opened, (error: unknown) => error);
		const phone = await phoneOpen(envelope, { secretKey: secret, publicKey: keys.publicKey }, deviceKey).then((opened) => opened, (error: unknown) => error);
		if (!refusal) {
			assert.ok(!(app instanceof Error), `${name}: the app opens it (${String(app)})`);
			assert.ok(!(phone instanceof Error), `${name}: the Node phone opens it`);
			assert.deepEqual((app as { metadata: unknown }).metadata, (phone as { metadata: unknown }).metadata, name);
			continue;
		}
		assert.ok(app instanceof AppEnvelopeError, `${name}: the app refuses it (${String(app)})`);
		assert.ok(phone instanceof Error, `${name}: the Node phone refuses it`);
		assert.match(app.message, refusal, name);
		// The same rule in both words: the Node phone's message, less its "event: " prefix.
		assert.equal(app.message.replace(/; this app reads DWE2$/, ""), (phone as Error).message.replace(/^event: /, "").replace(/ \(its key ids link a phone across devices\); this phone reads DWE2$/, ""), name);
	}
});

test("the app's signature check is libsodium's: S must be below L even when S + L satisfies the equation", () => {
	const message = Buffer.from("doorward");
	const signature = Buffer.from(ed25519.sign(message, deviceSeed));
	assert.equal(appVerify(signature, message, deviceKey), true);
	// [S + L]B = [S]B: the equation still holds, only the rule S < L refuses it.
	const order = ed25519.Point.Fn.ORDER;
	let s = 0n;
	for (let i = 63; i >= 32; i--)
		s = (s << 8n) | BigInt(signature[i]);
	let big = s + order;
	const malleable = Buffer.from(signature);
	for (let i = 32; i < 64; i++, big >>= 8n)
		malleable[i] = Number(big & 0xffn);
	assert.equal(big, 0n, "S + L fits 32 bytes");
	assert.equal(appVerify(malleable, message, deviceKey), false);
});

test("the app's window: a replay is refused, a late event accepted once, gaps reported from the baseline", () => {
	let state = emptyReplayState();
	({ state } = markSeen(state, 5));
	assert.equal(replayProblem(state, 5), "replay: event 5 was opened already");
	const jump = markSeen(state, 9);
	assert.deepEqual(jump.notes.gaps, [[6, 8]]);
	state = jump.state;
	assert.equal(replayProblem(state, 7), undefined);
	const late = markSeen(state, 7);
	assert.equal(late.notes.late, true);
	assert.match(replayProblem(late.state, 7)!, /opened already/);
	assert.match(replayProblem(markSeen(late.state, 200).state, 100)!, /older than the last 64/);
});
