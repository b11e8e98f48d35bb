/*
 * Events waiting to be published, oldest first. An event leaves only when
 * the broker has acknowledged it (see pipeline/publisher.ts).
 *
 * The queue is bounded. When it is full, the oldest motion event makes room,
 * then, for a ring's event only, the oldest ring's clip (a follow-up); a ring's notification is never
 * dropped, and when the queue holds nothing but notifications the new event
 * is refused (the caller logs it).
 *
 * The firmware's queue is on flash (flash-outbox.ts). MemoryOutbox below
 * keeps the same policy in RAM: the reference the flash queue's tests
 * compare against.
 */
export type EventKind = "ring" | "motion" | "face" | "update" | "audit";

export interface OutboundEvent {
	readonly eventId: string;
	readonly kind: EventKind;
	/** A ring's clip, which follows its notification: dropped, when room is short, before any notification. */
	readonly followUp?: boolean;
	readonly topic: string;
	/** The published bytes, in parts (see pipeline/clip.ts). */
	readonly payload: readonly Uint8Array[];
}

export interface Outbox {
	readonly length: number;
	/** The queued events' ids, oldest first. */
	readonly eventIds: readonly string[];
	/** Adds an event; returns the events dropped to make room, if any. Throws when it cannot make room. */
	put(event: OutboundEvent): OutboundEvent[];
	/**
	 * The next event to publish: the oldest ring notification (a ring that is
	 * not a follow-up), else the oldest event. A notification waits for no
	 * clip queued before it.
	 */
	peek(): OutboundEvent | undefined;
	/** Removes the event with this id, once acknowledged. */
	remove(eventId: string): boolean;
}

/** A ring's notification: the one kind of event that goes before the others. */
export function isNotification(event: { readonly kind: EventKind; readonly followUp?: boolean }): boolean {
	return (event.kind === "ring") && !event.followUp;
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

	put(event: OutboundEvent): OutboundEvent[] {
		const dropped: OutboundEvent[] = [];
		if (this.#events.length === this.#capacity) {
			let index = this.#events.findIndex((queued) => queued.kind !== "ring");
			if ((index < 0) && (event.kind === "ring"))
				index = this.#events.findIndex((queued) => queued.followUp === true);
			if (index < 0)
				throw new RangeError(`outbox: full of rings, ${event.kind} event ${event.eventId} refused`);
			dropped.push(...this.#events.splice(index, 1));
		}
		this.#events.push(event);
		return dropped;
	}

	peek(): OutboundEvent | undefined {
		return this.#events.find(isNotification) ?? this.#events[0];
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
