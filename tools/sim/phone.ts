/*
 * The simulated phone: the owner's app, reduced to what receives events. It
 * subscribes to every device's event topic, opens each event, drops
 * duplicates by event id (QoS 1 delivers at least once), and writes what it
 * received to disk.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { openDevelopmentEnvelope } from "pipeline/envelope";
import { decodeClip } from "pipeline/clip";
import type { Credentials } from "./broker.js";

export interface ReceivedEvent {
	readonly topic: string;
	readonly bytes: number;
	readonly eventId: string;
	readonly deviceId: string;
	readonly kind: string;
	readonly seq: number;
	readonly time: number;
	readonly frames: readonly string[];
	readonly envelope: string;
	readonly metadata: Record<string, unknown>;
}

export interface PhoneOptions {
	url: string;
	credentials?: Credentials;
	outDir: string;
	onEvent: (event: ReceivedEvent) => void;
	onWarning: (message: string) => void;
}

export class SimulatedPhone {
	#client: MqttClient;
	#seen = new Set<string>();
	#options: PhoneOptions;
	duplicates = 0;
	rejected = 0;

	private constructor(client: MqttClient, options: PhoneOptions) {
		this.#client = client;
		this.#options = options;
		client.on("message", (topic, payload) => this.#receive(topic, payload));
	}

	static async connect(options: PhoneOptions): Promise<SimulatedPhone> {
		const client = await mqtt.connectAsync(options.url, {
			clientId: `phone-${randomBytes(6).toString("hex")}`,
			clean: false,
			reconnectPeriod: 500,
			connectTimeout: 5000,
			...(options.credentials ?? {}),
		});
		const phone = new SimulatedPhone(client, options);
		const granted = await client.subscribeAsync("dw/+/ev", { qos: 1 });
		if (!granted.length || (granted[0].qos !== 1))
			throw new Error(`${options.url}: the broker refused the phone's subscription to dw/+/ev`);
		return phone;
	}

	#receive(topic: string, payload: Buffer): void {
		let opened: ReturnType<typeof openDevelopmentEnvelope>;
		let clip: ReturnType<typeof decodeClip>;
		try {
			opened = openDevelopmentEnvelope(payload);
			clip = decodeClip(opened.clip);
		}
		catch (error) {
			this.rejected++;
			this.#options.onWarning(`phone: event on ${topic} refused: ${(error as Error).message}`);
			return;
		}
		const { header } = opened;
		if (!/^[0-9a-f]{32}$/.test(header.eventId)) {
			this.rejected++;
			this.#options.onWarning(`phone: event on ${topic} refused: bad event id`);
			return;
		}
		if (this.#seen.has(header.eventId)) {
			this.duplicates++;
			return;
		}
		this.#seen.add(header.eventId);
		const folder = join(this.#options.outDir, header.eventId);
		mkdirSync(folder, { recursive: true });
		const envelope = join(folder, "event.dwe");
		writeFileSync(envelope, payload);
		const frames = clip.frames.map((frame, index) => {
			const file = join(folder, `frame-${String(index).padStart(3, "0")}.jpg`);
			writeFileSync(file, frame);
			return file;
		});
		writeFileSync(join(folder, "event.json"), `${JSON.stringify({ topic, header, metadata: clip.metadata }, null, "\t")}\n`);
		this.#options.onEvent({
			topic, bytes: payload.length, eventId: header.eventId, deviceId: header.deviceId, kind: header.kind,
			seq: header.seq, time: header.time, frames, envelope, metadata: { ...clip.metadata },
		});
	}

	async close(): Promise<void> {
		await this.#client.endAsync(true);
	}
}

export function phoneOutDir(base: string): string {
	const folder = join(base, "phone");
	mkdirSync(folder, { recursive: true });
	return folder;
}
