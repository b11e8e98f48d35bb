/*
 * A camera fault never stops the doorbell: a camera that cannot be opened
 * (a burst size past the sensor's largest frame size, which the device's
 * driver refuses with "unsupported dimensions") and a camera that yields no
 * frame (the world shows it no scene) each leave the device online; every
 * ring still becomes an event, sealed to the owner with the reason in its
 * metadata, and none is lost.
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

test("a camera that cannot be opened: the device boots, and each ring is an event that says why it has no frames", { timeout: 120000 }, async () => {
	// The configuration accepts up to 2592 x 1944; the sensor's largest frame is 2560 x 1920.
	await withDevice({ width: 2592, height: 1944, frames: 2, timeoutMs: 2000 }, async ({ device, events, statuses, log }) => {
		device.setScene(loadScene(defaultScene));
		assert.ok(log.some((line) => /camera: .*unsupported dimensions: events will carry no frames/.test(line)), log.join("\n"));
		for (let ring = 1; ring <= 2; ring++) {
			device.press();
			const event = await waitFor(`ring ${ring} at the phone`, () => events[ring - 1], 30000);
			assert.equal(event.kind, "ring");
			assert.equal(event.frames.length, 0);
			assert.match(String(event.metadata.cameraError), /^camera: .*unsupported dimensions$/);
			await new Promise((resolve) => setTimeout(resolve, 600)); // past the button's debounce
		}
		assert.deepEqual(events.map((event) => event.seq), [events[0].seq, events[0].seq + 1], "no event lost");
		assert.ok(!statuses.some((status) => status.state === "fault"), "the boot went on");
		assert.ok(log.some((line) => /ring burst incomplete: camera: .*unsupported dimensions/.test(line)), log.join("\n"));
	});
});

test("a camera that yields no frame: the burst times out and says so; the next ring, with a scene, has its frames", { timeout: 120000 }, async () => {
	await withDevice({ frames: 2, timeoutMs: 1000 }, async ({ device, events, statuses }) => {
		device.press(); // no scene: the camera starts, and no frame ever comes
		const empty = await waitFor("the frameless ring at the phone", () => events[0], 30000);
		assert.equal(empty.frames.length, 0);
		assert.equal(empty.metadata.cameraError, "timeout: 0 of 2 frames in 1000 ms");
		await waitFor("online after the event", () => statuses.filter((status) => status.state === "online").length >= 2 ? true : undefined, 30000);
		device.setScene(loadScene(defaultScene));
		device.press();
		const full = await waitFor("the second ring at the phone", () => events[1], 30000);
		assert.equal(full.frames.length, 2);
		assert.equal(full.metadata.cameraError, undefined);
		assert.equal(full.seq, empty.seq + 1, "no event lost");
	});
});
