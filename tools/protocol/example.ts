/*
 * Produces the worked example of docs/protocol/events.md: fixed inputs, an
 * envelope sealed by the firmware (on XS, through the crypto oracle), opened
 * again by the phone's independent implementation, and every value printed.
 *
 *   node build/node/tools/protocol/example.js           prints the section
 *   node build/node/tools/protocol/example.js --write   rewrites it in the doc
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { x25519 } from "@noble/curves/ed25519.js";
import { XsOracle } from "./oracle.js";
import { openEvent, parseHeader, phoneKeyFingerprint, recipientKeyId } from "../phone/open.js";
import { projectRoot } from "../build/firmware.js";
import { publishWorkedExample, readWorkedExample } from "./worked-example.js";

export const exampleInputs = Object.freeze({
	// RFC 8032 §7.1 test 1 secret key, RFC 7748 §6.1 Alice's key: public test keys, on purpose.
	deviceSeed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	phoneSecretKey: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	deviceId: "00112233445566778899aabbccddeeff",
	eventId: "0123456789abcdef0123456789abcdef",
	seq: 7,
	time: 1795800000000,
	clipKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	salt: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7",
	ephemeralIkm: "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
});

/** An 8x8 grey JPEG: small, and deterministic with jpeg-js. */
export function tinyFrame(): string {
	const data = new Uint8Array(8 * 8 * 4).fill(128);
	return Buffer.from(jpeg.encode({ data, width: 8, height: 8 }, 90).data).toString("hex");
}

/** The sealed chunks' rows: offsets, sizes and digests (16 KiB of plaintext and a 16-byte tag each; the last one shorter). */
function chunkRows(start: number, body: Uint8Array): string[] {
	const rows: string[] = [];
	for (let index = 0, offset = 0; offset < body.length; index++, offset += 16400) {
		const chunk = body.subarray(offset, offset + 16400);
		const final = offset + 16400 >= body.length;
		rows.push(`| ${start + offset}-${start + offset + chunk.length - 1} | chunk ${index}${final ? " (final, short)" : ""}, with its tag | ${chunk.length} bytes, SHA-256 \`${createHash("sha256").update(chunk).digest("hex")}\` |`);
	}
	return rows;
}

/** The event id of the notification the example's clip follows. */
export const exampleNotificationId = "fedcba9876543210fedcba9876543210";

/**
 * The example's metadata: a ring's clip, so it names its notification
 * (`follows`). An event with pictures always carries a face report, so its
 * metadata and thumbnail records have their fixed sizes.
 */
export function exampleMetadata(): Record<string, unknown> {
	const faces = { status: "none", model: "face_detection_full_range_int8.tflite", zones: "5c5424f4ed5f64f54c4ded73ea5145c4c5981669132cbb7ac13f5f7987e6bfd7", faces: [] };
	return {
		width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: exampleInputs.time - 250, frameTimes: [exampleInputs.time - 250],
		kind: "ring", triggeredAt: exampleInputs.time - 100, follows: exampleNotificationId, faces,
	};
}

const wrap = (hex: string, width = 64) => hex.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");

export async function renderExample(): Promise<string> {
	const inputs = exampleInputs;
	const phonePublicKey = Buffer.from(x25519.getPublicKey(Buffer.from(inputs.phoneSecretKey, "hex"))).toString("hex");
	const frame = tinyFrame();
	const metadata = exampleMetadata();
	const oracle = new XsOracle();
	let reply;
	try {
		reply = await oracle.request({
			op: "example", deviceSeed: inputs.deviceSeed, deviceId: inputs.deviceId, eventId: inputs.eventId, seq: inputs.seq, time: inputs.time,
			frames: [frame], metadata, phones: [phonePublicKey], clipKey: inputs.clipKey, salt: inputs.salt, ephemeralIkm: [inputs.ephemeralIkm],
		});
	}
	finally {
		await oracle.close();
	}
	if (!reply.ok)
		throw new Error(`the firmware could not seal the example: ${reply.error}`);
	const envelope = Buffer.from(String(reply.envelope), "hex");
	const opened = await openEvent(envelope, { secretKey: Buffer.from(inputs.phoneSecretKey, "hex"), publicKey: Buffer.from(phonePublicKey, "hex") }, Buffer.from(String(reply.devicePublicKey), "hex"));
	if (Buffer.from(opened.frames[0]).toString("hex") !== frame)
		throw new Error("the independent phone implementation did not recover the frame");
	const { header, signed, signature, ciphertext } = parseHeader(envelope);
	const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
	const H = signed.length;
	const deviceId = Buffer.from(inputs.deviceId, "hex");
	const keyId = recipientKeyId(deviceId, Buffer.from(phonePublicKey, "hex"));
	if (keyId !== header.recipients[0].keyId)
		throw new Error("the firmware's key id is not SHA-256(device id || phone key)");
	const clip = Buffer.from(String(reply.clip), "hex");
	const json = JSON.stringify(metadata);
	const records: { offset: number; type: number; length: number; body: Buffer }[] = [];
	for (let offset = 4; offset < clip.length;) {
		const length = clip.readUInt32BE(offset + 1);
		records.push({ offset, type: clip[offset], length, body: clip.subarray(offset + 5, offset + 5 + length) });
		offset += 5 + length;
	}
	const describe = (record: (typeof records)[number]) => {
		switch (record.type) {
		case 1: return `metadata (1) | ${record.length} | the JSON above (${Buffer.byteLength(json)} bytes), then ${record.length - Buffer.byteLength(json)} spaces (0x20)`;
		case 3: return `thumbnail (3) | ${record.length} | JPEG length \`${hex(record.body.subarray(0, 4))}\` (no face, so no JPEG), then ${record.length - 4} zero bytes`;
		case 2: return `frame (2) | ${record.length} | the JPEG above`;
		default: return `type ${record.type} | ${record.length} |`;
		}
	};
	const paddingLength = Number(reply.paddingLength);
	const paddedClip = Buffer.concat([clip, Buffer.alloc(paddingLength)]);
	paddedClip.writeUInt32BE(paddingLength - 5, clip.length + 1);
	const lines = [
		"Inputs:",
		"",
		"| value | hex |",
		"| --- | --- |",
		`| device Ed25519 seed (RFC 8032 §7.1 test 1) | \`${inputs.deviceSeed}\` |`,
		`| device Ed25519 public key | \`${reply.devicePublicKey}\` |`,
		`| phone X25519 secret key (RFC 7748 §6.1) | \`${inputs.phoneSecretKey}\` |`,
		`| phone X25519 public key | \`${phonePublicKey}\` |`,
		`| device id | \`${inputs.deviceId}\` |`,
		`| key id: SHA-256(device id \\|\\| phone X25519 public key), first 8 bytes | \`${keyId}\` |`,
		`| phone key fingerprint: SHA-256(phone X25519 public key), first 8 bytes (never in an envelope) | \`${phoneKeyFingerprint(Buffer.from(phonePublicKey, "hex"))}\` |`,
		`| event id | \`${inputs.eventId}\` |`,
		`| sequence number, time | ${inputs.seq}, ${inputs.time} |`,
		`| clip key (random in use) | \`${inputs.clipKey}\` |`,
		`| Cobblestone salt (random in use) | \`${inputs.salt}\` |`,
		`| HPKE ephemeral key: DeriveKeyPair(ikm), ikm (random in use) | \`${inputs.ephemeralIkm}\` |`,
		"",
		`The clip: a ring's clip (the follow-up of notification \`${exampleNotificationId}\`: its frame was taken 150 ms before the press, from the pre-roll) with a face report that found no face, metadata \`${json}\`, and one 8x8 JPEG frame of ${frame.length / 2} bytes:`,
		"",
		"```",
		wrap(frame),
		"```",
		"",
		`Its records, after \`DWC1\` (\`${hex(clip.subarray(0, 4))}\`); each is type (1) || body length (4) || body, and the lengths below are the bodies':`,
		"",
		"| offset | record | body length | body |",
		"| --- | --- | --- | --- |",
		...records.map((record) => `| ${record.offset} | ${describe(record)} |`),
		`| ${clip.length} | padding (0) | ${paddingLength - 5} | zeros |`,
		"",
		`${clip.length} bytes before the padding record; with its 5-byte header, padded(${clip.length} + 5) = ${paddedClip.length}. The padded clip's SHA-256 is \`${createHash("sha256").update(paddedClip).digest("hex")}\`.`,
		"",
		`Cobblestone context (${String(reply.clipContext).length / 2} bytes): \`${reply.clipContext}\``,
		"",
		`HPKE info (${String(reply.wrapInfo).length / 2} bytes): \`${reply.wrapInfo}\`; enc = the ephemeral public key \`${reply.ephemeralPublicKeys}\``,
		"",
		`The envelope is ${envelope.length} bytes: header H = ${H}, signature 64, ciphertext C = ${header.ciphertextLength}.`,
		"",
		"| bytes | field | value |",
		"| --- | --- | --- |",
		`| 0-3 | magic | \`${hex(envelope.subarray(0, 4))}\` |`,
		`| 4-7 | version, suite, H | \`${hex(envelope.subarray(4, 8))}\` |`,
		`| 8-23 | device id | \`${hex(envelope.subarray(8, 24))}\` |`,
		`| 24-39 | event id | \`${hex(envelope.subarray(24, 40))}\` |`,
		`| 40-47 | sequence number | \`${hex(envelope.subarray(40, 48))}\` |`,
		`| 48-55 | time | \`${hex(envelope.subarray(48, 56))}\` |`,
		`| 56-59 | C | \`${hex(envelope.subarray(56, 60))}\` |`,
		`| 60-91 | SHA-256(ciphertext) | \`${hex(envelope.subarray(60, 92))}\` |`,
		`| 92 | R | \`${hex(envelope.subarray(92, 93))}\` |`,
		`| 93-100 | key id (per device) | \`${hex(envelope.subarray(93, 101))}\` |`,
		`| 101-132 | enc | \`${hex(envelope.subarray(101, 133))}\` |`,
		`| 133-180 | wrapped clip key | \`${hex(envelope.subarray(133, 181))}\` |`,
		`| ${H}-${H + 63} | signature | \`${hex(signature)}\` |`,
		`| ${H + 64}-${H + 87} | Cobblestone salt | \`${hex(ciphertext.subarray(0, 24))}\` |`,
		`| ${H + 88}-${H + 119} | key commitment | \`${hex(ciphertext.subarray(24, 56))}\` |`,
		...chunkRows(H + 120, ciphertext.subarray(56)),
		"",
		"<details><summary>The whole envelope, hex</summary>",
		"",
		"```",
		wrap(hex(envelope)),
		"```",
		"",
		"</details>",
	];
	return lines.join("\n");
}

export const specification = join(projectRoot, "docs", "protocol", "events.md");

/** The worked example section as it stands in the specification. */
export function documentedExample(): string {
	return readWorkedExample(specification);
}

if (process.argv[1]?.endsWith("example.js")) {
	const rendered = await renderExample();
	publishWorkedExample(specification, rendered);
}
