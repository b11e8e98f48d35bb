/*
 * Produces the worked example of docs/protocol/requests.md: a removal request
 * built and sealed from fixed inputs by the phone's code
 * (tools/phone/requests.ts, on @hpke/core and @noble/curves), then opened
 * and checked by the firmware's parser (src/requests/format.ts) with a third,
 * synchronous HPKE written here on node:crypto, and every value printed.
 *
 *   node build/node/tools/protocol/requests-example.js           prints the section
 *   node build/node/tools/protocol/requests-example.js --write   rewrites it in the doc
 */
import { createHmac, createPrivateKey, createPublicKey, createDecipheriv, diffieHellman, verify } from "node:crypto";
import { join } from "node:path";
import { openRequest } from "requests/format";
import { buildRequest, Kind, removalPayload } from "../phone/requests.js";
import { projectRoot } from "../build/firmware.js";
import { publishWorkedExample, readWorkedExample } from "./worked-example.js";

export const requestInputs = Object.freeze({
	// RFC 8032 §7.1 test 2 secret key, as the phone's Ed25519 key: a public test key, on purpose.
	phoneSeed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	// RFC 7748 §6.1 Bob's X25519 key pair, as the device's agreement key.
	deviceSecret: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	devicePublic: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	deviceId: "00112233445566778899aabbccddeeff",
	time: 1795800000000,
	nonce: "0f0e0d0c0b0a09080706050403020100",
	// The input keying material of the HPKE ephemeral key (RFC 9180 DeriveKeyPair): a phone draws it at random.
	ephemeralIkm: "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
	removed: "8c7f2dfb3f0ac4a1",
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const wrap = (text: string, width = 64) => text.match(new RegExp(`.{1,${width}}`, "g"))!.join("\n");

// RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, one message: just what the example needs.
const kemSuite = Buffer.concat([Buffer.from("KEM"), Buffer.of(0x00, 0x20)]);
const hpkeSuite = Buffer.concat([Buffer.from("HPKE"), Buffer.of(0x00, 0x20, 0x00, 0x01, 0x00, 0x02)]);
const labeledExtract = (suite: Buffer, salt: Uint8Array, label: string, ikm: Uint8Array) =>
	createHmac("sha256", salt.length ? salt : Buffer.alloc(32)).update(Buffer.concat([Buffer.from("HPKE-v1"), suite, Buffer.from(label), ikm])).digest();
function labeledExpand(suite: Buffer, prk: Uint8Array, label: string, info: Uint8Array, length: number): Buffer {
	const lengthBytes = Buffer.alloc(2);
	lengthBytes.writeUInt16BE(length);
	// One HKDF-Expand block: every length here is at most 32.
	return createHmac("sha256", prk).update(Buffer.concat([lengthBytes, Buffer.from("HPKE-v1"), suite, Buffer.from(label), info, Buffer.of(1)])).digest().subarray(0, length);
}

export function hpkeOpen(secretKey: Uint8Array, publicKey: Uint8Array, enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
	const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), secretKey]), format: "der", type: "pkcs8" });
	const ephemeral = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), enc]), format: "der", type: "spki" });
	const dh = diffieHellman({ privateKey, publicKey: ephemeral });
	const shared = labeledExpand(kemSuite, labeledExtract(kemSuite, new Uint8Array(0), "eae_prk", dh), "shared_secret", Buffer.concat([enc, publicKey]), 32);
	const context = Buffer.concat([Buffer.of(0), labeledExtract(hpkeSuite, new Uint8Array(0), "psk_id_hash", new Uint8Array(0)), labeledExtract(hpkeSuite, new Uint8Array(0), "info_hash", info)]);
	const secret = labeledExtract(hpkeSuite, shared, "secret", new Uint8Array(0));
	const decipher = createDecipheriv("aes-256-gcm", labeledExpand(hpkeSuite, secret, "key", context, 32), labeledExpand(hpkeSuite, secret, "base_nonce", context, 12));
	decipher.setAAD(aad);
	decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
	return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
	const key = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), publicKey]), format: "der", type: "spki" });
	return verify(null, message, key, signature);
}

export async function renderRequestsExample(): Promise<string> {
	const inputs = requestInputs;
	const built = await buildRequest({
		kind: Kind.Remove, payload: removalPayload(inputs.removed), deviceId: inputs.deviceId, agreementPublicKey: inputs.devicePublic,
		signingSecretKey: inputs.phoneSeed, time: inputs.time, nonce: Buffer.from(inputs.nonce, "hex"), ephemeralIkm: Buffer.from(inputs.ephemeralIkm, "hex"),
	});
	const opened = openRequest(built.sealed, inputs.deviceId, {
		open: (enc, info, aad, ciphertext) => hpkeOpen(Buffer.from(inputs.deviceSecret, "hex"), Buffer.from(inputs.devicePublic, "hex"), enc, info, aad, ciphertext),
		verify: ed25519Verify,
	});
	if ((opened.kind !== Kind.Remove) || (opened.time !== inputs.time) || (opened.nonce !== inputs.nonce) || (hex(opened.payload) !== inputs.removed))
		throw new Error("the firmware's parser read the example differently");
	const b = built.body;
	const label = Buffer.from("doorward/request/v1\u0000", "latin1");
	const lines = [
		"Inputs:",
		"",
		"| value | |",
		"| --- | --- |",
		`| phone Ed25519 seed (RFC 8032 §7.1 test 2) | \`${inputs.phoneSeed}\` |`,
		`| phone Ed25519 public key (the signer) | \`${hex(b.subarray(46, 78))}\` |`,
		`| device X25519 secret key (RFC 7748 §6.1 Bob's) | \`${inputs.deviceSecret}\` |`,
		`| device X25519 public key | \`${inputs.devicePublic}\` |`,
		`| device id | \`${inputs.deviceId}\` |`,
		`| kind | 1 (remove) |`,
		`| time | ${inputs.time} |`,
		`| nonce | \`${inputs.nonce}\` |`,
		`| payload | the phone key fingerprint to remove, \`${inputs.removed}\` |`,
		`| HPKE ephemeral ikm (DeriveKeyPair) | \`${inputs.ephemeralIkm}\` |`,
		"",
		`The body is ${b.length} bytes:`,
		"",
		"| bytes | field | value |",
		"| --- | --- | --- |",
		`| 0-3 | magic | \`${hex(b.subarray(0, 4))}\` |`,
		`| 4 | kind | \`${hex(b.subarray(4, 5))}\` |`,
		`| 5 | reserved | \`${hex(b.subarray(5, 6))}\` |`,
		`| 6-13 | time | \`${hex(b.subarray(6, 14))}\` |`,
		`| 14-29 | nonce | \`${hex(b.subarray(14, 30))}\` |`,
		`| 30-45 | device id | \`${hex(b.subarray(30, 46))}\` |`,
		`| 46-77 | signer | \`${hex(b.subarray(46, 78))}\` |`,
		`| 78-79 | L | \`${hex(b.subarray(78, 80))}\` |`,
		`| 80-${b.length - 1} | payload | \`${hex(b.subarray(80))}\` |`,
		"",
		`The signed message is \`${hex(label)}\` ("doorward/request/v1" and a 0 byte) followed by the body. Signature:`,
		"",
		"```",
		wrap(hex(built.signature)),
		"```",
		"",
		`The plaintext is the body, the signature and ${built.plaintext.length - b.length - 64} zero bytes: ${built.plaintext.length} bytes (the first bucket).`,
		`HPKE info: \`${hex(Buffer.concat([label, Buffer.from(inputs.deviceId, "hex")]))}\`; aad: \`${hex(built.sealed.subarray(0, 4))}\`.`,
		"",
		`The sealed request, ${built.sealed.length} bytes: magic \`${hex(built.sealed.subarray(0, 4))}\`, enc \`${hex(built.sealed.subarray(4, 36))}\`, then the ciphertext and its tag. In full:`,
		"",
		"```",
		wrap(hex(built.sealed)),
		"```",
	];
	return lines.join("\n");
}

export const requestsSpecification = join(projectRoot, "docs", "protocol", "requests.md");

export function documentedRequestsExample(): string {
	return readWorkedExample(requestsSpecification);
}

if (process.argv[1]?.endsWith("requests-example.js"))
	publishWorkedExample(requestsSpecification, await renderRequestsExample());
