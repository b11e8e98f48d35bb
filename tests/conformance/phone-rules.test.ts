/*
 * A worked example for each rule of docs/protocol/events.md that a phone
 * enforces: an envelope that breaks that rule and only it, sealed by the
 * tests' own implementation of the device side (tests/support/seal.ts), and
 * the refusal the phone gives it. Every envelope is validly signed, so each
 * refusal comes from the rule named, not from an earlier check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { EnvelopeError, openEvent, parseHeader, phoneKeyFingerprint, recipientKeyId, signingKeyProblem, verifySignature } from "../../tools/phone/open.js";
import { createPhone, deviceFingerprint, phoneKeys, rememberDevice } from "../../tools/phone/identity.js";
import { acceptEvent } from "../../tools/phone/state.js";
import { documentedExample, exampleInputs, exampleMetadata, tinyFrame } from "../../tools/protocol/example.js";
import { XsOracle } from "../../tools/protocol/oracle.js";
import { clipOf, frame, keyIdFor, metadataBody, noFaces, padme, paddedClip, paddingFor, ringRecords, seal, thumbnailBody } from "../support/seal.js";
import type { Record as ClipRecord, SealOptions } from "../support/seal.js";

const deviceSeed = Buffer.from(exampleInputs.deviceSeed, "hex");
const deviceKey = ed25519.getPublicKey(deviceSeed);
const deviceId = "00112233445566778899aabbccddeeff";
const topicId = "aa".repeat(16);
const phone = createPhone("rules");
const keys = phoneKeys(phone);
rememberDevice(phone, {
	ok: true, deviceId, topicId, signingPublicKey: Buffer.from(deviceKey).toString("hex"),
	agreementPublicKey: Buffer.from(x25519.getPublicKey(randomBytes(32))).toString("hex"),
	get fingerprint() { return deviceFingerprint(deviceKey, Buffer.from(this.agreementPublicKey, "hex")); },
});

let nextSeq = 1;
function sealOptions(overrides: Partial<SealOptions> = {}): SealOptions {
	return { deviceSeed, deviceId, eventId: randomBytes(16).toString("hex"), seq: nextSeq++, time: 1795800000000, phones: [keys.publicKey], ...overrides };
}

const sealRecords = (records: ClipRecord[], overrides: Partial<SealOptions> = {}) => seal(paddedClip(records), sealOptions(overrides));
const open = (envelope: Uint8Array) => openEvent(envelope, keys, deviceKey);

async function refused(envelope: Uint8Array | Promise<Uint8Array>, pattern: RegExp, secret?: string): Promise<void> {
	const error = await open(await envelope).then(() => undefined, (caught: unknown) => caught);
	assert.ok(error instanceof EnvelopeError, `refused as an EnvelopeError (${pattern}), got ${String(error)}`);
	assert.match(error.message, pattern);
	assert.doesNotMatch(error.message, /\n/, "one line");
	if (secret)
		assert.ok(!error.message.includes(secret), "the refusal quotes no plaintext");
}

/** The records of an update event: metadata without faces, no pictures. */
const updateRecords = (metadata: object = {}): ClipRecord[] => [
	{ type: 1, body: metadataBody({ width: 0, height: 0, format: "jpeg", frameCount: 0, startedAt: 1795799999750, kind: "update", details: { outcome: "confirmed" }, ...metadata }) },
];

/** A metadata record of an event with pictures with a raw body, padded to 4096 with spaces. */
const rawMetadata = (bytes: Uint8Array, size = 4096): ClipRecord => ({ type: 1, body: Buffer.concat([bytes, Buffer.alloc(size - bytes.length, 0x20)]) });

test("the tests' sealer reproduces the specification's worked example byte for byte", async () => {
	const documented = /<summary>The whole envelope, hex<\/summary>\s*```\s*([0-9a-f\s]+)```/.exec(documentedExample());
	assert.ok(documented, "the worked example has its envelope");
	const records = [
		{ type: 1, body: metadataBody(exampleMetadata(), 4096) },
		{ type: 3, body: thumbnailBody() },
		{ type: 2, body: Buffer.from(tinyFrame(), "hex") },
	];
	const phonePublicKey = x25519.getPublicKey(Buffer.from(exampleInputs.phoneSecretKey, "hex"));
	const envelope = await seal(paddedClip(records), {
		deviceSeed, deviceId: exampleInputs.deviceId, eventId: exampleInputs.eventId, seq: exampleInputs.seq, time: exampleInputs.time, phones: [phonePublicKey],
		clipKey: Buffer.from(exampleInputs.clipKey, "hex"), salt: Buffer.from(exampleInputs.salt, "hex"), ephemeralIkm: [Buffer.from(exampleInputs.ephemeralIkm, "hex")],
	});
	assert.equal(envelope.toString("hex"), documented[1].replace(/\s/g, ""));
});

test("well-formed events open: a ring without a face, a face with its thumbnail, an update, a burst without frames", async () => {
	const ring = await open(await sealRecords(ringRecords()));
	assert.equal(ring.frames.length, 1);
	assert.equal(ring.thumbnail, undefined);
	const face = { frame: 0, box: [1, 1, 4, 4], score: 0.9, keypoints: [[1, 1], [2, 1], [2, 2], [2, 3], [1, 2], [3, 2]] };
	const jpeg = Buffer.from("ffd8ffdb0001ffd9", "hex");
	const found = await open(await sealRecords([
		{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: 1, kind: "face", faces: { ...noFaces, status: "found", faces: [face] } }, 4096) },
		{ type: 3, body: thumbnailBody(jpeg) },
		{ type: 2, body: frame },
	]));
	assert.ok(Buffer.from(found.thumbnail!).equals(jpeg));
	const update = await open(await sealRecords(updateRecords()));
	assert.equal(update.metadata.kind, "update");
	const empty = await open(await sealRecords(ringRecords({ frameCount: 0, cameraError: "camera timed out" }).slice(0, 2)));
	assert.equal(empty.frames.length, 0);
});

test("item 5: a validly signed envelope whose metadata is not JSON is one refusal that quotes nothing", async () => {
	const secret = "SECRET visitor at the door";
	await refused(sealRecords([rawMetadata(Buffer.from(`{"kind": "ring", ${secret}`)), ...ringRecords().slice(1)]), /metadata is not JSON/, secret);
	await refused(sealRecords([{ type: 1, body: Buffer.from(secret) }]), /metadata is not JSON/, secret);
});

test("metadata: UTF-8 without a byte order mark, a JSON object, no repeated name", async () => {
	const json = Buffer.from(JSON.stringify({ width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: 1, kind: "ring", faces: noFaces, note: "Tür" }));
	const at = json.indexOf(Buffer.from("Tür")) + 1; // the two bytes of ü
	const withBytes = (bytes: number[]) => Buffer.concat([json.subarray(0, at), Buffer.from(bytes), json.subarray(at + 2)]);
	const rest = ringRecords().slice(1);
	await refused(sealRecords([rawMetadata(withBytes([0xC0, 0x80])), ...rest]), /not valid UTF-8/); // overlong
	await refused(sealRecords([rawMetadata(withBytes([0xED, 0xA0, 0x80])), ...rest]), /not valid UTF-8/); // a surrogate, U+D800
	await refused(sealRecords([rawMetadata(withBytes([0xE2, 0x82])), ...rest]), /not valid UTF-8/); // a truncated sequence
	await refused(sealRecords([rawMetadata(withBytes([0xFF, 0xFE])), ...rest]), /not valid UTF-8/);
	await refused(sealRecords([rawMetadata(Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), json])), ...rest]), /not JSON/); // a byte order mark
	for (const value of ["[1, 2]", "\"ring\"", "42", "null", "true"])
		await refused(sealRecords([rawMetadata(Buffer.from(value)), ...rest]), /JSON but not an object/);
	const repeated = Buffer.from(json.toString().replace("\"width\":8", "\"width\":8,\"width\":9"));
	await refused(sealRecords([rawMetadata(repeated), ...rest]), /repeats a member name/);
	const nested = Buffer.from(json.toString().replace("\"status\":\"none\"", "\"status\":\"none\",\"status\":\"found\""));
	await refused(sealRecords([rawMetadata(nested), ...rest]), /repeats a member name/);
	// The same name in two different objects is not a repetition, nor is a name inside a string.
	const face = { frame: 0, box: [1, 1, 4, 4], score: 0.9, keypoints: [] };
	await open(await sealRecords(ringRecords({ note: "{\"width\":1}", faces: { ...noFaces, faces: [face, face] } })));
	assert.equal((await open(await sealRecords([rawMetadata(json), ...rest]))).metadata.note, "Tür");
});

test("metadata fields: the four kinds, faces exactly when there are pictures, the required fields", async () => {
	await refused(sealRecords(ringRecords({ kind: "doorbell" })), /kind is missing or not one of/);
	await refused(sealRecords(ringRecords({ kind: undefined })), /kind is missing/);
	await refused(sealRecords([{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: 1, kind: "ring" }, 4096) }, { type: 2, body: frame }]), /a ring event without a face report/);
	await refused(sealRecords([...updateRecords({ faces: noFaces }), { type: 3, body: thumbnailBody() }]), /an update event with a face report/);
	await refused(sealRecords(ringRecords({ frameCount: "1" })), /frameCount or startedAt is missing or malformed/);
	await refused(sealRecords(ringRecords({ startedAt: -1 })), /malformed/);
	await refused(sealRecords(ringRecords({ format: "png" })), /malformed/);
	await refused(sealRecords(ringRecords({ faces: { ...noFaces, status: "maybe" } })), /face report is malformed/);
	// Unknown fields are ignored: the metadata can grow.
	assert.equal((await open(await sealRecords(ringRecords({ futureField: { a: 1 } })))).metadata.kind, "ring");
});

test("item 6: the fixed sizes are of record bodies; 4095, 4097 and 1 MiB of metadata are refused", async () => {
	const metadata = { width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: 1, kind: "ring", faces: noFaces };
	const rest = ringRecords().slice(1);
	for (const size of [4095, 4097])
		await refused(sealRecords([{ type: 1, body: metadataBody(metadata, size) }, ...rest]), new RegExp(`metadata of ${size} bytes`));
	await refused(sealRecords([{ type: 1, body: metadataBody(metadata, 1024 * 1024) }, ...rest]), /metadata of 1048576 bytes; at most 4096/);
	// A whole record of 4096 bytes is a body of 4091: refused. A 4096-byte body (a 4101-byte record) opens.
	await refused(sealRecords([{ type: 1, body: metadataBody(metadata, 4096 - 5) }, ...rest]), /metadata of 4091 bytes/);
	const clip = paddedClip([{ type: 1, body: metadataBody(metadata, 4096) }, ...rest]);
	assert.equal(clip.readUInt32BE(5), 4096);
	assert.equal(clip[4 + 4101], 3, "the thumbnail record starts 4101 bytes after the metadata record");
	await open(await seal(clip, sealOptions()));
	// Without pictures, the metadata is not filled, but is still at most 4096 bytes.
	await refused(sealRecords(updateRecords({ details: { log: "x".repeat(4096) } })), /at most 4096/);
	for (const size of [8191, 8193])
		await refused(sealRecords([ringRecords()[0], { type: 3, body: thumbnailBody(undefined, size) }, { type: 2, body: frame }]), new RegExp(`thumbnail record of ${size} bytes`));
});

test("item 6: a thumbnail without faces, faces without a thumbnail, a thumbnail the report does not explain", async () => {
	const [metadata, thumbnail, picture] = ringRecords();
	await refused(sealRecords([metadata, picture]), /face report without a thumbnail record/);
	await refused(sealRecords([metadata]), /face report without a thumbnail record/);
	await refused(sealRecords([...updateRecords(), { type: 3, body: thumbnailBody() }]), /thumbnail record without a face report/);
	await refused(sealRecords([metadata, thumbnail, thumbnail, picture]), /second thumbnail record/);
	await refused(sealRecords([metadata, picture, thumbnail]), /face report without a thumbnail record/);
	await refused(sealRecords([metadata, { type: 3, body: thumbnailBody(Buffer.from("ffd8ffd9", "hex")) }, picture]), /the face report found no face/);
	const tooLong = thumbnailBody();
	tooLong.writeUInt32BE(8189, 0);
	await refused(sealRecords([metadata, { type: 3, body: tooLong }, picture]), /JPEG length of 8189 bytes/);
	const dirty = thumbnailBody();
	dirty[8191] = 1;
	await refused(sealRecords([metadata, { type: 3, body: dirty }, picture]), /thumbnail record's padding is not zero/);
});

test("item 6: an empty frame, a frame without pictures, a frame count that does not match", async () => {
	const [metadata, thumbnail] = ringRecords();
	await refused(sealRecords([metadata, thumbnail, { type: 2, body: new Uint8Array(0) }]), /frame 0 is empty/);
	await refused(sealRecords([...updateRecords(), { type: 2, body: frame }]), /a frame in an event without pictures/);
	await refused(sealRecords([metadata, thumbnail, { type: 2, body: frame }, { type: 2, body: frame }]), /frameCount 1, but 2 frames/);
	await refused(sealRecords([thumbnail, metadata]), /first record is of type 3/);
	await refused(sealRecords([metadata, thumbnail, metadata]), /second metadata record/);
});

test("item 6: the padding record is mandatory and its length is checked", async () => {
	const records = ringRecords();
	const unpadded = clipOf(records);
	// No padding record, in a clip that is exactly a padded length (the frame makes up the difference).
	const filler = { type: 2, body: Buffer.alloc(13312 - unpadded.length + frame.length, 0xAB) };
	const exact = clipOf([records[0], records[1], filler]);
	assert.equal(exact.length, 13312);
	await refused(seal(exact, sealOptions()), /padding record is missing/);
	// Padded one bucket too far: both lengths are Padmé buckets, so only the clip's rule can see it.
	const bucket = padme(unpadded.length + 5);
	assert.equal(padme(bucket + 512), bucket + 512, "the next bucket up");
	const overPadded = Buffer.concat([unpadded, clipOf([{ type: 0, body: new Uint8Array(bucket + 512 - unpadded.length - 5) }]).subarray(4)]);
	await refused(seal(overPadded, sealOptions()), new RegExp(`padded to ${bucket + 512} bytes, but ${unpadded.length} bytes of records pad to ${bucket}`));
	const dirty = paddedClip(records);
	dirty[dirty.length - 1] = 1;
	await refused(seal(dirty, sealOptions()), /padding is not zero/);
	// A record after the padding.
	const padding = paddingFor(unpadded.length);
	const after = clipOf([...records, { type: 0, body: padding.body.subarray(10) }, { type: 200, body: new Uint8Array(5) }]);
	assert.equal(after.length, bucket);
	await refused(seal(after, sealOptions()), /a record follows the padding/);
	// A clip of a length that is not a padded length cannot even be a ciphertext's: refused before any cryptography.
	await assert.rejects(seal(unpadded, sealOptions()).then(open), /not that of a padded clip/);
});

test("record types: 5 to 127 are reserved and refused; 128 to 255 are extensions and skipped", async () => {
	const [metadata, thumbnail, picture] = ringRecords();
	for (const type of [5, 127])
		await refused(sealRecords([metadata, thumbnail, picture, { type, body: Buffer.from("new") }]), new RegExp(`record type ${type} is reserved`));
	for (const type of [128, 255]) {
		const opened = await open(await sealRecords([metadata, thumbnail, { type, body: Buffer.from("a later version's record") }, picture]));
		assert.equal(opened.frames.length, 1);
		assert.ok(Buffer.from(opened.frames[0]).equals(frame));
	}
	await open(await sealRecords([...updateRecords(), { type: 130, body: new Uint8Array(3) }]));
});

test("the envelope: DWE1 is refused; two recipients with one key id are refused", async () => {
	await assert.rejects(sealRecords(ringRecords(), { magic: "DWE1", version: 1 }).then(open), /DWE1 envelope: that format is withdrawn/);
	await assert.rejects(sealRecords(ringRecords(), { version: 1 }).then(open), /unknown version 1/);
	const other = x25519.getPublicKey(randomBytes(32));
	const same = keyIdFor(deviceId, keys.publicKey);
	await assert.rejects(sealRecords(ringRecords(), { phones: [keys.publicKey, other], keyIds: [same, same] }).then(open), /two recipients have the same key id/);
	assert.equal((await open(await sealRecords(ringRecords(), { phones: [other, keys.publicKey] }))).frames.length, 1, "found in second place");
});

test("item 8: a key id is per device, and a phone listed under its key fingerprint is not a recipient", async () => {
	const otherDevice = "ffeeddccbbaa99887766554433221100";
	const here = recipientKeyId(Buffer.from(deviceId, "hex"), keys.publicKey);
	const there = recipientKeyId(Buffer.from(otherDevice, "hex"), keys.publicKey);
	assert.notEqual(here, there);
	assert.notEqual(here, phoneKeyFingerprint(keys.publicKey));
	assert.equal(phone.devices[deviceId].keyId, here);
	const envelope = await sealRecords(ringRecords());
	assert.equal(parseHeader(envelope).header.recipients[0].keyId, here);
	await refused(sealRecords(ringRecords(), { keyIds: [Buffer.from(phoneKeyFingerprint(keys.publicKey), "hex")] }), /not a recipient/);
});

test("item 7: the topic binds the device: an event on another device's topic is refused", async () => {
	const envelope = await sealRecords(ringRecords());
	const options = { save: () => {} };
	await assert.rejects(acceptEvent(phone, envelope, { ...options, topic: `dw/${"bb".repeat(16)}/ev` }), /publishes on dw\/a{32}\/ev, but this event came on dw\/b{32}\/ev/);
	const accepted = await acceptEvent(phone, envelope, { ...options, topic: `dw/${topicId}/ev` });
	assert.equal(accepted.opened.frames.length, 1);
});

test("time: never a reason to refuse; a clock that was not set, or is ahead, is said", async () => {
	const now = 1795800000000;
	const accept = async (time: number, metadata: object = {}) => acceptEvent(phone, await sealRecords(ringRecords(metadata), { time }), { save: () => {}, now });
	assert.deepEqual((await accept(now)).notes, []);
	assert.match((await accept(0)).notes.join(), /clock was not set \(time 0\)/);
	assert.match((await accept(now + 3600 * 1000)).notes.join(), /3600 s ahead/);
	assert.deepEqual((await accept(now, { startedAt: now + 5000 })).notes, [], "startedAt after time is not refused");
});

test("Ed25519: the phone accepts exactly what libsodium does, on signatures @noble/curves alone would accept", async () => {
	const { scalar: a } = ed25519.utils.getExtendedPublicKey(deviceSeed);
	const Point = ed25519.Point;
	const L = Point.Fn.ORDER;
	const le = (value: bigint) => Buffer.from(value.toString(16).padStart(64, "0"), "hex").reverse();
	// k = SHA-512(R || A || M) mod L, the scalar both equations use.
	const k = (R: Uint8Array, A: Uint8Array, M: Uint8Array) => BigInt(`0x${createHash("sha512").update(R).update(A).update(M).digest().reverse().toString("hex")}`) % L;
	const message = Buffer.from("doorward/event/v1\0crafted");
	const order8 = Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
	const cases: { name: string; sig: Uint8Array; key: Uint8Array; noble: boolean }[] = [];
	cases.push({ name: "honest", sig: ed25519.sign(message, deviceSeed), key: deviceKey, noble: true });
	for (const [name, R] of [["R the identity", Point.ZERO], ["R of order 8", order8]] as const) {
		const r = R.toBytes();
		cases.push({ name, sig: Buffer.concat([r, le((k(r, deviceKey, message) * a) % L)]), key: deviceKey, noble: true });
	}
	// A mixed-order key: the device's point plus one of order 8. Pick a message whose k is not a multiple of 8.
	const mixed = Point.BASE.multiply(a).add(order8).toBytes();
	const r = 12345n;
	const R = Point.BASE.multiply(r).toBytes();
	let m = message;
	for (let i = 0; k(R, mixed, m) % 8n === 0n; i++)
		m = Buffer.concat([message, Buffer.of(i)]);
	cases.push({ name: "mixed-order key", sig: Buffer.concat([R, le((r + k(R, mixed, m) * a) % L)]), key: mixed, noble: true });
	const honest = ed25519.sign(message, deviceSeed);
	cases.push({ name: "S + L", sig: Buffer.concat([honest.subarray(0, 32), le(BigInt(`0x${Buffer.from(honest.subarray(32)).reverse().toString("hex")}`) + L)]), key: deviceKey, noble: false });
	cases.push({ name: "small-order key", sig: honest, key: Point.ZERO.toBytes(), noble: false });
	const oracle = new XsOracle();
	try {
		for (const { name, sig, key, noble } of cases) {
			const signed = (name === "mixed-order key") ? m : message;
			const libsodium = await oracle.request({ op: "ed25519.verify", publicKey: Buffer.from(key).toString("hex"), msg: signed.toString("hex"), sig: Buffer.from(sig).toString("hex") });
			assert.ok(libsodium.ok, libsodium.error);
			assert.equal(verifySignature(sig, signed, key), libsodium.valid, `${name}: the phone and libsodium agree`);
			assert.equal(libsodium.valid, name === "honest", `${name}: libsodium's verdict`);
			assert.equal(ed25519.verify(sig, signed, key, { zip215: false }), noble, `${name}: what @noble/curves alone says`);
		}
	}
	finally {
		await oracle.close();
	}
	// And at pairing: keys of small order or outside the prime-order subgroup are refused.
	assert.equal(signingKeyProblem(deviceKey), undefined);
	assert.equal(signingKeyProblem(mixed), "not in the prime-order subgroup");
	assert.equal(signingKeyProblem(order8.toBytes()), "a point of small order");
	assert.equal(signingKeyProblem(Buffer.from(`ee${"ff".repeat(30)}7f`, "hex")), "not a canonical Ed25519 point");
});

/** The records of a ring's notification (§ Notification and clip): metadata of 1024 bytes, the snapshot record of 14336. */
const notificationRecords = (metadata: object = {}, jpeg: Uint8Array | null = frame, sizes = { metadata: 1024, snapshot: 14336 }): ClipRecord[] => [
	{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 0, startedAt: 1795799999700, kind: "ring", notification: true, triggeredAt: 1795799999750, ...metadata }, sizes.metadata) },
	{ type: 4, body: thumbnailBody(jpeg ?? undefined, sizes.snapshot) },
];

test("a ring's notification opens, with its snapshot or with the reason it has none; it is always 15872 bytes of clip", async () => {
	const withSnapshot = await open(await sealRecords(notificationRecords()));
	assert.ok(Buffer.from(withSnapshot.snapshot!).equals(frame));
	assert.deepEqual([withSnapshot.frames.length, withSnapshot.header.clipLength, withSnapshot.metadata.notification], [0, 15872, true]);
	const without = await open(await sealRecords(notificationRecords({ width: 0, height: 0, snapshotError: "no snapshot: camera: no frame within 1000 ms" }, null)));
	assert.equal(without.snapshot, undefined);
	assert.equal(without.header.clipLength, 15872);
	assert.equal((await sealRecords(notificationRecords())).length, 93 + 88 + 64 + 15944, "one fixed envelope size, within a 16 KiB send window");
});

test("the notification's rules: fixed sizes, a snapshot or its reason, nothing of a clip", async () => {
	await refused(sealRecords(notificationRecords({}, frame, { metadata: 4096, snapshot: 14336 })), /metadata of 4096 bytes in a notification; exactly 1024/);
	await refused(sealRecords(notificationRecords({}, frame, { metadata: 1024, snapshot: 14335 })), /snapshot record of 14335 bytes; exactly 14336/);
	await refused(sealRecords(notificationRecords({}, null)), /no snapshot, and no snapshotError/);
	await refused(sealRecords(notificationRecords({ snapshotError: "why" })), /a snapshot, and a snapshotError/);
	await refused(sealRecords(notificationRecords({ frameCount: 1 })), /notification that is not a ring with frameCount 0/);
	await refused(sealRecords(notificationRecords({ kind: "motion" })), /notification that is not a ring/);
	await refused(sealRecords(notificationRecords({ faces: noFaces })), /notification that is not a ring with frameCount 0 and no face report/);
	await refused(sealRecords(notificationRecords({ notification: 1 })), /notification is not true/);
	await refused(sealRecords([notificationRecords()[0]]), /a notification without a snapshot record/);
	await refused(sealRecords([...notificationRecords(), { type: 2, body: frame }]), /a frame in an event without pictures/);
	await refused(sealRecords([...notificationRecords(), notificationRecords()[1]]), /a second snapshot record/);
	const tail = thumbnailBody(frame, 14336);
	tail[14000] = 1;
	await refused(sealRecords([notificationRecords()[0], { type: 4, body: tail }]), /snapshot record's padding is not zero/);
	await refused(sealRecords([...ringRecords(), { type: 4, body: thumbnailBody(frame, 14336) }]), /a snapshot record outside a notification/);
	await refused(sealRecords(ringRecords({ snapshotError: "x" })), /snapshot fields outside a notification/);
});

test("follows links a ring's clip to its notification; frameTimes give each frame's capture time", async () => {
	const notificationId = randomBytes(16).toString("hex");
	const clip = await open(await sealRecords(ringRecords({ follows: notificationId, triggeredAt: 1795800000000, frameTimes: [1795799999800] })));
	assert.equal(clip.metadata.follows, notificationId);
	assert.ok((clip.metadata.frameTimes as number[])[0] < Number(clip.metadata.triggeredAt), "a pre-roll frame, from before the press");
	await open(await sealRecords(ringRecords())); // a ring's clip without follows is shown on its own
	await refused(sealRecords(ringRecords({ follows: "ABC" })), /follows is not an event id/);
	await refused(sealRecords(ringRecords({ kind: "motion", follows: notificationId })), /follows outside a ring's clip/);
	await refused(sealRecords(notificationRecords({ follows: notificationId })), /follows outside a ring's clip/);
	await refused(sealRecords(updateRecords({ follows: notificationId })), /follows outside a ring's clip/);
	await refused(sealRecords(ringRecords({ follows: notificationId }), { eventId: notificationId }), /an event that follows itself/);
	await refused(sealRecords(ringRecords({ frameTimes: [1, 2] })), /frameTimes is not one time per frame/);
	await refused(sealRecords(ringRecords({ triggeredAt: -5 })), /triggeredAt is malformed/);
});
