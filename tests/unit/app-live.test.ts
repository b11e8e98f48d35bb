/*
 * The app's signed requests and live view (tools/app/web/requests.ts,
 * live.ts: browser code on WebCrypto, which Node 20 has too), checked here
 * against docs/protocol/requests.md's worked example (the body and its
 * signature, made with a non-extractable WebCrypto Ed25519 key) and against
 * a device side written in this test from docs/protocol/live.md: it opens the
 * sealed start request, answers with a signed accept, and seals frames that
 * the app must open, or refuse when tampered, replayed, reordered, of a
 * wrong size or key id.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, hkdfSync, createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CipherSuite, Aes256Gcm, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { buildRequest, invitationPayload, Kind } from "../../tools/app/web/requests.js";
import { LiveRefused, LiveSession, sessionTopic } from "../../tools/app/web/live.js";
import { projectRoot } from "../../tools/build/firmware.js";
import type { KeyPair } from "../../tools/app/web/bytes.js";

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

/** An Ed25519 seed as the app holds a key: imported once, non-extractable. */
async function signingPair(seed: Uint8Array): Promise<{ signing: KeyPair; signingPublicKey: string }> {
	const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
	const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
	const publicBytes = ed25519.getPublicKey(seed);
	const publicKey = await crypto.subtle.importKey("raw", publicBytes, { name: "Ed25519" }, true, ["verify"]);
	return { signing: { privateKey, publicKey }, signingPublicKey: Buffer.from(publicBytes).toString("hex") };
}

/** The device's side of one request: opens it (HPKE, as requests.md says) and splits the plaintext. */
async function openRequest(sealed: Uint8Array, agreementSecret: Uint8Array, deviceId: string) {
	assert.equal(Buffer.from(sealed.subarray(0, 4)).toString(), "DWQ1");
	const recipientKey = await suite.kem.importKey("raw", new Uint8Array(agreementSecret).buffer, false);
	const info = Buffer.concat([Buffer.from("doorward/request/v1"), Buffer.of(0), Buffer.from(deviceId, "hex")]);
	const context = await suite.createRecipientContext({ recipientKey, enc: sealed.slice(4, 36).buffer, info });
	const plaintext = Buffer.from(await context.open(sealed.slice(36).buffer, Buffer.from("DWQ1")));
	const length = plaintext.readUInt16BE(78);
	const body = plaintext.subarray(0, 80 + length);
	return { plaintext, body, signature: plaintext.subarray(80 + length, 144 + length), payload: body.subarray(80), kind: body[4], signer: body.subarray(46, 78) };
}

const requestsDoc = readFileSync(join(projectRoot, "docs", "protocol", "requests.md"), "utf8");

test("the app's request body and its WebCrypto Ed25519 signature are the worked example's, byte for byte, and it seals to the device's key", async () => {
	const phone = await signingPair(Buffer.from("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "hex"));
	assert.equal(phone.signing.privateKey.extractable, false);
	const deviceSecret = Buffer.from("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "hex");
	const deviceId = "00112233445566778899aabbccddeeff";
	const built = await buildRequest({
		kind: Kind.Remove, payload: Buffer.from("8c7f2dfb3f0ac4a1", "hex"), deviceId, agreementPublicKey: Buffer.from(x25519.getPublicKey(deviceSecret)).toString("hex"),
		...phone, time: 1795800000000, nonce: Buffer.from("0f0e0d0c0b0a09080706050403020100", "hex"),
	});
	assert.equal(built.sealed.length, 564);
	const opened = await openRequest(built.sealed, deviceSecret, deviceId);
	const table = requestsDoc.slice(requestsDoc.indexOf("The body is 88 bytes"), requestsDoc.indexOf("The signed message"));
	const rows = [...table.matchAll(/^\| \d+(?:-\d+)? \| [A-Za-z ]+ \| `([0-9a-f]+)` \|$/gm)].map((row) => row[1]).join("");
	assert.equal(Buffer.from(built.body).toString("hex"), rows, "the body is the documented table's");
	assert.equal(opened.body.toString("hex"), rows);
	const documented = /Signature:\s*```\s*([0-9a-f\s]+)```/.exec(requestsDoc)![1].replace(/\s/g, "");
	assert.equal(opened.signature.toString("hex"), documented);
	assert.ok(opened.plaintext.subarray(88 + 64).every((byte) => byte === 0), "zero padding to 512");
});

test("the invite payload is 117 bytes: salt, 10000 iterations, w0 and an uncompressed L; never the code", () => {
	const payload = invitationPayload("48213377", new Uint8Array(16).fill(7));
	assert.equal(payload.length, 117);
	assert.equal(Buffer.from(payload.subarray(16, 20)).readUInt32BE(), 10000);
	assert.equal(payload[52], 4);
	assert.ok(!Buffer.from(payload).toString("latin1").includes("48213377"));
});

/** A device, written from live.md: answers a start request and seals frames. */
async function liveDevice() {
	const identity = randomBytes(32);
	const agreement = x25519.utils.randomSecretKey();
	const deviceId = randomBytes(16).toString("hex");
	const device = {
		deviceId, topicId: randomBytes(8).toString("hex"),
		agreementPublicKey: Buffer.from(x25519.getPublicKey(agreement)).toString("hex"),
		signingPublicKey: Buffer.from(ed25519.getPublicKey(identity)).toString("hex"),
	};
	const phone = await signingPair(randomBytes(32));
	const session = await LiveSession.start(device, phone, 30);
	const request = await openRequest(session.sealedRequest, agreement, deviceId);
	assert.equal(request.kind, Kind.LiveStart);
	assert.ok(ed25519.verify(request.signature, Buffer.concat([Buffer.from("doorward/request/v1"), Buffer.of(0), request.body]), request.signer, { zip215: false }));
	const phoneEphemeral = request.payload.subarray(4, 36);
	assert.equal(session.topic, await sessionTopic(phoneEphemeral));
	const ephemeral = x25519.utils.randomSecretKey();
	const ephemeralPublic = x25519.getPublicKey(ephemeral);
	const u16 = (value: number) => Buffer.of(value >> 8, value & 0xff);
	const transcript = Buffer.concat([Buffer.from("doorward/live/v1"), Buffer.of(0), Buffer.from(deviceId, "hex"), request.signer,
		request.body.subarray(6, 14), request.body.subarray(14, 30), request.payload, ephemeralPublic, u16(320), u16(240), u16(30)]);
	const accept = (seed = identity) => Buffer.concat([Buffer.from("DWLA"), ephemeralPublic, Buffer.of(0, 0), u16(320), u16(240), u16(30), ed25519.sign(transcript, seed)]);
	const shared = x25519.getSharedSecret(ephemeral, phoneEphemeral);
	const salt = createHash("sha256").update(transcript).digest();
	const derive = (info: string, length: number) => Buffer.from(hkdfSync("sha256", shared, salt, `doorward/live/v1 ${info}`, length));
	const key = derive("key", 32);
	const nonceSalt = derive("salt", 12);
	const seal = (counter: number, type: number, content: Buffer, keyId = 0) => {
		const header = Buffer.alloc(10);
		header[0] = 1;
		header[1] = keyId;
		header.writeBigUInt64BE(BigInt(counter), 2);
		const inner = Buffer.alloc(14);
		inner[0] = type;
		inner.writeBigUInt64BE(BigInt(Date.now()), 2);
		inner.writeUInt32BE(content.length, 10);
		const plain = Buffer.alloc(1024);
		Buffer.concat([inner, content]).copy(plain);
		const nonce = Buffer.from(nonceSalt);
		for (let i = 0; i < 8; i++)
			nonce[4 + i] ^= header[2 + i];
		const cipher = createCipheriv("aes-256-gcm", key, nonce).setAAD(header);
		return Buffer.concat([header, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
	};
	return { session, accept, seal, sessionId: derive("id", 8), agreement, deviceId };
}

const jpeg = Buffer.from("ffd8ffe000104a464946000101000001ffd9", "hex");

test("the app checks the device's accept, opens its frames, and refuses tampered, replayed, reordered and malformed ones", async () => {
	const device = await liveDevice();
	await device.session.accept(device.accept());
	assert.equal(device.session.width, 320);
	assert.equal(device.session.granted, 30);
	const first = await device.session.open(device.seal(0, 1, jpeg));
	assert.equal(first.type, "frame");
	assert.deepEqual(first.type === "frame" && Buffer.from(first.jpeg), jpeg);
	const tampered = device.seal(1, 1, jpeg);
	tampered[40] ^= 1;
	await assert.rejects(device.session.open(tampered), (error: Error) => (error instanceof LiveRefused) && /does not authenticate/.test(error.message));
	await assert.rejects(device.session.open(device.seal(0, 1, jpeg)), /counter 0 after 0: replayed or reordered/);
	await device.session.open(device.seal(3, 1, jpeg));
	await assert.rejects(device.session.open(device.seal(2, 1, jpeg)), /counter 2 after 3: replayed or reordered/);
	await assert.rejects(device.session.open(device.seal(4, 1, jpeg, 1)), /key id 1/);
	await assert.rejects(device.session.open(device.seal(5, 1, jpeg).subarray(0, 1049)), /not padded to a bucket/);
	await assert.rejects(device.session.open(device.seal(6, 7, jpeg)), /of type 7/);
	// A gap is no error; the end names its reason.
	const end = await device.session.open(device.seal(9, 2, Buffer.of(1)));
	assert.deepEqual(end.type === "end" && end.reason, "stop");
	assert.equal(device.session.refused, 6);
	assert.equal(device.session.id, device.sessionId.toString("hex"));
	const stop = await openRequest(await device.session.stopRequest(), device.agreement, device.deviceId);
	assert.equal(stop.kind, Kind.LiveStop);
	assert.deepEqual(stop.payload, device.sessionId);
});

test("an accept not signed by the paired device is refused, and no frame opens", async () => {
	const device = await liveDevice();
	await assert.rejects(device.session.accept(device.accept(randomBytes(32))), /not the device's/);
	await assert.rejects(device.session.open(device.seal(0, 1, jpeg)), /before the accept/);
});
