/*
 * The audit log end to end, through the simulator: the firmware records the
 * owner's admission (onboarding with the label's code) and the Wi-Fi it was
 * given, and those audit events reach the owner's phone, sealed; a phone that
 * is no recipient cannot open them; the chain holds; `doorward audit` prints
 * it from the saved events, and refuses a missing folder in one line.
 * (There is no removal path now: the order of a removal and its notice is
 * covered by tests/unit/audit.test.ts through Audit.record; audit/phones'
 * removePhone has no caller.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { projectRoot, simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, phoneFingerprint, rememberDevice, savePhone } from "../../tools/phone/identity.js";
import { labelOf } from "../../tools/factory/label.js";
import type { PhoneAuditEntry } from "../../tools/phone/audit.js";
import { auditCommand } from "../../tools/phone/audit.js";
import { waitFor } from "../support/wait.js";

test("audit events reach the owner, a stranger cannot open them, and doorward audit verifies the chain", async () => {
	const broker = await startEmbeddedBroker();
	const folder = mkdtempSync(join(tmpdir(), "doorward-audit-"));
	const owner = createPhone("owner");
	const second = createPhone("stranger");
	const audits: Record<string, (PhoneAuditEntry | undefined)[]> = { owner: [], second: [] };
	const events: ReceivedEvent[] = [];
	const warnings: string[] = [];
	const connect = (name: "owner" | "second", identity: typeof owner) => SimulatedPhone.connect({
		url: broker.url, identity, credentials: broker.phone, outDir: join(folder, name),
		onEvent: (event) => events.push(event), onAudit: (entry) => audits[name].push(entry), onWarning: (warning) => warnings.push(`${name}: ${warning}`),
	});
	const ownerPhone = await connect("owner", owner);
	const secondPhone = await connect("second", second);
	// Offline while pairing, so that each phone knows the device before its first audit event arrives.
	await broker.stop();
	const flash = join(folder, "flash.bin");
	const statuses: DeviceStatus[] = [];
	const deviceLog: string[] = [];
	const device = new SimulatedDevice({ build: simulatorBuild(), flashPath: flash, onLog: (line) => deviceLog.push(line), secretPath: deviceSecretFor(flash), configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" } });
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
		const label = await labelOf(device, flash);
		const reply = await device.pair(owner, label, { wifi: { ssid: "home", passphrase: "correct horse" } });
		assert.equal(reply.role, "owner");
		rememberDevice(owner, reply);
		// The stranger knows the device (as if it had its id and keys) but was never admitted.
		rememberDevice(second, reply);
		await broker.restart();
		await waitFor("two entries at the owner's phone", () => (audits.owner.length === 2) || undefined, 60_000);
		await waitFor("the stranger's two refusals", () => (warnings.length === 2) || undefined, 60_000);
		for (const warning of warnings)
			assert.match(warning, /^second: phone: event on dw\/[0-9a-f]{32}\/ev refused: event: this phone is not a recipient of the event$/);
		assert.deepEqual(audits.second, []);
		assert.deepEqual(events, [], "audit events are not doorbell events");
		assert.deepEqual(audits.owner.map((entry) => [entry?.seq, entry?.type, entry?.details.phone]), [
			[1, "admitted", phoneFingerprint(owner)], [2, "wifi", undefined],
		], deviceLog.filter((line) => /audit/.test(line)).join("\n"));
		assert.equal(audits.owner[0]?.details.key, owner.x25519PublicKey);
		assert.equal(audits.owner[0]?.details.role, "owner");
		assert.equal(audits.owner[1]?.details.ssid, "home");
		assert.equal(JSON.stringify(audits.owner[1]?.details).includes("correct horse"), false, "the passphrase is not in the log");

		// The CLI, from the owner's saved events.
		const ownerFile = join(folder, "owner.json");
		savePhone(ownerFile, owner);
		const lines: string[] = [];
		assert.equal(await auditCommand(ownerFile, [join(folder, "owner")], false, (line) => lines.push(line)), 0, lines.join("\n"));
		assert.match(lines[0], /^device [0-9a-f]{32}: 2 entries, the chain holds$/);
		assert.match(lines[1], /^ +1 {2}.* {2}admitted {2}role=owner by=setup code .*name=owner/);
		const json: string[] = [];
		assert.equal(await auditCommand(ownerFile, [join(folder, "owner")], true, (line) => json.push(line)), 0);
		const parsed = JSON.parse(json[0]);
		assert.equal(parsed.ok, true);
		assert.deepEqual(parsed.devices[0].entries.map((entry: PhoneAuditEntry) => entry.seq), [1, 2]);

		// (A gap needs an entry between two the owner reads; main gives the owner two entries only, so the
		// gap is checked in tests/unit/audit.test.ts and tests/conformance/audit-example.test.ts.)

		// The command itself (the CLI contract), and its one-line refusals.
		const cli = (args: string[]) => spawnSync(process.execPath, [join(projectRoot, "bin", "doorward.js"), ...args], { cwd: projectRoot, encoding: "utf8", timeout: 90000 });
		const run = cli(["audit", "--phone", ownerFile, "--json", join(folder, "owner")]);
		assert.equal(run.status, 0, run.stderr);
		assert.equal(JSON.parse(run.stdout).devices[0].entries.length, 2);
		const none = cli(["audit", "--phone", ownerFile, join(folder, "no-such-folder")]);
		assert.equal(none.status, 1);
		assert.match(none.stderr, /^doorward: .*no-such-folder: cannot read \(ENOENT\)\n$/);
		assert.equal(cli(["audit", "--phone", ownerFile]).status, 1, "an EVENT_DIR is required");
	}
	finally {
		await device.powerOff();
		await ownerPhone.close();
		await secondPhone.close();
		await broker.close();
	}
});
