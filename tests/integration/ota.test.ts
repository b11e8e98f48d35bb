/*
 * Signed OTA with rollback, in the simulator: an update from N to N+1 end to
 * end; a tampered or replayed bundle refused; an image that fails its
 * self-test rolled back by itself; and power cuts at every flash write and
 * erase of an install, after each of which the device boots a valid image.
 *
 * The bundle reaches the device over the bridge in chunks (the simulator's
 * stand-in for the download); the boot state is the host's (boot.c). The
 * simulator's flash opens only what the device's can ("nextota", never
 * "ota_0" by label), so an install that passes here opens its slot as the
 * device must; and a device whose slot cannot be opened refuses the update,
 * says why, and goes on. The update root comes with the device's
 * configuration (the simulator's stand-in for the factory line, which sends
 * it before the lock: docs/factory.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { waitFor } from "../support/wait.js";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus, UpdateReport } from "../../tools/sim/world.js";
import { encodeBundle, encodeManifest, encodeRoot, hex, sha256, signMessage } from "../../tools/release/format.js";
import type { Version } from "../../tools/release/format.js";
import { createKey } from "../../tools/release/keys.js";
import { packSimImage } from "../../tools/release/sim-image.js";
import { offerBundle } from "../../tools/release/offer.js";
import { pairOwner } from "../support/onboard.js";
import { freePort } from "../support/mosquitto.js";

const build = simulatorBuild();
const releaseKey = createKey("release", "development");
const rootKey = createKey("root", "development");
const root = signMessage("root", encodeRoot({
	channel: "development", version: 1, releaseThreshold: 1, rootThreshold: 1,
	keys: [
		{ role: "development", publicKey: releaseKey.publicKey, release: true, root: false },
		{ role: "development", publicKey: rootKey.publicKey, release: false, root: true },
	],
}), [rootKey]);

function bundleFor(image: Uint8Array, version: Version, securityVersion: number): Uint8Array {
	const manifest = signMessage("manifest", encodeManifest({
		channel: "development", model: "doorward-sim", version, securityVersion,
		expires: Math.floor(Date.now() / 1000) + 86400, imageSize: image.length, imageDigest: sha256(image), targets: [],
	}), [releaseKey]);
	return encodeBundle([], manifest, image);
}

const next = packSimImage(build.moduleMap, { version: { major: 1, minor: 1, patch: 0 } });
const nextBundle = bundleFor(next, { major: 1, minor: 1, patch: 0 }, 1);
/** A signed image whose main never reaches the broker (it never even tries). */
const broken = packSimImage(build.moduleMap, {
	version: { major: 1, minor: 2, patch: 0 },
	replace: { main: "trace(\"doorward info broken image: never connects\\n\");\n" },
});
const brokenBundle = bundleFor(broken, { major: 1, minor: 2, patch: 0 }, 2);

interface Device {
	device: SimulatedDevice;
	log: string[];
	statuses: DeviceStatus[];
	updates: UpdateReport[];
}

function start(flashPath: string, options: { configuration?: Record<string, unknown>; env?: Record<string, string>; restartEnv?: Record<string, string>; trialTimeoutMs?: number; partitions?: string } = {}): Device {
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const updates: UpdateReport[] = [];
	const { partitions, ...rest } = options;
	const device = new SimulatedDevice({
		build: partitions ? { ...build, partitions } : build, flashPath, secretPath: deviceSecretFor(flashPath), onLog: (line) => log.push(line),
		...rest,
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	device.on("update", (report: UpdateReport) => updates.push(report));
	return { device, log, statuses, updates };
}

/** The configuration the world provisions: a broker, and the update root. */
function configured(port: number, broker: Record<string, unknown> = {}): Record<string, unknown> {
	return { broker: { address: "127.0.0.1", port, ...broker }, model: "doorward-test", keepAliveSeconds: 5, updateRoot: hex(root) };
}

const outcome = (updates: UpdateReport[], what: string, from = 0) => () => updates.slice(from).find((report) => report.outcome === what);

test("an update from 1.0.0 to 1.1.0 installs, boots on trial, confirms on CONNACK; tampered and replayed bundles are refused", { timeout: 180000 }, async () => {
	const broker = await startEmbeddedBroker();
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-ota-")), "flash.bin");
	const configuration = configured(broker.port, { ...broker.device });
	let rig = start(flash, { configuration, trialTimeoutMs: 30000 });
	const owner = createPhone("owner");
	const sealed: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({ url: broker.url, identity: owner, credentials: broker.phone, outDir: join(mkdtempSync(join(tmpdir(), "doorward-ota-phone-")), "phone"), onEvent: (event) => sealed.push(event), onWarning: () => {} });
	try {
		await waitFor("online", () => rig.statuses.find((status) => status.state === "online"), 60000);
		const paired = await pairOwner(rig.device, flash, owner);
		rememberDevice(owner, paired);
		const topicId = String(paired.topicId);
		assert.equal(rig.statuses.find((status) => status.state === "online")!.updateRoot, 1, "the status names the trusted root");

		// Tampered: one image byte, then one manifest byte. Refused; the device stays on 1.0.0, no reset.
		const tamperedImage = Uint8Array.from(nextBundle);
		tamperedImage[tamperedImage.length - 10] ^= 1;
		rig.device.sendUpdate(tamperedImage);
		assert.equal((await waitFor("refusal", outcome(rig.updates, "refused"))).reason, "digest-mismatch");
		const tamperedManifest = Uint8Array.from(nextBundle);
		tamperedManifest[60] ^= 1;
		const seen = rig.updates.length;
		rig.device.sendUpdate(tamperedManifest);
		assert.equal((await waitFor("refusal", outcome(rig.updates, "refused", seen))).reason, "bad-signature");
		assert.equal(rig.device.resets, 0);

		// The genuine bundle comes over MQTT, as a release server offers it.
		const messages = await offerBundle(broker.url, topicId, nextBundle, broker.release);
		assert.ok(messages > 1, `the bundle took ${messages} messages`);
		const installed = await waitFor("installed", outcome(rig.updates, "installed"));
		assert.equal(installed.installed, "1.1.0");
		assert.equal(installed.slot, "ota_0");
		const trial = await waitFor("trial boot", outcome(rig.updates, "trial"), 30000);
		assert.equal(trial.version, "1.1.0");
		const confirmed = await waitFor("confirmed", outcome(rig.updates, "confirmed"), 30000);
		assert.equal(confirmed.version, "1.1.0");
		assert.equal(confirmed.securityVersion, 1, "the security version is raised after confirmation");
		assert.equal(readFileSync(`${flash}.secver`, "utf8").trim(), "1");
		assert.ok(rig.log.includes(`boot: ota_0, SHA-256 ${hex(sha256(next))}, on trial`), rig.log.join("\n"));
		// The owner learns each outcome from a sealed event, like any other.
		const details = (event: ReceivedEvent) => (event.metadata.details ?? {}) as Record<string, unknown>;
		for (const expected of ["refused", "installed", "trial", "confirmed"])
			await waitFor(`a sealed "${expected}" event at the phone`, () => sealed.find((event) => (event.kind === "update") && (details(event).outcome === expected)), 30000);
		assert.equal(details(sealed.find((event) => details(event).outcome === "confirmed")!).version, "1.1.0");

		// The same bundle again, over MQTT: a replay.
		const before = rig.updates.length;
		await waitFor("online after the update", () => rig.statuses.filter((status) => status.state === "online").length >= 2 ? true : undefined, 30000);
		await offerBundle(broker.url, topicId, nextBundle, broker.release);
		assert.equal((await waitFor("replay refusal", outcome(rig.updates, "refused", before))).reason, "replay");

		// After a power cycle it still runs 1.1.0, confirmed.
		await rig.device.powerOff();
		rig = start(flash, { configuration });
		await waitFor("online again", () => rig.statuses.find((status) => status.state === "online"), 60000);
		assert.ok(rig.log.some((line) => /firmware 1\.1\.0 running from ota_0$/.test(line)), rig.log.join("\n"));
	}
	finally {
		await rig.device.powerOff();
		await phone.close();
		await broker.close();
	}
});

test("an image that fails its self-test is rolled back by itself; the security version stays", { timeout: 180000 }, async () => {
	const broker = await startEmbeddedBroker();
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-ota-")), "flash.bin");
	const configuration = configured(broker.port, { ...broker.device });
	const rig = start(flash, { configuration, trialTimeoutMs: 3000 });
	try {
		await waitFor("online", () => rig.statuses.find((status) => status.state === "online"), 60000);
		rig.device.sendUpdate(brokenBundle);
		await waitFor("installed", outcome(rig.updates, "installed"));
		await waitFor("the broken image to run", () => rig.log.find((line) => line.includes("broken image: never connects")), 30000);
		const rolledBack = await waitFor("rollback", outcome(rig.updates, "rolled-back"), 30000);
		assert.equal(rolledBack.version, "1.0.0");
		assert.equal(rolledBack.slot, "factory");
		await waitFor("online on the old image", () => rig.statuses.filter((status) => status.state === "online").length >= 2 ? true : undefined, 60000);
		assert.equal(existsSync(`${flash}.secver`), false, "never confirmed: the eFuse is not raised");
		assert.equal(rig.device.resets, 2, "restart into the update, then the watchdog's reset");
	}
	finally {
		await rig.device.powerOff();
		await broker.close();
	}
});

test("an update slot that cannot be opened: the update is refused with the reason, sealed to the owner; the device stays online and loses no event", { timeout: 180000 }, async () => {
	const broker = await startEmbeddedBroker();
	const folder = mkdtempSync(join(tmpdir(), "doorward-ota-noslot-"));
	// The board's table without its app slots: "nextota" names a partition that is not there.
	const partitions = join(folder, "partitions.csv");
	writeFileSync(partitions, readFileSync(build.partitions, "utf8").split("\n").filter((line) => !/^ota_[01],/.test(line)).join("\n"));
	const flash = join(folder, "flash.bin");
	const configuration = configured(broker.port, { ...broker.device });
	const rig = start(flash, { configuration, partitions });
	const owner = createPhone("owner");
	const sealed: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({ url: broker.url, identity: owner, credentials: broker.phone, outDir: join(folder, "phone"), onEvent: (event) => sealed.push(event), onWarning: () => {} });
	try {
		await waitFor("online", () => rig.statuses.find((status) => status.state === "online"), 60000);
		rememberDevice(owner, await pairOwner(rig.device, flash, owner));
		rig.device.press();
		await waitFor("the ring before the update", () => sealed.find((event) => event.kind === "ring"), 30000);
		rig.device.sendUpdate(nextBundle);
		const refused = await waitFor("refusal", outcome(rig.updates, "refused"));
		assert.equal(refused.reason, "error");
		assert.match(String(refused.detail), /cannot open the inactive slot ota_0 \(flash "nextota"\): .*can't find partition/);
		assert.ok(rig.log.some((line) => /update refused: update: cannot open the inactive slot ota_0/.test(line)), rig.log.join("\n"));
		const details = (event: ReceivedEvent) => (event.metadata.details ?? {}) as Record<string, unknown>;
		const report = await waitFor("the refusal, sealed, at the phone", () => sealed.find((event) => (event.kind === "update") && (details(event).outcome === "refused")), 30000);
		assert.match(String(details(report).detail), /can't find partition/);
		await new Promise((resolve) => setTimeout(resolve, 600)); // past the button's debounce
		rig.device.press();
		await waitFor("the ring after the update", () => sealed.filter((event) => event.metadata.notification === true)[1], 30000);
		await waitFor("both rings' clips", () => sealed.filter((event) => event.metadata.follows)[1], 60000);
		assert.equal(rig.device.resets, 0, "no restart");
		const seqs = sealed.map((event) => event.seq).sort((a, b) => a - b);
		assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), "every event reached the owner");
	}
	finally {
		await rig.device.powerOff();
		await phone.close();
		await broker.close();
	}
});

test("a power cut at every flash write and erase of an install: the device always boots a valid image", { timeout: 1200000 }, async () => {
	// A template device: identity and keys made, configured with the update root, for a broker nobody runs (it stays offline).
	const folder = mkdtempSync(join(tmpdir(), "doorward-ota-cut-"));
	const template = join(folder, "template.bin");
	const first = start(template, { configuration: configured(await freePort()) });
	await waitFor("connecting", () => first.statuses.find((status) => status.state === "connecting"), 60000);
	await first.device.powerOff();
	deviceSecretFor(template);
	const stride = Number(process.env.DOORWARD_CUT_STRIDE ?? 1);
	const newDigest = hex(sha256(next));
	const booted = { factory: 0, next: 0 };
	let cuts = 0;

	/** After a cut, powers the device up again: it must boot the old image or exactly the new one. */
	const check = async (flash: string, where: string) => {
		const after = start(flash, { trialTimeoutMs: 60000 });
		const bootLine = await waitFor("the boot line", () => after.log.find((line) => line.startsWith("boot: ") && !line.includes("rolling back")), 30000);
		const running = await waitFor("firmware running", () => after.log.find((line) => / running from /.test(line)), 30000);
		await after.device.powerOff();
		// Each cut's copy of the 8 MB flash is let go once checked: 200 of them would fill a CI disk.
		for (const file of readdirSync(folder).filter((name) => name.startsWith(`${basename(flash)}`)))
			rmSync(join(folder, file), { force: true });
		// The factory image: never switched, or rolled back to (a cut after the new image was marked on trial and began to run).
		if ((bootLine === "boot: factory image") || (bootLine === "boot: factory")) {
			assert.match(running, /firmware 1\.0\.0 running from factory/, where);
			booted.factory++;
		}
		else {
			assert.equal(bootLine.replace(/, on trial$/, ""), `boot: ota_0, SHA-256 ${newDigest}`, `${where}: ${after.log.join("\n")}`);
			assert.match(running, /firmware 1\.1\.0 running from ota_0/, where);
			booted.next++;
		}
	};
	const copy = (name: string) => {
		const flash = join(folder, `${name}.bin`);
		copyFileSync(template, flash);
		copyFileSync(`${template}.efuse`, `${flash}.efuse`);
		return flash;
	};

	// 1. Cuts in the install: the boot up to it, the slot's erases and writes, the pending record.
	for (let cut = 1; ; cut += stride) {
		const flash = copy(`install-${cut}`);
		const cutting = start(flash, { env: { DOORWARD_FLASH_CUT_AFTER: String(cut) }, trialTimeoutMs: 60000 });
		await waitFor("connecting", () => cutting.statuses.find((status) => status.state === "connecting") ?? (cutting.log.some((line) => line.includes("power cut")) ? true : undefined), 30000);
		cutting.device.sendUpdate(nextBundle);
		// Until the install ends or the power cut ends the device (no timer left behind).
		let gone = false;
		void cutting.device.exited.then(() => { gone = true; });
		const installed = outcome(cutting.updates, "installed");
		await waitFor("installed, or the cut", () => installed() ?? (gone ? true : undefined), 60000);
		const wasCut = cutting.log.some((line) => line.includes("power cut"));
		await cutting.device.powerOff();
		if (!wasCut)
			break;
		cuts++;
		await check(flash, `install, cut ${cut}`);
	}
	// 2. Cuts in the first boot of the new image: marking it on trial.
	for (let cut = 1; ; cut++) {
		const flash = copy(`trial-${cut}`);
		const cutting = start(flash, { restartEnv: { DOORWARD_FLASH_CUT_AFTER: String(cut) }, trialTimeoutMs: 60000 });
		await waitFor("connecting", () => cutting.statuses.find((status) => status.state === "connecting"), 30000);
		cutting.device.sendUpdate(nextBundle);
		let gone = false;
		void cutting.device.exited.then(() => { gone = true; });
		await waitFor("the new image running, or the cut", () => cutting.log.find((line) => / running from ota_0/.test(line)) ?? (gone ? true : undefined), 60000);
		const wasCut = cutting.log.some((line) => line.includes("power cut"));
		await cutting.device.powerOff();
		if (!wasCut)
			break;
		cuts++;
		await check(flash, `first boot, cut ${cut}`);
	}
	console.log(`power cuts: ${cuts} (every ${stride === 1 ? "" : `${stride}th `}flash write and erase from power-up through the install and the first boot of the new image); booted the old image ${booted.factory} times, the new ${booted.next} times`);
	rmSync(folder, { recursive: true, force: true });
	assert.ok(cuts > 10 && booted.factory > 0 && booted.next > 0, JSON.stringify({ cuts, booted }));
});
