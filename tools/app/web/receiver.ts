/*
 * The app's event path (docs/protocol/events.md § Phone processing, in
 * order): MQTT over WebSocket to the broker, one envelope at a time in
 * arrival order; limits, the paired device, the topic, the window, then
 * signature, digest, unwrapping, decryption and the clip's rules
 * (./envelope.ts); only when all passed is the window moved and the event
 * stored (one IndexedDB transaction), and only then shown. A refusal is
 * stored and listed with its reason, never with anything of the clip.
 */
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import { clockNote, EnvelopeError, openEvent, parseHeader } from "./envelope.js";
import { fromHex } from "./bytes.js";
import { markSeen, replayProblem } from "./replay.js";
import { openAuditEntry } from "./audit.js";
import type { DeviceRecord, EventRecord, PhoneRecord, RefusedRecord, Store } from "./store.js";

export interface BrokerConfig {
	url: string;
	username: string;
	password: string;
	/** "all": one subscription to dw/+/ev (the embedded broker allows it); "paired": one per paired device. */
	topics: "all" | "paired";
}

export type ConnectionState = "connecting" | "online" | "offline";

export interface ReceiverEvents {
	onState(state: ConnectionState, detail?: string): void;
	onEvent(event: EventRecord): void;
	onRefused(refused: RefusedRecord): void;
}

/** How long an event from a device being paired waits for the pairing to finish (audit.md § Delivery). */
const pairingWaitMs = 3000;

export class Receiver {
	readonly #store: Store;
	readonly #phone: PhoneRecord;
	readonly #devices: Map<string, DeviceRecord>;
	readonly #known: Set<string>;
	readonly #listeners: ReceiverEvents;
	#client: MqttClient | undefined;
	#config: BrokerConfig | undefined;
	#queue: Promise<void> = Promise.resolve();

	constructor(store: Store, phone: PhoneRecord, devices: DeviceRecord[], knownEvents: Iterable<string>, listeners: ReceiverEvents) {
		this.#store = store;
		this.#phone = phone;
		this.#devices = new Map(devices.map((device) => [device.deviceId, device]));
		this.#known = new Set(knownEvents);
		this.#listeners = listeners;
	}

	get devices(): DeviceRecord[] {
		return [...this.#devices.values()];
	}

	connect(config: BrokerConfig): void {
		this.#config = config;
		this.#listeners.onState("connecting");
		const client = mqtt.connect(config.url, {
			clientId: this.#phone.clientId,
			clean: false,
			username: config.username,
			password: config.password,
			protocolVersion: 4,
			reconnectPeriod: 1000,
			connectTimeout: 5000,
			keepalive: 15,
			// mqtt.js would run its timers in a Worker made from a blob: URL, which the page's CSP refuses.
			timerVariant: "native",
		});
		this.#client = client;
		client.on("connect", () => {
			this.#listeners.onState("online");
			void this.#subscribe();
		});
		client.on("offline", () => this.#listeners.onState("offline"));
		client.on("close", () => this.#listeners.onState("offline"));
		client.on("reconnect", () => this.#listeners.onState("offline", "reconnecting"));
		client.on("error", (error) => this.#listeners.onState("offline", error.message));
		client.on("message", (topic, payload) => {
			const envelope = new Uint8Array(payload);
			// A live view's session topic: its own handler, never the event path (live.md).
			const live = this.#live.get(topic);
			if (live) {
				live(envelope);
				return;
			}
			this.#queue = this.#queue.then(() => this.#receive(topic, envelope)).catch((error: Error) => {
				void this.#refuse({ receivedAt: Date.now(), topic, reason: `not stored: ${error.message}` });
			});
		});
	}

	readonly #live = new Map<string, (message: Uint8Array) => void>();

	/** Subscribes to a live view's session topic (QoS 0, by name) and hands its messages to `handler`. */
	async listen(topic: string, handler: (message: Uint8Array) => void): Promise<void> {
		if (!this.#client)
			throw new Error("not connected to the broker");
		this.#live.set(topic, handler);
		await this.#client.subscribeAsync(topic, { qos: 0 });
	}

	async unlisten(topic: string): Promise<void> {
		this.#live.delete(topic);
		await this.#client?.unsubscribeAsync(topic).catch(() => undefined);
	}

	/** Publishes a sealed request at QoS 1; resolves on the broker's PUBACK, which says nothing of the device. */
	async publish(topic: string, payload: Uint8Array): Promise<void> {
		if (!this.#client)
			throw new Error("not connected to the broker");
		if (!this.#client.connected)
			throw new Error("offline: the broker is not reachable now");
		// mqtt.js types the payload as its Buffer; its browser bundle writes any Uint8Array to the socket as it is.
		await this.#client.publishAsync(topic, payload as unknown as Buffer, { qos: 1 });
	}

	async #subscribe(): Promise<void> {
		for (const topic of this.#live.keys())
			await this.#client?.subscribeAsync(topic, { qos: 0 });
		const client = this.#client;
		if (!client || !this.#config)
			return;
		const topics = (this.#config.topics === "all") ? ["dw/+/ev"] : this.devices.map((device) => `dw/${device.topicId}/ev`);
		for (const topic of topics)
			await client.subscribeAsync(topic, { qos: 1 });
	}

	/** A device the phone just paired with: its events are accepted from now on. */
	async addDevice(device: DeviceRecord): Promise<void> {
		this.#devices.set(device.deviceId, device);
		await this.#store.saveDevice(device);
		if (this.#config?.topics === "paired")
			await this.#client?.subscribeAsync(`dw/${device.topicId}/ev`, { qos: 1 });
	}

	/** Devices being paired: an event from one waits for the pairing rather than being refused. */
	readonly pairing = new Set<string>();

	async #refuse(record: RefusedRecord): Promise<void> {
		await this.#store.refuse(record);
		this.#listeners.onRefused(record);
	}

	async #receive(topic: string, envelope: Uint8Array): Promise<void> {
		const receivedAt = Date.now();
		let header;
		try {
			header = parseHeader(envelope).header;
		}
		catch (error) {
			return this.#refuse({ receivedAt, topic, reason: (error as Error).message });
		}
		const { deviceId, seq } = header;
		for (let waited = 0; !this.#devices.has(deviceId) && (this.pairing.size > 0) && (waited < pairingWaitMs); waited += 100)
			await new Promise((resolve) => setTimeout(resolve, 100));
		const device = this.#devices.get(deviceId);
		if (!device)
			return this.#refuse({ receivedAt, topic, deviceId, seq, reason: `from device ${deviceId}, which this phone has not paired with` });
		if (topic !== `dw/${device.topicId}/ev`)
			return this.#refuse({ receivedAt, topic, deviceId, seq, reason: `device ${deviceId} publishes on dw/${device.topicId}/ev, but this event came on ${topic}` });
		// Shown once: a redelivery of an event this phone has stored (QoS 1) is dropped quietly.
		if (this.#known.has(header.eventId))
			return;
		const replay = replayProblem(device.replay, seq);
		if (replay)
			return this.#refuse({ receivedAt, topic, deviceId, seq, reason: replay });
		let opened;
		try {
			opened = await openEvent(envelope, { keys: this.#phone.agreement, publicKey: fromHex(this.#phone.agreementPublicKey) }, fromHex(device.signingPublicKey));
		}
		catch (error) {
			const reason = (error instanceof EnvelopeError) ? error.message : "could not be opened";
			return this.#refuse({ receivedAt, topic, deviceId, seq, reason });
		}
		const { metadata } = opened;
		let audit;
		if (metadata.kind === "audit") {
			try {
				audit = await openAuditEntry(fromHex(String((metadata.details as Record<string, unknown>).entry)), fromHex(device.signingPublicKey), deviceId);
			}
			catch (error) {
				return this.#refuse({ receivedAt, topic, deviceId, seq, reason: `audit entry refused: ${(error as Error).message}` });
			}
		}
		const { state, notes: seen } = markSeen(device.replay, seq);
		const notes = seen.gaps.map(([from, to]) => (from === to) ? `gap: event ${from} never arrived` : `gap: events ${from} to ${to} never arrived`);
		if (seen.late)
			notes.push(`late: event ${seq} arrived after ${device.replay.highest}`);
		const clock = clockNote(header.time, receivedAt);
		if (clock || (metadata.clock === "unsynced"))
			notes.push(`clock: ${clock ?? "the device's clock was not set"}`);
		const jpeg = (bytes: Uint8Array) => new Blob([new Uint8Array(bytes)], { type: "image/jpeg" });
		const event: EventRecord = {
			id: header.eventId, deviceId, seq, time: header.time, receivedAt, kind: String(metadata.kind), metadata, notes,
			frames: opened.frames.map(jpeg),
			...(opened.snapshot ? { snapshot: jpeg(opened.snapshot) } : {}),
			...(opened.thumbnail ? { thumbnail: jpeg(opened.thumbnail) } : {}),
			...(audit ? { audit } : {}),
		};
		const updated = { ...device, replay: state };
		await this.#store.accept(event, updated);
		this.#devices.set(deviceId, updated);
		this.#known.add(event.id);
		this.#listeners.onEvent(event);
	}
}
