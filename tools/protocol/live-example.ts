/*
 * Produces the worked example of docs/protocol/live.md from fixed inputs,
 * both sides of it: the phone's code (tools/phone/live.ts) makes the start
 * request; the firmware's own functions (src/live/format.ts, over node:crypto
 * and @noble/curves here in place of hardware/crypto) open it, sign the
 * transcript, derive the keys and seal one frame; the phone's code checks
 * the accept and opens the frame. Every value is printed.
 *
 *   node build/node/tools/protocol/live-example.js           prints the section
 *   node build/node/tools/protocol/live-example.js --write   rewrites it in the doc
 */
import { createCipheriv, createHash, createHmac } from "node:crypto";
import { join } from "node:path";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { openRequest } from "requests/format";
import { encodeAccept, endContent, header, nonce, parseStart, plaintext, sessionKeys, sessionTopic, transcript } from "live/format";
import type { LiveCrypto } from "live/format";
import { LiveSession } from "../phone/live.js";
import { ed25519Verify, hpkeOpen, requestInputs } from "./requests-example.js";
import { projectRoot } from "../build/firmware.js";
import { publishWorkedExample, readWorkedExample } from "./worked-example.js";

export const liveInputs = Object.freeze({
	...requestInputs,
	// RFC 8032 §7.1 test 1 secret key, as the device's Ed25519 identity key.
	deviceSigningSeed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	// RFC 7748 §6.1 Alice's X25519 secret, as the phone's ephemeral key of this session.
	phoneEphemeralSecret: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	// RFC 7748 §5.2's first scalar, as the device's ephemeral key (a device draws it from its RNG).
	deviceEphemeralSecret: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	seconds: 60,
	frameTime: 1795800000250,
	// A stand-in for a JPEG: the format does not look inside the frame.
	frame: "ffd8ffe000104a464946000101000001ffd9",
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const wrap = (text: string, width = 64) => text.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");
const crypto: LiveCrypto = {
	sha256: (data) => createHash("sha256").update(data).digest(),
	hmacSha256: (key, data) => createHmac("sha256", key).update(data).digest(),
};

export async function renderLiveExample(): Promise<string> {
	const inputs = liveInputs;
	const phoneSigning = hex(ed25519.getPublicKey(Buffer.from(inputs.phoneSeed, "hex")));
	const deviceSigning = hex(ed25519.getPublicKey(Buffer.from(inputs.deviceSigningSeed, "hex")));
	// The phone's side: its start request.
	const phone = await LiveSession.make({
		deviceId: inputs.deviceId, agreementPublicKey: inputs.devicePublic, signingPublicKey: deviceSigning, signingSecretKey: inputs.phoneSeed,
		seconds: inputs.seconds, size: "qvga", ephemeralSecret: Buffer.from(inputs.phoneEphemeralSecret, "hex"), time: inputs.time,
		nonce: Buffer.from(inputs.nonce, "hex"), hpkeIkm: Buffer.from(inputs.ephemeralIkm, "hex"),
	}, "00".repeat(16));
	// The device's side, with the firmware's functions.
	const request = openRequest(phone.sealedRequest, inputs.deviceId, {
		open: (enc, info, aad, ciphertext) => hpkeOpen(Buffer.from(inputs.deviceSecret, "hex"), Buffer.from(inputs.devicePublic, "hex"), enc, info, aad, ciphertext),
		verify: ed25519Verify,
	});
	const start = parseStart(request.payload);
	const deviceEphemeral = x25519.getPublicKey(Buffer.from(inputs.deviceEphemeralSecret, "hex"));
	const shared = x25519.getSharedSecret(Buffer.from(inputs.deviceEphemeralSecret, "hex"), start.phoneEphemeral);
	const fields = {
		deviceId: inputs.deviceId, signer: request.signer, time: request.time, nonce: request.nonce, payload: request.payload,
		deviceEphemeral, width: start.size.width, height: start.size.height, seconds: start.seconds,
	};
	const signed = transcript(fields);
	const signature = ed25519.sign(signed, Buffer.from(inputs.deviceSigningSeed, "hex"));
	const accept = encodeAccept(start.size.code, fields, signature);
	const keys = sessionKeys(crypto, Uint8Array.from(shared), signed);
	const prk = crypto.hmacSha256(crypto.sha256(signed), shared);
	const topic = sessionTopic(crypto, start.phoneEphemeral);
	const frameHeader = header(0);
	const frameNonce = nonce(keys.salt, 0);
	const inner = plaintext(1, inputs.frameTime, Buffer.from(inputs.frame, "hex"));
	const cipher = createCipheriv("aes-256-gcm", keys.key, frameNonce);
	cipher.setAAD(frameHeader);
	const frame = Buffer.concat([frameHeader, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
	const endHeader = header(1);
	const endCipher = createCipheriv("aes-256-gcm", keys.key, nonce(keys.salt, 1));
	endCipher.setAAD(endHeader);
	const end = Buffer.concat([endHeader, endCipher.update(plaintext(2, inputs.frameTime + 60000, endContent("limit"))), endCipher.final(), endCipher.getAuthTag()]);
	// The phone's side again: the accept, the frame and the end.
	phone.accept(Buffer.from(accept));
	const opened = phone.open(frame);
	const ended = phone.open(end);
	if ((phone.topic !== topic) || (phone.id !== keys.id) || (hex(opened.content) !== inputs.frame) || (opened.time !== inputs.frameTime) || (ended.reason !== "limit"))
		throw new Error("the phone read the example differently from the firmware");
	const lines = [
		"Inputs (the request's are [requests.md](requests.md)'s worked example's, but for its kind and payload):",
		"",
		"| value | |",
		"| --- | --- |",
		`| phone Ed25519 seed (RFC 8032 §7.1 test 2) | \`${inputs.phoneSeed}\` |`,
		`| device Ed25519 seed (RFC 8032 §7.1 test 1) | \`${inputs.deviceSigningSeed}\` |`,
		`| device Ed25519 public key | \`${deviceSigning}\` |`,
		`| device X25519 agreement key, secret (RFC 7748 §6.1 Bob's) | \`${inputs.deviceSecret}\` |`,
		`| device id | \`${inputs.deviceId}\` |`,
		`| request time, nonce | ${inputs.time}, \`${inputs.nonce}\` |`,
		`| HPKE ephemeral ikm | \`${inputs.ephemeralIkm}\` |`,
		`| phone ephemeral X25519 secret (RFC 7748 §6.1 Alice's) | \`${inputs.phoneEphemeralSecret}\` |`,
		`| device ephemeral X25519 secret (RFC 7748 §5.2) | \`${inputs.deviceEphemeralSecret}\` |`,
		`| size, seconds | QVGA (0), ${inputs.seconds} |`,
		`| frame (a stand-in for a JPEG), capture time | \`${inputs.frame}\`, ${inputs.frameTime} |`,
		"",
		`The start payload (36 bytes): \`${hex(request.payload)}\`: version 1, size 0, seconds \`${hex(request.payload.subarray(2, 4))}\`, the phone's ephemeral public key.`,
		`It goes in a request of kind 16 signed by \`${phoneSigning}\`; the sealed request, ${phone.sealedRequest.length} bytes, begins \`${hex(phone.sealedRequest.subarray(0, 36))}\`.`,
		"",
		`The session topic: \`${topic}\`.`,
		"",
		`The transcript, ${signed.length} bytes:`,
		"",
		"```",
		wrap(hex(signed)),
		"```",
		"",
		`SHA-256 of the transcript (the HKDF salt): \`${hex(crypto.sha256(signed))}\``,
		"",
		`X25519 shared secret: \`${hex(shared)}\``,
		"",
		`prk: \`${hex(prk)}\``,
		"",
		`key: \`${hex(keys.key)}\`; salt: \`${hex(keys.salt)}\`; session id: \`${keys.id}\` (the stop request's payload)`,
		"",
		`The accept, ${accept.length} bytes (device ephemeral public key \`${hex(deviceEphemeral)}\`, size 0, 320x240, 60 s, the signature):`,
		"",
		"```",
		wrap(hex(accept)),
		"```",
		"",
		`Frame 0: header \`${hex(frameHeader)}\`, nonce \`${hex(frameNonce)}\`; its plaintext is type 1, 0, time \`${hex(inner.subarray(2, 10))}\`, length \`${hex(inner.subarray(10, 14))}\`, the frame and ${inner.length - 14 - inputs.frame.length / 2} zero bytes: ${inner.length} bytes (the first bucket). The message, ${frame.length} bytes:`,
		"",
		"```",
		wrap(hex(frame)),
		"```",
		"",
		`The end at the limit (counter 1, type 2, reason 2), ${end.length} bytes, ends with the tag \`${hex(end.subarray(end.length - 16))}\`.`,
	];
	return lines.join("\n");
}

export const liveSpecification = join(projectRoot, "docs", "protocol", "live.md");

export function documentedLiveExample(): string {
	return readWorkedExample(liveSpecification);
}

if (process.argv[1]?.endsWith("live-example.js"))
	publishWorkedExample(liveSpecification, await renderLiveExample());
