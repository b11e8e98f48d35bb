/*
 * Item 4 of the hardening review: replays. The phone keeps, per device and
 * in its file, the anti-replay window of docs/protocol/events.md § Sequence
 * numbers and replay, so the same event, or an older one already opened, is
 * refused, after a restart too; a late event never seen is accepted; a
 * missing one is reported as a gap; and a device id that comes back with
 * other keys is refused unless the owner resets it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { createPhone, deviceFingerprint, loadPhone, rememberDevice, savePhone } from "../../tools/phone/identity.js";
import type { PairingReply, PhoneIdentity } from "../../tools/phone/identity.js";
import { WINDOW, acceptEvent, checkReplay, emptyReplayState, markSeen } from "../../tools/phone/state.js";
import { paddedClip, ringRecords, seal } from "../support/seal.js";

const deviceSeed = randomBytes(32);
const deviceKey = ed25519.getPublicKey(deviceSeed);
const deviceId = randomBytes(16).toString("hex");

function reply(signing: Uint8Array = deviceKey): PairingReply {
	const agreement = x25519.getPublicKey(randomBytes(32));
	return {
		ok: true, deviceId, topicId: "cd".repeat(16), signingPublicKey: Buffer.from(signing).toString("hex"),
		agreementPublicKey: Buffer.from(agreement).toString("hex"), fingerprint: deviceFingerprint(signing, agreement),
	};
}

function event(phone: PhoneIdentity, seq: number, seed: Uint8Array = deviceSeed): Promise<Buffer> {
	return seal(paddedClip(ringRecords()), { deviceSeed: seed, deviceId, eventId: randomBytes(16).toString("hex"), seq, time: 1795800000000, phones: [Buffer.from(phone.x25519PublicKey, "hex")] });
}

function pairedPhoneFile(): { file: string; phone: PhoneIdentity } {
	const file = join(mkdtempSync(join(tmpdir(), "doorward-phone-state-")), "phone.json");
	const phone = createPhone("state");
	rememberDevice(phone, reply());
	savePhone(file, phone);
	return { file, phone };
}

const accept = (phone: PhoneIdentity, envelope: Uint8Array, file: string) => acceptEvent(phone, envelope, { save: () => savePhone(file, phone) });

test("the window, as RFC 4303 §3.4.3 keeps it: new, late, replayed, too old, and gaps", () => {
	const state = emptyReplayState();
	const seen = (seq: number) => {
		checkReplay(state, seq, "d");
		return markSeen(state, seq);
	};
	assert.deepEqual(seen(5), { gaps: [], late: false }, "the first event sets the baseline: nothing below it is a gap");
	assert.deepEqual(seen(6).gaps, []);
	assert.deepEqual(seen(9).gaps, [[7, 8]]);
	assert.deepEqual(seen(7), { gaps: [], late: true }, "a late event never seen is accepted");
	assert.throws(() => checkReplay(state, 7, "d"), /event 7 of device d was opened already/);
	assert.throws(() => checkReplay(state, 9, "d"), /opened already/);
	assert.throws(() => checkReplay(state, 5, "d"), /opened already/);
	assert.deepEqual(seen(9 + WINDOW + 10).gaps, [[10, 9 + WINDOW + 9]], "a jump past the whole window");
	const highest = 9 + WINDOW + 10;
	assert.throws(() => checkReplay(state, highest - WINDOW, "d"), /older than the last 64/);
	checkReplay(state, highest - WINDOW + 1, "d"); // the oldest number the window still holds, never seen
	assert.equal(seen(highest - WINDOW + 1).late, true);
	assert.throws(() => checkReplay(state, highest - WINDOW + 1, "d"), /opened already/);
	assert.equal(state.window.length, WINDOW / 4);
});

test("`open` twice: the second is a replay, after a restart too; an older event opened before is refused, a late one is not", async () => {
	const { file, phone } = pairedPhoneFile();
	const three = await event(phone, 3);
	const four = await event(phone, 4);
	const five = await event(phone, 5);
	assert.deepEqual((await accept(phone, three, file)).notes, []);
	const { notes } = await accept(phone, five, file);
	assert.deepEqual(notes, [`event 4 of device ${deviceId} never arrived`]);
	await assert.rejects(accept(phone, five, file), /replay: event 5 .* opened already/);

	// A restart: only the file remains.
	const restarted = loadPhone(file);
	await assert.rejects(accept(restarted, five, file), /replay: event 5/);
	await assert.rejects(accept(restarted, three, file), /replay: event 3/, "an older one after a newer one");
	assert.deepEqual((await accept(restarted, four, file)).notes, [`event 4 of device ${deviceId} arrived late, after 5`]);
	await assert.rejects(accept(loadPhone(file), four, file), /replay: event 4/);
	assert.equal(statSync(file).mode & 0o777, 0o600);
	assert.deepEqual(readdirSync(join(file, "..")), ["phone.json"], "no temporary file left behind");
});

test("a refused envelope changes nothing: a forged one cannot use up a sequence number", async () => {
	const { file, phone } = pairedPhoneFile();
	await accept(phone, await event(phone, 1), file);
	const forged = await event(phone, 1000, randomBytes(32)); // signed by another key
	await assert.rejects(accept(phone, forged, file), /signature does not verify/);
	const damaged = await event(phone, 2);
	damaged[damaged.length - 1] ^= 1;
	await assert.rejects(accept(phone, damaged, file), /digest does not match/);
	assert.deepEqual(loadPhone(file).devices[deviceId].replay, phone.devices[deviceId].replay);
	assert.equal(phone.devices[deviceId].replay.highest, 1);
	assert.deepEqual((await accept(phone, await event(phone, 2), file)).notes, [], "no gap: 1000 was never seen");
});

test("the event is not shown when its state cannot be saved, and memory stays as the file says", async () => {
	const { phone } = pairedPhoneFile();
	const envelope = await event(phone, 1);
	await assert.rejects(acceptEvent(phone, envelope, { save: () => { throw new Error("disk full"); } }), /disk full/);
	assert.equal(phone.devices[deviceId].replay.highest, 0);
});

test("re-pairing: the same keys keep the window; other keys are refused unless the owner resets the device", async () => {
	const { file, phone } = pairedPhoneFile();
	await accept(phone, await event(phone, 7), file);
	rememberDevice(phone, { ...reply(), agreementPublicKey: phone.devices[deviceId].agreementPublicKey, fingerprint: phone.devices[deviceId].fingerprint });
	assert.equal(phone.devices[deviceId].replay.highest, 7, "the same keys: what was opened is kept");
	const impostorSeed = randomBytes(32);
	const impostor = reply(ed25519.getPublicKey(impostorSeed));
	assert.throws(() => rememberDevice(phone, impostor), new RegExp(`device ${deviceId} was paired with other keys .*--reset-device`));
	assert.equal(phone.devices[deviceId].signingPublicKey, Buffer.from(deviceKey).toString("hex"));
	rememberDevice(phone, impostor, undefined, { resetDevice: true });
	assert.equal(phone.devices[deviceId].replay.highest, 0, "a reset forgets the window");
	assert.equal(phone.devices[deviceId].signingPublicKey, impostor.signingPublicKey);
	// Pairing refuses a reply without a topic id, and a key of small order.
	assert.throws(() => rememberDevice(createPhone("p"), { ...reply(), topicId: undefined }), /malformed/);
	const small = ed25519.Point.ZERO.toBytes();
	assert.throws(() => rememberDevice(createPhone("p"), reply(small)), /Ed25519 key is a point of small order/);
});

test("a version 1 phone file loads: its lastSeq becomes a window in which everything up to it was opened", async () => {
	const file = join(mkdtempSync(join(tmpdir(), "doorward-phone-v1-")), "phone.json");
	const phone = createPhone("old");
	const r = reply();
	writeFileSync(file, JSON.stringify({
		version: 1, name: "old", x25519SecretKey: phone.x25519SecretKey, x25519PublicKey: phone.x25519PublicKey,
		devices: { [deviceId]: { topicId: r.topicId, signingPublicKey: r.signingPublicKey, agreementPublicKey: r.agreementPublicKey, fingerprint: r.fingerprint, pairedAt: 1, lastSeq: 9 } },
	}));
	const loaded = loadPhone(file);
	assert.equal(loaded.version, 2);
	await assert.rejects(accept(loaded, await event(loaded, 9), file), /replay/);
	await assert.rejects(accept(loaded, await event(loaded, 4), file), /replay/);
	await accept(loaded, await event(loaded, 10), file);
	assert.equal(JSON.parse(readFileSync(file, "utf8")).devices[deviceId].replay.highest, 10);
	writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), devices: { [deviceId]: { ...loaded.devices[deviceId], replay: { highest: 3, window: "zz" } } } }));
	assert.throws(() => loadPhone(file), /replay state of device .* is malformed/);
});
