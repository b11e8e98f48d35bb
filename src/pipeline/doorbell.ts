/*
 * The doorbell's pipeline, one stage per step of an event's life:
 *
 *   triggers -> capture -> detection -> clip -> seal -> outbox -> publisher -> MQTT
 *
 * Triggers are captured one at a time, in order; a ring that arrives while a
 * motion burst is recording waits for it rather than being lost. Detection
 * runs behind capture, so it never delays the next burst. A face makes a
 * motion event a face event (a ring stays a ring: someone asked for the
 * owner); encryption is the Sealer.
 */
import type Capture from "./capture";
import type Publisher from "./publisher";
import type Detection from "./detection";
import type { Sealer } from "./sealer";
import type { Identity } from "device/identity";
import type { Configuration } from "device/configuration";
import type { Outbox, EventKind } from "store/outbox";
import type Counter from "store/counter";
import { encodeClipParts, fitMetadata } from "./clip";
import type { Burst } from "./capture";
import type { ClipMetadata } from "./clip";
import { eventTopic } from "device/identity";
import { bytes } from "hardware/random";
import { now } from "hardware/clock";
import { clockState } from "device/time";
import { show } from "hardware/status";
import { toHex, totalLength } from "util/bytes";
import { log } from "device/log";

export interface DoorbellParts {
	identity: Identity;
	configuration: Configuration;
	capture: Capture;
	detection: Detection;
	sealer: Sealer;
	sequence: Counter;
	outbox: Outbox;
	publisher: Publisher;
}

/** Triggers waiting behind the one being recorded. */
const maxWaiting = 4;

interface Captured {
	readonly kind: EventKind;
	readonly burst: Burst;
}

export default class Doorbell {
	#parts: DoorbellParts;
	#waiting: EventKind[] = [];
	#capturing = false;
	/** Bursts captured, waiting for the detect stage (at most the waiting triggers' worth). */
	#captured: Captured[] = [];
	#detecting = false;

	constructor(parts: DoorbellParts) {
		this.#parts = parts;
	}

	trigger(kind: EventKind): void {
		if (this.#waiting.length === maxWaiting) {
			const motion = this.#waiting.indexOf("motion");
			if ((motion < 0) && (kind !== "ring")) {
				log.warn(`trigger ${kind} dropped: ${maxWaiting} triggers already waiting`);
				return;
			}
			this.#waiting.splice(motion < 0 ? 0 : motion, 1);
		}
		this.#waiting.push(kind);
		if (!this.#capturing)
			this.#capture();
	}

	/**
	 * Captures each waiting trigger's burst in turn. Face detection runs
	 * apart (#detect), so a ring that comes while the last burst is still
	 * being examined is captured at once, not seconds later.
	 */
	async #capture(): Promise<void> {
		this.#capturing = true;
		while (this.#waiting.length) {
			const kind = this.#waiting.shift()!;
			const { configuration, capture } = this.#parts;
			try {
				show("capturing", { kind });
				const burst = await capture.burst(configuration.burst.frames, configuration.burst.timeoutMs);
				if (burst.metadata.cameraError)
					log.warn(`${kind} burst incomplete: ${burst.metadata.cameraError}`);
				this.#captured.push({ kind, burst });
				if (!this.#detecting)
					this.#detect();
			}
			catch (error) {
				log.error(`${kind} event failed: ${(error as Error).message}`);
			}
		}
		this.#capturing = false;
	}

	/** Detect, seal and store each captured burst, in capture order. */
	async #detect(): Promise<void> {
		this.#detecting = true;
		while (this.#captured.length) {
			const { kind, burst } = this.#captured.shift()!;
			try {
				const detected = await this.#parts.detection.process(burst.frames);
				if (detected.report.status === "unavailable")
					log.warn(`${kind} event without face data: ${detected.report.reason}`);
				const eventKind = ((kind === "motion") && (detected.report.status === "found")) ? "face" : kind;
				const metadata = fitMetadata(withClock({ ...burst.metadata, frameCount: detected.frames.length, kind: eventKind, faces: detected.report }));
				this.#store(eventKind, metadata, detected.frames, detected.thumbnail);
			}
			catch (error) {
				log.error(`${kind} event failed: ${(error as Error).message}`);
			}
		}
		this.#detecting = false;
	}

	/**
	 * An event without pictures (an update's outcome), sealed and stored at
	 * once: it must be on flash before a restart that may follow it.
	 */
	recordNow(kind: EventKind, details: Record<string, string | number | boolean>): void {
		try {
			this.#store(kind, withClock({ width: 0, height: 0, format: "jpeg", frameCount: 0, startedAt: now(), kind, details }), []);
		}
		catch (error) {
			log.error(`${kind} event failed: ${(error as Error).message}`);
		}
	}

	#store(kind: EventKind, metadata: ClipMetadata, frames: readonly Uint8Array[], thumbnail?: Uint8Array): void {
		const { identity, sealer, sequence, outbox, publisher } = this.#parts;
		const clip = encodeClipParts({ metadata, frames, ...(thumbnail ? { thumbnail } : {}) });
		const header = {
			deviceId: identity.deviceId,
			eventId: toHex(bytes(16)),
			seq: sequence.increment(),
			time: now(),
			kind,
		};
		const payload = sealer.seal(header, clip);
		const dropped = outbox.put({ eventId: header.eventId, kind, topic: eventTopic(identity), payload });
		if (dropped)
			log.warn(`outbox full: dropped ${dropped.kind} event ${dropped.eventId}`);
		const faces = metadata.faces ? `, ${metadata.faces.faces.length} faces` : "";
		log.info(`${kind} event ${header.eventId} seq ${header.seq}: ${frames.length} frames${faces}, ${totalLength(payload)} bytes queued`);
		show(publisher.connected ? "online" : "offline");
		publisher.kick();
	}
}

/**
 * The metadata, with whether the wall clock was synchronised when the event
 * was recorded ("synced": at or above the device's time floor, src/device/time.ts),
 * so the owner knows whether to believe its times. Sealed with the rest.
 */
function withClock<T extends ClipMetadata>(metadata: T): T {
	return { ...metadata, clock: clockState() };
}

Object.freeze(Doorbell.prototype);
