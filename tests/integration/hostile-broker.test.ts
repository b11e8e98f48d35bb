/*
 * A broker that sends garbage: the device closes the connection with a
 * logged reason, does not crash, and reconnects.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/wait.js";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";

const connack = Buffer.from([0x20, 0x02, 0x00, 0x00]);

test("malformed packets from the broker close the connection with a reason; the device carries on", async () => {
	// Each connection gets a valid CONNACK, then one kind of garbage; the last one is left alone.
	const garbage = [
		Buffer.from([0x00, 0x00]), // reserved packet type 0
		Buffer.from([0x30, 0xFF, 0xFF, 0xFF, 0x7F]), // a PUBLISH claiming 256 MB
		Buffer.from([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), // a remaining length of five bytes
		Buffer.from([0x40, 0x02, 0x00, 0x00]), // PUBACK for packet identifier 0
		Buffer.from([0x32, 0x03, 0x00, 0x09, 0x61]), // a topic longer than its packet
	];
	let connection = 0;
	const sockets: Socket[] = [];
	const server = createServer((socket) => {
		sockets.push(socket);
		const bad = garbage[connection++];
		socket.once("data", () => {
			socket.write(connack);
			if (bad)
				setTimeout(() => socket.write(bad), 50);
		});
		socket.on("error", () => {});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-hostile-")), "flash.bin");
	const statuses: DeviceStatus[] = [];
	const log: string[] = [];
	const device = new SimulatedDevice({
		build: simulatorBuild(), flashPath: flash, secretPath: deviceSecretFor(flash),
		configuration: { broker: { address: "127.0.0.1", port: (server.address() as AddressInfo).port }, model: "test" },
		onLog: (line) => log.push(line),
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("every kind of garbage, then a clean connection", () => (connection > garbage.length) && statuses.filter((s) => s.state === "online").length > garbage.length ? true : undefined, 60000);
		const reasons = statuses.filter((s) => s.state === "offline").map((s) => String(s.reason));
		for (const expected of [/reserved packet type 0/, /exceeds the 16384-byte limit/, /longer than four bytes/, /PUBACK with packet identifier 0/, /overruns the packet/])
			assert.ok(reasons.some((reason) => expected.test(reason)), `a disconnect names ${expected}: ${reasons.join(" | ")}`);
		assert.ok(log.some((line) => /doorward warn disconnected: mqtt: malformed packet/.test(line)), "the reason is in the device log");
	}
	finally {
		await device.powerOff();
		for (const socket of sockets)
			socket.destroy();
		await new Promise((resolve) => server.close(resolve));
	}
});
