/*
 * The worked example of docs/protocol/onboarding.md, regenerated from fixed
 * inputs by the phone's implementation (./onboarding.ts, ./spake2plus.ts)
 * and, for the device's messages, the verifier's equations of RFC 9383 on
 * @noble/curves. tests/conformance/onboarding-example.test.ts checks that
 * the document holds exactly this; `node build/node/tools/phone/onboarding-example.js --write`
 * rewrites it.
 */
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { projectRoot } from "../build/firmware.js";
import { publishWorkedExample, readWorkedExample } from "../protocol/worked-example.js";
import { Message, context, fragments, open, seal, sessionKeys } from "./onboarding.js";
import { M, N, identities, ProverExchange, proverSecrets, verifierPoint } from "./spake2plus.js";

const specification = join(projectRoot, "docs", "protocol", "onboarding.md");

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const wrap = (text: string) => text.match(/.{1,64}/g)!.join("\n");

function lengthPrefixed(parts: Uint8Array[]): Buffer {
	return Buffer.concat(parts.flatMap((part) => {
		const length = Buffer.alloc(8);
		length.writeBigUInt64LE(BigInt(part.length));
		return [length, part];
	}));
}

export function renderOnboardingExample(): string {
	const passcode = "31415926";
	const deviceId = "00112233445566778899aabbccddeeff";
	const salt = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
	const iterations = 10000;
	const x = 0x1111111111111111111111111111111111111111111111111111111111111111n;
	const y = 0x2222222222222222222222222222222222222222222222222222222222222222n;
	const { w0, w1 } = proverSecrets(new TextEncoder().encode(passcode), salt, iterations);
	const L = verifierPoint(w1);
	const prover = new ProverExchange(identities(context, "", deviceId), w0, w1, x);
	const shareP = prover.start();
	// The device's side, with y fixed.
	const shareV = p256.Point.BASE.multiply(y).add(N.multiply(w0)).toBytes(false);
	const base = p256.Point.fromBytes(shareP).subtract(M.multiply(w0));
	const Z = base.multiply(y).toBytes(false);
	const V = p256.Point.fromBytes(L).multiply(y).toBytes(false);
	const transcript = lengthPrefixed([new TextEncoder().encode(context), new Uint8Array(0), new TextEncoder().encode(deviceId),
		M.toBytes(false), N.toBytes(false), shareP, shareV, Z, V, Buffer.from(w0.toString(16).padStart(64, "0"), "hex")]);
	const main = sha256(transcript);
	const confirmation = hkdf(sha256, main, undefined, new TextEncoder().encode("ConfirmationKeys"), 64);
	const confirmV = hmac(sha256, confirmation.subarray(32), shareP);
	const { confirmP, shared } = prover.finish(shareV, confirmV);
	const keys = sessionKeys(shared);
	const parameters = Buffer.alloc(21);
	parameters[0] = 1;
	parameters.writeUInt32BE(iterations, 1);
	salt.copy(parameters, 5);
	const request = JSON.stringify({ agreementKey: "aa".repeat(32), signingKey: "bb".repeat(32), name: "Kitchen", wifi: { ssid: "home", passphrase: "correct horse" } });
	const sealedRequest = seal(keys.phoneToDevice, Message.Request, 0, new TextEncoder().encode(request));
	if (open(keys.phoneToDevice, Message.Request, 0, sealedRequest).toString("utf8") !== request)
		throw new Error("the example's request does not open");
	const network = JSON.stringify({ wifi: "joined" });
	const sealedNetwork = seal(keys.deviceToPhone, Message.Network, 1, new TextEncoder().encode(network));
	const hello = Buffer.of(Message.Hello, 1);
	const lines = [
		"Inputs (fixed for the example; a device and a phone draw theirs from their RNGs):",
		"",
		"```",
		`passcode     ${passcode} (manual code ${passcode.slice(0, 4)}-${passcode.slice(4)}-<Verhoeff digit>)`,
		`device id    ${deviceId}`,
		`salt         ${hex(salt)}`,
		`iterations   ${iterations}`,
		`x            ${x.toString(16)}`,
		`y            ${y.toString(16)}`,
		"```",
		"",
		"Registration (what the device keeps):",
		"",
		"```",
		`w0 ${w0.toString(16).padStart(64, "0")}`,
		`L  ${wrap(hex(L)).replace(/\n/g, "\n   ")}`,
		"```",
		"",
		"Messages, type byte first (fragments add one header byte each; at MTU 23, 19 bytes per fragment):",
		"",
		"```",
		`0x01 Hello        ${hex(hello)}`,
		`     as fragment  ${hex(fragments(hello, 23)[0])}`,
		`0x81 Parameters   ${hex(Buffer.concat([Buffer.of(Message.Parameters), parameters]))}`,
		"0x02 Share        02",
		wrap(hex(shareP)),
		"0x82 Share        82",
		wrap(hex(Buffer.concat([shareV, confirmV]))),
		"0x03 Confirm      03",
		wrap(hex(confirmP)),
		"```",
		"",
		"Session keys:",
		"",
		"```",
		`K_shared        ${hex(shared)}`,
		`phone -> device ${hex(keys.phoneToDevice)}`,
		`device -> phone ${hex(keys.deviceToPhone)}`,
		"```",
		"",
		`The request (counter 0), plaintext \`${request}\`:`,
		"",
		"```",
		"0x04 Request      04",
		wrap(hex(sealedRequest)),
		"```",
		"",
		`The network report (counter 1 from the device; its answer was counter 0), plaintext \`${network}\`:`,
		"",
		"```",
		"0x85 Network      85",
		wrap(hex(sealedNetwork)),
		"```",
	];
	return lines.join("\n");
}

export function documentedOnboardingExample(): string {
	return readWorkedExample(specification);
}

if (process.argv[1]?.endsWith("onboarding-example.js"))
	publishWorkedExample(specification, renderOnboardingExample());
