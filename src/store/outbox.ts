/*
 * Events waiting to be published, oldest first. An event leaves only when
 * the broker has acknowledged it (see pipeline/publisher.ts).
 *
 * The queue is bounded. When it is full, the oldest motion event makes room;
 * a doorbell ring is never dropped for a motion event, and when the queue
 * holds nothing but rings the new event is refused (the caller logs it).
 *
 * The firmware's queue is on flash (flash-outbox.ts). MemoryOutbox below
 * keeps the same policy in RAM: the reference the flash queue's tests
 * compare against.
 */
export type EventKind = "ring" | "motion" | "face" | "update" | "audit";

export interface OutboundEvent {
	readonly eventId: string;
	readonly kind: EventKind;
	readonly topic: string;
	/** The published bytes, in parts (see pipeline/clip.ts). */
	readonly payload: readonly Uint8Array[];
}

export interface Outbox {
	readonly length: number;
	/** The queued events' ids, oldest first. */
	readonly eventIds: readonly string[];
	/** Adds an event; returns the event dropped to make room, if any. Throws when it cannot make room. */
	put(event: OutboundEvent): OutboundEvent | undefined;
	peek(): OutboundEvent | undefined;
	/** Removes the event with this id, once acknowledged. */
	remove(eventId: string): boolean;
}

export class MemoryOutbox implements Outbox {
	#events: OutboundEvent[] = [];
	#capacity: number;

	constructor(capacity: number) {
		if (!Number.isInteger(capacity) || (capacity < 1))
			throw new RangeError(`outbox: invalid capacity ${capacity}`);
		this.#capacity = capacity;
	}

	get length(): number {
		return this.#events.length;
	}

	get eventIds(): readonly string[] {
		return this.#events.map((event) => event.eventId);
	}

	put(event: OutboundEvent): OutboundEvent | undefined {
		let dropped: OutboundEvent | undefined;
		if (this.#events.length === this.#capacity) {
			const index = this.#events.findIndex((queued) => queued.kind !== "ring");
			if (index < 0)
				throw new RangeError(`outbox: full of rings, ${event.kind} event ${event.eventId} refused`);
			dropped = this.#events.splice(index, 1)[0];
		}
		this.#events.push(event);
		return dropped;
	}

	peek(): OutboundEvent | undefined {
		return this.#events[0];
	}

	remove(eventId: string): boolean {
		const index = this.#events.findIndex((queued) => queued.eventId === eventId);
		if (index < 0)
			return false;
		this.#events.splice(index, 1);
		return true;
	}
}

Object.freeze(MemoryOutbox.prototype);
