/*
 * No event lost, none duplicated, with the device on mosquitto over TLS with
 * client certificates and the deployment ACL: the broker
 * killed and restarted in the middle of a burst, the network cut under the
 * device, and a dead path that only the keepalive can detect. The counts of
 * lost and duplicated events at the phone are zero in every scenario.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { hasOpenssl, makePki } from "../support/pki.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/wait.js";
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
	const reply = await unconfigured.pair(identity.x25519PublicKey, identity.name);
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
			device.press();
			await new Promise((resolve) => setTimeout(resolve, 1100));
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
		assert.deepEqual([...seqs].sort((a, b) => a - b), [...Array(events).keys()].map((i) => i + 1));
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
