/*
 * Drains the outbox through the MQTT client at QoS 1, one event in flight at
 * a time, in the outbox's order: rings' notifications first, then the rest
 * in the order they happened (store/outbox). An event
 * leaves the outbox only on its PUBACK; after a reconnect the event that was
 * in flight is sent again, and the phone drops the duplicate by event id.
 */
import type { Outbox, OutboundEvent } from "store/outbox";
import type { PayloadSource } from "mqtt/client";
import { now } from "hardware/clock";
import { log } from "device/log";

export interface PublishChannel {
	readonly connected: boolean;
	publish(topic: string, payload: readonly Uint8Array[] | PayloadSource, qos: 0 | 1): number;
}

function isSource(event: OutboundEvent): event is OutboundEvent & PayloadSource {
	return typeof (event as Partial<PayloadSource>).read === "function";
}

export default class Publisher {
	#channel: PublishChannel;
	#outbox: Outbox;
	#inFlight: { event: OutboundEvent; packetId: number } | undefined;
	#onPublished: (event: OutboundEvent) => void;

	constructor(channel: PublishChannel, outbox: Outbox, onPublished: (event: OutboundEvent) => void) {
		this.#channel = channel;
		this.#outbox = outbox;
		this.#onPublished = onPublished;
	}

	get connected(): boolean {
		return this.#channel.connected;
	}

	#idle: (() => void)[] = [];

	/**
	 * Resolves when nothing is being sent: no event in flight, or no
	 * connection to send on. The detect stage waits for it before it takes
	 * the CPU for a clip, so that an event being streamed out (one 16 KiB
	 * window per turn of the event loop) does not wait an inference per
	 * window.
	 */
	whenIdle(): Promise<void> {
		if (!this.#inFlight || !this.#channel.connected)
			return Promise.resolve();
		return new Promise((resolve) => this.#idle.push(resolve));
	}

	#settle(): void {
		if (this.#inFlight && this.#channel.connected)
			return;
		for (const resolve of this.#idle.splice(0))
			resolve();
	}

	/** Sends the next event if the channel is up and nothing is in flight. */
	kick(): void {
		if (this.#inFlight || !this.#channel.connected)
			return;
		const event = this.#outbox.peek();
		if (!event)
			return;
		// An event on flash is streamed from there; one in RAM is sent as it is.
		const packetId = this.#channel.publish(event.topic, isSource(event) ? event : event.payload, 1);
		this.#inFlight = { event, packetId };
		// The time is one of the stages `npm run bench:latency` splits the path with.
		log.info(`sent ${event.kind} event ${event.eventId} (handed to the socket at ${now()})`);
	}

	onPuback(packetId: number): void {
		const inFlight = this.#inFlight;
		if (!inFlight || (inFlight.packetId !== packetId))
			return; // an acknowledgement from before a reconnect
		this.#inFlight = undefined;
		this.#outbox.remove(inFlight.event.eventId);
		this.#onPublished(inFlight.event);
		this.kick();
		this.#settle();
	}

	/** The connection came up (again): whatever was in flight goes again. */
	onConnect(): void {
		this.#inFlight = undefined;
		this.kick();
	}

	onDisconnect(): void {
		this.#inFlight = undefined;
		this.#settle();
	}
}

Object.freeze(Publisher.prototype);
