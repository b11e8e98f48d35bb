/*
 * The owner's commands end to end: make a phone, read a simulated device's
 * label, pair with its code (refusing a device whose keys are not the
 * label's), run the device, and open a captured event with `doorward open`:
 * once, since the phone file then remembers it; on its own topic only; with
 * a key id that differs from one device to the next. Then the owner invites
 * a second phone (doorward invite; pair --code takes the one-time code, once)
 * and removes it (doorward remove), after which it opens nothing new.
 * Onboarding's refusals are in onboarding.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { projectRoot } from "../../tools/build/firmware.js";
import { defaultScene } from "../../tools/sim/run.js";
import { deviceFingerprint, loadPhone, rememberDevice, savePhone } from "../../tools/phone/identity.js";
import { paddedClip, ringRecords, seal } from "../support/seal.js";

const cli = join(projectRoot, "bin", "doorward.js");

function doorward(args: string[]): { status: number | null; stdout: string; stderr: string } {
	const result = spawnSync(process.execPath, [cli, ...args], { cwd: projectRoot, encoding: "utf8", timeout: 90000 });
	return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A refusal: a non-zero exit and one line on stderr that matches, no stack trace. */
function refusal(result: { status: number | null; stderr: string }, pattern: RegExp): void {
	assert.notEqual(result.status, 0, result.stderr);
	assert.match(result.stderr, pattern);
	assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

test("phone keygen, pair, sim and open: the frames come back once, on their topic, and nothing else opens them", () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-owner-"));
	const phone = join(folder, "phone.json");
	const stranger = join(folder, "stranger.json");
	const flash = join(folder, "device.bin");
	const made = doorward(["phone", "keygen", "--out", phone, "--name", "owner"]);
	assert.equal(made.status, 0);
	const phoneKey = Buffer.from(JSON.parse(readFileSync(phone, "utf8")).x25519PublicKey, "hex");
	const printed = /phone key fingerprint ([0-9a-f]{16}) \(.*never in an envelope\)/.exec(made.stderr);
	assert.ok(printed, made.stderr);
	assert.equal(printed[1], createHash("sha256").update(phoneKey).digest("hex").slice(0, 16));
	assert.equal(statSync(phone).mode & 0o777, 0o600, "the phone's private key is not world-readable");
	assert.doesNotMatch(doorward(["phone", "keygen", "--out", phone]).stderr, /^$/, "refuses to overwrite");
	assert.equal(doorward(["phone", "keygen", "--out", stranger, "--name", "stranger"]).status, 0);

	// A device whose keys are not the ones the phone was told: refused by the phone, which records nothing.
	const otherFlash = join(folder, "other.bin");
	const otherLabel = JSON.parse(doorward(["label", "--flash", otherFlash, "--json"]).stdout);
	const wrongLabel = doorward(["pair", "--phone", stranger, "--flash", otherFlash, "--code", otherLabel.setupCode, "--fingerprint", "0000-0000-0000-0000-0000-0000-0000-0000"]);
	refusal(wrongLabel, /is not the label's 0000-0000/);
	assert.deepEqual(loadPhone(stranger).devices, {});

	const label = doorward(["label", "--flash", flash, "--json"]);
	assert.equal(label.status, 0, label.stderr);
	const printedLabel = JSON.parse(label.stdout);
	const paired = doorward(["pair", "--phone", phone, "--flash", flash, "--code", printedLabel.manualCode]);
	assert.equal(paired.status, 0, paired.stderr);
	const fingerprint = /fingerprint ([0-9a-f-]{39})/.exec(paired.stderr)![1];
	assert.equal(fingerprint, printedLabel.fingerprint, "the label's fingerprint");
	const keyIdAtPairing = /this phone's key id in its events ([0-9a-f]{16})/.exec(paired.stderr)![1];

	// The phone file as it is after pairing, before the simulated phone opens anything.
	const copy = join(folder, "phone-copy.json");
	copyFileSync(phone, copy);
	chmodSync(copy, 0o600);

	const out = join(folder, "out");
	const run = doorward(["sim", "--events", "1", "--json", "--flash", flash, "--phone", phone, "--out", out]);
	assert.equal(run.status, 0, run.stderr);
	const event = JSON.parse(run.stdout.trim().split("\n")[0]);

	// The simulated phone saved what it opened: the same phone file refuses the event now.
	refusal(doorward(["open", "--phone", phone, event.envelope]), /replay: event 2 of device [0-9a-f]{32} was opened already/); // 1 is the pairing's audit event

	const otherTopic = `dw/${"0".repeat(32)}/ev`;
	refusal(doorward(["open", "--phone", copy, "--topic", otherTopic, event.envelope]), /publishes on dw\/[0-9a-f]{32}\/ev, but this event came on dw\/0{32}\/ev/);
	const opened = doorward(["open", "--phone", copy, "--topic", event.topic, event.envelope, "--out", join(folder, "opened")]);
	assert.equal(opened.status, 0, opened.stderr);
	const result = JSON.parse(opened.stdout);
	assert.equal(result.eventId, event.eventId);
	const sceneFrames = readdirSync(join(defaultScene, "frames")).sort().map((name) => readFileSync(join(defaultScene, "frames", name)));
	result.frames.forEach((file: string, index: number) => assert.ok(readFileSync(file).equals(sceneFrames[index])));
	refusal(doorward(["open", "--phone", copy, event.envelope, "--out", join(folder, "again")]), /replay: event 2 .* opened already/);
	assert.throws(() => statSync(join(folder, "again")), "nothing written for a refused event");

	refusal(doorward(["open", "--phone", stranger, event.envelope]), /has not paired with/);

	// A second device paired with the same phone lists it under another key id.
	const second = doorward(["sim", "--events", "1", "--json", "--flash", join(folder, "second.bin"), "--phone", phone, "--out", join(folder, "out2")]);
	assert.equal(second.status, 0, second.stderr);
	const event2 = JSON.parse(second.stdout.trim().split("\n")[0]);
	const keyIdIn = (file: string) => readFileSync(file).subarray(93, 101).toString("hex");
	const first = keyIdIn(event.envelope);
	const other = keyIdIn(event2.envelope);
	assert.notEqual(event2.deviceId, event.deviceId);
	assert.notEqual(first, other, "two devices, two key ids for one phone");
	assert.equal(first, keyIdAtPairing);
	for (const [id, deviceId] of [[first, event.deviceId], [other, event2.deviceId]])
		assert.equal(id, createHash("sha256").update(Buffer.from(deviceId, "hex")).update(phoneKey).digest("hex").slice(0, 16));
	assert.ok(![first, other].includes(printed[1]), "the phone key fingerprint is in no envelope");

	assert.equal(loadPhone(phone).devices[event.deviceId].fingerprint, fingerprint);

	// The owner invites a second phone: its one-time code admits it once, as a member.
	const keyIdOf = (file: string) => createHash("sha256").update(Buffer.from(JSON.parse(readFileSync(file, "utf8")).x25519PublicKey, "hex")).digest("hex").slice(0, 16);
	const third = join(folder, "third.json");
	assert.equal(doorward(["phone", "keygen", "--out", third, "--name", "third"]).status, 0);
	refusal(doorward(["pair", "--phone", stranger, "--flash", flash, "--code", printedLabel.setupCode]), /the device has an owner: the label's code admits nobody, an owner must invite/);
	const invited = doorward(["invite", "--phone", phone, "--flash", flash, "--json"]);
	assert.equal(invited.status, 0, invited.stderr);
	const invitation = JSON.parse(invited.stdout);
	assert.deepEqual(Object.keys(invitation).sort(), ["code", "expires"]);
	assert.match(invitation.code, /^\d{8}$/);
	assert.ok(Date.parse(invitation.expires) > Date.now() + 9 * 60 * 1000, invitation.expires);
	const joined = doorward(["pair", "--phone", stranger, "--flash", flash, "--code", invitation.code]);
	assert.equal(joined.status, 0, joined.stderr);
	assert.match(joined.stderr, /role member/);
	refusal(doorward(["pair", "--phone", third, "--flash", flash, "--code", invitation.code]), /an owner must invite/);
	// A member cannot remove the owner; the owner removes the member, whose phone opens nothing new.
	refusal(doorward(["remove", "--phone", stranger, "--flash", flash, "--key-id", keyIdOf(phone)]), /only an owner removes another phone/);
	refusal(doorward(["remove", "--phone", phone, "--flash", flash, "--key-id", "00"]), /--key-id 00: a phone key fingerprint is 16 hex digits/);
	const removed = doorward(["remove", "--phone", phone, "--flash", flash, "--key-id", keyIdOf(stranger)]);
	assert.equal(removed.status, 0, removed.stderr);
	assert.match(removed.stderr, new RegExp(`removed: phone ${keyIdOf(stranger)} \\(stranger\\)`));
	const afterRemoval = doorward(["sim", "--events", "1", "--json", "--flash", flash, "--phone", phone, "--out", join(folder, "out4")]);
	assert.equal(afterRemoval.status, 0, afterRemoval.stderr);
	const event4 = JSON.parse(afterRemoval.stdout.trim().split("\n")[0]);
	refusal(doorward(["open", "--phone", stranger, event4.envelope]), /not a recipient/);
	refusal(doorward(["remove", "--phone", stranger, "--flash", flash, "--key-id", keyIdOf(stranger)]), /its signer is not a paired phone/);
});

test("a validly signed event whose metadata is not JSON: one line, no plaintext, no stack trace", async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-open-bad-"));
	const phoneFile = join(folder, "phone.json");
	assert.equal(doorward(["phone", "keygen", "--out", phoneFile]).status, 0);
	const phone = loadPhone(phoneFile);
	const seed = randomBytes(32);
	const signing = ed25519.getPublicKey(seed);
	const agreement = x25519.getPublicKey(randomBytes(32));
	const deviceId = randomBytes(16).toString("hex");
	rememberDevice(phone, {
		ok: true, deviceId, topicId: randomBytes(16).toString("hex"), signingPublicKey: Buffer.from(signing).toString("hex"),
		agreementPublicKey: Buffer.from(agreement).toString("hex"), fingerprint: deviceFingerprint(signing, agreement),
	});
	savePhone(phoneFile, phone);
	const secret = "the visitor's name is SECRET";
	const records = ringRecords();
	const text = Buffer.from(`{"kind":"ring", ${secret}`);
	records[0] = { type: 1, body: Buffer.concat([text, Buffer.alloc(4096 - text.length, 0x20)]) };
	assert.equal(records[0].body.length, 4096);
	const envelope = join(folder, "event.dwe");
	const sealOptions = { deviceSeed: seed, deviceId, time: 1795800000000, phones: [Buffer.from(phone.x25519PublicKey, "hex")] };
	writeFileSync(envelope, await seal(paddedClip(records), { ...sealOptions, eventId: randomBytes(16).toString("hex"), seq: 1 }));
	const result = doorward(["open", "--phone", phoneFile, envelope]);
	refusal(result, /^doorward: event: clip: the metadata is not JSON\n$/);
	assert.ok(!result.stderr.includes("SECRET") && !result.stdout.includes("SECRET"), "no plaintext");
	// Refused, so not seen: the device's next, good event with the same number still opens.
	const good = join(folder, "good.dwe");
	writeFileSync(good, await seal(paddedClip(ringRecords()), { ...sealOptions, eventId: randomBytes(16).toString("hex"), seq: 1 }));
	assert.equal(doorward(["open", "--phone", phoneFile, good]).status, 0);
});
