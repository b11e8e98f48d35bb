/*
 * `doorward live`: the simulated device (its flash), the embedded broker, and
 * the phone watching the device's live view (docs/protocol/live.md): the
 * phone asks with a signed start request, checks the device's signed accept,
 * opens each sealed frame and writes it to --out. The frames are in clear
 * only there, on the phone's side.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { loadScene } from "../sim/scene.js";
import type { Scene } from "../sim/scene.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import type { DeviceStatus } from "../sim/world.js";
import { brokerFor } from "../phone/owner.js";
import type { Credentials } from "../sim/broker.js";
import { readLabel } from "../factory/label.js";
import { loadPhone } from "../phone/identity.js";
import type { PhoneIdentity } from "../phone/identity.js";
import { LiveFrameRefused, LiveSession } from "../phone/live.js";
import type { LiveSize, Message } from "../phone/live.js";
import { simulatorBuild } from "../build/firmware.js";
import { defaultScene, UsageError } from "../sim/run.js";

/** The simulated camera's rate for the live view: the scene's frames, faster (published ESP32-S3 QVGA figures are about 30 fps). */
export const liveFps = 15;
/** How long the phone waits for the device's accept: a refused request gets none. */
export const acceptTimeoutMs = 5000;

export interface FrameRecord {
	readonly frame?: string;
	readonly counter: number;
	readonly bytes: number;
	readonly latencyMs: number;
	readonly receivedAt: number;
}

export interface WatchResult {
	readonly accepted: boolean;
	readonly frames: FrameRecord[];
	readonly firstFrameMs: number | undefined;
	readonly fps: number;
	readonly refused: number;
	readonly end?: string;
	readonly session?: LiveSession;
}

export interface WatchOptions {
	readonly client: MqttClient;
	readonly phone: PhoneIdentity;
	readonly deviceId: string;
	readonly seconds: number;
	readonly size: LiveSize;
	/** Where frames are written; none: counted only. */
	readonly out?: string;
	readonly onFrame?: (record: FrameRecord) => void;
	/** Called with the session once its request is sent (a test may act on it). */
	readonly onSession?: (session: LiveSession) => void;
	/** Resolves early (the phone stops: its signed stop is sent). */
	readonly stop?: Promise<void>;
	readonly say?: (line: string) => void;
}

/** Asks for a live view and opens its frames until the device ends it, the phone stops, or the limit (and a grace) passes. */
export async function watchLive(options: WatchOptions): Promise<WatchResult> {
	const { client, phone } = options;
	const session = await LiveSession.start(phone, options.deviceId, options.seconds, options.size);
	const frames: FrameRecord[] = [];
	let end: string | undefined;
	let firstAt: number | undefined;
	let finish: () => void = () => {};
	const finished = new Promise<void>((resolve) => (finish = resolve));
	let accepted: () => void = () => {};
	const acceptance = new Promise<void>((resolve) => (accepted = resolve));
	if (options.out)
		mkdirSync(options.out, { recursive: true });
	const onMessage = (topic: string, payload: Buffer) => {
		if (topic !== session.topic)
			return;
		const receivedAt = Date.now();
		try {
			if (!session.accepted) {
				session.accept(payload);
				accepted();
				return;
			}
			const message: Message = session.open(payload);
			if (message.type === "end") {
				end = message.reason;
				finish();
				return;
			}
			firstAt ??= receivedAt;
			const file = options.out ? join(options.out, `frame-${String(message.counter).padStart(6, "0")}.jpg`) : undefined;
			if (file)
				writeFileSync(file, message.content);
			const record = { ...(file ? { frame: file } : {}), counter: message.counter, bytes: message.bytes, latencyMs: receivedAt - message.time, receivedAt };
			frames.push(record);
			options.onFrame?.(record);
		}
		catch (error) {
			if (!(error instanceof LiveFrameRefused))
				throw error;
			options.say?.(`phone: refused a live message: ${error.message}`);
		}
	};
	client.on("message", onMessage);
	try {
		// Subscribed before asking: the accept is the first message on the topic, at QoS 0.
		await client.subscribeAsync(session.topic, { qos: 0 });
		const requestedAt = Date.now();
		await client.publishAsync(session.requestTopic, session.sealedRequest, { qos: 1 });
		options.onSession?.(session);
		let timer: NodeJS.Timeout | undefined;
		const refusedAfter = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), acceptTimeoutMs)));
		const first = await Promise.race([acceptance.then(() => "accepted" as const), refusedAfter]);
		clearTimeout(timer);
		if (first === "timeout")
			return { accepted: false, frames, firstFrameMs: undefined, fps: 0, refused: session.refused };
		const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, session.seconds * 1000 + 3000)));
		const stopped = options.stop ? options.stop.then(async () => {
			await client.publishAsync(session.requestTopic, await session.stop(phone), { qos: 1 });
			// The device's end message follows; it is waited for like any end.
			await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 3000))]);
		}) : new Promise<void>(() => {});
		await Promise.race([finished, limit, stopped]);
		clearTimeout(timer);
		const span = frames.length > 1 ? (frames[frames.length - 1].receivedAt - frames[0].receivedAt) / 1000 : 0;
		return {
			accepted: true, frames, firstFrameMs: (firstAt !== undefined) ? firstAt - requestedAt : undefined,
			fps: span ? (frames.length - 1) / span : 0, refused: session.refused, ...(end ? { end } : {}), session,
		};
	}
	finally {
		client.off("message", onMessage);
		await client.unsubscribeAsync(session.topic).catch(() => undefined);
		session.close();
	}
}

export interface LiveOptions {
	phone: string;
	flash: string;
	seconds: number;
	size: LiveSize;
	out: string;
	json: boolean;
	say: (line: string) => void;
	print: (line: string) => void;
}

/** A device online on a broker, for the live view: the CLI's and the benchmark's. */
export async function bootDevice(flashPath: string, broker: { port: number; device: Credentials }, scene: Scene, say: (line: string) => void): Promise<SimulatedDevice> {
	const device = new SimulatedDevice({
		build: simulatorBuild(),
		flashPath,
		secretPath: deviceSecretFor(flashPath),
		configuration: { ...scene.device, broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "doorward-sim", hardwareRevision: "sim" },
		// VGA is asked of the sensor: the world's camera gives the scene at that size.
		scaleToCamera: true,
		onLog: (line) => say(`device | ${line}`),
	});
	device.setScene(scene);
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new UsageError("the device did not come online within 30 s")), 30000);
		device.on("status", (status: DeviceStatus) => {
			if (status.state === "online") {
				clearTimeout(timer);
				resolve();
			}
		});
		device.once("exit", (code: number | null) => {
			clearTimeout(timer);
			reject(new UsageError(`the device stopped (exit ${code})`));
		});
	});
	// The device's clock is set by the world's SNTP answer at boot; a request is judged against it.
	return device;
}

export function liveScene(): Scene {
	return { ...loadScene(defaultScene), fps: liveFps, timeline: [] };
}

export async function runLive(options: LiveOptions): Promise<number> {
	const phoneFile = resolve(options.phone);
	const phone = loadPhone(phoneFile);
	const flashPath = resolve(options.flash);
	const label = readLabel(flashPath);
	if (!label)
		throw new UsageError(`--flash ${options.flash}: no such simulated device (doorward label --flash makes one; pair a phone with it first)`);
	if (!phone.devices[label.deviceId])
		throw new UsageError(`the phone ${phone.name} is not paired with device ${label.deviceId}`);
	// The device keeps the broker it was first configured with: its port and credentials are kept beside its flash (FILE.broker.json).
	const broker = await brokerFor(flashPath);
	let device: SimulatedDevice | undefined;
	let client: MqttClient | undefined;
	// The device's log is the simulator's to read, not the phone's: kept, and quoted only to say why a request was refused.
	const deviceLog: string[] = [];
	const interrupted = new Promise<void>((resolve) => {
		process.once("SIGINT", () => resolve());
	});
	try {
		device = await bootDevice(flashPath, broker, liveScene(), (line) => deviceLog.push(line));
		client = await mqtt.connectAsync(broker.url, { ...broker.phone, reconnectPeriod: 0 });
		const result = await watchLive({
			client, phone, deviceId: label.deviceId, seconds: options.seconds, size: options.size, out: resolve(options.out), stop: interrupted, say: options.say,
			onFrame: (record) => {
				if (options.json)
					options.print(JSON.stringify({ frame: record.frame, counter: record.counter, bytes: record.bytes, latencyMs: record.latencyMs }));
			},
		});
		if (!result.accepted) {
			const refusal = deviceLog.map((line) => /request refused \(kind 16\)[^:]*: (.*)$/.exec(line)?.[1]).find((reason) => reason);
			options.say(`doorward: device ${label.deviceId} did not answer the live view request: ${refusal ? `its log says ${refusal}` : "no reason in its log"}`);
			return 1;
		}
		const fps = Math.round(result.fps * 10) / 10;
		if (options.json)
			options.print(JSON.stringify({ frames: result.frames.length, fps, firstFrameMs: result.firstFrameMs ?? null }));
		else
			options.say(`phone: ${result.frames.length} frames at ${fps} fps, the first ${result.firstFrameMs} ms after the request; ended: ${result.end ?? "no end message"} -> ${resolve(options.out)}`);
		return 0;
	}
	finally {
		await client?.endAsync(true);
		await device?.powerOff();
		await broker.close();
	}
}
