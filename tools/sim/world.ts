/*
 * The world around a simulated doorbell: it powers the device (the simulator
 * host running the firmware), plays the factory station when the device asks
 * to be provisioned, answers the device's SNTP request with the time (its
 * clock starts at 1970 at power-up, as the device's does: hardware/clock/sim),
 * streams the scene into the camera while the firmware has it on, and
 * presses the button or trips the PIR as the scene's timeline says.
 *
 * The bridge is the host's descriptor 3 (see hardware/sim/bridge/bridge.c):
 * u32 big-endian length, u8 type, payload.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { ToDevice, ToWorld } from "../../hardware/sim/bridge/messages.js";
import jpeg from "jpeg-js";
import type { Scene, SceneFrame } from "./scene.js";
import { BridgeLink } from "./bridge.js";
import type { PairingReply, PhoneIdentity } from "../phone/identity.js";
import { ensureSigningKey } from "../phone/identity.js";
import { onboard } from "../phone/onboarding.js";
import type { PhoneLink } from "../phone/onboarding.js";
import type { SimulatorBuild } from "../build/firmware.js";

export interface DeviceStatus {
	readonly state: string;
	readonly [key: string]: unknown;
}

export interface DeviceOptions {
	build: SimulatorBuild;
	flashPath: string;
	/** The per-device secret standing in for the eFuse key (see hardware/keystore/sim). */
	secretPath: string;
	/** The configuration the factory station sends when asked; without it, nobody answers. */
	configuration?: Record<string, unknown>;
	/** Lines the firmware writes (its log), without the newline. */
	onLog?: (line: string) => void;
	/** Extra environment for the first power-up only (DOORWARD_FLASH_CUT_AFTER). */
	env?: Record<string, string>;
	/** Extra environment for each power-up after a reset. */
	restartEnv?: Record<string, string>;
	/** How long an image on trial has to confirm itself before the host resets it. */
	trialTimeoutMs?: number;
	/** The Wi-Fi networks around the device (SSID and passphrase); none means no network is in range. */
	wifi?: readonly { ssid: string; passphrase: string }[];
	/**
	 * The world's SNTP server: the time it answers the device's request with
	 * (default: this computer's clock), or false for a network without one,
	 * where the device's clock stays near 1970 until setClock().
	 */
	sntp?: (() => number) | false;
	/**
	 * The camera's frames at the size the firmware asks the sensor for, the
	 * scene's scaled when it differs (the live view's VGA, live/service).
	 * Without it, the scene's frames go as they are, whatever was asked.
	 */
	scaleToCamera?: boolean;
	/** Another main module from the test module map (tools/xs), wrapping the firmware's: for tools such as the soak. */
	toolMain?: string;
}

/** The host's exit code for a device reset: the world powers it up again. */
export const resetExitCode = 75;
/** How far the device's SNTP-set clock may run behind this process's (see triggerTime). */
const clockSkewMs = 250;

export interface UpdateReport {
	readonly outcome: string;
	readonly [key: string]: unknown;
}

/** A simulated device: its process, its bridge and its peripherals. */
export class SimulatedDevice extends EventEmitter {
	#process: ChildProcess;
	#bridge!: BridgeLink;
	#options: DeviceOptions;
	#scene: Scene | undefined;
	#camera: { timer: NodeJS.Timeout; next: number } | undefined;
	/** Whether the firmware has the camera on: it runs all the time with a pre-roll, before there is a scene too. */
	#cameraOn = false;
	/** The size the firmware asked its sensor for (the Camera message). */
	#cameraSize = { width: 0, height: 0 };
	/** Scene frames scaled to the camera's size, made once each (scaleToCamera). */
	#scaled = new Map<string, SceneFrame>();
	#exited: Promise<number | null>;
	#poweredOff = false;
	#link: { notify(fragment: Uint8Array): void; closed(): void } | undefined;
	#connections = 0;
	#linkHandle = -1;
	framesSent = 0;
	/** How many phones the device's status indicator says are watching its live view. */
	watching = 0;
	/** The world's wall clock (ms) at each press and PIR trigger, oldest first: the --json `pressedAt`. */
	readonly triggers: { readonly kind: "ring" | "motion"; readonly at: number }[] = [];
	/** Resets so far (restarts into an update, rollbacks). */
	resets = 0;

	constructor(options: DeviceOptions) {
		super();
		this.#options = options;
		let exited: (code: number | null) => void = () => {};
		this.#exited = new Promise((resolve) => (exited = resolve));
		this.#process = this.#start(options.env, exited);
	}

	/** Powers the host up; a reset (exit 75, as the firmware's restart or the trial watchdog) powers it up again. */
	#start(env: Record<string, string> | undefined, exited: (code: number | null) => void): ChildProcess {
		const options = this.#options;
		const { build } = options;
		const command = [
			build.host, "--modules", options.toolMain ? build.testModuleMap : build.moduleMap, "--main", options.toolMain ?? "main", "--bridge", "3",
			"--flash", options.flashPath, "--partitions", build.partitions,
			"--device-secret", options.secretPath, "--resources", build.resources,
		];
		// For debugging the host: DOORWARD_HOST_WRAPPER="valgrind -q" (or "gdb -batch -ex run -ex bt --args").
		const wrapper = process.env.DOORWARD_HOST_WRAPPER?.split(" ").filter(Boolean) ?? [];
		command.unshift(...wrapper);
		const child = spawn(command[0], command.slice(1), { stdio: ["ignore", "inherit", "pipe", "pipe"], env: { ...process.env, ...(options.trialTimeoutMs ? { DOORWARD_TRIAL_TIMEOUT_MS: String(options.trialTimeoutMs) } : {}), ...env } });
		this.#process = child;
		this.#bridge = new BridgeLink(child.stdio[3] as Duplex, (type, payload) => this.#handle(type, payload));
		let pending = "";
		child.stderr!.setEncoding("utf8");
		child.stderr!.on("data", (text: string) => {
			pending += text;
			let newline: number;
			while ((newline = pending.indexOf("\n")) >= 0) {
				options.onLog?.(pending.slice(0, newline));
				pending = pending.slice(newline + 1);
			}
		});
		child.on("exit", (code, signal) => {
			this.#cameraOn = false;
			this.#stopCamera();
			if (pending)
				options.onLog?.(pending);
			if ((code === resetExitCode) && !this.#poweredOff) {
				this.resets++;
				this.emit("reset");
				this.#start(options.restartEnv, exited);
				return;
			}
			exited(code ?? (signal ? 128 : null));
			this.emit("exit", code, signal);
		});
		return child;
	}

	get exited(): Promise<number | null> {
		return this.#exited;
	}

	/** The scene the camera sees from now on (at once, if the firmware has the camera on). */
	setScene(scene: Scene): void {
		this.#scene = scene;
		if (this.#cameraOn) {
			this.#stopCamera();
			this.#startCamera();
		}
	}

	press(): void {
		this.#remember("ring");
		this.#send(ToDevice.Button, Buffer.of(1));
		this.#send(ToDevice.Button, Buffer.of(0));
	}

	/**
	 * Holds the button down for `ms`, then releases it: the device's own timer
	 * decides whether that was its 10-second hold (a factory reset). It also
	 * rings, at the press, as any press does.
	 */
	async hold(ms: number): Promise<void> {
		this.#send(ToDevice.Button, Buffer.of(1));
		await new Promise((resolve) => setTimeout(resolve, ms));
		this.#send(ToDevice.Button, Buffer.of(0));
	}

	motion(): void {
		this.#remember("motion");
		this.#send(ToDevice.Motion, Buffer.of(1));
	}

	#remember(kind: "ring" | "motion"): void {
		this.triggers.push({ kind, at: Date.now() });
		if (this.triggers.length > 1000)
			this.triggers.shift();
	}

	/**
	 * The world's time of the trigger an event reports (its sealed
	 * `triggeredAt`, in the device's clock): the last trigger of its kind at
	 * or before it. The device's clock is set by the world's SNTP answer, so
	 * it runs a few ms behind this process's (the answer's trip through the
	 * bridge), as a real device's runs behind its server by the network's
	 * delay: a trigger up to `clockSkewMs` after the reported time is still
	 * the one reported.
	 */
	triggerTime(kind: string, triggeredAt: number): number | undefined {
		const wanted = (kind === "ring") ? "ring" : "motion";
		for (let i = this.triggers.length - 1; i >= 0; i--) {
			const trigger = this.triggers[i];
			if ((trigger.kind === wanted) && (trigger.at <= triggeredAt + clockSkewMs))
				return trigger.at;
		}
		return undefined;
	}

	/**
	 * A request on the factory line (src/onboarding/factory-line.ts):
	 * {"doorward": "setup-code" | "csr" | "provision", ...}; resolves with the device's reply.
	 */
	factoryRequest(request: { doorward: "setup-code" | "csr" | "provision"; [field: string]: unknown }): Promise<Record<string, unknown>> {
		return this.#pairingRequest(request) as unknown as Promise<Record<string, unknown>>;
	}

	/** The factory's label step: the device draws its setup code and returns it once (with its id and fingerprint). */
	async setupCode(): Promise<{ deviceId: string; fingerprint: string; setupCode: string }> {
		const reply = await this.factoryRequest({ doorward: "setup-code" });
		if (reply.ok !== true)
			throw new Error(`the device refused to draw a setup code: ${String(reply.error)}`);
		return reply as unknown as { deviceId: string; fingerprint: string; setupCode: string };
	}

	/**
	 * A phone connects to the device's simulated BLE link (ATT MTU `mtu`):
	 * the fragments the device's GATT service would carry, over the bridge.
	 */
	connectLink(mtu = 185): PhoneLink {
		this.#link?.closed();
		const notify: ((fragment: Uint8Array) => void)[] = [];
		const closed: (() => void)[] = [];
		let open = true;
		const state = {
			notify: (fragment: Uint8Array) => open && notify.forEach((listener) => listener(fragment)),
			closed: () => {
				if (!open)
					return;
				open = false;
				// One listener per connection, gone with it: a phone that connects again and again leaks none.
				this.off("exit", state.closed);
				if (this.#link === state)
					this.#link = undefined;
				for (const listener of closed)
					listener();
			},
		};
		this.#link = state;
		this.once("exit", state.closed);
		const handle = this.#connections = (this.#connections + 1) & 0xFFFF;
		this.#linkHandle = handle;
		const connect = Buffer.alloc(4);
		connect.writeUInt16BE(mtu);
		connect.writeUInt16BE(handle, 2);
		this.#send(ToDevice.LinkConnect, connect);
		return {
			mtu,
			write: (fragment) => open && this.#send(ToDevice.LinkWrite, Buffer.from(fragment)),
			onNotify: (listener) => notify.push(listener),
			onClosed: (listener) => closed.push(listener),
			disconnect: () => {
				if (open)
					this.#send(ToDevice.LinkDisconnect, Buffer.alloc(0));
				state.closed();
			},
		};
	}

	/**
	 * A phone onboards with `code` (the label's) over the simulated BLE link:
	 * resolves with the device's answer and how joining the Wi-Fi went; a
	 * refusal rejects with an OnboardingError and its one-line reason.
	 * `deviceId` is the label's: SPAKE2+ binds the exchange to it.
	 */
	async pair(phone: PhoneIdentity, label: { deviceId: string; setupCode: string }, options: { wifi?: { ssid: string; passphrase: string }; mtu?: number; code?: string } = {}): Promise<PairingReply & { wifi: string }> {
		const { reply, wifi } = await onboard(this.connectLink(options.mtu), {
			deviceId: label.deviceId,
			code: options.code ?? label.setupCode,
			agreementKey: phone.x25519PublicKey,
			signingKey: ensureSigningKey(phone),
			name: phone.name,
			...(options.wifi ? { wifi: options.wifi } : {}),
		});
		return { ...reply, wifi };
	}

	#pairingRequest(request: Record<string, unknown>): Promise<PairingReply> {
		return new Promise((resolve, reject) => {
			const onReply = (reply: PairingReply) => {
				this.off("exit", onExit);
				resolve(reply);
			};
			const onExit = () => {
				this.off("pair-reply", onReply);
				reject(new Error("the device stopped before it answered the pairing request"));
			};
			this.once("pair-reply", onReply);
			this.once("exit", onExit);
			this.#send(ToDevice.Pair, Buffer.from(JSON.stringify(request)));
		});
	}

	/** Cuts the power: the host exits at once, as the device would lose its RAM. */
	async powerOff(): Promise<number | null> {
		this.#poweredOff = true;
		this.#stopCamera();
		this.#bridge.close();
		const timeout = setTimeout(() => this.#process.kill("SIGKILL"), 2000);
		const code = await this.#exited;
		clearTimeout(timeout);
		return code;
	}

	/** Sends an update bundle over the bridge in chunks (the simulator's stand-in for the download). */
	sendUpdate(bundle: Uint8Array, chunkSize = 4000): void {
		for (let at = 0; at < bundle.length; at += chunkSize)
			this.#send(ToDevice.UpdateChunk, Buffer.from(bundle.subarray(at, at + chunkSize)));
		this.#send(ToDevice.UpdateEnd, Buffer.alloc(0));
	}

	/** Any JSON line on the local channel (pairing and factory requests share it): what someone with the device in hand can send. */
	localRequest(request: Record<string, unknown>): Promise<Record<string, unknown>> {
		return this.#pairingRequest(request) as unknown as Promise<Record<string, unknown>>;
	}

	/** An SNTP answer from the network, now, whether or not the device asked: it sets the device's wall clock to `time`. */
	setClock(time: number): void {
		const payload = Buffer.alloc(8);
		payload.writeDoubleBE(time);
		this.#send(ToDevice.Time, payload);
	}

	#send(type: number, payload: Buffer): void {
		this.#bridge.send(type, payload);
	}

	#handle(type: number, payload: Buffer): void {
		switch (type) {
		case ToWorld.ProvisionRequest:
			if (this.#options.configuration)
				this.#send(ToDevice.Provision, Buffer.from(JSON.stringify(this.#options.configuration)));
			break;
		case ToWorld.TimeRequest: {
			const sntp = this.#options.sntp ?? Date.now;
			if (sntp)
				this.setClock(sntp());
			break;
		}
		case ToWorld.Camera:
			this.#cameraOn = payload[0] !== 0;
			if (payload.length >= 5)
				this.#cameraSize = { width: payload.readUInt16BE(1), height: payload.readUInt16BE(3) };
			if (this.#cameraOn)
				this.#startCamera();
			else
				this.#stopCamera();
			break;
		case ToWorld.UpdateReport: {
			try {
				this.emit("update", JSON.parse(payload.toString("utf8")) as UpdateReport);
			}
			catch {
				this.emit("warning", "device sent an update report that is not JSON");
			}
			break;
		}
		case ToWorld.PairReply: {
			try {
				this.emit("pair-reply", JSON.parse(payload.toString("utf8")));
			}
			catch {
				this.emit("warning", "device sent a pairing reply that is not JSON");
			}
			break;
		}
		case ToWorld.LinkNotify:
			if ((payload.length > 2) && (payload.readUInt16BE(0) === this.#linkHandle))
				this.#link?.notify(new Uint8Array(payload.subarray(2)));
			break;
		case ToWorld.LinkClosed:
			if ((payload.length === 2) && (payload.readUInt16BE(0) === this.#linkHandle))
				this.#link?.closed();
			break;
		case ToWorld.WifiJoin: {
			const outcome = this.#joinWifi(payload);
			this.emit("wifi", outcome);
			this.#send(ToDevice.WifiResult, Buffer.from(outcome));
			break;
		}
		case ToWorld.Status: {
			let status: DeviceStatus;
			try {
				status = JSON.parse(payload.toString("utf8"));
			}
			catch {
				this.emit("warning", "device sent a status that is not JSON");
				return;
			}
			// The live view's indicator (hardware/status watching) is not a state: it goes beside them.
			if (status.state === "watching") {
				this.watching = Number(status.watching) || 0;
				this.emit("watching", this.watching);
				break;
			}
			this.emit("status", status);
			break;
		}
		default:
			this.emit("warning", `device sent unknown bridge message type ${type}`);
		}
	}

	/**
	 * The simulated Wi-Fi: the networks this world has (DeviceOptions.wifi)
	 * decide whether an SSID and passphrase join, as an access point would.
	 */
	#joinWifi(payload: Buffer): "joined" | "wrong passphrase" | "network not found" {
		const length = payload[0] ?? 0;
		const ssid = payload.subarray(1, 1 + length).toString("utf8");
		const passphrase = payload.subarray(1 + length).toString("utf8");
		const network = (this.#options.wifi ?? []).find((candidate) => candidate.ssid === ssid);
		if (!network)
			return "network not found";
		return (network.passphrase === passphrase) ? "joined" : "wrong passphrase";
	}

	#startCamera(): void {
		const scene = this.#scene;
		if (!scene || this.#camera)
			return;
		const frame = () => {
			const camera = this.#camera!;
			const picture = this.#atCameraSize(scene.frames[camera.next % scene.frames.length]);
			camera.next++;
			const header = Buffer.alloc(4);
			header.writeUInt16BE(picture.width, 0);
			header.writeUInt16BE(picture.height, 2);
			this.#send(ToDevice.Frame, Buffer.concat([header, picture.bytes]));
			this.framesSent++;
		};
		this.#camera = { timer: setInterval(frame, 1000 / scene.fps), next: 0 };
	}

	/** The frame at the size the sensor was asked for (nearest-neighbour scaling, quality 80), when the world scales. */
	#atCameraSize(picture: SceneFrame): SceneFrame {
		const { width, height } = this.#cameraSize;
		if (!this.#options.scaleToCamera || !width || !height || ((picture.width === width) && (picture.height === height)))
			return picture;
		const key = `${picture.file} ${width}x${height}`;
		let scaled = this.#scaled.get(key);
		if (!scaled) {
			const source = jpeg.decode(picture.bytes, { useTArray: true, formatAsRGBA: true });
			const data = Buffer.alloc(width * height * 4);
			for (let y = 0; y < height; y++) {
				const row = Math.min(source.height - 1, Math.floor(y * source.height / height)) * source.width;
				for (let x = 0; x < width; x++) {
					const from = (row + Math.min(source.width - 1, Math.floor(x * source.width / width))) * 4;
					data.set(source.data.subarray(from, from + 4), (y * width + x) * 4);
				}
			}
			scaled = { file: key, bytes: Buffer.from(jpeg.encode({ data, width, height }, 80).data), width, height };
			this.#scaled.set(key, scaled);
		}
		return scaled;
	}

	#stopCamera(): void {
		if (this.#camera) {
			clearInterval(this.#camera.timer);
			this.#camera = undefined;
		}
	}
}

/** Plays a scene's timeline on a device, repeating every period, until stopped. */
export function playTimeline(device: SimulatedDevice, scene: Scene): () => void {
	const timers: NodeJS.Timeout[] = [];
	const round = () => {
		for (const { at, event } of scene.timeline)
			timers.push(setTimeout(() => (event === "ring") ? device.press() : device.motion(), at));
	};
	round();
	const repeat = setInterval(round, scene.period);
	return () => {
		clearInterval(repeat);
		for (const timer of timers)
			clearTimeout(timer);
	};
}

/** The device secret file beside a flash image, made on first use (the "eFuse" of that device). */
export function deviceSecretFor(flashPath: string): string {
	const path = `${flashPath}.efuse`;
	if (!existsSync(path))
		writeFileSync(path, randomBytes(32), { mode: 0o600 });
	return path;
}
