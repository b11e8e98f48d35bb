/*
 * No event is lost: the simulated device keeps publishing through a dropped
 * connection, and keeps its identity and sequence across a power cut.
 */
import { test } from "node:test";
import { ringOnce, waitFor } from "../support/wait.js";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
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
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { labelOf } from "../../tools/factory/label.js";

const build = simulatorBuild();
const scene = loadScene(defaultScene);


interface Rig {
	identity: ReturnType<typeof createPhone>;
	broker: EmbeddedBroker;
	phone: SimulatedPhone;
	received: ReceivedEvent[];
	log: string[];
	boot(flashPath: string): Promise<{ device: SimulatedDevice; statuses: DeviceStatus[] }>;
	close(): Promise<void>;
}

async function rig(): Promise<Rig> {
	const broker = await startEmbeddedBroker();
	const received: ReceivedEvent[] = [];
	const log: string[] = [];
	const out = mkdtempSync(join(tmpdir(), "doorward-delivery-"));
	const identity = createPhone("test phone");
	const phone = await SimulatedPhone.connect({ url: broker.url, identity, credentials: broker.phone, outDir: out, onEvent: (event) => received.push(event), onWarning: (line) => log.push(line) });
	const devices: SimulatedDevice[] = [];
	return {
		identity, broker, phone, received, log,
		async boot(flashPath) {
			const statuses: DeviceStatus[] = [];
			const device = new SimulatedDevice({
				build, flashPath, secretPath: deviceSecretFor(flashPath),
				configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "doorward-test", keepAliveSeconds: 5 },
				onLog: (line) => log.push(line),
			});
			device.setScene(scene);
			device.on("status", (status: DeviceStatus) => statuses.push(status));
			devices.push(device);
			await waitFor("the device to boot", () => statuses.find((status) => status.state !== "booting"));
			// The label's code admits the first phone only: a device this phone already owns (booted again) is not onboarded again.
			const label = await labelOf(device, flashPath);
			if (!identity.devices[label.deviceId])
				rememberDevice(identity, await device.pair(identity, label));
			await waitFor("the device to come online", () => statuses.find((status) => status.state === "online"));
			return { device, statuses };
		},
		async close() {
			for (const device of devices)
				await device.powerOff();
			await phone.close();
			await broker.close();
		},
	};
}

test("events published across a dropped connection all arrive, once each", async () => {
	const { broker, phone, received, log, boot, close } = await rig();
	try {
		const flash = join(mkdtempSync(join(tmpdir(), "doorward-flash-")), "flash.bin");
		const { device, statuses } = await boot(flash);
		const rings = 5;
		for (let i = 0; i < rings; i++) {
			await ringOnce(device, statuses, i + 1);
			if (i === 1)
				broker.dropClients(); // the network drops under a burst in progress
		}
		// Each ring is two events: its notification, at once, and its clip.
		await waitFor(`${2 * rings} events at the phone`, () => (received.length >= 2 * rings) ? true : undefined, 120000);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const ids = received.map((event) => event.eventId);
		assert.equal(new Set(ids).size, 2 * rings, `no duplicate among ${ids.join(", ")}`);
		assert.equal(received.length, 2 * rings, "nothing extra reached the phone");
		// Event 1 is the audit event of the pairing (docs/protocol/audit.md); the rings' events follow it.
		assert.deepEqual(received.map((event) => event.seq).sort((a, b) => a - b), [...Array(2 * rings).keys()].map((i) => i + 2), "none missing");
		const notifications = received.filter((event) => event.metadata.notification === true);
		assert.equal(notifications.length, rings);
		assert.deepEqual(received.filter((event) => event.metadata.follows).map((event) => event.metadata.follows).sort(), notifications.map((event) => event.eventId).sort(), "each clip follows its notification");
		assert.ok(statuses.some((status) => status.state === "offline"), "the device saw the drop");
		assert.ok(log.some((line) => /disconnected: socket error/.test(line)), log.join("\n"));
		assert.equal(phone.rejected, 0);
	}
	finally {
		await close();
	}
});

test("after a power cut the device keeps its identity and its sequence", async () => {
	const { received, log, boot, close } = await rig();
	try {
		const flash = join(mkdtempSync(join(tmpdir(), "doorward-flash-")), "flash.bin");
		const first = await boot(flash);
		first.device.press();
		await waitFor("the first ring's notification and clip", () => received[1]);
		await first.device.powerOff();
		const second = await boot(flash);
		assert.ok(log.some((line) => /stored identity/.test(line)), "identity read back from flash");
		assert.ok(!second.statuses.some((status) => status.state === "provisioning"), "configuration kept");
		second.device.press();
		await waitFor("the second ring's notification", () => received[2]);
		assert.equal(received[2].deviceId, received[0].deviceId);
		assert.equal(received[2].topic, received[0].topic);
		assert.equal(received[2].seq, Math.max(received[0].seq, received[1].seq) + 1);
	}
	finally {
		await close();
	}
});

test("two simulated devices never share an identity or a key", async () => {
	const { identity, received, boot, close } = await rig();
	try {
		const a = await boot(join(mkdtempSync(join(tmpdir(), "doorward-flash-")), "flash.bin"));
		const b = await boot(join(mkdtempSync(join(tmpdir(), "doorward-flash-")), "flash.bin"));
		a.device.press();
		b.device.press();
		await waitFor("an event from each", () => (received.length >= 2) ? true : undefined);
		assert.notEqual(received[0].deviceId, received[1].deviceId);
		assert.notEqual(received[0].topic, received[1].topic);
		const keys = Object.values(identity.devices);
		assert.equal(keys.length, 2);
		assert.notEqual(keys[0].signingPublicKey, keys[1].signingPublicKey);
		assert.notEqual(keys[0].agreementPublicKey, keys[1].agreementPublicKey);
	}
	finally {
		await close();
	}
});

test("events recorded while the broker is down survive a power cut and are delivered after it", async () => {
	const { broker, received, log, boot, close } = await rig();
	try {
		const flash = join(mkdtempSync(join(tmpdir(), "doorward-flash-")), "flash.bin");
		const first = await boot(flash);
		await broker.stop();
		await waitFor("the device to notice", () => first.statuses.find((status) => status.state === "offline"));
		for (let i = 1; i <= 3; i++)
			await ringOnce(first.device, first.statuses, i);
		// Three notifications and three clips: the outbox keeps both across the power cut.
		await waitFor("six events on flash", () => (log.filter((line) => /ring event .* queued/.test(line)).length >= 6) ? true : undefined, 120000);
		await first.device.powerOff();
		assert.equal(received.length, 0, "nothing was delivered while the broker was down");
		await broker.restart();
		await boot(flash);
		await waitFor("the six events at the phone", () => (received.length >= 6) ? true : undefined, 60000);
		assert.deepEqual(received.map((event) => event.seq).sort((a, b) => a - b), [2, 3, 4, 5, 6, 7], "after the pairing's audit event, 1");
		assert.equal(new Set(received.map((event) => event.eventId)).size, 6);
		assert.equal(received.filter((event) => event.metadata.notification === true).length, 3, "the notifications");
		assert.equal(received.filter((event) => event.metadata.follows).length, 3, "the clips");
		assert.deepEqual(received.slice(0, 3).map((event) => event.metadata.notification), [true, true, true], "notifications first");
		assert.ok(log.some((line) => /6 events from before the restart/.test(line)), "recovered from flash");
	}
	finally {
		await close();
	}
});
