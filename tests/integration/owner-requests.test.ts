/*
 * Invitations and removal, end to end on the simulated device (issue 12):
 * the owner's signed requests over MQTT (docs/protocol/requests.md), the new
 * phone's onboarding with the invitation's one-time code, the audit entries
 * each phone receives, and every refusal of the "Done when": the
 * attack (a stranger pairs, removes the owner, sets a root), an expired or
 * replayed invitation, an unsigned or forged removal, a member removing the
 * owner; a removed phone gets its notice and opens nothing new.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import type { EmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { loadScene } from "../../tools/sim/scene.js";
import { defaultScene } from "../../tools/sim/run.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, phoneFingerprint, rememberDevice } from "../../tools/phone/identity.js";
import type { PhoneIdentity } from "../../tools/phone/identity.js";
import type { PhoneAuditEntry } from "../../tools/phone/audit.js";
import { Kind, removalPayload, requestTopic } from "../../tools/phone/requests.js";
import { invitationPayload, newInvitationCode } from "../../tools/phone/invitation.js";
import { labelOf } from "../../tools/factory/label.js";
import type { Label } from "../../tools/factory/label.js";
import { requester, sendRequest } from "../support/requests.js";
import { ringOnce, waitFor } from "../support/wait.js";

const build = simulatorBuild();

interface Listener {
	readonly phone: SimulatedPhone;
	readonly events: ReceivedEvent[];
	readonly audit: PhoneAuditEntry[];
	readonly warnings: string[];
}

async function listen(broker: EmbeddedBroker, identity: PhoneIdentity, out: string): Promise<Listener> {
	const events: ReceivedEvent[] = [];
	const audit: PhoneAuditEntry[] = [];
	const warnings: string[] = [];
	const phone = await SimulatedPhone.connect({
		url: broker.url, identity, credentials: broker.phone, outDir: join(out, identity.name),
		onEvent: (event) => events.push(event), onAudit: (entry) => entry && audit.push(entry), onWarning: (line) => warnings.push(line),
	});
	return { phone, events, audit, warnings };
}

interface Rig {
	device: SimulatedDevice;
	log: string[];
	statuses: DeviceStatus[];
	label: Label;
}

async function boot(broker: EmbeddedBroker, flash: string, sntp?: () => number): Promise<Rig> {
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const device = new SimulatedDevice({
		build, flashPath: flash, secretPath: deviceSecretFor(flash), onLog: (line) => log.push(line),
		configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" },
		...(sntp ? { sntp } : {}),
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
	return { device, log, statuses, label: await labelOf(device, flash) };
}

async function online(rig: Rig): Promise<void> {
	await waitFor("online", () => rig.statuses.find((status) => status.state === "online"));
	// The device subscribes to its request topic on connecting; its SUBSCRIBE reaches the broker before a request.
	await new Promise((resolve) => setTimeout(resolve, 500));
}

const refusals = (rig: Rig) => rig.log.filter((line) => /request refused/.test(line));

async function refused(rig: Rig, count: number, pattern: RegExp): Promise<void> {
	await waitFor(`refusal ${count} (${pattern})`, () => (refusals(rig).length >= count) ? true : undefined);
	assert.match(refusals(rig)[count - 1], pattern);
}

async function refusedWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
	await assert.rejects(promise, (error: Error) => {
		assert.match(error.message, pattern);
		return true;
	});
}

test("an owner invites a phone, which pairs once with the code as a member; a stranger, a forged or replayed request, and a member removing the owner are refused; the owner removes the member, who gets its notice and opens nothing new", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-owner-requests-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const broker = await startEmbeddedBroker();
	const client = await requester(broker);
	const owner = createPhone("owner");
	const member = createPhone("member");
	const stranger = createPhone("stranger");
	const ownerListens = await listen(broker, owner, folder);
	const memberListens = await listen(broker, member, folder);
	const rig = await boot(broker, join(folder, "flash.bin"));
	rig.device.setScene(loadScene(defaultScene));
	try {
		const reply = await rig.device.pair(owner, rig.label);
		rememberDevice(owner, reply);
		const deviceId = reply.deviceId!;
		rememberDevice(stranger, { ...reply, ok: true }); // the label's public keys are no secret
		await online(rig);

		// The attack, as the issue tried it: a stranger with no secret pairs, removes the owner, sets a root.
		await refusedWith(rig.device.pair(stranger, rig.label), /an owner must invite/);
		assert.equal((await rig.device.localRequest({ phone: stranger.x25519PublicKey, name: "stranger" })).ok, false);
		assert.equal((await rig.device.localRequest({ remove: phoneFingerprint(owner) })).ok, false);
		assert.equal((await rig.device.localRequest({ trustRoot: "00".repeat(64) })).ok, false);
		await sendRequest(client, stranger, deviceId, Kind.Remove, removalPayload(phoneFingerprint(owner)));
		await refused(rig, 1, /request refused \(kind 1\): its signer is not a paired phone/);
		// Unsigned: the same bytes with the signature's last bit flipped, sealed properly (the phone's builder, then a bit of the sealed body).
		const { sealed } = await sendRequest(client, owner, deviceId, 99, Buffer.alloc(0)); // an owner's request of a kind nobody handles
		await refused(rig, 2, /unknown kind 99/);
		const forged = Buffer.from(sealed);
		forged[200] ^= 0x80;
		await client.publishAsync(requestTopic(reply.topicId!), forged, { qos: 1 });
		await refused(rig, 3, /request refused: the request does not open with this device's key/);

		// The invitation: the owner's phone sends the verifier of a code it drew, never the code.
		const code = newInvitationCode();
		const invitation = await sendRequest(client, owner, deviceId, Kind.Invite, invitationPayload(code));
		await waitFor("the invitation's audit entry at the owner", () => ownerListens.audit.find((entry) => (entry.type === "window") && (entry.details.reason === "invitation")));
		assert.ok(!rig.log.some((line) => line.includes(code)), "the code is in no log line");
		await client.publishAsync(invitation.topic, invitation.sealed, { qos: 1 });
		await refused(rig, 4, /request refused \(kind 2\) from phone [0-9a-f]{16}: the request was taken already/);
		await refusedWith(rig.device.pair(stranger, rig.label), /^wrong code/); // the label's code is not the invitation's
		const joined = await rig.device.pair(member, { deviceId, setupCode: code });
		assert.equal(joined.role, "member");
		rememberDevice(member, joined);
		await refusedWith(rig.device.pair(stranger, { deviceId, setupCode: code }), /an owner must invite/); // used once
		const admitted = await waitFor("the member's admission at the owner", () => ownerListens.audit.find((entry) => (entry.type === "admitted") && (entry.details.by === "invitation")));
		assert.equal(admitted.details.invitedBy, phoneFingerprint(owner));
		assert.equal(admitted.details.role, "member");

		await ringOnce(rig.device, rig.statuses, 1);
		await waitFor("the ring at both phones", () => (ownerListens.events.length && memberListens.events.length) ? true : undefined);

		// A member may not invite, nor remove the owner.
		await sendRequest(client, member, deviceId, Kind.Invite, invitationPayload(newInvitationCode()));
		await refused(rig, 5, /invite needs an owner; phone [0-9a-f]{16} is a member/);
		await sendRequest(client, member, deviceId, Kind.Remove, removalPayload(phoneFingerprint(owner)));
		await refused(rig, 6, /only an owner removes another phone/);
		// A stale request (its time 6 minutes ago) is refused, however well signed.
		await sendRequest(client, owner, deviceId, Kind.Remove, removalPayload(phoneFingerprint(member)), Date.now() - 6 * 60 * 1000);
		await refused(rig, 7, /the request is 36\d s old/);

		// The owner removes the member: the member's notice, then nothing new.
		await sendRequest(client, owner, deviceId, Kind.Remove, removalPayload(phoneFingerprint(member)));
		const removed = await waitFor("the removal at the owner", () => ownerListens.audit.find((entry) => entry.type === "removed"));
		assert.equal(removed.details.phone, phoneFingerprint(member));
		assert.equal(removed.details.by, phoneFingerprint(owner));
		const notice = await waitFor("the removed phone's own notice", () => memberListens.audit.find((entry) => entry.type === "removed"));
		assert.equal(notice.hash, removed.hash);
		const opened = memberListens.events.length;
		await ringOnce(rig.device, rig.statuses, 2);
		await waitFor("the second ring at the owner", () => ownerListens.events[1]);
		await waitFor("the removed phone's refusal", () => memberListens.warnings.find((line) => /not a recipient/.test(line)));
		assert.equal(memberListens.events.length, opened, "the removed phone opened nothing new");
		await sendRequest(client, member, deviceId, Kind.Remove, removalPayload(phoneFingerprint(member)));
		await refused(rig, 8, /its signer is not a paired phone/);
		assert.equal(refusals(rig).length, 8, "one line per refusal");
	}
	finally {
		await rig.device.powerOff();
		await ownerListens.phone.close();
		await memberListens.phone.close();
		await client.endAsync(true);
		await broker.close();
	}
});

test("an invitation expires after 10 minutes; a replay after a restart is refused by the request floor; a phone removes itself", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-invite-expiry-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const broker = await startEmbeddedBroker();
	const client = await requester(broker);
	const owner = createPhone("owner");
	const late = createPhone("late");
	const flash = join(folder, "flash.bin");
	let rig = await boot(broker, flash);
	try {
		const reply = await rig.device.pair(owner, rig.label);
		rememberDevice(owner, reply);
		const deviceId = reply.deviceId!;
		await online(rig);
		const code = newInvitationCode();
		const invitation = await sendRequest(client, owner, deviceId, Kind.Invite, invitationPayload(code));
		await waitFor("the invitation taken", () => rig.log.find((line) => /request invite from phone .*: done/.test(line)));
		// Eleven minutes later, by the device's clock (an SNTP answer).
		rig.device.setClock(Date.now() + 11 * 60 * 1000);
		await refusedWith(rig.device.pair(late, { deviceId, setupCode: code }), /the invitation has expired: an owner must invite again/);
		await rig.device.powerOff();

		// A restart loses the nonce cache; the keystore's request floor still refuses the replay, even with the clock set back to its time.
		rig = await boot(broker, flash, () => Date.now() - 1000);
		await online(rig);
		await client.publishAsync(invitation.topic, invitation.sealed, { qos: 1 });
		await refused(rig, 1, /not newer than the device's request floor/);
		await refusedWith(rig.device.pair(late, { deviceId, setupCode: code }), /an owner must invite/); // expired once is expired for good

		// A phone removes itself (here the owner, the only one): the device has no owner any more.
		await sendRequest(client, owner, deviceId, Kind.Remove, removalPayload(phoneFingerprint(owner)));
		await waitFor("the removal", () => rig.log.find((line) => /request remove from phone .*: done/.test(line)));
		assert.ok(rig.log.some((line) => /audit removed entry \d+: event [0-9a-f]{32} queued for 1 phones/.test(line)), "its own removal notice");
	}
	finally {
		await rig.device.powerOff();
		await client.endAsync(true);
		await broker.close();
	}
});

test("holding the button 10 s is a factory reset: the old phones get its entry first; phones, Wi-Fi and invitation are erased; the label's code then makes a new owner", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-reset-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const broker = await startEmbeddedBroker();
	const client = await requester(broker);
	const owner = createPhone("owner");
	const member = createPhone("member");
	const buyer = createPhone("buyer");
	const ownerListens = await listen(broker, owner, folder);
	const memberListens = await listen(broker, member, folder);
	const flash = join(folder, "flash.bin");
	let rig = await boot(broker, flash);
	try {
		const reply = await rig.device.pair(owner, rig.label, { wifi: { ssid: "home", passphrase: "correct horse" } });
		rememberDevice(owner, reply);
		const deviceId = reply.deviceId!;
		await online(rig);
		const code = newInvitationCode();
		await sendRequest(client, owner, deviceId, Kind.Invite, invitationPayload(code));
		await waitFor("the invitation", () => rig.log.find((line) => /request invite from phone .*: done/.test(line)));
		rememberDevice(member, await rig.device.pair(member, { deviceId, setupCode: code }));
		// A pending invitation, to be erased by the reset.
		const pending = newInvitationCode();
		await sendRequest(client, owner, deviceId, Kind.Invite, invitationPayload(pending));
		await waitFor("the second invitation", () => rig.log.filter((line) => /request invite from phone .*: done/.test(line))[1]);
		// A short press is a ring, not a reset.
		await rig.device.hold(1500);
		assert.ok(!rig.log.some((line) => /factory reset/.test(line)), "1.5 s is no reset");

		await rig.device.hold(10500);
		await waitFor("the reset", () => rig.log.find((line) => /factory reset: the phones, the Wi-Fi network and any invitation are erased/.test(line)));
		const atOwner = await waitFor("the reset's entry at the owner", () => ownerListens.audit.find((entry) => entry.type === "reset"));
		assert.equal(atOwner.details.phones, 2);
		assert.equal(atOwner.details.wifi, true);
		await waitFor("the reset's entry at the member", () => memberListens.audit.find((entry) => entry.type === "reset"));
		await refusedWith(rig.device.pair(buyer, { deviceId, setupCode: pending }), /^wrong code/); // the invitation is gone: the label's verifier is back
		// The old owner is no phone of the device any more.
		await sendRequest(client, owner, deviceId, Kind.Remove, removalPayload(phoneFingerprint(member)));
		await refused(rig, 1, /its signer is not a paired phone/);
		// The label's code makes a new owner, in the window the reset opened.
		const bought = await rig.device.pair(buyer, rig.label);
		assert.equal(bought.role, "owner");
		assert.equal(bought.fingerprint, reply.fingerprint, "the factory identity is kept");
		assert.equal(bought.deviceId, deviceId);
		await rig.device.powerOff();

		// After a restart: no Wi-Fi network to join, the buyer the only phone.
		rig = await boot(broker, flash);
		await online(rig);
		assert.ok(!rig.log.some((line) => /Wi-Fi "home"/.test(line)), rig.log.join("\n"));
		assert.ok(!rig.log.some((line) => /no phone is paired/.test(line)));
	}
	finally {
		await rig.device.powerOff();
		await ownerListens.phone.close();
		await memberListens.phone.close();
		await client.endAsync(true);
		await broker.close();
	}
});
