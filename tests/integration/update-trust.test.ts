/*
 * Update trust, time and flash wear in the simulator (issue 11, items 1, 2, 3
 * and 9), each shown as the attack failing:
 *
 * - a root rotation is stored before anything else of its bundle, in two
 *   copies: the release key it revoked is refused after it, across a power
 *   cycle, and across a power cut at every flash write of the rotation;
 * - a device without an update root says so and refuses bundles, and no
 *   local message gives it one;
 * - the clock starts near 1970 and is trusted only at or above the time
 *   floor (the firmware's build time): bundles are refused with "clock not
 *   set" until SNTP sets it, also when SNTP answers with a time before the
 *   floor; sealed events say whether the clock was synchronised;
 * - a flood of junk on the update channel makes one sealed report per
 *   window with the right count, and pushes no queued event out of the outbox.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { waitFor } from "../support/wait.js";
import { freePort } from "../support/mosquitto.js";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import type { EmbeddedBroker } from "../../tools/sim/broker.js";
import { loadScene } from "../../tools/sim/scene.js";
import { defaultScene } from "../../tools/sim/run.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceOptions, DeviceStatus, UpdateReport } from "../../tools/sim/world.js";
import { encodeBundle, encodeManifest, encodeRoot, hex, sha256, signMessage } from "../../tools/release/format.js";
import type { SecretKey, Version } from "../../tools/release/format.js";
import { createKey } from "../../tools/release/keys.js";
import { packSimImage } from "../../tools/release/sim-image.js";
import { pairOwner } from "../support/onboard.js";

const build = simulatorBuild();
const keyA = createKey("release-a", "development");
const keyB = createKey("release-b", "development");
const root1Key = createKey("root-1", "development");
const root2Key = createKey("root-2", "development");

/** Root 1 trusts release key A; root 2 (signed by the root keys of 1 and of 2) trusts B only: it revokes A. */
const root1 = signMessage("root", encodeRoot({
	channel: "development", version: 1, releaseThreshold: 1, rootThreshold: 1,
	keys: [{ role: "development", publicKey: keyA.publicKey, release: true, root: false }, { role: "development", publicKey: root1Key.publicKey, release: false, root: true }],
}), [root1Key]);
const root2 = signMessage("root", encodeRoot({
	channel: "development", version: 2, releaseThreshold: 1, rootThreshold: 1,
	keys: [{ role: "development", publicKey: keyB.publicKey, release: true, root: false }, { role: "development", publicKey: root2Key.publicKey, release: false, root: true }],
}), [root1Key, root2Key]);

const v110 = { major: 1, minor: 1, patch: 0 };
const v120 = { major: 1, minor: 2, patch: 0 };
const image110 = packSimImage(build.moduleMap, { version: v110 });
const image120 = packSimImage(build.moduleMap, { version: v120 });

function bundle(image: Uint8Array, version: Version, key: SecretKey, rotations: Uint8Array[] = []): Uint8Array {
	const manifest = signMessage("manifest", encodeManifest({
		channel: "development", model: "doorward-sim", version, securityVersion: 0,
		expires: Math.floor(Date.now() / 1000) + 86400, imageSize: image.length, imageDigest: sha256(image), targets: [],
	}), [key]);
	return encodeBundle(rotations, manifest, image);
}

/** 1.1.0 under root 2, signed by B, the rotation in its header. */
const rotationBundle = bundle(image110, v110, keyB, [root2]);
/** 1.2.0 signed by the revoked key A. */
const revokedBundle = bundle(image120, v120, keyA);

interface Rig {
	device: SimulatedDevice;
	log: string[];
	statuses: DeviceStatus[];
	updates: UpdateReport[];
}

function start(flashPath: string, options: Partial<DeviceOptions> = {}): Rig {
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const updates: UpdateReport[] = [];
	const device = new SimulatedDevice({ build, flashPath, secretPath: deviceSecretFor(flashPath), onLog: (line) => log.push(line), trialTimeoutMs: 60000, ...options });
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	device.on("update", (report: UpdateReport) => updates.push(report));
	return { device, log, statuses, updates };
}

/** The configuration the world provisions; `root` null for a device provisioned without an update root. */
function configuration(port: number, broker: Record<string, unknown> = {}, root: Uint8Array | null = root1): Record<string, unknown> {
	return { broker: { address: "127.0.0.1", port, ...broker }, model: "doorward-test", keepAliveSeconds: 5, ...(root ? { updateRoot: hex(root) } : {}) };
}

/** The next update report after the first `from`, of any outcome but "trial"/"confirmed" (those come from boots). */
function nextReport(rig: Rig, from: number, what = "an update report", timeoutMs = 30000): Promise<UpdateReport> {
	return waitFor(what, () => rig.updates.slice(from).find((report) => (report.outcome === "refused") || (report.outcome === "installed")), timeoutMs);
}

async function refusal(rig: Rig, bytes: Uint8Array, what: string): Promise<UpdateReport> {
	const from = rig.updates.length;
	rig.device.sendUpdate(bytes);
	const report = await nextReport(rig, from, what);
	assert.equal(report.outcome, "refused", `${what}: ${JSON.stringify(report)}`);
	return report;
}

const lastStatus = (rig: Rig, state: string) => [...rig.statuses].reverse().find((status) => status.state === state);
/** The update root the device last reported in its status (on provisioning, connecting, and each connection). */
const reportedRoot = (rig: Rig) => [...rig.statuses].reverse().find((status) => "updateRoot" in status)?.updateRoot;

/** A broker, a phone paired with a new device, the device online. */
async function online(name: string, options: Partial<DeviceOptions> & { root?: Uint8Array | null } = {}) {
	const broker = await startEmbeddedBroker();
	const folder = mkdtempSync(join(tmpdir(), `doorward-${name}-`));
	const flash = join(folder, "flash.bin");
	const received: ReceivedEvent[] = [];
	/** Audit events (docs/protocol/audit.md: the pairing's, first): they take event sequence numbers too. */
	const audits: ReceivedEvent[] = [];
	const owner = createPhone("owner");
	const phone = await SimulatedPhone.connect({ url: broker.url, identity: owner, credentials: broker.phone, outDir: join(folder, "phone"), onEvent: (event) => received.push(event), onAudit: (_entry, _report, event) => audits.push(event), onWarning: () => {} });
	const { root = root1, ...deviceOptions } = options;
	const rig = start(flash, { configuration: configuration(broker.port, { ...broker.device }, root), ...deviceOptions });
	const paired = await waitFor("booted", () => rig.statuses.find((status) => status.state !== "booting"), 60000).then(() => pairOwner(rig.device, flash, owner));
	rememberDevice(owner, paired);
	await waitFor("online", () => lastStatus(rig, "online"), 60000);
	const close = async () => {
		await rig.device.powerOff();
		await phone.close();
		await broker.close();
	};
	return { broker, flash, folder, received, audits, rig, topicId: String(paired.topicId), close };
}

const updateEvents = (received: ReceivedEvent[]) => received.filter((event) => event.kind === "update");
const details = (event: ReceivedEvent) => (event.metadata.details ?? {}) as Record<string, unknown>;

test("a rotation to root 2 is stored before its image: the release key it revoked is refused after it, and after a power cycle", { timeout: 240000 }, async () => {
	const world = await online("rotation");
	let rig = world.rig;
	try {
		assert.equal(reportedRoot(rig), 1);
		rig.device.sendUpdate(rotationBundle);
		const installed = await nextReport(rig, 0, "the rotation's bundle installed", 60000);
		assert.equal(installed.outcome, "installed", JSON.stringify(installed));
		assert.ok(rig.log.some((line) => line.endsWith("update root 2 (development) trusted: a signed rotation")), rig.log.join("\n"));
		await waitFor("confirmed", () => rig.updates.find((report) => report.outcome === "confirmed"), 60000);
		await waitFor("online on 1.1.0, root 2", () => rig.statuses.filter((status) => status.state === "online").length >= 2 ? true : undefined, 30000);
		assert.equal(reportedRoot(rig), 2);
		assert.equal((await refusal(rig, revokedBundle, "a bundle signed by the revoked key")).reason, "unknown-key");

		await rig.device.powerOff();
		rig = start(world.flash);
		await waitFor("online after a power cycle", () => lastStatus(rig, "online"), 60000);
		assert.equal(reportedRoot(rig), 2);
		assert.ok(rig.log.some((line) => /firmware 1\.1\.0 running from ota_0$/.test(line)), rig.log.join("\n"));
		assert.equal((await refusal(rig, revokedBundle, "the revoked key, after the power cycle")).reason, "unknown-key");
	}
	finally {
		await rig.device.powerOff();
		await world.close();
	}
});

test("a power cut at every flash write of a rotation: root 1 or root 2, never none; with root 2 the revoked key is refused", { timeout: 600000 }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-rotation-cut-"));
	const template = join(folder, "template.bin");
	// Configured with root 1, for a broker nobody runs: it stays offline and touches no flash until a bundle comes.
	const first = start(template, { configuration: configuration(await freePort()) });
	await waitFor("connecting", () => first.statuses.find((status) => status.state === "connecting"), 60000);
	await first.device.powerOff();
	const roots: number[] = [];
	for (let cut = 1; ; cut++) {
		assert.ok(cut <= 20, `root 2 never stored in ${cut - 1} cuts: ${roots.join(", ")}`);
		const flash = join(folder, `cut-${cut}.bin`);
		copyFileSync(template, flash);
		copyFileSync(`${template}.efuse`, `${flash}.efuse`);
		const cutting = start(flash, { env: { DOORWARD_FLASH_CUT_AFTER: String(cut) } });
		await waitFor("connecting", () => cutting.statuses.find((status) => status.state === "connecting"), 30000);
		cutting.device.sendUpdate(rotationBundle);
		await cutting.device.exited;
		assert.ok(cutting.log.some((line) => line.includes("power cut")), `cut ${cut}: the device stopped without a cut:\n${cutting.log.join("\n")}`);

		const after = start(flash);
		try {
			const status = await waitFor("connecting again", () => after.statuses.find((seen) => seen.state === "connecting"), 30000);
			assert.ok((status.updateRoot === 1) || (status.updateRoot === 2), `cut ${cut}: the device trusts ${String(status.updateRoot)}`);
			roots.push(status.updateRoot as number);
			if (status.updateRoot === 2)
				assert.equal((await refusal(after, revokedBundle, `cut ${cut}: the revoked key`)).reason, "unknown-key");
		}
		finally {
			await after.device.powerOff();
		}
		// Root 2 whole, then one cut into the image that follows it: the rotation's writes are all behind.
		if ((roots.length >= 2) && (roots[roots.length - 1] === 2) && (roots[roots.length - 2] === 2))
			break;
	}
	console.log(`rotation power cuts: ${roots.length}; the device trusted root ${roots.join(", ")}`);
	assert.deepEqual(roots, [1, 1, 2, 2], "the body and the commit word of the new copy (its sector was erased), then the first image erase and write");
});

test("a device without an update root says so and refuses bundles; no local message gives it one", { timeout: 180000 }, async () => {
	const world = await online("no-root", { root: null });
	try {
		const { rig } = world;
		assert.equal(reportedRoot(rig), "none");
		const first = await refusal(rig, bundle(image110, v110, keyA), "a bundle on a device without a root");
		assert.equal(first.reason, "no-root");
		assert.ok(rig.log.some((line) => line.includes("update refused (no-root): this device has no trusted update root")), rig.log.join("\n"));
		// The old first-come line, and a configuration message, on the local channel: neither sets a root.
		const line = await rig.device.localRequest({ trustRoot: hex(root1) });
		assert.equal(line.ok, false);
		assert.equal((await refusal(rig, bundle(image110, v110, keyA), "after the trustRoot line")).reason, "no-root");
		await waitFor("the refusal sealed for the owner", () => updateEvents(world.received).find((event) => details(event).reason === "no-root"), 30000);
	}
	finally {
		await world.close();
	}
});

test("the clock starts near 1970: bundles are refused with \"clock not set\" until SNTP sets it above the floor; sealed events say whether it was", { timeout: 240000 }, async () => {
	const world = await online("clock", { sntp: false });
	try {
		const { rig } = world;
		assert.ok(rig.log.some((line) => /time floor 20\d\d-/.test(line)), "the floor is the build time");
		const first = await refusal(rig, bundle(image110, v110, keyA), "a bundle while the clock is unset");
		assert.equal(first.reason, "clock-not-set");
		assert.ok(rig.log.some((line) => /update refused \(clock-not-set\): clock not set: it reads 1970-01-01T/.test(line)), rig.log.join("\n"));
		const sealed = await waitFor("the refusal at the phone", () => updateEvents(world.received).find((event) => details(event).reason === "clock-not-set"), 30000);
		assert.equal(sealed.metadata.clock, "unsynced");
		assert.ok(sealed.time < Date.UTC(1971, 0, 1), `the event's time ${sealed.time}: the device's clock, near 1970`);

		// An SNTP answer from before the firmware was built: not believed.
		rig.device.setClock(Date.UTC(2001, 0, 1));
		assert.equal((await refusal(rig, bundle(image110, v110, keyA), "a bundle with the clock in 2001")).reason, "clock-not-set");
		assert.ok(rig.log.some((line) => line.includes("clock not set: it reads 2001-01-01T")));

		// The real time: events say "synced", and the bundle installs.
		rig.device.setClock(Date.now());
		rig.device.press();
		const ring = await waitFor("a ring at the phone", () => world.received.find((event) => event.kind === "ring"), 60000);
		assert.equal(ring.metadata.clock, "synced");
		assert.ok(Math.abs(ring.time - Date.now()) < 3600000, "stamped with the time SNTP gave");
		const from = rig.updates.length;
		rig.device.sendUpdate(bundle(image110, v110, keyA));
		assert.equal((await nextReport(rig, from, "installed once the clock is set", 60000)).outcome, "installed");
	}
	finally {
		await world.close();
	}
});

/** `count` junk messages of nine bytes on the device's update topic, as anyone allowed to publish there could send. */
async function junkOverMqtt(broker: EmbeddedBroker, topicId: string, count: number): Promise<void> {
	const client = await mqtt.connectAsync(broker.url, { ...broker.release, reconnectPeriod: 0 });
	try {
		for (let i = 0; i < count; i++)
			await client.publishAsync(`dw/${topicId}/up`, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, i & 255]), { qos: 1 });
	}
	finally {
		await client.endAsync();
	}
}

test("a flood of junk on the update channel: one sealed report per window with the right count; no queued event pushed out", { timeout: 300000 }, async () => {
	const world = await online("flood");
	try {
		const { rig, received, broker } = world;
		rig.device.setScene(loadScene(defaultScene));
		// Offline, with three events queued in the outbox: two PIR events (which a full outbox drops first) and a ring.
		// The default scene has a face in it, so the PIR's events are face events.
		await broker.stop();
		await waitFor("offline", () => lastStatus(rig, "offline"), 30000);
		// Every event the device seals and stores logs one line (a ring logs two: its notification, then its clip).
		const queued = () => rig.log.filter((line) => / event [0-9a-f]{32} seq \d+: .* bytes queued/.test(line));
		rig.device.motion();
		await waitFor("the first motion event queued", () => queued().length >= 1 ? true : undefined, 60000);
		rig.device.press();
		await waitFor("the ring's notification and clip queued", () => queued().length >= 3 ? true : undefined, 60000);
		await new Promise((resolve) => setTimeout(resolve, 10500));	// past the PIR's 10 s cooldown
		rig.device.motion();
		await waitFor("the second motion event queued", () => queued().length >= 4 ? true : undefined, 60000);

		// 300 junk bundles, each refused (the outbox has 28 slots: without coalescing they would push out both PIR events).
		const flood = 300;
		const before = rig.updates.length;
		for (let i = 0; i < flood; i++)
			rig.device.sendUpdate(Uint8Array.of(i & 255));
		await waitFor(`${flood} refusals`, () => rig.updates.slice(before).filter((report) => report.outcome === "refused").length >= flood ? true : undefined, 60000);
		assert.equal(queued().filter((line) => line.includes("update event")).length, 1, "one sealed report for the whole flood");
		assert.ok(!rig.log.some((line) => line.includes("outbox full")), "nothing dropped");

		// Back online: the four events and the one report reach the phone.
		await broker.restart();
		await waitFor("the queued events at the phone", () => received.length >= 5 ? true : undefined, 60000);
		// A motion event in which a face was found is a "face" event (the default scene has a visitor).
		assert.deepEqual(received.map((event) => (event.kind === "face") ? "motion" : event.kind).sort(), ["motion", "motion", "ring", "ring", "update"]);
		assert.equal(details(updateEvents(received)[0]).count, 1);

		// More junk, over MQTT this time; then a ring: everything sealed before it has arrived when it does.
		await junkOverMqtt(broker, world.topicId, 100);
		await waitFor("the MQTT junk refused", () => rig.updates.slice(before).filter((report) => report.outcome === "refused").length >= flood + 100 ? true : undefined, 60000);
		rig.device.press();
		await waitFor("the ring after the junk", () => received.filter((event) => event.metadata.notification === true).length >= 2 ? true : undefined, 60000);
		assert.equal(updateEvents(received).length, 1, "still one report: the window is open");

		// A genuine update: the refusals counted so far are reported first, then the install.
		rig.device.sendUpdate(bundle(image110, v110, keyA));
		await waitFor("installed, confirmed", () => updateEvents(received).find((event) => details(event).outcome === "confirmed"), 120000);
		const reports = updateEvents(received).filter((event) => details(event).outcome === "refused");
		assert.deepEqual(reports.map((event) => details(event).count), [1, flood + 100 - 1]);
		assert.match(String(details(reports[1]).reasons), /^(truncated|malformed) \d+/);
		assert.deepEqual(updateEvents(received).map((event) => details(event).outcome), ["refused", "refused", "installed", "trial", "confirmed"]);
		const all = [...received, ...world.audits];
		assert.deepEqual(all.map((event) => event.seq).sort((a, b) => a - b), [...Array(all.length).keys()].map((i) => i + 1), "no event lost");
	}
	finally {
		await world.close();
	}
});
