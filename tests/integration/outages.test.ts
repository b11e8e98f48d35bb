/*
 * No event lost, none duplicated, with the device on mosquitto over TLS with
 * client certificates and the deployment ACL: the broker
 * killed and restarted in the middle of a burst, the network cut under the
 * device, and a dead path that only the keepalive can detect. The counts of
 * lost and duplicated events at the phone are zero in every scenario.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { hasOpenssl, makePki } from "../support/pki.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ringOnce, waitFor } from "../support/wait.js";
import { startProxy } from "../support/proxy.js";
import type { Proxy } from "../support/proxy.js";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { loadScene } from "../../tools/sim/scene.js";
import { defaultScene } from "../../tools/sim/run.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import { pairOwner } from "../support/onboard.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";

const skip = !mosquittoBinary ? "mosquitto is not installed (Debian package mosquitto); not run" : !hasOpenssl ? "openssl is not installed; not run" : false;
const build = simulatorBuild();

/**
 * One device on mosquitto over TLS, with client certificates and the ACL of
 * docs/deploy/broker.md, behind a proxy the test can cut or stall; one
 * phone on the same broker. The device boots once unconfigured to learn
 * its topic id (the CN its certificate must carry), then for real.
 */
async function scenario(name: string, disrupt: (context: { statuses: DeviceStatus[]; restartBroker: () => Promise<void>; proxy: Proxy }) => Promise<void>, presses = 5) {
	const folder = mkdtempSync(join(tmpdir(), `doorward-${name}-`));
	const flash = join(folder, "flash.bin");
	const identity = createPhone(`${name} phone`);
	const statuses: DeviceStatus[] = [];
	const unconfigured = new SimulatedDevice({ build, flashPath: flash, secretPath: deviceSecretFor(flash) });
	unconfigured.on("status", (status: DeviceStatus) => statuses.push(status));
	await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
	const reply = await pairOwner(unconfigured, flash, identity);
	rememberDevice(identity, reply);
	await unconfigured.powerOff();
	statuses.length = 0;

	const topicId = String(reply.topicId);
	const phoneName = `phone-${createHash("sha256").update(Buffer.from(identity.x25519PublicKey, "hex")).digest("hex").slice(0, 16)}`;
	const pki = makePki([topicId, phoneName]);
	const persistence = join(folder, "broker");
	mkdirSync(persistence);
	const brokerConfig = [...pki.brokerConfig(`pattern write dw/%u/ev\n\nuser ${phoneName}\ntopic read dw/${topicId}/ev\n`),
		"persistence true", `persistence_location ${persistence}/`, "autosave_interval 1"];
	let broker = await startMosquitto(brokerConfig);
	const brokerPort = broker.port;
	const proxy = await startProxy(brokerPort);
	const received: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({
		url: `mqtts://localhost:${brokerPort}`, identity, topics: "paired", outDir: join(folder, "phone"), onEvent: (event) => received.push(event), onWarning: () => {},
		tls: { ca: readFileSync(pki.file("broker-ca.pem")), cert: readFileSync(pki.file(`${phoneName}.pem`)), key: readFileSync(pki.file(`${phoneName}.key`)) },
	});
	const device = new SimulatedDevice({
		build, flashPath: flash, secretPath: deviceSecretFor(flash),
		configuration: {
			broker: {
				address: "127.0.0.1", port: proxy.port,
				tls: { ca: pki.text("broker-ca.pem"), serverName: "localhost", certificate: pki.text(`${topicId}.pem`), key: pki.text(`${topicId}.key`) },
			},
			model: "test", keepAliveSeconds: 5,
		},
	});
	device.setScene(loadScene(defaultScene));
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("online over TLS", () => statuses.find((status) => status.state === "online"));
		const restartBroker = async () => {
			await broker.stop();
			await new Promise((resolve) => setTimeout(resolve, 1500));
			broker = await startMosquitto(brokerConfig, brokerPort);
		};
		for (let i = 0; i < presses; i++) {
			await ringOnce(device, statuses, i + 1);
			if (i === 1)
				await disrupt({ statuses, restartBroker, proxy });
		}
		// Each press is two events: its notification and its clip; neither may be lost.
		const events = 2 * presses;
		await waitFor(`${events} events at the phone`, () => (new Set(received.map((event) => event.eventId)).size >= events) ? true : undefined, 120000);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const seqs = received.map((event) => event.seq);
		const lost = events - new Set(seqs).size;
		const duplicated = received.length - new Set(received.map((event) => event.eventId)).size;
		assert.equal(lost, 0, `${name}: lost events`);
		assert.equal(duplicated, 0, `${name}: duplicated events at the phone`);
		// Event 1 is the audit event of the pairing (docs/protocol/audit.md); the presses' events follow it.
		assert.deepEqual([...seqs].sort((a, b) => a - b), [...Array(events).keys()].map((i) => i + 2));
		assert.equal(received.filter((event) => event.metadata.notification === true).length, presses, `${name}: every notification`);
		assert.equal(received.filter((event) => event.metadata.follows).length, presses, `${name}: every clip`);
		return { statuses };
	}
	finally {
		await device.powerOff();
		await phone.close();
		await proxy.close();
		await broker.stop();
	}
}

test("mosquitto killed and restarted in the middle of a burst", { skip }, async () => {
	const { statuses } = await scenario("restart", async ({ restartBroker }) => restartBroker());
	assert.ok(statuses.some((status) => status.state === "offline"), "the device saw the broker go");
});

test("the network cut under the device in the middle of a burst", { skip }, async () => {
	const { statuses } = await scenario("cut", async ({ proxy }) => proxy.cut());
	assert.ok(statuses.some((status) => status.state === "offline"), "the device saw the cut");
});

test("a dead path: only the keepalive notices, and the device reconnects", { skip }, async () => {
	const { statuses } = await scenario("stall", async ({ proxy, statuses: seen }) => {
		proxy.stall();
		await waitFor("the keepalive to expire", () => seen.find((status) => status.state === "offline" && /keepalive/.test(String(status.reason))), 20000);
		proxy.resume();
	}, 3);
	assert.ok(statuses.some((status) => /keepalive timeout/.test(String(status.reason))), "the device named the keepalive");
});

/**
 * A ring recorded offline, and the power cut at a flash write or erase
 * (DOORWARD_FLASH_CUT_AFTER, every fourth one from power-up through the
 * notification and the clip): after the reboot, every event the device had
 * queued before the cut reaches the phone, notification and clip alike,
 * and nothing is refused. Detection is off: the clip's bytes are what is
 * stored, its faces are not.
 */
test("a power cut at any step of storing a ring's notification and clip loses neither once it was queued", { timeout: 900000 }, async () => {
	const broker = await startEmbeddedBroker();
	const owner = createPhone("cut owner");
	const received: ReceivedEvent[] = [];
	let rejected = 0;
	const folder = mkdtempSync(join(tmpdir(), "doorward-outbox-cut-"));
	// Each cut starts from the same flash, so the same sequence numbers: a phone with a fresh window each time.
	const phoneFor = (identity: typeof owner) => SimulatedPhone.connect({
		url: broker.url, identity, credentials: broker.phone, outDir: join(folder, "phone"), onEvent: (event) => received.push(event), onWarning: (message) => { if (/refused/.test(message)) rejected++; },
	});
	const configuration = { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test", faceDetection: false, burst: { preRollFrames: 5, frames: 10 } };
	const start = (flash: string, log: string[], env?: Record<string, string>) => {
		const statuses: DeviceStatus[] = [];
		const device = new SimulatedDevice({ build, flashPath: flash, secretPath: deviceSecretFor(flash), configuration, onLog: (line) => log.push(line), ...(env ? { env } : {}) });
		device.setScene(loadScene(defaultScene));
		device.on("status", (status: DeviceStatus) => statuses.push(status));
		return { device, statuses };
	};
	try {
		const base = join(folder, "base.bin");
		const first = start(base, []);
		await waitFor("boot", () => first.statuses.find((status) => status.state !== "booting"), 60000);
		rememberDevice(owner, await pairOwner(first.device, base, owner));
		await waitFor("online", () => first.statuses.find((status) => status.state === "online"), 60000);
		await first.device.powerOff();
		const paired = structuredClone(owner);
		let cuts = 0;
		let clipsQueued = 0;
		for (let cut = Number(process.env.DOORWARD_TEST_FIRST_CUT ?? 1); ; cut += 4) {
			const flash = join(folder, `cut-${cut}.bin`);
			copyFileSync(base, flash);
			copyFileSync(`${base}.efuse`, `${flash}.efuse`);
			await broker.stop(); // offline: what the ring makes stays in the outbox
			const log: string[] = [];
			const cutting = start(flash, log, { DOORWARD_FLASH_CUT_AFTER: String(cut) });
			let gone = false;
			void cutting.device.exited.then(() => { gone = true; });
			const queued = () => log.filter((line) => /ring event [0-9a-f]{32} seq \d+: .* queued/.test(line)).map((line) => /ring event ([0-9a-f]{32})/.exec(line)![1]);
			await waitFor("boot, or the cut", () => (gone || cutting.statuses.some((status) => status.state !== "booting")) ? true : undefined, 60000);
			if (!gone) {
				await new Promise((resolve) => setTimeout(resolve, 1500)); // the pre-roll fills
				cutting.device.press();
				await waitFor("the cut, or both events queued", () => (gone || (queued().length >= 2)) ? true : undefined, 30000);
			}
			const wasCut = log.some((line) => line.includes("power cut"));
			const before = queued();
			if (before.length >= 2)
				clipsQueued++;
			await cutting.device.powerOff();
			await broker.restart();
			if (!wasCut)
				break;
			cuts++;
			const phone = await phoneFor(structuredClone(paired));
			const afterLog: string[] = [];
			const after = start(flash, afterLog);
			try {
				await waitFor(`cut ${cut}: the ${before.length} queued events at the phone`, () => before.every((id) => received.some((event) => event.eventId === id)) ? true : undefined, 30000)
					.catch((error: Error) => { throw new Error(`${error.message}\nbefore the cut:\n${log.join("\n")}\nafter:\n${afterLog.join("\n")}`); });
			}
			finally {
				await after.device.powerOff();
				await phone.close();
			}
		}
		assert.ok(cuts >= 10, `${cuts} cuts`);
		assert.equal(rejected, 0, "nothing refused");
		assert.ok(received.some((event) => event.metadata.notification === true), "notifications queued before a cut came through it");
		assert.ok(clipsQueued > 0, "the sweep went past the clip's storage");
	}
	finally {
		await broker.close();
	}
});
