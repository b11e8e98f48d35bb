/*
 * The audit API the device's change paths call (pairing, removal, the
 * factory, update roots; the onboarding code's admissions, windows,
 * attempts, resets and Wi-Fi changes):
 *
 *   audit.record({ type: "admitted", phone, role, ... }, { readers, apply })
 *
 * The order is what makes a power cut harmless (docs/protocol/audit.md,
 * "Order of a change"):
 *   1. the entry is appended to the log on flash, whole or not at all;
 *   2. the entry is sealed to the phones that will read it (`readers`: the
 *      recipients as they are after the change; for a removal, the removed
 *      phone too, whose notice this is) and queued in the outbox, as one
 *      event, so that no phone sees a hole in the device's event numbers;
 *   3. the change is applied (`apply`: the keystore write).
 * A cut before 1 leaves nothing; a cut after 1 leaves an entry whose change
 * may be missing, and recover() at boot finishes it: it queues the entry's
 * events again (their event ids are derived from the entry, so a phone that
 * already has one drops the copy) and applies the change. A recipient is
 * therefore never added without its entry. A change the caller cannot
 * finish from the entry alone (recover() gets no effect for it) stays
 * recorded and unapplied, which says more than the other way round.
 */
import type { AuditLog } from "./log";
import type { AuditDetails, AuditEntry, AuditType } from "./entry";

/** A phone that reads an entry: its X25519 key (crypto/envelope's Recipient, restated so that this module needs no crypto). */
export interface Recipient {
	readonly publicKey: Uint8Array;
}

export type AuditChange = { readonly type: AuditType } & AuditDetails;

export interface AuditEffect {
	/** Who reads the entry: the recipients after the change. None: it stays on flash only. */
	readonly readers?: readonly Recipient[];
	/** A removed phone: the entry is sealed to it too (its removal notice), before it stops being a recipient. */
	readonly notice?: Recipient;
	/** Applies the change; runs after the entry is on flash and queued. */
	apply?(): void;
}

/** Seals an entry to `readers` and queues it as one event. */
export interface AuditSink {
	deliver(entry: AuditEntry, readers: readonly Recipient[]): void;
}

export class Audit {
	#log: AuditLog;
	#sink: AuditSink | undefined;

	constructor(log: AuditLog, sink?: AuditSink) {
		this.#log = log;
		this.#sink = sink;
	}

	get log(): AuditLog {
		return this.#log;
	}

	/** Appends the change's entry, delivers it, then applies the change; returns the entry. */
	record(change: AuditChange, effect: AuditEffect = {}): AuditEntry {
		const { type, ...details } = change;
		if (type === "dropped")
			throw new RangeError("audit: only the log writes dropped entries");
		const entry = this.#log.append(type, details);
		this.#finish(entry, effect);
		return entry;
	}

	/**
	 * At boot: the newest entry's change, if `check` says it is not applied
	 * (it returns the effect that finishes it), is delivered and applied now.
	 */
	recover(check: (entry: AuditEntry) => AuditEffect | undefined): AuditEntry | undefined {
		const last = this.#log.last;
		if (!last)
			return undefined;
		const effect = check(last);
		if (!effect)
			return undefined;
		this.#finish(last, effect);
		return last;
	}

	#finish(entry: AuditEntry, effect: AuditEffect): void {
		const readers = [...(effect.readers ?? []), ...(effect.notice ? [effect.notice] : [])];
		if (this.#sink && readers.length)
			this.#sink.deliver(entry, readers);
		effect.apply?.();
	}
}

Object.freeze(Audit.prototype);
