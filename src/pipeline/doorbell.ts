/*
 * The doorbell's pipeline, one stage per step of an event's life:
 *
 *   trigger -> (ring) snapshot -> seal -> outbox -> publisher -> MQTT
 *           -> clip (pre-roll + after) -> detection -> seal -> outbox -> ...
 *
 * A ring is sealed and queued at once as a notification with one snapshot
 * (the newest pre-roll frame, or the first after the press): it waits for
 * no clip, no detection and no earlier event. Its clip follows as a second
 * event that names the notification by event id (`follows`). A motion event
 * stays one event, its clip with the detection results: nobody waits at the
 * door for it, and whether it shows a face is what makes it worth a look.
 *
 * Each trigger starts recording its clip at once (the pre-roll is what the
 * ring buffer holds at that moment), so a ring during a motion clip is not
 * recorded late. Detection runs behind capture, one clip at a time, in
 * trigger order. A face makes a motion event a face event (a ring stays a
 * ring: someone asked for the owner); encryption is the Sealer.
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
import { notificationClip } from "./notification";
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

/**
 * Clips being recorded or waiting for detection, at most, for a motion
 * event and for a ring (each holds its frames in the XS heap: docs/
 * porting.md, memory budget). A ring's notification is always sent.
 */
const maxWaiting = 3;
const maxRingClips = 5;
/** How long a notification waits for a frame when the pre-roll has none: a stalled camera costs no more. */
const snapshotTimeoutMs = 1000;

interface Trigger {
	readonly kind: EventKind;
	readonly triggeredAt: number;
	/** On a ring's clip: its notification's event id. */
	readonly follows?: string;
}

interface Captured extends Trigger {
	readonly burst: Burst;
}

interface StoreExtra {
	readonly eventId?: string;
	readonly thumbnail?: Uint8Array;
	readonly snapshot?: Uint8Array;
	/** A ring's clip: the outbox drops it before any notification. */
	readonly followUp?: boolean;
}

export default class Doorbell {
	#parts: DoorbellParts;
	/** Clips being recorded, in trigger order. */
	#recording: Trigger[] = [];
	/** Clips recorded, waiting for the detect stage, in trigger order. */
	#captured: Captured[] = [];
	#detecting = false;

	constructor(parts: DoorbellParts) {
		this.#parts = parts;
	}

	trigger(kind: EventKind): void {
		const triggeredAt = now();
		const inFlight = this.#recording.length + this.#captured.length;
		let follows: string | undefined;
		if (kind === "ring") {
			// The notification goes whatever else is in flight; the clip only within the memory budget.
			follows = toHex(bytes(16));
			this.#notify(follows, triggeredAt);
		}
		if (inFlight >= ((kind === "ring") ? maxRingClips : maxWaiting)) {
			log.warn(`${kind} clip dropped: ${inFlight} clips already in flight`);
			return;
		}
		this.#record({ kind, triggeredAt, ...(follows ? { follows } : {}) });
	}

	/**
	 * The ring's notification: sealed and queued as soon as there is a
	 * snapshot (at once from the pre-roll), or without one when the camera
	 * gives none. Its failure never stops the clip, nor the clip's it.
	 */
	async #notify(eventId: string, triggeredAt: number): Promise<void> {
		try {
			const captured = await this.#parts.capture.snapshot(snapshotTimeoutMs);
			const { metadata, snapshot } = notificationClip(triggeredAt, captured);
			if (metadata.snapshotError)
				log.warn(`ring notification ${eventId}: ${metadata.snapshotError}`);
			// Like every event, it says whether the device's clock was set when it was sealed.
			this.#store("ring", withClock(metadata), [], { eventId, ...(snapshot ? { snapshot } : {}) });
		}
		catch (error) {
			log.error(`ring notification failed: ${(error as Error).message}`);
		}
	}

	/** Records one trigger's clip (clips end in trigger order: each ends a fixed count of frames after its trigger). */
	async #record(trigger: Trigger): Promise<void> {
		const { configuration, capture } = this.#parts;
		this.#recording.push(trigger);
		show("capturing", { kind: trigger.kind });
		let burst: Burst | undefined;
		try {
			burst = await capture.clip(configuration.burst.frames, configuration.burst.timeoutMs, trigger.triggeredAt);
			if (burst.metadata.cameraError)
				log.warn(`${trigger.kind} clip incomplete: ${burst.metadata.cameraError}`);
		}
		catch (error) {
			log.error(`${trigger.kind} event failed: ${(error as Error).message}`);
		}
		this.#recording = this.#recording.filter((other) => other !== trigger);
		if (burst)
			this.#captured.push({ ...trigger, burst });
		if (!this.#detecting)
			this.#detect();
	}

	/** Detect, seal and store each recorded clip, in order. */
	async #detect(): Promise<void> {
		this.#detecting = true;
		while (this.#captured.length) {
			const { kind, burst, triggeredAt, follows } = this.#captured.shift()!;
			try {
				// Clips being recorded and events being sent get the CPU before an inference takes
				// it (capture.whenIdle, publisher.whenIdle); a clip's own frames, once it is being
				// examined, wait for nothing (a press meanwhile is taken between two frames).
				await this.#parts.capture.whenIdle();
				await this.#parts.publisher.whenIdle();
				const detected = await this.#parts.detection.process(burst.frames);
				if (detected.report.status === "unavailable")
					log.warn(`${kind} event without face data: ${detected.report.reason}`);
				const eventKind = ((kind === "motion") && (detected.report.status === "found")) ? "face" : kind;
				// Frame times stay only while they still match the frames (a frame a privacy zone could not mask is dropped).
				const { frameTimes, ...rest } = burst.metadata;
				const times = (frameTimes && (frameTimes.length === detected.frames.length)) ? { frameTimes } : {};
				const metadata = fitMetadata(withClock({
					...rest, ...times, frameCount: detected.frames.length, kind: eventKind, triggeredAt, ...(follows ? { follows } : {}), faces: detected.report,
				}));
				this.#store(eventKind, metadata, detected.frames, { ...(detected.thumbnail ? { thumbnail: detected.thumbnail } : {}), followUp: follows !== undefined });
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

	#store(kind: EventKind, metadata: ClipMetadata, frames: readonly Uint8Array[], extra: StoreExtra = {}): void {
		const { identity, sealer, sequence, outbox, publisher } = this.#parts;
		const { thumbnail, snapshot, followUp } = extra;
		const clip = encodeClipParts({ metadata, frames, ...(thumbnail ? { thumbnail } : {}), ...(snapshot ? { snapshot } : {}) });
		const header = {
			deviceId: identity.deviceId,
			eventId: extra.eventId ?? toHex(bytes(16)),
			seq: sequence.increment(),
			time: now(),
			kind,
		};
		const payload = sealer.seal(header, clip);
		const sealedAt = now();
		const dropped = outbox.put({ eventId: header.eventId, kind, topic: eventTopic(identity), payload, ...(followUp ? { followUp } : {}) });
		for (const event of dropped)
			log.warn(`outbox full: dropped ${event.kind} event ${event.eventId}`);
		const faces = metadata.faces ? `, ${metadata.faces.faces.length} faces` : "";
		const what = metadata.notification ? `notification, ${snapshot ? "1 snapshot" : "no snapshot"}` : `${frames.length} frames${faces}`;
		// The times (wall clock, ms) are what `npm run bench:latency` splits the path with.
		log.info(`${kind} event ${header.eventId} seq ${header.seq}: ${what}, ${totalLength(payload)} bytes queued (sealed at ${sealedAt}, stored at ${now()})`);
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
