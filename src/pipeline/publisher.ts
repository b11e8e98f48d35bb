/*
 * Drains the outbox through the MQTT client at QoS 1, one event in flight at
 * a time, so events reach the broker in the order they happened. An event
 * leaves the outbox only on its PUBACK; after a reconnect the event that was
 * in flight is sent again, and the phone drops the duplicate by event id.
 */
import type { Outbox, OutboundEvent } from "store/outbox";
import type { PayloadSource } from "mqtt/client";

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
	}

	onPuback(packetId: number): void {
		const inFlight = this.#inFlight;
		if (!inFlight || (inFlight.packetId !== packetId))
			return; // an acknowledgement from before a reconnect
		this.#inFlight = undefined;
		this.#outbox.remove(inFlight.event.eventId);
		this.#onPublished(inFlight.event);
		this.kick();
	}

	/** The connection came up (again): whatever was in flight goes again. */
	onConnect(): void {
		this.#inFlight = undefined;
		this.kick();
	}

	onDisconnect(): void {
		this.#inFlight = undefined;
	}
}

Object.freeze(Publisher.prototype);
