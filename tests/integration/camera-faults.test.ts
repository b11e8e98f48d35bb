/*
 * A camera fault never stops the doorbell: a camera that cannot be opened
 * (a burst size past the sensor's largest frame size, which the device's
 * driver refuses with "unsupported dimensions") and a camera that yields no
 * frame (the world shows it no scene) each leave the device online; every
 * ring still becomes its notification (without a snapshot, "no snapshot"
 * and why sealed inside) and its clip, sealed to the owner with the reason
 * in its metadata, and none is lost.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/wait.js";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { loadScene } from "../../tools/sim/scene.js";
import { defaultScene } from "../../tools/sim/run.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import { pairOwner } from "../support/onboard.js";

const build = simulatorBuild();

async function withDevice(burst: Record<string, number>, body: (rig: { device: SimulatedDevice; events: ReceivedEvent[]; statuses: DeviceStatus[]; log: string[] }) => Promise<void>): Promise<void> {
	const broker = await startEmbeddedBroker();
	const owner = createPhone("owner");
	const events: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({ url: broker.url, identity: owner, credentials: broker.phone, outDir: join(mkdtempSync(join(tmpdir(), "doorward-camera-phone-")), "phone"), onEvent: (event) => events.push(event), onWarning: () => {} });
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-camera-")), "flash.bin");
	const statuses: DeviceStatus[] = [];
	const log: string[] = [];
	const device = new SimulatedDevice({
		build, flashPath: flash, secretPath: deviceSecretFor(flash), onLog: (line) => log.push(line),
		configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test", burst },
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("boot", () => statuses.find((status) => status.state !== "booting"), 60000);
		rememberDevice(owner, await pairOwner(device, flash, owner));
		await waitFor("online", () => statuses.find((status) => status.state === "online"), 60000);
		await body({ device, events, statuses, log });
	}
	finally {
		await device.powerOff();
		await phone.close();
		await broker.close();
	}
}

test("a camera that cannot be opened: the device boots, and each ring is a notification and a clip that say why they have no frames", { timeout: 120000 }, async () => {
	// The configuration accepts up to 2592 x 1944; the sensor's largest frame is 2560 x 1920.
	await withDevice({ width: 2592, height: 1944, frames: 2, timeoutMs: 2000 }, async ({ device, events, statuses, log }) => {
		device.setScene(loadScene(defaultScene));
		assert.ok(log.some((line) => /camera: .*unsupported dimensions: events will carry no frames/.test(line)), log.join("\n"));
		for (let ring = 1; ring <= 2; ring++) {
			device.press();
			const [notification, clip] = await waitFor(`ring ${ring}'s notification and clip at the phone`, () => (events.length >= 2 * ring ? events.slice(2 * ring - 2, 2 * ring) : undefined), 30000);
			assert.equal(notification.metadata.notification, true);
			assert.equal(notification.snapshot, undefined);
			assert.match(String(notification.metadata.snapshotError), /^no snapshot: camera: .*unsupported dimensions$/);
			assert.equal(clip.kind, "ring");
			assert.equal(clip.metadata.follows, notification.eventId);
			assert.equal(clip.frames.length, 0);
			assert.match(String(clip.metadata.cameraError), /^camera: .*unsupported dimensions$/);
			await new Promise((resolve) => setTimeout(resolve, 600)); // past the button's debounce
		}
		assert.deepEqual(events.map((event) => event.seq), [1, 2, 3, 4].map((n) => events[0].seq + n - 1), "no event lost");
		assert.ok(!statuses.some((status) => status.state === "fault"), "the boot went on");
		assert.ok(log.some((line) => /ring clip incomplete: camera: .*unsupported dimensions/.test(line)), log.join("\n"));
	});
});

test("a camera that stalls: the notification goes at once without a snapshot, the clip times out and says so; with a scene, the next ring has both", { timeout: 120000 }, async () => {
	await withDevice({ frames: 2, timeoutMs: 1500 }, async ({ device, events }) => {
		device.press(); // no scene: the camera runs, and no frame ever comes
		const stalled = await waitFor("the ring's notification at the phone", () => events[0], 30000);
		assert.equal(stalled.metadata.notification, true);
		assert.equal(stalled.snapshot, undefined);
		assert.equal(stalled.metadata.snapshotError, "no snapshot: camera: no frame within 1000 ms");
		const empty = await waitFor("the frameless clip at the phone", () => events[1], 30000);
		assert.equal(empty.metadata.follows, stalled.eventId);
		assert.equal(empty.frames.length, 0);
		// Every clip holds the pre-roll's 10 frames and 2 more: with no pre-roll, 12 after the press, in 1.5 s and 10 frame intervals.
		assert.equal(empty.metadata.cameraError, "timeout: 0 of 12 frames after the trigger in 3500 ms");
		device.setScene(loadScene(defaultScene));
		await new Promise((resolve) => setTimeout(resolve, 1500)); // the pre-roll fills
		device.press();
		const notification = await waitFor("the second ring's notification", () => events[2], 30000);
		assert.ok(notification.snapshot, "a snapshot");
		const full = await waitFor("the second ring's clip", () => events[3], 30000);
		assert.equal(full.frames.length, 12, "the pre-roll and 2 after, or more after when the pre-roll is short");
		assert.equal(full.metadata.cameraError, undefined);
		assert.deepEqual(events.map((event) => event.seq), [1, 2, 3, 4].map((n) => events[0].seq + n - 1), "no event lost");
	});
});
