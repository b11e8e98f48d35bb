/*
 * The simulated phone: the owner's app, reduced to what receives events. It
 * subscribes to the event topics, verifies and decrypts each event with the
 * phone's own key (tools/phone/open.ts, independent of the firmware), drops
 * duplicates by event id (QoS 1 delivers at least once), refuses replays
 * with the anti-replay window it keeps in the phone file (tools/phone/state.ts)
 * and events that came on another device's topic, and writes what it opened to disk.
 * Audit events (docs/protocol/audit.md) are opened and written out the same
 * way, and go to `onAudit`, not `onEvent`: the phone checks each device's
 * chain as they arrive and warns of a gap, a reordering, a fork or a forgery.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import type { Credentials } from "./broker.js";
import { parseHeader } from "../phone/open.js";
import { saveOpenedEvent } from "../phone/commands.js";
import type { OpenedEvent } from "../phone/open.js";
import { savePhone } from "../phone/identity.js";
import type { PhoneIdentity } from "../phone/identity.js";
import { acceptEvent } from "../phone/state.js";
import { verifyAuditChain } from "../phone/audit.js";
import type { AuditReport, PhoneAuditEntry } from "../phone/audit.js";

export interface ReceivedEvent {
	readonly topic: string;
	readonly bytes: number;
	readonly eventId: string;
	readonly deviceId: string;
	readonly kind: string;
	readonly seq: number;
	readonly time: number;
	readonly frames: readonly string[];
	/** The face thumbnail's path, when the event has one. */
	readonly thumbnail?: string;
	/** A ring notification's snapshot path, when it has one. */
	readonly snapshot?: string;
	/** Wall-clock ms (this process's clock) when the phone had verified and decrypted the event. */
	readonly openedAt: number;
	readonly envelope: string;
	readonly metadata: Record<string, unknown>;
}

export interface PhoneOptions {
	url: string;
	/** The phone's identity; devices paired later are seen through it. */
	identity: PhoneIdentity;
	/**
	 * The phone file: what was opened is saved there before each event is
	 * written out, so that a replay is refused after a restart too. Without
	 * it, the state lives in `identity` only.
	 */
	file?: string;
	credentials?: Credentials;
	/**
	 * "all": one subscription to every device's event topic, for a development
	 * broker that allows it; "paired": one per paired device, for a deployed
	 * broker whose ACL allows only those (docs/deploy/broker.md). Not both:
	 * overlapping subscriptions would deliver every event twice.
	 */
	topics?: "all" | "paired";
	/** For mqtts: the CA that signed the broker's certificate, and the phone's own certificate and key (PEM). */
	tls?: { ca: Buffer; cert: Buffer; key: Buffer };
	outDir: string;
	onEvent: (event: ReceivedEvent) => void;
	/** An audit entry that arrived, with the device's chain as checked so far (its problems are also warnings). */
	onAudit?: (entry: PhoneAuditEntry | undefined, report: AuditReport, event: ReceivedEvent) => void;
	onWarning: (message: string) => void;
}

/** How long an event from a device the phone does not know waits for a pairing in progress. */
const pairingWaitMs = 2000;

export class SimulatedPhone {
	#client: MqttClient;
	#seen = new Set<string>();
	/** Each device's audit entries, in the order they arrived. */
	#audit = new Map<string, Uint8Array[]>();
	/** The problems already warned of, so that each is said once. */
	#auditProblems = new Set<string>();
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
			...(options.tls ? { ...options.tls, rejectUnauthorized: true } : {}),
		});
		const phone = new SimulatedPhone(client, options);
		if ((options.topics ?? "all") === "all")
			await client.subscribeAsync("dw/+/ev", { qos: 1 });
		else {
			for (const device of Object.values(options.identity.devices)) {
				if (device.topicId)
					await phone.follow(device.topicId);
			}
		}
		return phone;
	}

	#following = new Set<string>();

	/** Subscribes to one paired device's event topic (once: MQTT.js answers a repeat with nothing). */
	async follow(topicId: string): Promise<void> {
		if (((this.#options.topics ?? "all") === "all") || this.#following.has(topicId))
			return;
		this.#following.add(topicId);
		const granted = await this.#client.subscribeAsync(`dw/${topicId}/ev`, { qos: 1 });
		if (!granted.length || (granted[0].qos !== 1))
			throw new Error(`the broker refused the phone's subscription to dw/${topicId}/ev`);
	}

	#queue: Promise<void> = Promise.resolve();

	#receive(topic: string, payload: Buffer): void {
		// One event at a time, in arrival order, so sequence checks see them in order.
		// A failure past the checks (writing the frames out) is reported, and does not stop the queue.
		this.#queue = this.#queue.then(() => this.#open(topic, payload)).catch((error: Error) => {
			this.#options.onWarning(`phone: event on ${topic} not stored: ${error.message}`);
		});
	}

	async #open(topic: string, payload: Buffer): Promise<void> {
		const identity = this.#options.identity;
		let opened: OpenedEvent;
		try {
			const { header } = parseHeader(payload);
			await this.#pairingOf(header.deviceId);
			// A redelivery within this session (QoS 1), not an attack: dropped quietly. Anything
			// else already opened, after a restart too, is refused by the window in acceptEvent.
			if (this.#seen.has(header.eventId)) {
				this.duplicates++;
				return;
			}
			const file = this.#options.file;
			const accepted = await acceptEvent(identity, payload, { topic, save: () => file && savePhone(file, identity) });
			for (const note of accepted.notes)
				this.#options.onWarning(`phone: ${note}`);
			opened = accepted.opened;
		}
		catch (error) {
			this.rejected++;
			this.#options.onWarning(`phone: event on ${topic} refused: ${(error as Error).message}`);
			return;
		}
		const openedAt = Date.now();
		const { header, metadata } = opened;
		this.#seen.add(header.eventId);
		const folder = join(this.#options.outDir, header.eventId);
		mkdirSync(folder, { recursive: true });
		const envelope = join(folder, "event.dwe");
		writeFileSync(envelope, payload);
		const { frames, thumbnail, snapshot } = saveOpenedEvent(folder, opened, { topic });
		const received: ReceivedEvent = {
			topic, bytes: payload.length, eventId: header.eventId, deviceId: header.deviceId, kind: String(metadata.kind ?? "unknown"),
			seq: header.seq, time: header.time, frames, envelope, metadata, openedAt, ...(thumbnail ? { thumbnail } : {}), ...(snapshot ? { snapshot } : {}),
		};
		if (metadata.kind === "audit")
			this.#auditEntry(received);
		else
			this.#options.onEvent(received);
	}

	/**
	 * A pairing's own audit event comes over MQTT while the pairing's reply
	 * comes over the local channel: it can arrive first. An event from a
	 * device this phone does not know yet waits a little for a pairing in
	 * progress to finish; if none does, it is refused as before.
	 */
	async #pairingOf(deviceId: string): Promise<void> {
		for (let waited = 0; !this.#options.identity.devices[deviceId] && (waited < pairingWaitMs); waited += 100)
			await new Promise((resolve) => setTimeout(resolve, 100));
	}

	#auditEntry(event: ReceivedEvent): void {
		const device = this.#options.identity.devices[event.deviceId];
		const entry = Buffer.from(String((event.metadata.details as Record<string, unknown>).entry), "hex");
		const arrived = [...(this.#audit.get(event.deviceId) ?? []), entry];
		this.#audit.set(event.deviceId, arrived);
		const report = verifyAuditChain(arrived, Buffer.from(device.signingPublicKey, "hex"), event.deviceId);
		for (const problem of report.problems) {
			const warning = `phone: audit log of device ${event.deviceId}: ${problem.message}`;
			if (!this.#auditProblems.has(warning))
				this.#options.onWarning(warning);
			this.#auditProblems.add(warning);
		}
		const hash = createHash("sha256").update(entry).digest("hex");
		this.#options.onAudit?.(report.entries.find((known) => known.hash === hash), report, event);
	}

	async close(): Promise<void> {
		await this.#client.endAsync(true);
	}
}
