/*
 * Audit entries as `audit` events (docs/protocol/events.md, audit.md): an
 * event without pictures whose metadata carries the entry in hex, sealed end
 * to end like every event, to the readers the change names, and queued in
 * the outbox before the change is applied (audit/audit).
 */
import type { Recipient, Signer } from "crypto/envelope";
import type { Outbox } from "store/outbox";
import type Counter from "store/counter";
import { endToEndSealer } from "pipeline/sealer";
import { encodeClipParts } from "pipeline/clip";
import { digest } from "hardware/crypto";
import { now } from "hardware/clock";
import { concat, toHex, utf8Encode } from "util/bytes";
import { log } from "device/log";
import type { AuditSink } from "./audit";
import type { AuditEntry } from "./entry";

export interface AuditDeliveryParts {
	readonly deviceId: string;
	readonly topic: string;
	readonly signer: Signer;
	readonly sequence: Counter;
	readonly outbox: Outbox;
	/** Starts publishing, once there is a publisher. */
	kick(): void;
}

/** The event id: SHA-256("doorward/audit/event" 0 | entry hash), first 16 bytes. The same entry queued again has the same id. */
export function auditEventId(entry: AuditEntry): string {
	return toHex(digest("SHA-256", concat([utf8Encode("doorward/audit/event\u0000"), entry.hash])).subarray(0, 16));
}

export function auditDelivery(parts: AuditDeliveryParts): AuditSink {
	return Object.freeze({
		deliver(entry: AuditEntry, readers: readonly Recipient[]): void {
			const clip = encodeClipParts({
				metadata: { width: 0, height: 0, format: "jpeg", frameCount: 0, startedAt: entry.time, kind: "audit", details: { entry: toHex(entry.bytes), seq: entry.seq, type: entry.type } },
				frames: [],
			});
			const header = { deviceId: parts.deviceId, eventId: auditEventId(entry), seq: parts.sequence.increment(), time: now(), kind: "audit" as const };
			const payload = endToEndSealer(parts.signer, () => readers).seal(header, clip);
			for (const dropped of parts.outbox.put({ eventId: header.eventId, kind: "audit", topic: parts.topic, payload }))
				log.warn(`outbox full: dropped ${dropped.kind} event ${dropped.eventId}`);
			log.info(`audit ${entry.type} entry ${entry.seq}: event ${header.eventId} queued for ${readers.length} phones`);
			parts.kick();
		},
	});
}
