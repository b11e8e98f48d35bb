/*
 * A power cut at every flash write and erase of an invited phone's admission,
 * of a signed removal and of a role change, on the simulated device (DOORWARD_FLASH_CUT_AFTER):
 * after the next boot the phone is a recipient with its "admitted" entry, or
 * neither; removed with its "removed" entry, or neither; an owner with its
 * "role" entry, or still a member without one; an invitation that
 * admitted a phone admits nobody again; the owner stays paired (the
 * keystore's phone list is old or new, never lost); and the log on flash
 * verifies.
 * Whether a phone is a recipient is asked of the device itself: the phone's
 * own signed removal is taken ("done") only from a paired phone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import type { EmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, phoneFingerprint, rememberDevice } from "../../tools/phone/identity.js";
import type { PhoneIdentity } from "../../tools/phone/identity.js";
import { labelOf } from "../../tools/factory/label.js";
import { verifyAuditChain } from "../../tools/phone/audit.js";
import { Kind, removalPayload, rolePayload } from "../../tools/phone/requests.js";
import { invitationPayload, newInvitationCode } from "../../tools/phone/invitation.js";
import { logOnFlash } from "../support/audit-flash.js";
import { requester, sendRequest } from "../support/requests.js";
import { waitFor } from "../support/wait.js";

const build = simulatorBuild();

interface Rig {
	device: SimulatedDevice;
	log: string[];
	statuses: DeviceStatus[];
	gone: boolean;
}

function start(broker: EmbeddedBroker, flashPath: string, env?: Record<string, string>): Rig {
	const rig: Rig = { device: undefined!, log: [], statuses: [], gone: false };
	rig.device = new SimulatedDevice({
		build, flashPath, secretPath: deviceSecretFor(flashPath), onLog: (line) => rig.log.push(line),
		configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" },
		...(env ? { env } : {}),
	});
	rig.device.on("status", (status: DeviceStatus) => rig.statuses.push(status));
	void rig.device.exited.then(() => { rig.gone = true; });
	return rig;
}

async function online(rig: Rig): Promise<boolean> {
	await waitFor("online, or the cut", () => (rig.statuses.some((status) => status.state === "online") || rig.gone) ? true : undefined, 60000);
	if (rig.gone)
		return false;
	await new Promise((resolve) => setTimeout(resolve, 500)); // the device's SUBSCRIBE to its request topic first
	return true;
}

function copyDevice(from: string, to: string): string {
	copyFileSync(from, to);
	copyFileSync(`${from}.efuse`, `${to}.efuse`);
	return to;
}

/** Waits until the device has published `count` audit events in this run: nothing left in its outbox. */
async function drained(rig: Rig, count: number): Promise<void> {
	await waitFor("the outbox drained", () => (rig.log.filter((line) => /published audit event/.test(line)).length >= count) ? true : undefined, 30000);
}

/** Asks the device whether the phone is an owner: an owner's invitation is taken ("done"), a member's refused for its role. */
async function ownerRole(rig: Rig, client: Awaited<ReturnType<typeof requester>>, phone: PhoneIdentity, deviceId: string): Promise<boolean> {
	const verdicts = () => rig.log.filter((line) => /request invite from phone .*: done|request refused/.test(line));
	const before = verdicts().length;
	await sendRequest(client, phone, deviceId, Kind.Invite, invitationPayload(newInvitationCode()));
	const answer = await waitFor("the device's verdict", () => verdicts()[before], 30000);
	assert.match(answer, /: done|invite needs an owner/, answer);
	return /: done/.test(answer);
}

/** Asks the device, with the phone's own signed removal, whether the phone is paired: "done", or refused as no paired phone's. */
async function paired(rig: Rig, client: Awaited<ReturnType<typeof requester>>, phone: PhoneIdentity, deviceId: string): Promise<boolean> {
	const verdicts = () => rig.log.filter((line) => /request remove from phone .*: done|request refused/.test(line));
	const before = verdicts().length;
	await sendRequest(client, phone, deviceId, Kind.Remove, removalPayload(phoneFingerprint(phone)));
	const answer = await waitFor("the device's verdict", () => verdicts()[before], 30000);
	assert.match(answer, /: done|its signer is not a paired phone/, answer);
	return /: done/.test(answer);
}

test("a power cut at every flash write of an invited phone's admission, of a signed removal and of a role change: all or nothing, with its entry", { timeout: 1500000 }, async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-owner-cuts-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const broker = await startEmbeddedBroker();
	const client = await requester(broker);
	const owner = createPhone("owner");
	const member = createPhone("member");
	const third = createPhone("third");
	try {
		// Template A: owned, an invitation pending and everything published. Template B: A with the member admitted.
		const invited = join(folder, "invited.bin");
		const setup = start(broker, invited);
		await waitFor("boot", () => setup.statuses.find((status) => status.state !== "booting"));
		const reply = await setup.device.pair(owner, await labelOf(setup.device, invited));
		rememberDevice(owner, reply);
		const deviceId = reply.deviceId!;
		const signingKey = Buffer.from(String(reply.signingPublicKey), "hex");
		assert.ok(await online(setup));
		const code = newInvitationCode();
		await sendRequest(client, owner, deviceId, Kind.Invite, invitationPayload(code));
		await waitFor("the invitation", () => setup.log.find((line) => /request invite from phone .*: done/.test(line)));
		await drained(setup, 2); // the owner's admission, the invitation
		await setup.device.powerOff();
		const both = copyDevice(invited, join(folder, "both.bin"));
		const second = start(broker, both);
		await waitFor("boot", () => second.statuses.find((status) => status.state !== "booting"));
		rememberDevice(member, await second.device.pair(member, { deviceId, setupCode: code }));
		rememberDevice(third, { ...reply, ok: true });
		assert.ok(await online(second));
		await drained(second, 1); // the member's admission
		await second.device.powerOff();

		// Cuts after which the owner was no phone of the device any more (negative: during the removal): none may be.
		// A torn rewrite of the phone list once left it absent, and the device with the one phone the audit entry
		// names again; the keystore now writes as ESP-IDF's NVS does, the new record before the old one goes.
		const ownerLost: number[] = [];
		let admissionCuts = 0;
		let admitted = 0;
		let admissionCovered = false;
		for (let cut = 1; cut < 200; cut++) {
			const flash = copyDevice(invited, join(folder, `admit-${cut}.bin`));
			const cutting = start(broker, flash, { DOORWARD_FLASH_CUT_AFTER: String(cut) });
			await waitFor("boot, or the cut", () => (cutting.statuses.some((status) => status.state !== "booting") || cutting.gone) ? true : undefined, 60000);
			if (!cutting.gone)
				await cutting.device.pair(member, { deviceId, setupCode: code }).catch(() => undefined);
			const wasCut = cutting.log.some((line) => line.includes("power cut"));
			await cutting.device.powerOff();
			if (!wasCut) {
				admissionCovered = true;
				break;
			}
			admissionCuts++;
			const after = start(broker, flash);
			try {
				assert.ok(await online(after), `cut ${cut}: the device did not come back\n${after.log.join("\n")}`);
				const report = verifyAuditChain(logOnFlash(flash), signingKey, deviceId);
				assert.equal(report.ok, true, `cut ${cut}: ${JSON.stringify(report.problems)}`);
				const entries = report.entries.filter((entry) => (entry.type === "admitted") && (entry.details.key === member.x25519PublicKey));
				// Once admitted, the code admits nobody again: refused as no invitation (the device is owned).
				if (entries.length)
					await assert.rejects(after.device.pair(third, { deviceId, setupCode: code }), /an owner must invite/, `cut ${cut}`);
				const recipient = await paired(after, client, member, deviceId);
				assert.equal(recipient, entries.length === 1, `cut ${cut}: recipient ${recipient}, entries ${JSON.stringify(report.entries.map((entry) => entry.type))}\n${after.log.join("\n")}`);
				if (recipient)
					admitted++;
				if (!await paired(after, client, owner, deviceId))
					ownerLost.push(cut);
				assert.deepEqual(ownerLost, [], `cut ${cut}: the owner is no phone of the device any more\n${after.log.join("\n")}`);
			}
			finally {
				await after.device.powerOff();
				rmSync(flash, { force: true });
			}
		}

		let removalCuts = 0;
		let removed = 0;
		let removalCovered = false;
		for (let cut = 1; cut < 200; cut++) {
			const flash = copyDevice(both, join(folder, `remove-${cut}.bin`));
			const cutting = start(broker, flash, { DOORWARD_FLASH_CUT_AFTER: String(cut) });
			if (await online(cutting)) {
				await sendRequest(client, owner, deviceId, Kind.Remove, removalPayload(phoneFingerprint(member)));
				await waitFor("the removal, or the cut", () => (cutting.gone || cutting.log.some((line) => /request remove from phone .*: done/.test(line))) ? true : undefined, 30000);
				// What follows the removal (its events published) writes the flash too.
				await new Promise((resolve) => setTimeout(resolve, 1000));
			}
			const wasCut = cutting.log.some((line) => line.includes("power cut"));
			await cutting.device.powerOff();
			if (!wasCut) {
				removalCovered = true;
				break;
			}
			removalCuts++;
			const after = start(broker, flash);
			try {
				assert.ok(await online(after), `cut ${cut}: the device did not come back\n${after.log.join("\n")}`);
				const report = verifyAuditChain(logOnFlash(flash), signingKey, deviceId);
				assert.equal(report.ok, true, `cut ${cut}: ${JSON.stringify(report.problems)}`);
				const entries = report.entries.filter((entry) => (entry.type === "removed") && (entry.details.phone === phoneFingerprint(member)));
				const recipient = await paired(after, client, member, deviceId);
				if (!await paired(after, client, owner, deviceId))
					ownerLost.push(-cut);
				assert.deepEqual(ownerLost, [], `removal cut ${cut}: the owner is no phone of the device any more\n${after.log.join("\n")}`);
				assert.equal(recipient, entries.length === 0, `cut ${cut}: recipient ${recipient}, entries ${JSON.stringify(report.entries.map((entry) => entry.type))}\n${after.log.join("\n")}`);
				if (!recipient)
					removed++;
			}
			finally {
				await after.device.powerOff();
				rmSync(flash, { force: true });
			}
		}
		// The owner makes the member an owner: after each cut it is an owner with its "role" entry, or a member without one.
		let roleCuts = 0;
		let promoted = 0;
		let roleCovered = false;
		for (let cut = 1; cut < 200; cut++) {
			const flash = copyDevice(both, join(folder, `role-${cut}.bin`));
			const cutting = start(broker, flash, { DOORWARD_FLASH_CUT_AFTER: String(cut) });
			if (await online(cutting)) {
				await sendRequest(client, owner, deviceId, Kind.Role, rolePayload(phoneFingerprint(member), "owner"));
				await waitFor("the role change, or the cut", () => (cutting.gone || cutting.log.some((line) => /request role from phone .*: done/.test(line))) ? true : undefined, 30000);
				await new Promise((resolve) => setTimeout(resolve, 1000)); // its audit events published, which writes the flash too
			}
			const wasCut = cutting.log.some((line) => line.includes("power cut"));
			await cutting.device.powerOff();
			if (!wasCut) {
				roleCovered = true;
				break;
			}
			roleCuts++;
			const after = start(broker, flash);
			try {
				assert.ok(await online(after), `role cut ${cut}: the device did not come back\n${after.log.join("\n")}`);
				const report = verifyAuditChain(logOnFlash(flash), signingKey, deviceId);
				assert.equal(report.ok, true, `role cut ${cut}: ${JSON.stringify(report.problems)}`);
				const entries = report.entries.filter((entry) => (entry.type === "role") && (entry.details.phone === phoneFingerprint(member)) && (entry.details.role === "owner"));
				const isOwner = await ownerRole(after, client, member, deviceId);
				assert.equal(isOwner, entries.length === 1, `role cut ${cut}: owner ${isOwner}, entries ${JSON.stringify(report.entries.map((entry) => entry.type))}\n${after.log.join("\n")}`);
				if (isOwner)
					promoted++;
				if (!await paired(after, client, owner, deviceId))
					ownerLost.push(1000 + cut);
				assert.deepEqual(ownerLost, [], `role cut ${cut}: the owner is no phone of the device any more\n${after.log.join("\n")}`);
			}
			finally {
				await after.device.powerOff();
				rmSync(flash, { force: true });
			}
		}
		console.log(`power cuts: ${admissionCuts} during an invited admission (admitted with its entry after ${admitted}), ${removalCuts} during a removal (removed with its entry after ${removed}), ${roleCuts} during a role change (an owner with its entry after ${promoted}); the owner kept after every one`);
		assert.ok(roleCovered, "every flash write and erase of the role change was cut");
		assert.ok(promoted >= 1 && promoted < roleCuts, "some cuts left the member an owner, some not");
		assert.ok(admissionCovered && removalCovered, "every flash write and erase of the admission and of the removal was cut");
		assert.deepEqual(ownerLost, [], "the owner kept after every cut");
		assert.ok(admitted >= 1 && admitted < admissionCuts, "some cuts left the phone admitted, some not");
		assert.ok(removed >= 1 && removed < removalCuts, "some cuts left the phone removed, some not");
	}
	finally {
		await client.endAsync(true);
		await broker.close();
	}
});
