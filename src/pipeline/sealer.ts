/*
 * The seal stage: turns an event's clear header and its clip into the bytes
 * that are published. The one Sealer the firmware has encrypts every event
 * end to end to the paired phones and signs it with the device's identity
 * key (src/crypto/envelope.ts, docs/protocol/events.md). The clip is padded
 * first, so its length says little about what it holds. With no phone paired
 * there is nobody to seal for, and nothing is published.
 */
import type { EventKind } from "store/outbox";
import { paddingRecord } from "./clip";
import { sealEnvelope } from "crypto/envelope";
import type { Recipient, Signer } from "crypto/envelope";
import { totalLength } from "util/bytes";

export interface EventHeader {
	readonly deviceId: string;
	readonly eventId: string;
	readonly seq: number;
	/** Wall-clock ms. */
	readonly time: number;
	/** Sealed inside the clip's metadata, never in the clear. */
	readonly kind: EventKind;
}

export interface Sealer {
	/** The published bytes, as parts in order. */
	seal(header: EventHeader, clip: readonly Uint8Array[]): Uint8Array[];
}

export class NoRecipientError extends Error {
	// A field, defined on each instance: on a preloaded XS image Error.prototype is frozen,
	// so assigning `this.name` would throw "set name: not writable" (the override mistake).
	override readonly name = "NoRecipientError";
	constructor() {
		super("no phone is paired: the event cannot be sealed for anyone");
	}
}

export function endToEndSealer(signer: Signer, recipients: () => readonly Recipient[]): Sealer {
	return Object.freeze({
		seal(header: EventHeader, clip: readonly Uint8Array[]): Uint8Array[] {
			const readers = recipients();
			if (!readers.length)
				throw new NoRecipientError();
			const padded = [...clip, paddingRecord(totalLength(clip))];
			return sealEnvelope({ deviceId: header.deviceId, eventId: header.eventId, seq: header.seq, time: header.time }, padded, readers, signer);
		},
	});
}
