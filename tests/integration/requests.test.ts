/*
 * Signed requests over MQTT, end to end on the simulated device
 * (docs/protocol/requests.md): what the device refuses, it refuses with one
 * line in its log and nothing on the wire.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import { requestTopic } from "../../tools/phone/requests.js";
import { pairOwner } from "../support/onboard.js";
import { requester, sendRequest } from "../support/requests.js";
import { waitFor } from "../support/wait.js";

const build = simulatorBuild();

test("a request from a stranger, of an unknown kind, stale, replayed, forged or of the wrong size is refused with a reason in the log", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-requests-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const broker = await startEmbeddedBroker();
	const flash = join(folder, "flash.bin");
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const device = new SimulatedDevice({ build, flashPath: flash, secretPath: deviceSecretFor(flash), configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" }, onLog: (line) => log.push(line) });
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	const client = await requester(broker);
	const wire: string[] = [];
	await client.subscribeAsync("dw/+/ev", { qos: 1 });
	try {
		await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
		const owner = createPhone("owner");
		const reply = await pairOwner(device, flash, owner);
		rememberDevice(owner, reply);
		const deviceId = reply.deviceId!;
		const stranger = createPhone("stranger");
		rememberDevice(stranger, { ...reply, ok: true });
		await waitFor("online", () => statuses.find((status) => status.state === "online"));
		await new Promise((resolve) => setTimeout(resolve, 300)); // the pairing's own audit event goes out first
		client.on("message", (topic) => wire.push(topic));
		const refusal = async (count: number, pattern: RegExp) => {
			await waitFor(`refusal ${count}`, () => (log.filter((line) => /request refused/.test(line)).length >= count) ? true : undefined);
			const lines = log.filter((line) => /request refused/.test(line));
			assert.match(lines[count - 1], pattern);
		};
		await sendRequest(client, stranger, deviceId, 1, Buffer.alloc(8));
		await refusal(1, /request refused \(kind 1\): its signer is not a paired phone/);
		const unknown = await sendRequest(client, owner, deviceId, 99, Buffer.alloc(4));
		await refusal(2, /request refused \(kind 99\) from phone [0-9a-f]{16}: unknown kind 99/);
		await client.publishAsync(unknown.topic, unknown.sealed, { qos: 1 });
		await refusal(3, /kind 99\) from phone [0-9a-f]{16}: (unknown kind 99|the request was taken already)/);
		await sendRequest(client, owner, deviceId, 99, Buffer.alloc(4), Date.now() - 10 * 60 * 1000);
		await refusal(4, /unknown kind 99|s old/);
		const forged = Buffer.from(unknown.sealed);
		forged[100] ^= 1;
		await client.publishAsync(requestTopic(reply.topicId!), forged, { qos: 1 });
		await refusal(5, /request refused: the request does not open with this device's key/);
		await client.publishAsync(requestTopic(reply.topicId!), Buffer.alloc(100), { qos: 1 });
		await refusal(6, /request refused: a request of 100 bytes/);
		assert.equal(log.filter((line) => /request refused/.test(line)).length, 6, "one line each");
		assert.deepEqual(wire, [], "nothing on the wire in answer");
	}
	finally {
		await client.endAsync(true);
		await device.powerOff();
		await broker.close();
	}
});
