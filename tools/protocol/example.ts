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
import { openEvent, parseHeader } from "../phone/open.js";
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
function tinyFrame(): string {
	const data = new Uint8Array(8 * 8 * 4).fill(128);
	return Buffer.from(jpeg.encode({ data, width: 8, height: 8 }, 90).data).toString("hex");
}

const wrap = (hex: string, width = 64) => hex.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");

export async function renderExample(): Promise<string> {
	const inputs = exampleInputs;
	const phonePublicKey = Buffer.from(x25519.getPublicKey(Buffer.from(inputs.phoneSecretKey, "hex"))).toString("hex");
	const frame = tinyFrame();
	const metadata = { width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: inputs.time - 250, kind: "ring" };
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
	const lines = [
		"Inputs:",
		"",
		"| value | hex |",
		"| --- | --- |",
		`| device Ed25519 seed (RFC 8032 §7.1 test 1) | \`${inputs.deviceSeed}\` |`,
		`| device Ed25519 public key | \`${reply.devicePublicKey}\` |`,
		`| phone X25519 secret key (RFC 7748 §6.1) | \`${inputs.phoneSecretKey}\` |`,
		`| phone X25519 public key | \`${phonePublicKey}\` |`,
		`| phone key id | \`${header.recipients[0].keyId}\` |`,
		`| device id | \`${inputs.deviceId}\` |`,
		`| event id | \`${inputs.eventId}\` |`,
		`| sequence number, time | ${inputs.seq}, ${inputs.time} |`,
		`| clip key (random in use) | \`${inputs.clipKey}\` |`,
		`| Cobblestone salt (random in use) | \`${inputs.salt}\` |`,
		`| HPKE ephemeral key: DeriveKeyPair(ikm), ikm (random in use) | \`${inputs.ephemeralIkm}\` |`,
		"",
		`The clip: metadata \`${JSON.stringify(metadata)}\` and one 8x8 JPEG frame of ${frame.length / 2} bytes; ${String(reply.clip).length / 2} bytes in all, then a padding record of ${reply.paddingLength} bytes (body ${Number(reply.paddingLength) - 5} zeros) brings it to ${String(reply.clip).length / 2 + Number(reply.paddingLength)}:`,
		"",
		"```",
		wrap(String(reply.clip)),
		"```",
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
		`| 93-100 | key id | \`${hex(envelope.subarray(93, 101))}\` |`,
		`| 101-132 | enc | \`${hex(envelope.subarray(101, 133))}\` |`,
		`| 133-180 | wrapped clip key | \`${hex(envelope.subarray(133, 181))}\` |`,
		`| ${H}-${H + 63} | signature | \`${hex(signature)}\` |`,
		`| ${H + 64}-${H + 87} | Cobblestone salt | \`${hex(ciphertext.subarray(0, 24))}\` |`,
		`| ${H + 88}-${H + 119} | key commitment | \`${hex(ciphertext.subarray(24, 56))}\` |`,
		`| ${H + 120}-${envelope.length - 1} | chunk 0 (final, short), with its tag | ${ciphertext.length - 56} bytes, SHA-256 \`${createHash("sha256").update(ciphertext.subarray(56)).digest("hex")}\` |`,
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
