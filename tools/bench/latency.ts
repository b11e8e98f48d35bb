/*
 * `npm run bench:latency [-- --rings N] [--interval MS] [--no-detection]`:
 * how long a ring takes to reach the owner's phone in the simulator, from
 * the press to the notification verified and decrypted, and where the time
 * goes. A benchmark, not a test: it asserts nothing, it prints.
 *
 * One simulated device (the firmware in the simulator host, the default
 * scene in front of its camera, detection on unless --no-detection), the
 * embedded broker and one phone, all on this machine and so on one clock.
 * The world presses the button N times after the camera's pre-roll has
 * filled: by default each press when the device is at rest (the last ring's
 * clip recorded, examined and published, then 1 to 2 s more), as a doorbell
 * mostly is; with --interval, MS apart whatever the device is doing, so that
 * presses can land while the detect stage runs an inference (the model runs
 * off the XS thread, so the press need not wait for it; a clip's detection
 * starts when its frames are in, 4 s after its press by default, so 4100
 * lands each press in the previous clip's detection). Each notification's path is split into
 *
 *   press (the world)  -> handled (the device's triggeredAt, sealed inside)
 *   -> sealed (device log) -> stored on flash (device log)
 *   -> handed to the socket (device log) -> at the broker (aedes "publish")
 *   -> opened: verified and decrypted by the phone (tools/sim/phone.ts)
 *
 * Medians with the spread (min, 90th percentile, max). The rings' clips and
 * the detection behind them keep running meanwhile, as in use. The
 * reference, in the same run: the same number of bytes through the same
 * broker between two Node MQTT clients, so that press -> phone is also given
 * as a ratio to the broker's own path.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { startEmbeddedBroker } from "../sim/broker.js";
import { SimulatedPhone } from "../sim/phone.js";
import type { ReceivedEvent } from "../sim/phone.js";
import { loadScene } from "../sim/scene.js";
import { defaultScene } from "../sim/run.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import type { DeviceStatus } from "../sim/world.js";
import { simulatorBuild } from "../build/firmware.js";
import { createPhone, rememberDevice } from "../phone/identity.js";
import { labelOf } from "../factory/label.js";

const { values } = parseArgs({
	options: {
		rings: { type: "string", default: "20" },
		interval: { type: "string" },
		"no-detection": { type: "boolean", default: false },
	},
});
const rings = Number(values.rings);
const interval = (values.interval === undefined) ? undefined : Number(values.interval);
if (!Number.isInteger(rings) || (rings < 1) || ((interval !== undefined) && (!Number.isInteger(interval) || (interval < 600)))) {
	console.error("bench:latency: --rings is a whole number >= 1 and --interval a whole number of ms >= 600 (the ring debounce is 500 ms)");
	process.exit(2);
}

interface Times {
	press?: number;
	handled?: number;
	sealed?: number;
	stored?: number;
	sent?: number;
	broker?: number;
	opened?: number;
}

const stages: readonly [string, keyof Times, keyof Times][] = [
	["press -> handled by the firmware", "press", "handled"],
	["handled -> notification sealed", "handled", "sealed"],
	["sealed -> stored on flash", "sealed", "stored"],
	["stored -> handed to the socket (published)", "stored", "sent"],
	["published -> at the broker", "sent", "broker"],
	["at the broker -> phone verified and decrypted", "broker", "opened"],
	["**press -> phone verified and decrypted**", "press", "opened"],
];

function quantile(sorted: readonly number[], q: number): number {
	return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
}

function wait(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until<T>(what: string, check: () => T | undefined, ms: number): Promise<T> {
	const end = Date.now() + ms;
	for (;;) {
		const value = check();
		if (value !== undefined)
			return value;
		if (Date.now() > end)
			throw new Error(`bench:latency: timed out waiting for ${what}`);
		await wait(20);
	}
}

/**
 * The broker's own path, for reference: `count` PUBLISHes of `bytes` random
 * bytes at QoS 1 from a client with the device's credentials to one with the
 * phone's, on an event topic of no device, one at a time; ms each, publish to
 * receipt.
 */
async function brokerRoundTrips(broker: Awaited<ReturnType<typeof startEmbeddedBroker>>, bytes: number, count: number): Promise<number[]> {
	const topic = `dw/${"0".repeat(32)}/ev`;
	const publisher = await mqtt.connectAsync(broker.url, { ...broker.device, clientId: `latency-ref-pub-${randomBytes(4).toString("hex")}`, reconnectPeriod: 0 });
	const subscriber = await mqtt.connectAsync(broker.url, { ...broker.phone, clientId: `latency-ref-sub-${randomBytes(4).toString("hex")}`, reconnectPeriod: 0 });
	try {
		await subscriber.subscribeAsync(topic, { qos: 1 });
		const times: number[] = [];
		for (let i = 0; i < count; i++) {
			const payload = randomBytes(bytes);
			const received = new Promise<number>((resolve) => subscriber.once("message", () => resolve(performance.now())));
			const started = performance.now();
			await publisher.publishAsync(topic, payload, { qos: 1 });
			times.push((await received) - started);
		}
		return times;
	}
	finally {
		await publisher.endAsync(true);
		await subscriber.endAsync(true);
	}
}

async function main(): Promise<void> {
	const folder = mkdtempSync(join(tmpdir(), "doorward-latency-"));
	const byEvent = new Map<string, Times>();
	const timesOf = (eventId: string) => {
		let times = byEvent.get(eventId);
		if (!times) {
			times = {};
			byEvent.set(eventId, times);
		}
		return times;
	};
	let reference: number[] = [];
	const broker = await startEmbeddedBroker(undefined, (topic, payload) => {
		if (/^dw\/[0-9a-f]{32}\/ev$/.test(topic) && (payload.length >= 40))
			timesOf(payload.subarray(24, 40).toString("hex")).broker ??= Date.now();
	});
	const identity = createPhone("latency phone");
	const notifications: ReceivedEvent[] = [];
	const clips: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({
		url: broker.url, identity, credentials: broker.phone, outDir: join(folder, "phone"),
		onEvent: (event) => {
			if (event.metadata.notification === true)
				notifications.push(event);
			else if (typeof event.metadata.follows === "string")
				clips.push(event);
		},
		onWarning: () => {},
	});
	const flash = join(folder, "flash.bin");
	const statuses: DeviceStatus[] = [];
	const device = new SimulatedDevice({
		build: simulatorBuild(), flashPath: flash, secretPath: deviceSecretFor(flash),
		configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "latency", faceDetection: !values["no-detection"] },
		onLog: (line) => {
			const sealed = /event ([0-9a-f]{32}) seq \d+: notification.*\(sealed at (\d+), stored at (\d+)\)/.exec(line);
			if (sealed) {
				const times = timesOf(sealed[1]);
				times.sealed = Number(sealed[2]);
				times.stored = Number(sealed[3]);
			}
			const sent = /sent ring event ([0-9a-f]{32}) \(handed to the socket at (\d+)\)/.exec(line);
			if (sent)
				timesOf(sent[1]).sent ??= Number(sent[2]);
		},
	});
	device.setScene(loadScene(defaultScene));
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await until("the device to boot", () => statuses.find((status) => status.state !== "booting"), 60000);
		rememberDevice(identity, await device.pair(identity, await labelOf(device, flash)));
		await until("the device to come online", () => statuses.find((status) => status.state === "online"), 60000);
		// The device set its clock from the world's SNTP answer while it booted, when a busy host can
		// take hundreds of ms to read it: answer again at rest, so its clock runs within a few ms of
		// ours and each notification's triggeredAt finds its own press (world.ts triggerTime).
		device.setClock(Date.now());
		await wait(3000); // the pre-roll fills (2 s at 5 fps by default)
		for (let ring = 0; ring < rings; ring++) {
			device.press();
			if (interval !== undefined)
				await wait(interval);
			else {
				// At rest: this ring's clip is at the phone (so recorded, examined and sent), then 1 to 2 s.
				await until(`the clip of ring ${ring + 1}`, () => (clips.length > ring ? true : undefined), 180000);
				await wait(1000 + Math.floor(Math.random() * 1000));
			}
		}
		await until(`${rings} notifications at the phone`, () => (notifications.length >= rings ? true : undefined), 60000);
		reference = await brokerRoundTrips(broker, notifications[0]?.bytes ?? 16189, rings);
	}
	finally {
		await device.powerOff();
		await phone.close();
		await broker.close();
		rmSync(folder, { recursive: true, force: true });
	}

	for (const event of notifications) {
		const times = timesOf(event.eventId);
		times.opened = event.openedAt;
		times.handled = Number(event.metadata.triggeredAt);
		times.press = device.triggerTime("ring", times.handled);
	}
	const date = new Date().toISOString().slice(0, 10);
	const lines = [
		`Press to phone in the simulator (${date}): ${rings} rings ${interval === undefined ? "each at rest (the last ring's clip published, then 1-2 s)" : `${interval} ms apart (clips recorded and examined meanwhile)`}, the default scene, default configuration, face detection ${values["no-detection"] ? "off" : "on"}; one machine, one clock; ms.`,
		"",
		"| stage | median | min | p90 | max |",
		"| --- | --- | --- | --- | --- |",
	];
	for (const [name, from, to] of stages) {
		const deltas = notifications.map((event) => {
			const times = timesOf(event.eventId);
			return ((times[from] !== undefined) && (times[to] !== undefined)) ? times[to]! - times[from]! : undefined;
		}).filter((delta): delta is number => delta !== undefined).sort((a, b) => a - b);
		if (!deltas.length) {
			lines.push(`| ${name} | - | - | - | - |`);
			continue;
		}
		lines.push(`| ${name} | ${quantile(deltas, 0.5)} | ${deltas[0]} | ${quantile(deltas, 0.9)} | ${deltas[deltas.length - 1]} |`);
	}
	const snapshots = notifications.filter((event) => event.snapshot).length;
	lines.push("", `${notifications.length} notifications opened, ${snapshots} with a snapshot; envelope ${notifications[0]?.bytes ?? 0} bytes each.`);
	const whole = notifications.map((event) => timesOf(event.eventId)).filter((times) => (times.press !== undefined) && (times.opened !== undefined))
		.map((times) => times.opened! - times.press!).sort((a, b) => a - b);
	if (reference.length && whole.length) {
		const sorted = [...reference].sort((a, b) => a - b);
		const median = quantile(sorted, 0.5);
		lines.push(`Reference, the same run: the same number of bytes published at QoS 1 by a Node MQTT client through the same broker to a Node subscriber, ${sorted.length} times: median ${median.toFixed(1)} ms (${sorted[0].toFixed(1)} to ${sorted[sorted.length - 1].toFixed(1)}, p90 ${quantile(sorted, 0.9).toFixed(1)}). Press -> phone is ${(quantile(whole, 0.5) / Math.max(median, 0.1)).toFixed(1)}x that (median against median): what the device and the phone add to the broker's own path.`);
	}
	console.log(lines.join("\n"));
}

main().catch((error: Error) => {
	console.error(error.message);
	process.exit(1);
});
