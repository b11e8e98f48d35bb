/*
 * `doorward pair --lin` speaks lin's onboarding link, files in a folder
 * (hardware/provisioning/lin/provisioning.ts). The device here is played by
 * the test: it does what that module does with the files (a connect file,
 * one write in, one notification out, each renamed into place) and runs the
 * verifier's side of SPAKE2+ and the session on @noble/curves and Node's
 * AES-GCM, so a wrong code is caught by the mathematics, not by a flag.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createPhone, deviceFingerprint, loadPhone, savePhone, PhoneFileError } from "../../tools/phone/identity.js";
import { pairLin } from "../../tools/phone/lin.js";
import { Message, context, open, seal, sessionKeys } from "../../tools/phone/onboarding.js";
import { M, N, proverSecrets, verifierPoint } from "../../tools/phone/spake2plus.js";

const iterations = 1000;

function setup(): { root: string; phoneFile: string; publicKey: string } {
	const root = mkdtempSync(join(tmpdir(), "doorward-lin-pair-"));
	const phoneFile = join(root, "phone.json");
	const phone = createPhone("kitchen");
	savePhone(phoneFile, phone);
	return { root, phoneFile, publicKey: phone.x25519PublicKey };
}

function lengthPrefixed(parts: Uint8Array[]): Buffer {
	return Buffer.concat(parts.flatMap((part) => {
		const length = Buffer.alloc(8);
		length.writeBigUInt64LE(BigInt(part.length));
		return [length, part];
	}));
}

/** Plays lin's device for one connection; resolves with the request the phone sealed, or the reason it closed. */
function device(root: string, code: string, deviceId: string): Promise<Record<string, unknown> | string> {
	const signing = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
	const agreement = x25519.getPublicKey(x25519.utils.randomSecretKey());
	const salt = randomBytes(16);
	const { w0, w1 } = proverSecrets(new TextEncoder().encode(code), salt, iterations);
	const L = p256.Point.fromBytes(verifierPoint(w1));
	const y = p256.Point.Fn.fromBytes(p256.utils.randomSecretKey());
	const inPath = join(root, "doorward-link-in.bin");
	const outPath = join(root, "doorward-link-out.bin");
	const outbox: Buffer[] = [];
	let keys: ReturnType<typeof sessionKeys> | undefined;
	let shareP: Uint8Array | undefined, shareV: Uint8Array | undefined, expected: Uint8Array | undefined;
	const notify = (type: number, body: Uint8Array) => outbox.push(Buffer.concat([Buffer.of(1, type), body]));
	return new Promise((resolve) => {
		const timer = setInterval(() => {
			if (outbox.length && !existsSync(outPath)) {
				writeFileSync(`${outPath}.partial`, outbox.shift()!);
				renameSync(`${outPath}.partial`, outPath);
			}
			if (existsSync(join(root, "doorward-link-connect")))
				rmSync(join(root, "doorward-link-connect")); // a connection: lin's device takes it, then the writes
			if (!existsSync(inPath))
				return;
			const fragment = readFileSync(inPath);
			rmSync(inPath);
			assert.equal(fragment[0], 1, "lin's MTU fits every message in one fragment");
			const [type, body] = [fragment[1], fragment.subarray(2)];
			const end = (result: Record<string, unknown> | string) => setTimeout(() => {
				clearInterval(timer);
				resolve(result);
			}, 300);
			if (type === Message.Hello) {
				const parameters = Buffer.alloc(21);
				parameters[0] = 1;
				parameters.writeUInt32BE(iterations, 1);
				salt.copy(parameters, 5);
				notify(Message.Parameters, parameters);
			}
			else if (type === Message.Share) {
				shareP = body;
				const X = p256.Point.fromBytes(body);
				shareV = p256.Point.BASE.multiply(y).add(N.multiply(w0)).toBytes(false);
				const base = X.subtract(M.multiply(w0));
				const transcript = lengthPrefixed([new TextEncoder().encode(context), new Uint8Array(0), new TextEncoder().encode(deviceId),
					M.toBytes(false), N.toBytes(false), body, shareV, base.multiply(y).toBytes(false), L.multiply(y).toBytes(false), Buffer.from(w0.toString(16).padStart(64, "0"), "hex")]);
				const main = sha256(transcript);
				const confirmation = hkdf(sha256, main, undefined, new TextEncoder().encode("ConfirmationKeys"), 64);
				keys = sessionKeys(hkdf(sha256, main, undefined, new TextEncoder().encode("SharedKey"), 32));
				expected = hmac(sha256, confirmation.subarray(0, 32), shareV);
				notify(Message.DeviceShare, Buffer.concat([shareV, hmac(sha256, confirmation.subarray(32), shareP)]));
			}
			else if (type === Message.Confirm) {
				if (!Buffer.from(body).equals(Buffer.from(expected!))) {
					notify(Message.Close, Buffer.from("wrong code"));
					end("wrong code");
				}
			}
			else if (type === Message.Request) {
				const request = JSON.parse(open(keys!.phoneToDevice, type, 0, body).toString("utf8")) as Record<string, unknown>;
				const answer = {
					ok: true, role: "owner", deviceId, topicId: randomBytes(16).toString("hex"),
					signingPublicKey: Buffer.from(signing).toString("hex"), agreementPublicKey: Buffer.from(agreement).toString("hex"),
					fingerprint: deviceFingerprint(signing, agreement),
				};
				notify(Message.Answer, seal(keys!.deviceToPhone, Message.Answer, 0, new TextEncoder().encode(JSON.stringify(answer))));
				notify(Message.Network, seal(keys!.deviceToPhone, Message.Network, 1, new TextEncoder().encode(JSON.stringify({ wifi: "not sent" }))));
				notify(Message.Close, Buffer.from("done"));
				end({ ...request, answered: answer });
			}
		}, 10);
		timer.unref(); // a phone that gave up (a wrong code it caught itself) does not keep the test alive
	});
}

test("pair --lin runs the onboarding exchange over the files and records the device that admitted it", async () => {
	const { root, phoneFile, publicKey } = setup();
	const deviceId = randomBytes(16).toString("hex");
	const served = device(root, "20202021", deviceId);
	const lines: string[] = [];
	assert.equal(await pairLin(phoneFile, { deviceId, code: "2020-2021" }, undefined, (line) => lines.push(line), { root }), 0);
	const request = await served as Record<string, unknown>;
	const phone = loadPhone(phoneFile);
	assert.equal(request.agreementKey, publicKey);
	assert.equal(request.signingKey, phone.ed25519PublicKey, "the phone's new Ed25519 key");
	assert.equal(request.name, "kitchen");
	const answer = request.answered as Record<string, string>;
	const paired = phone.devices[deviceId];
	assert.equal(paired.signingPublicKey, answer.signingPublicKey);
	assert.equal(paired.topicId, answer.topicId);
	assert.equal(statSync(phoneFile).mode & 0o777, 0o600, "the phone file stays private");
	assert.match(lines.join("\n"), new RegExp(`paired: device ${deviceId}, fingerprint ${answer.fingerprint}, topic id [0-9a-f]{32}, role owner`));
});

test("pair --lin with a wrong code: refused with one line, nothing recorded", async () => {
	const { root, phoneFile } = setup();
	const deviceId = randomBytes(16).toString("hex");
	const served = device(root, "20202021", deviceId);
	await assert.rejects(pairLin(phoneFile, { deviceId, code: "20202022" }, undefined, () => {}, { root }), /^Error: wrong code/);
	assert.deepEqual(loadPhone(phoneFile).devices, {}, "nothing recorded");
	void served;
});

test("pair --lin says when no device answers", async () => {
	const { root, phoneFile } = setup();
	await assert.rejects(pairLin(phoneFile, { deviceId: "00".repeat(16), code: "20202021" }, undefined, () => {}, { root, timeoutMs: 300, pollMs: 20 }),
		(error: unknown) => (error instanceof PhoneFileError) && /no device answered in 0.3 s: is the lin build running in mcsim\?/.test(error.message));
});

test("pair --lin refuses a code that is not one", async () => {
	const { root, phoneFile } = setup();
	await assert.rejects(pairLin(phoneFile, { deviceId: "00".repeat(16), code: "2020-2021-0" }, undefined, () => {}, { root }), /wrong check digit/);
	await assert.rejects(pairLin(phoneFile, { deviceId: "00".repeat(16), code: "abc" }, undefined, () => {}, { root }), /is not a setup code/);
});
