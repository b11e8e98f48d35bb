/*
 * The doorward partition's records under a flash attacker, end to end in the
 * simulator: a forged record (its CRC made right, its MAC not) or a record
 * moved to another sector stops the device in "fault" with the reason, where
 * it takes no update and answers the local channel with the reason; a record
 * torn by a power cut reads as absent and the device carries on, after a cut
 * at any flash operation of its first boot. The update root comes with the
 * configuration (the simulator's stand-in for the factory line).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/wait.js";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus, UpdateReport } from "../../tools/sim/world.js";
import { encodeBundle, encodeManifest, encodeRoot, sha256, signMessage } from "../../tools/release/format.js";
import { createKey } from "../../tools/release/keys.js";
import { packSimImage } from "../../tools/release/sim-image.js";
import { crc32 } from "util/bytes";
import { freePort } from "../support/mosquitto.js";
import { Sectors } from "store/layout";
import { createPhone } from "../../tools/phone/identity.js";

const build = simulatorBuild();
const sectorSize = 4096;

/** Where a partition starts in the flash image, from the board's partition table. */
function partitionOffset(name: string): number {
	const line = readFileSync(build.partitions, "utf8").split("\n").find((row) => row.split(",")[0].trim() === name);
	assert.ok(line, `no partition ${name} in ${build.partitions}`);
	return Number(line.split(",")[3].trim());
}

const doorward = partitionOffset("doorward");
const ota0 = partitionOffset("ota_0");

function readAt(path: string, offset: number, length: number): Buffer {
	const bytes = Buffer.alloc(length);
	const fd = openSync(path, "r");
	readSync(fd, bytes, 0, length, offset);
	closeSync(fd);
	return bytes;
}

function writeAt(path: string, offset: number, bytes: Uint8Array): void {
	const fd = openSync(path, "r+");
	writeSync(fd, bytes, 0, bytes.length, offset);
	closeSync(fd);
}

const sectorOf = (path: string, sector: number) => readAt(path, doorward + sector * sectorSize, sectorSize);
const putSector = (path: string, sector: number, bytes: Uint8Array) => writeAt(path, doorward + sector * sectorSize, bytes);

const releaseKey = createKey("release", "development");
const rootKey = createKey("root", "development");
const root = signMessage("root", encodeRoot({
	channel: "development", version: 1, releaseThreshold: 1, rootThreshold: 1,
	keys: [
		{ role: "development", publicKey: releaseKey.publicKey, release: true, root: false },
		{ role: "development", publicKey: rootKey.publicKey, release: false, root: true },
	],
}), [rootKey]);
const image = packSimImage(build.moduleMap, { version: { major: 1, minor: 1, patch: 0 } });
const bundle = encodeBundle([], signMessage("manifest", encodeManifest({
	channel: "development", model: "doorward-sim", version: { major: 1, minor: 1, patch: 0 }, securityVersion: 1,
	expires: Math.floor(Date.now() / 1000) + 86400, imageSize: image.length, imageDigest: sha256(image), targets: [],
}), [releaseKey]), image);

interface Rig {
	device: SimulatedDevice;
	log: string[];
	statuses: DeviceStatus[];
	updates: UpdateReport[];
}

/** The world's configuration, with the update root, for a broker nobody runs (the device stays offline). */
async function configuration(): Promise<Record<string, unknown>> {
	return { broker: { address: "127.0.0.1", port: await freePort() }, model: "doorward-test", updateRoot: Buffer.from(root).toString("hex") };
}

function start(flashPath: string, env?: Record<string, string>, configured?: Record<string, unknown>): Rig {
	const rig: Rig = { device: undefined!, log: [], statuses: [], updates: [] };
	rig.device = new SimulatedDevice({ build, flashPath, secretPath: deviceSecretFor(flashPath), onLog: (line) => rig.log.push(line), env, ...(configured ? { configuration: configured } : {}) });
	rig.device.on("status", (status: DeviceStatus) => rig.statuses.push(status));
	rig.device.on("update", (report: UpdateReport) => rig.updates.push(report));
	return rig;
}

/** A configured device: identity, keys and record key made, the update root trusted. */
async function template(folder: string): Promise<string> {
	const flash = join(folder, "template.bin");
	const rig = start(flash, undefined, await configuration());
	try {
		const connecting = await waitFor("connecting", () => rig.statuses.find((status) => status.state === "connecting"), 60000);
		assert.equal(connecting.updateRoot, 1, "the update root trusted");
	}
	finally {
		await rig.device.powerOff();
	}
	return flash;
}

/** The same device (flash and "eFuse"), to tamper with. */
function copyDevice(from: string, to: string): string {
	copyFileSync(from, to);
	copyFileSync(`${from}.efuse`, `${to}.efuse`);
	return to;
}

/** Powers up a device whose records fail: it must show "fault" with `reason`, refuse a signed update and answer pairing with the reason. */
async function expectFault(flash: string, reason: RegExp): Promise<void> {
	const rig = start(flash);
	try {
		const fault = await waitFor("fault", () => rig.statuses.find((status) => status.state === "fault"), 60000);
		assert.match(String(fault.reason), reason);
		assert.ok(!rig.statuses.some((status) => ["provisioning", "connecting", "online"].includes(status.state)), JSON.stringify(rig.statuses));
		rig.device.sendUpdate(bundle);
		const refused = await waitFor("the update refused", () => rig.updates.find((report) => report.outcome === "refused"), 30000);
		assert.equal(refused.reason, "fault");
		assert.match(String(refused.detail), reason);
		const reply = await rig.device.factoryRequest({ doorward: "setup-code" });
		assert.equal(reply.ok, false);
		assert.match(String(reply.error), /^the device is in fault: /);
		assert.match(String(reply.error), reason);
		// The onboarding link answers with the reason too, and admits nobody.
		await assert.rejects(rig.device.pair(createPhone("owner"), { deviceId: "00".repeat(16), setupCode: "20202021" }), (error: Error) => /^the device refused: the device is in fault: /.test(error.message) && reason.test(error.message));
		assert.deepEqual(await rig.device.factoryRequest({ doorward: "csr" }), { ok: false, error: reply.error }, "no factory request either");
		assert.ok(!rig.updates.some((report) => report.outcome === "installed"), JSON.stringify(rig.updates));
		assert.equal(rig.device.resets, 0);
	}
	finally {
		await rig.device.powerOff();
	}
	assert.ok(readAt(flash, ota0, sectorSize).every((byte) => byte === 0xFF), "the inactive slot was not touched");
}

test("a forged or moved record puts the device in fault with the reason, where it takes no update; a torn one reads as absent", { timeout: 300000 }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-records-"));
	const genuine = await template(folder);
	assert.ok(readAt(genuine, ota0, sectorSize).every((byte) => byte === 0xFF), "a new device's inactive slot is erased");

	// Forged: the update root's payload changed and its CRC made right again; the MAC is the device's secret.
	{
		const flash = copyDevice(genuine, join(folder, "forged.bin"));
		const record = sectorOf(flash, Sectors.updateRoot);
		const length = record.readUInt32BE(8);
		record[44 + 20] ^= 0x01;
		record.writeUInt32BE(crc32(record.subarray(8, 44 + length)), 4);
		putSector(flash, Sectors.updateRoot, record);
		await expectFault(flash, /record: doorward sector 6 \(updateRoot\) does not authenticate: forged, moved from another sector, or written by another device/);
	}
	// Moved: the identity record copied over the (erased) provisioning lock's sector.
	{
		const flash = copyDevice(genuine, join(folder, "moved.bin"));
		putSector(flash, Sectors.provisioningLock, sectorOf(flash, Sectors.identity));
		await expectFault(flash, /record: doorward sector 5 \(provisioningLock\) does not authenticate/);
	}
	// From another device: its identity record, made with its own record key.
	{
		const other = await template(mkdtempSync(join(tmpdir(), "doorward-records-other-")));
		const flash = copyDevice(genuine, join(folder, "other.bin"));
		putSector(flash, Sectors.identity, sectorOf(other, Sectors.identity));
		await expectFault(flash, /record: doorward sector 1 \(identity\) does not authenticate/);
	}
	// Torn: the root record's body is there but its commit word is not, as a cut before the last write leaves it.
	// The device boots and reads no root: it says so, and takes no update.
	{
		const flash = copyDevice(genuine, join(folder, "torn.bin"));
		const record = sectorOf(flash, Sectors.updateRoot);
		record.fill(0xFF, 0, 4);
		putSector(flash, Sectors.updateRoot, record);
		const rig = start(flash);
		try {
			const connecting = await waitFor("connecting", () => rig.statuses.find((status) => status.state === "connecting"), 60000);
			assert.ok(!rig.statuses.some((status) => status.state === "fault"), JSON.stringify(rig.statuses));
			assert.equal(connecting.updateRoot, "none");
			rig.device.sendUpdate(bundle);
			const refused = await waitFor("the update refused", () => rig.updates.find((report) => report.outcome === "refused"), 30000);
			assert.equal(refused.reason, "no-root");
		}
		finally {
			await rig.device.powerOff();
		}
	}
});

test("a power cut at any flash write or erase of the first boot and of the factory's root never leaves the device in fault", { timeout: 600000 }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-records-cut-"));
	const configured = await configuration();
	const settled = (rig: Rig) => rig.statuses.find((status) => (status.state === "connecting") || (status.state === "fault"));
	let cuts = 0;
	for (let cut = 1; ; cut++) {
		const flash = join(folder, `cut-${cut}.bin`);
		// Configured with the root as it boots: the root, then the configuration, after the first boot's keys.
		const cutting = start(flash, { DOORWARD_FLASH_CUT_AFTER: String(cut) }, configured);
		let gone = false;
		void cutting.device.exited.then(() => { gone = true; });
		await waitFor("configured, or the cut", () => settled(cutting) ?? (gone ? true : undefined), 60000);
		const wasCut = cutting.log.some((line) => line.includes("power cut"));
		await cutting.device.powerOff();
		if (!wasCut)
			break;
		cuts++;
		// Powered up again, with the world ready to configure it again if the cut came before its configuration.
		const after = start(flash, undefined, configured);
		try {
			const state = await waitFor("configured after the cut", () => settled(after), 60000);
			assert.equal(state.state, "connecting", `cut ${cut}: ${JSON.stringify(state)}\n${cutting.log.join("\n")}`);
			assert.equal(state.updateRoot, 1, `cut ${cut}: the root trusted`);
		}
		finally {
			await after.device.powerOff();
		}
	}
	// The record key, time floor, identity, device keys, TLS key, root and configuration: two writes each on an erased sector.
	console.log(`power cuts: ${cuts} (every flash write and erase from the first power-up through the factory's root and the configuration); the device booted, configured and trusting the root, after each`);
	assert.ok(cuts >= 12, `${cuts} cuts`);
});
