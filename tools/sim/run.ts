/*
 * `doorward sim`: a doorbell in the simulator host, a broker, a phone, and a
 * scene played in front of the camera.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadScene } from "./scene.js";
import { labelFile, labelOf } from "../factory/label.js";
import { SimulatedDevice, deviceSecretFor, playTimeline } from "./world.js";
import { createPhone, loadPhone, rememberDevice, savePhone } from "../phone/identity.js";
import type { PhoneIdentity } from "../phone/identity.js";
import { SimulatedPhone } from "./phone.js";
import type { ReceivedEvent } from "./phone.js";
import { startEmbeddedBroker } from "./broker.js";
import type { Credentials, EmbeddedBroker } from "./broker.js";
import { simulatorBuild, projectRoot } from "../build/firmware.js";
import { brokerFor } from "../phone/owner.js";

export interface SimOptions {
	scene: string;
	events?: number;
	broker?: string;
	json: boolean;
	out: string;
	flash?: string;
	/** A phone identity file (doorward phone keygen); a new phone each run without it. */
	phone?: string;
	/**
	 * For an mqtts:// broker: PEM files of the broker's CA and of the phone's
	 * certificate and key; and, for a device the factory has not provisioned,
	 * its certificate and key (a provisioned device has its own, made on it).
	 */
	tls?: { ca: string; cert?: string; key?: string; phoneCert: string; phoneKey: string };
	timeoutSeconds: number;
	/** Where human-readable progress goes (stderr). */
	say: (line: string) => void;
	/** Where --json lines go (stdout). */
	print: (line: string) => void;
}

export class UsageError extends Error {}

export const defaultScene = join(projectRoot, "tools", "scenes", "default");

function parseBroker(url: string): { address: string; port: number; secure: boolean; credentials?: Credentials } {
	let parsed: URL;
	try {
		parsed = new URL(url);
	}
	catch {
		throw new UsageError(`--broker ${url}: not a URL (expected mqtt://HOST:PORT)`);
	}
	if (((parsed.protocol !== "mqtt:") && (parsed.protocol !== "mqtts:")) || !parsed.hostname)
		throw new UsageError(`--broker ${url}: expected mqtt://HOST:PORT or mqtts://HOST:PORT`);
	const secure = parsed.protocol === "mqtts:";
	const port = parsed.port ? Number(parsed.port) : (secure ? 8883 : 1883);
	const credentials = parsed.username ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) } : undefined;
	return { address: parsed.hostname.replace(/^\[|\]$/g, ""), port, secure, ...(credentials ? { credentials } : {}) };
}

/** The sealed face results, as the phone reads them, in a few words. */
function describeFaces(report: unknown): string {
	const faces = report as { status?: string; faces?: unknown[]; reason?: string } | undefined;
	if (!faces?.status)
		return "no face data";
	if (faces.status === "unavailable")
		return `face data unavailable (${faces.reason})`;
	return `${faces.faces?.length ?? 0} faces`;
}

export async function runSim(options: SimOptions): Promise<number> {
	const scene = loadScene(options.scene);
	const build = simulatorBuild();
	if (!existsSync(build.host) || !existsSync(build.moduleMap))
		throw new UsageError(`${build.host}: the simulator host is not built; run \`npm install\``);
	const out = resolve(options.out);
	mkdirSync(out, { recursive: true });
	const flashPath = resolve(options.flash ?? join(out, "flash.bin"));
	if (!options.flash) {
		// A new device every run unless --flash keeps one: its flash and the label printed for it go together.
		rmSync(flashPath, { force: true });
		rmSync(labelFile(flashPath), { force: true });
	}

	const phoneFile = options.phone ? resolve(options.phone) : join(out, "phone.json");
	const identity: PhoneIdentity = options.phone ? loadPhone(phoneFile) : createPhone("simulated phone");
	if (!options.phone)
		savePhone(phoneFile, identity);

	let broker: EmbeddedBroker | undefined;
	let target: { address: string; port: number; url: string; device?: Credentials; phone?: Credentials };
	let deviceTls: Record<string, string> | undefined;
	let phoneTls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
	if (options.broker) {
		const parsed = parseBroker(options.broker);
		const url = `${parsed.secure ? "mqtts" : "mqtt"}://${parsed.address.includes(":") ? `[${parsed.address}]` : parsed.address}:${parsed.port}`;
		target = { address: parsed.address, port: parsed.port, url, ...(parsed.credentials ? { device: parsed.credentials, phone: parsed.credentials } : {}) };
		if (parsed.secure) {
			const tls = options.tls;
			if (!tls)
				throw new UsageError(`--broker ${options.broker}: mqtts needs --ca, --phone-cert and --phone-key (and --cert, --key for a device the factory has not provisioned)`);
			const read = (file: string, what: string) => {
				try {
					return readFileSync(file);
				}
				catch (error) {
					throw new UsageError(`${what} ${file}: cannot read (${(error as NodeJS.ErrnoException).code})`);
				}
			};
			const ca = read(tls.ca, "--ca");
			if ((tls.cert === undefined) !== (tls.key === undefined))
				throw new UsageError("--cert and --key go together");
			deviceTls = {
				ca: ca.toString("utf8"), serverName: parsed.address,
				...(tls.cert && tls.key ? { certificate: read(tls.cert, "--cert").toString("utf8"), key: read(tls.key, "--key").toString("utf8") } : {}),
			};
			phoneTls = { ca, cert: read(tls.phoneCert, "--phone-cert"), key: read(tls.phoneKey, "--phone-key") };
		}
	}
	else {
		// A kept device keeps the configuration it was first given: its broker comes back on the same port (FILE.broker.json).
		broker = options.flash ? await brokerFor(flashPath) : await startEmbeddedBroker();
		target = { address: "127.0.0.1", port: broker.port, url: broker.url, device: broker.device, phone: broker.phone };
		options.say(`broker: embedded aedes on ${broker.url}`);
	}

	let phone: SimulatedPhone;
	try {
		phone = await SimulatedPhone.connect({
			url: target.url,
			identity,
			file: phoneFile,
			// The embedded broker lets the phone read every event topic; a deployed one only its devices'.
			topics: options.broker ? "paired" : "all",
			...(phoneTls ? { tls: phoneTls } : {}),
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
			...scene.device,
			broker: { address: target.address, port: target.port, ...(target.device ?? {}), ...(deviceTls ? { tls: deviceTls } : {}) },
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
		const { metadata } = event;
		const triggeredAt = metadata.triggeredAt;
		const pressedAt = (typeof triggeredAt === "number") ? device.triggerTime(event.kind, triggeredAt) : undefined;
		const notification = metadata.notification === true;
		const follows = (typeof metadata.follows === "string") ? metadata.follows : undefined;
		if (options.json)
			options.print(JSON.stringify({
				topic: event.topic, bytes: event.bytes, eventId: event.eventId, kind: event.kind, seq: event.seq, time: event.time, deviceId: event.deviceId,
				frames: event.frames, envelope: event.envelope, faces: metadata.faces, ...(event.thumbnail ? { thumbnail: event.thumbnail } : {}),
				...(pressedAt !== undefined ? { pressedAt } : {}), openedAt: event.openedAt, notification, ...(follows ? { follows } : {}),
				...(event.snapshot ? { snapshot: event.snapshot } : {}), ...(notification && !event.snapshot ? { snapshotError: String(metadata.snapshotError) } : {}),
			}));
		else if (notification)
			options.say(`phone: ring notification ${event.eventId} (seq ${event.seq}, ${event.snapshot ? "a snapshot" : `no snapshot: ${String(metadata.snapshotError)}`}${pressedAt !== undefined ? `, ${event.openedAt - pressedAt} ms after the press` : ""}) -> ${event.snapshot ?? event.envelope}`);
		else
			options.say(`phone: ${event.kind} event ${event.eventId} (seq ${event.seq}, ${event.frames.length} frames, ${describeFaces(metadata.faces)}, ${event.bytes} bytes${follows ? `, the clip of ${follows}` : ""}) -> ${event.frames.length ? event.frames[0].replace(/frame-000\.jpg$/, "") : event.envelope}`);
		if (options.events && (count >= options.events))
			finish(0);
	}

	let pairing: Promise<void> | undefined;
	device.on("status", (status) => {
		// The owner onboards the phone with the label's code as soon as the device is up; a phone that already has the device does not again.
		if (!pairing && (status.state !== "booting")) {
			pairing = labelOf(device, flashPath).then(async (label) => {
				const known = identity.devices[label.deviceId];
				if (known && (known.fingerprint === label.fingerprint)) {
					if (known.topicId)
						await phone.follow(known.topicId);
					options.say(`world: phone already paired with device ${label.deviceId}, fingerprint ${known.fingerprint}`);
					return;
				}
				const reply = await device.pair(identity, label);
				const fingerprint = rememberDevice(identity, reply, label.fingerprint);
				savePhone(phoneFile, identity);
				if (reply.topicId)
					await phone.follow(reply.topicId);
				options.say(`world: phone paired with device ${reply.deviceId}, fingerprint ${fingerprint}`);
			}).catch((error: Error) => {
				// The device's refusal, or the phone's (keys that differ from the ones it paired with): one line.
				options.say(`world: pairing failed: ${error.message}`);
				finish(1);
			});
		}
		if ((status.state === "online") && !stopTimeline) {
			// The network's SNTP answers again before the scene plays: the answer the device read while it
			// booted can come hundreds of ms late on a loaded machine, and its clock would run that far behind
			// the world's, past what triggerTime matches (as bench:latency does at rest).
			device.setClock(Date.now());
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
