/*
 * A power cut at every flash write and erase of an onboarding (the owner's
 * admission with the label's code), on the simulated
 * device (DOORWARD_FLASH_CUT_AFTER): after the next boot the phone is a
 * recipient with its "admitted" entry in the log on flash, or neither; the
 * log on flash always verifies. The log is read from the flash file with a
 * reader written here from docs/protocol/audit.md § On flash.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone } from "../../tools/phone/identity.js";
import { labelOf } from "../../tools/factory/label.js";
import { verifyAuditChain } from "../../tools/phone/audit.js";
import { waitFor } from "../support/wait.js";
import { logOnFlash } from "../support/audit-flash.js";

const build = simulatorBuild();

interface Rig {
	device: SimulatedDevice;
	log: string[];
	statuses: DeviceStatus[];
}

function start(flashPath: string, env?: Record<string, string>): Rig {
	const rig: Rig = { device: undefined!, log: [], statuses: [] };
	rig.device = new SimulatedDevice({ build, flashPath, secretPath: deviceSecretFor(flashPath), onLog: (line) => rig.log.push(line), ...(env ? { env } : {}) });
	rig.device.on("status", (status: DeviceStatus) => rig.statuses.push(status));
	return rig;
}

function copyDevice(from: string, to: string): string {
	copyFileSync(from, to);
	copyFileSync(`${from}.efuse`, `${to}.efuse`);
	return to;
}

const waiting = (rig: Rig) => rig.statuses.find((status) => (status.state === "provisioning") || (status.state === "fault"));

test("a power cut at every flash write and erase of a pairing: the phone is admitted with its audit entry, or neither", { timeout: 900000 }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-audit-cuts-"));
	const phone = createPhone("cut phone");
	// A device as it boots the second time, unpaired; and its signing key, from a pairing of a copy.
	const template = join(folder, "template.bin");
	const first = start(template);
	await waitFor("provisioning", () => waiting(first), 60000);
	// The label is printed once: every copy of the template holds its verifier.
	const label = await labelOf(first.device, template);
	await first.device.powerOff();
	const probe = start(copyDevice(template, join(folder, "probe.bin")));
	await waitFor("provisioning", () => waiting(probe), 60000);
	const reply = await probe.device.pair(phone, label);
	await probe.device.powerOff();
	const signingKey = Buffer.from(String(reply.signingPublicKey), "hex");
	assert.equal(logOnFlash(join(folder, "probe.bin")).length, 1);

	let cuts = 0;
	let admittedAfterCut = 0;
	let recovered = 0;
	for (let cut = 1; ; cut++) {
		const flash = copyDevice(template, join(folder, `cut-${cut}.bin`));
		const cutting = start(flash, { DOORWARD_FLASH_CUT_AFTER: String(cut) });
		let gone = false;
		void cutting.device.exited.then(() => { gone = true; });
		await waitFor("provisioning, or the cut", () => waiting(cutting) ?? (gone ? true : undefined), 60000);
		if (!gone)
			await cutting.device.pair(phone, label).catch(() => undefined); // the cut may end the device before it answers
		const wasCut = cutting.log.some((line) => line.includes("power cut"));
		await cutting.device.powerOff();
		if (!wasCut)
			break;
		cuts++;
		const after = start(flash);
		try {
			const state = await waitFor("provisioning after the cut", () => waiting(after), 60000);
			assert.equal(state.state, "provisioning", `cut ${cut}: ${JSON.stringify(state)}\n${after.log.join("\n")}`);
			const entries = logOnFlash(flash);
			const report = verifyAuditChain(entries, signingKey, reply.deviceId);
			assert.equal(report.ok, true, `cut ${cut}: ${JSON.stringify(report.problems)}`);
			const admitted = report.entries.filter((entry) => (entry.type === "admitted") && (entry.details.key === phone.x25519PublicKey));
			const recipient = !after.log.some((line) => /no phone is paired/.test(line));
			assert.equal(recipient, admitted.length === 1, `cut ${cut}: recipient ${recipient}, entries ${JSON.stringify(report.entries.map((entry) => entry.type))}\n${after.log.join("\n")}`);
			if (recipient)
				admittedAfterCut++;
			if (after.log.some((line) => /audit: finished entry 1 \(admitted\)/.test(line)))
				recovered++;
		}
		finally {
			await after.device.powerOff();
		}
	}
	console.log(`power cuts: ${cuts} during a pairing; admitted with its entry after ${admittedAfterCut} (the boot finished ${recovered} of them), neither after the others`);
	assert.ok(cuts >= 4, `${cuts} cuts: an entry is two writes, the outbox slot and the keystore more`);
	assert.ok(recovered >= 1, "some cut fell between the entry and the keystore write");
});
