/*
 * The firmware's byte formats, exercised on XS: the same code the Node unit
 * tests check against independent implementations.
 */
import { test, equal, ok, bytesEqual, throws } from "tests/harness";
import { PacketDecoder, encodePublishHeader, encodeConnect, decodePublish } from "mqtt/packet";
import { encodeClip, encodeClipParts, decodeClip, fitMetadata, metadataRecordBytes, paddingRecord, paddedLength } from "pipeline/clip";
import type { ClipMetadata } from "pipeline/clip";
import { concat, crc32, utf8Encode, utf8Decode } from "util/bytes";

test("CRC-32 and UTF-8 agree with their standards", () => {
	equal(crc32(utf8Encode("123456789")), 0xCBF43926, "CRC-32 check value");
	equal(utf8Decode(utf8Encode("Tür 🔔")), "Tür 🔔", "round trip");
	throws(() => utf8Decode(Uint8Array.of(0xC0, 0x80)), /malformed/);
});

test("a PUBLISH split at every byte decodes to the same packet", () => {
	const payload = utf8Encode("hello from XS");
	const packet = concat([encodePublishHeader("dw/t/ev", payload.length, 1, 7), payload]);
	for (let split = 0; split <= packet.length; split++) {
		const decoder = new PacketDecoder(1024);
		const packets = [...decoder.push(packet.subarray(0, split)), ...decoder.push(packet.subarray(split))];
		equal(packets.length, 1, `packets at split ${split}`);
		const publish = decodePublish(packets[0]);
		equal(publish.topic, "dw/t/ev", "topic");
		equal(publish.packetId, 7, "packet id");
		bytesEqual(publish.payload, payload, "payload");
	}
});

test("an oversized remaining length is refused before any allocation", () => {
	const decoder = new PacketDecoder(1024);
	throws(() => decoder.push(Uint8Array.of(0x30, 0xFF, 0xFF, 0xFF, 0x7F)), /exceeds the 1024-byte limit/);
	throws(() => new PacketDecoder(1024).push(Uint8Array.of(0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01)), /longer than four bytes/);
	ok(encodeConnect({ clientId: "dw", keepAliveSeconds: 30, cleanSession: true }).length > 10, "CONNECT encodes");
});

test("a padded clip round-trips, and its padded length is a Padmé bucket", () => {
	const frames = [Uint8Array.of(0xFF, 0xD8, 1, 2, 0xFF, 0xD9), Uint8Array.of(0xFF, 0xD8, 3, 0xFF, 0xD9)];
	const parts = encodeClipParts({ metadata: { width: 320, height: 240, format: "jpeg", frameCount: 2, startedAt: 1, kind: "ring" }, frames });
	const clip = concat(parts);
	const padded = concat([clip, paddingRecord(clip.length)]);
	equal(padded.length, paddedLength(clip.length + 5), "padded length");
	const decoded = decodeClip(padded);
	equal(decoded.frames.length, 2, "frames");
	equal(decoded.metadata.kind, "ring", "kind");
	bytesEqual(decoded.frames[1], frames[1], "second frame");
	throws(() => decodeClip(clip.subarray(0, clip.length - 1)), /truncated/);
	const dirty = padded.slice();
	dirty[dirty.length - 1] = 1;
	throws(() => decodeClip(dirty), /padding is not zero/);
	equal(paddedLength(100), 4096, "small clips share one bucket");
	equal(paddedLength(20000), 20480, "Padmé at 20000");
	ok(paddedLength(1000000) <= 1000000 * 1.12, "at most 12% overhead");
	ok(encodeClip({ metadata: decoded.metadata, frames }).length === clip.length, "encodeClip is the joined parts");
});

test("an event with pictures is the same length with or without a face: fixed-size metadata and thumbnail records", () => {
	const frames = [Uint8Array.of(0xFF, 0xD8, 1, 2, 0xFF, 0xD9)];
	const base = { width: 320, height: 240, format: "jpeg" as const, frameCount: 1, startedAt: 1 };
	const face = { frame: 0, box: [10.5, 20, 30, 30] as [number, number, number, number], score: 0.93, keypoints: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]] as [number, number][] };
	const none: ClipMetadata = { ...base, kind: "motion", faces: { status: "none", model: "m.tflite", zones: "00", faces: [] } };
	const found: ClipMetadata = { ...base, kind: "face", faces: { status: "found", model: "m.tflite", zones: "00", faces: [face, face] } };
	const thumbnail = Uint8Array.of(0xFF, 0xD8, 9, 9, 9, 0xFF, 0xD9);
	const without = concat(encodeClipParts({ metadata: none, frames }));
	const withFace = concat(encodeClipParts({ metadata: found, frames, thumbnail }));
	equal(withFace.length, without.length, "clip length");
	const decoded = decodeClip(withFace);
	bytesEqual(decoded.thumbnail!, thumbnail, "thumbnail");
	equal(decoded.metadata.faces!.faces.length, 2, "faces");
	equal(decodeClip(without).thumbnail, undefined, "no thumbnail when no face");
	// Many faces: the lowest-scoring are left out, and counted, so the record keeps its size.
	const crowd = Array.from({ length: 60 }, (_, i) => ({ ...face, score: i / 100 }));
	const fitted = fitMetadata({ ...found, faces: { ...found.faces!, faces: crowd } });
	ok(utf8Encode(JSON.stringify(fitted)).length <= metadataRecordBytes, "fits");
	ok(fitted.faces!.faces.length < 60 && fitted.faces!.faces[0].score === 0.59, "the best faces kept");
	equal(fitted.faces!.facesOmitted, 60 - fitted.faces!.faces.length, "omitted faces counted");
	equal(concat(encodeClipParts({ metadata: fitted, frames })).length, without.length, "same length");
	throws(() => encodeClipParts({ metadata: { ...found, faces: { ...found.faces!, faces: crowd } }, frames }), /does not fit/);
	const broken = withFace.slice();
	broken[4 + 5 + metadataRecordBytes + 5 + 4 + thumbnail.length] = 1;
	throws(() => decodeClip(broken), /malformed thumbnail record/);
});

test("a ring's notification has one length, with a snapshot or without, and reads back", () => {
	const snapshot = new Uint8Array(5000).fill(7);
	snapshot[0] = 0xFF;
	const base: ClipMetadata = { width: 320, height: 240, format: "jpeg", frameCount: 0, startedAt: 1, kind: "ring", notification: true, triggeredAt: 2, snapshotAt: 1 };
	const withSnapshot = concat(encodeClipParts({ metadata: base, frames: [], snapshot }));
	const without = concat(encodeClipParts({ metadata: { ...base, width: 0, height: 0, snapshotError: "no snapshot: camera: no frame within 1000 ms" }, frames: [] }));
	equal(withSnapshot.length, without.length, "same length");
	equal(withSnapshot.length + paddingRecord(withSnapshot.length).length, 15872, "padded to the notification's one size");
	const decoded = decodeClip(concat([withSnapshot, paddingRecord(withSnapshot.length)]));
	bytesEqual(decoded.snapshot!, snapshot, "the snapshot");
	equal(decoded.metadata.notification, true, "a notification");
	equal(decodeClip(concat([without, paddingRecord(without.length)])).snapshot, undefined, "no snapshot");
	throws(() => encodeClipParts({ metadata: { ...base, frameCount: 1 }, frames: [snapshot], snapshot }), /no frames or face report/);
	throws(() => encodeClipParts({ metadata: base, frames: [], snapshot: new Uint8Array(14333) }), /does not fit its record/);
	throws(() => encodeClipParts({ metadata: { ...base, notification: undefined, faces: undefined }, frames: [], snapshot }), /a snapshot outside a notification/);
});
