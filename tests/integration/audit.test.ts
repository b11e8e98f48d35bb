/*
 * The audit log end to end, through the simulator: the firmware records each
 * pairing and removal, and its audit events reach every phone that reads
 * them, sealed; the removed phone gets its removal notice; the phones'
 * chains hold; `doorward audit` prints the chain from the saved events, and
 * reports a gap when one is taken away.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
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
import type { PhoneAuditEntry } from "../../tools/phone/audit.js";
import { auditCommand } from "../../tools/phone/audit.js";
import { waitFor } from "../support/wait.js";

test("audit events reach every phone, the removed one gets its notice, and doorward audit verifies the chain", async () => {
	const broker = await startEmbeddedBroker();
	const folder = mkdtempSync(join(tmpdir(), "doorward-audit-"));
	const owner = createPhone("owner");
	const second = createPhone("second");
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
	const device = new SimulatedDevice({ build: simulatorBuild(), flashPath: flash, secretPath: deviceSecretFor(flash), configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" } });
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
		rememberDevice(owner, await device.pair(owner.x25519PublicKey, owner.name));
		rememberDevice(second, await device.pair(second.x25519PublicKey, second.name));
		assert.equal((await device.unpair(phoneFingerprint(second))).ok, true);
		await broker.restart();
		await waitFor("three entries at the owner's phone", () => (audits.owner.length === 3) || undefined, 60_000);
		await waitFor("two entries at the removed phone", () => (audits.second.length === 2) || undefined, 60_000);
		// The one event a phone cannot open: the owner's admission, sealed before the second phone was admitted.
		assert.equal(warnings.length, 1, warnings.join("\n"));
		assert.match(warnings[0], /^second: phone: event on dw\/[0-9a-f]{32}\/ev refused: event: this phone is not a recipient of the event$/);
		assert.deepEqual(events, [], "audit events are not doorbell events");
		assert.deepEqual(audits.owner.map((entry) => [entry?.seq, entry?.type, entry?.details.phone]), [
			[1, "admitted", phoneFingerprint(owner)], [2, "admitted", phoneFingerprint(second)], [3, "removed", phoneFingerprint(second)],
		]);
		assert.deepEqual(audits.second.map((entry) => [entry?.seq, entry?.type]), [[2, "admitted"], [3, "removed"]], "its admission, then its own removal notice");
		assert.equal(audits.owner[0]?.details.key, owner.x25519PublicKey);

		// The CLI, from the owner's saved events.
		const ownerFile = join(folder, "owner.json");
		savePhone(ownerFile, owner);
		const lines: string[] = [];
		assert.equal(await auditCommand(ownerFile, [join(folder, "owner")], false, (line) => lines.push(line)), 0, lines.join("\n"));
		assert.match(lines[0], /^device [0-9a-f]{32}: 3 entries, the chain holds$/);
		assert.match(lines[2], /^ +2 {2}.* {2}admitted {2}.*name=second/);
		const json: string[] = [];
		assert.equal(await auditCommand(ownerFile, [join(folder, "owner")], true, (line) => json.push(line)), 0);
		const parsed = JSON.parse(json[0]);
		assert.equal(parsed.ok, true);
		assert.deepEqual(parsed.devices[0].entries.map((entry: PhoneAuditEntry) => entry.seq), [1, 2, 3]);

		// Entry 2's event taken away: a gap.
		const partial = join(folder, "partial");
		cpSync(join(folder, "owner"), partial, { recursive: true });
		const entry2 = parsed.devices[0].entries[1].hash as string;
		for (const name of readdirSync(partial)) {
			const saved = JSON.parse(readFileSync(join(partial, name, "event.json"), "utf8"));
			const entry = Buffer.from(String(saved.metadata.details.entry), "hex");
			if (createHash("sha256").update(entry).digest("hex") === entry2)
				rmSync(join(partial, name), { recursive: true });
		}
		const gap: string[] = [];
		assert.equal(await auditCommand(ownerFile, [partial], false, (line) => gap.push(line)), 1);
		assert.ok(gap.includes("problem: gap: entry 2 is missing"), gap.join("\n"));

		// The command itself (the CLI contract), and its one-line refusals.
		const cli = (args: string[]) => spawnSync(process.execPath, [join(projectRoot, "bin", "doorward.js"), ...args], { cwd: projectRoot, encoding: "utf8", timeout: 90000 });
		const run = cli(["audit", "--phone", ownerFile, "--json", join(folder, "owner")]);
		assert.equal(run.status, 0, run.stderr);
		assert.equal(JSON.parse(run.stdout).devices[0].entries.length, 3);
		const broken = cli(["audit", "--phone", ownerFile, partial]);
		assert.equal(broken.status, 1);
		assert.match(broken.stdout, /^problem: gap: entry 2 is missing$/m);
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
