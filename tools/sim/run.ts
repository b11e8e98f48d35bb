/*
 * `doorward sim`: a doorbell in the simulator host, a broker, a phone, and a
 * scene played in front of the camera.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadScene } from "./scene.js";
import { SimulatedDevice, deviceSecretFor, playTimeline } from "./world.js";
import { createPhone, loadPhone, rememberDevice, savePhone } from "../phone/identity.js";
import type { PhoneIdentity } from "../phone/identity.js";
import { SimulatedPhone } from "./phone.js";
import type { ReceivedEvent } from "./phone.js";
import { startEmbeddedBroker } from "./broker.js";
import type { Credentials, EmbeddedBroker } from "./broker.js";
import { simulatorBuild, projectRoot } from "../build/firmware.js";

export interface SimOptions {
	scene: string;
	events?: number;
	broker?: string;
	json: boolean;
	out: string;
	flash?: string;
	/** A phone identity file (doorward phone keygen); a new phone each run without it. */
	phone?: string;
	timeoutSeconds: number;
	/** Where human-readable progress goes (stderr). */
	say: (line: string) => void;
	/** Where --json lines go (stdout). */
	print: (line: string) => void;
}

export class UsageError extends Error {}

export const defaultScene = join(projectRoot, "tools", "scenes", "default");

function parseBroker(url: string): { address: string; port: number; credentials?: Credentials } {
	let parsed: URL;
	try {
		parsed = new URL(url);
	}
	catch {
		throw new UsageError(`--broker ${url}: not a URL (expected mqtt://HOST:PORT)`);
	}
	if ((parsed.protocol !== "mqtt:") || !parsed.hostname)
		throw new UsageError(`--broker ${url}: expected mqtt://HOST:PORT (TLS arrives with the MQTT issue)`);
	const port = parsed.port ? Number(parsed.port) : 1883;
	const credentials = parsed.username ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) } : undefined;
	return { address: parsed.hostname.replace(/^\[|\]$/g, ""), port, ...(credentials ? { credentials } : {}) };
}

export async function runSim(options: SimOptions): Promise<number> {
	const scene = loadScene(options.scene);
	const build = simulatorBuild();
	if (!existsSync(build.host) || !existsSync(build.moduleMap))
		throw new UsageError(`${build.host}: the simulator host is not built; run \`npm install\``);
	const out = resolve(options.out);
	mkdirSync(out, { recursive: true });
	const flashPath = resolve(options.flash ?? join(out, "flash.bin"));
	if (!options.flash)
		rmSync(flashPath, { force: true }); // a new device every run unless --flash keeps one

	const phoneFile = options.phone ? resolve(options.phone) : join(out, "phone.json");
	const identity: PhoneIdentity = options.phone ? loadPhone(phoneFile) : createPhone("simulated phone");
	if (!options.phone)
		savePhone(phoneFile, identity);

	let broker: EmbeddedBroker | undefined;
	let target: { address: string; port: number; url: string; device?: Credentials; phone?: Credentials };
	if (options.broker) {
		const parsed = parseBroker(options.broker);
		const url = `mqtt://${parsed.address.includes(":") ? `[${parsed.address}]` : parsed.address}:${parsed.port}`;
		target = { address: parsed.address, port: parsed.port, url, ...(parsed.credentials ? { device: parsed.credentials, phone: parsed.credentials } : {}) };
	}
	else {
		broker = await startEmbeddedBroker();
		target = { address: "127.0.0.1", port: broker.port, url: broker.url, device: broker.device, phone: broker.phone };
		options.say(`broker: embedded aedes on ${broker.url}`);
	}

	let phone: SimulatedPhone;
	try {
		phone = await SimulatedPhone.connect({
			url: target.url,
			identity,
			...(target.phone ? { credentials: target.phone } : {}),
			outDir: join(out, "phone"),
			onEvent: (event) => received(event),
			onWarning: (message) => options.say(message),
		});
	}
	catch (error) {
		await broker?.close();
		const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
		throw new UsageError(`cannot reach broker ${target.url}: ${reason}`);
	}

	const device = new SimulatedDevice({
		build,
		flashPath,
		secretPath: deviceSecretFor(flashPath),
		configuration: {
			broker: { address: target.address, port: target.port, ...(target.device ?? {}) },
			model: "doorward-sim",
			hardwareRevision: "sim",
		},
		onLog: (line) => options.say(`device | ${line}`),
	});
	device.setScene(scene);
	device.on("warning", (message: string) => options.say(`world: ${message}`));

	let count = 0;
	let stopTimeline: (() => void) | undefined;
	let finish: (code: number) => void = () => {};
	const done = new Promise<number>((resolve) => { finish = resolve; });

	function received(event: ReceivedEvent): void {
		count++;
		if (options.json)
			options.print(JSON.stringify({ topic: event.topic, bytes: event.bytes, eventId: event.eventId, kind: event.kind, seq: event.seq, time: event.time, deviceId: event.deviceId, frames: event.frames, envelope: event.envelope }));
		else
			options.say(`phone: ${event.kind} event ${event.eventId} (seq ${event.seq}, ${event.frames.length} frames, ${event.bytes} bytes) -> ${event.frames.length ? event.frames[0].replace(/frame-000\.jpg$/, "") : event.envelope}`);
		if (options.events && (count >= options.events))
			finish(0);
	}

	let pairing: Promise<void> | undefined;
	device.on("status", (status) => {
		// The owner pairs the phone as soon as the device is up (it is idempotent).
		if (!pairing && (status.state !== "booting")) {
			pairing = device.pair(identity.x25519PublicKey, identity.name).then((reply) => {
				const fingerprint = rememberDevice(identity, reply);
				savePhone(phoneFile, identity);
				options.say(`world: phone paired with device ${reply.deviceId}, fingerprint ${fingerprint}`);
			}, (error: Error) => {
				options.say(`world: pairing failed: ${error.message}`);
				finish(1);
			});
		}
		if ((status.state === "online") && !stopTimeline) {
			options.say(`world: device online; playing ${scene.file}`);
			stopTimeline = playTimeline(device, scene);
		}
	});
	device.on("exit", (code: number | null, signal: string | null) => {
		options.say(`world: device stopped (${signal ?? `exit ${code}`})`);
		finish(1);
	});
	const timeout = options.events ? setTimeout(() => {
		options.say(`timed out after ${options.timeoutSeconds} s: ${count} of ${options.events} events reached the phone`);
		finish(1);
	}, options.timeoutSeconds * 1000) : undefined;
	const interrupt = () => finish(130);
	process.once("SIGINT", interrupt);
	process.once("SIGTERM", interrupt);

	const code = await done;
	clearTimeout(timeout);
	process.off("SIGINT", interrupt);
	process.off("SIGTERM", interrupt);
	stopTimeline?.();
	device.removeAllListeners("exit");
	await device.powerOff();
	await phone.close();
	await broker?.close();
	if (phone.duplicates)
		options.say(`phone: ${phone.duplicates} duplicate deliveries dropped`);
	return code;
}
