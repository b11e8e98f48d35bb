/*
 * `doorward pair --lin` speaks lin's pairing channel, two files in a folder
 * (hardware/provisioning/lin/provisioning.ts). The device here is played by
 * the test: it does what that module does (wait for the request, read it,
 * delete it, write its reply beside the name and rename it into place) and
 * answers with real keys, so the phone file must end up holding them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { createPhone, deviceFingerprint, loadPhone, savePhone, PhoneFileError } from "../../tools/phone/identity.js";
import { pairLin } from "../../tools/phone/lin.js";

function setup(): { root: string; phoneFile: string; publicKey: string } {
	const root = mkdtempSync(join(tmpdir(), "doorward-lin-pair-"));
	const phoneFile = join(root, "phone.json");
	const phone = createPhone("kitchen");
	savePhone(phoneFile, phone);
	return { root, phoneFile, publicKey: phone.x25519PublicKey };
}

/** A device's keys and the reply lin's firmware sends (src/main.ts servePairing). */
function deviceReply(): Record<string, unknown> {
	const signing = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
	const agreement = x25519.getPublicKey(x25519.utils.randomSecretKey());
	return {
		ok: true, deviceId: randomBytes(16).toString("hex"), topicId: randomBytes(16).toString("hex"),
		signingPublicKey: Buffer.from(signing).toString("hex"), agreementPublicKey: Buffer.from(agreement).toString("hex"),
		fingerprint: deviceFingerprint(signing, agreement),
	};
}

/** Plays the device for one request: resolves with the request it read. */
function device(root: string, reply: Record<string, unknown>): Promise<unknown> {
	const requestPath = join(root, "doorward-pair.json");
	return new Promise((resolve) => {
		const watcher = watch(root, () => {
			if (!existsSync(requestPath))
				return;
			watcher.close();
			const request = JSON.parse(readFileSync(requestPath, "utf8"));
			rmSync(requestPath);
			const partial = join(root, "doorward-pair-reply.json.partial");
			writeFileSync(partial, JSON.stringify(reply));
			renameSync(partial, join(root, "doorward-pair-reply.json"));
			resolve(request);
		});
	});
}

test("pair --lin sends the phone's key and name and records the device that answers", async () => {
	const { root, phoneFile, publicKey } = setup();
	const reply = deviceReply();
	const served = device(root, reply);
	const lines: string[] = [];
	assert.equal(await pairLin(phoneFile, undefined, (line) => lines.push(line), { root }), 0);
	assert.deepEqual(await served, { phone: publicKey, name: "kitchen" });
	const phone = loadPhone(phoneFile);
	const paired = phone.devices[reply.deviceId as string];
	assert.equal(paired.signingPublicKey, reply.signingPublicKey);
	assert.equal(paired.agreementPublicKey, reply.agreementPublicKey);
	assert.equal(paired.topicId, reply.topicId);
	assert.equal(statSync(phoneFile).mode & 0o777, 0o600, "the phone file stays private");
	assert.match(lines.join("\n"), new RegExp(`paired: device ${reply.deviceId}, fingerprint ${reply.fingerprint as string}`));
	assert.ok(!existsSync(join(root, "doorward-pair-reply.json")), "the reply is consumed");
});

test("pair --lin refuses a device whose keys are not the label's, and a refusal from the device", async () => {
	const { root, phoneFile } = setup();
	const served = device(root, deviceReply());
	await assert.rejects(pairLin(phoneFile, "0000-0000-0000-0000-0000-0000-0000-0000", () => {}, { root }), /is not the label's 0000-0000/);
	await served;
	assert.deepEqual(loadPhone(phoneFile).devices, {}, "nothing recorded");
	const refused = device(root, { ok: false, error: "pairing: 8 phones are paired already" });
	await assert.rejects(pairLin(phoneFile, undefined, () => {}, { root }), /the device refused pairing: pairing: 8 phones are paired already/);
	await refused;
});

test("pair --lin says when no device answers, and takes its request back", async () => {
	const { root, phoneFile } = setup();
	await assert.rejects(pairLin(phoneFile, undefined, () => {}, { root, timeoutMs: 300, pollMs: 20 }),
		(error: unknown) => (error instanceof PhoneFileError) && /no device answered in 0.3 s: is the lin build running in mcsim\?/.test(error.message));
	assert.ok(!existsSync(join(root, "doorward-pair.json")), "the request is removed");
});

test("pair --lin does not overwrite a request that is already waiting, and ignores a stale reply", async () => {
	const { root, phoneFile } = setup();
	writeFileSync(join(root, "doorward-pair.json"), "{}");
	await assert.rejects(pairLin(phoneFile, undefined, () => {}, { root }), /a pairing request is already waiting/);
	rmSync(join(root, "doorward-pair.json"));
	writeFileSync(join(root, "doorward-pair-reply.json"), JSON.stringify(deviceReply()));
	const reply = deviceReply();
	const served = device(root, reply);
	await pairLin(phoneFile, undefined, () => {}, { root });
	await served;
	assert.deepEqual(Object.keys(loadPhone(phoneFile).devices), [reply.deviceId], "only the device that answered this request");
});
