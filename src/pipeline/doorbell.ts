/*
 * The doorbell's pipeline, one stage per step of an event's life:
 *
 *   triggers -> capture -> detection -> clip -> seal -> outbox -> publisher -> MQTT
 *
 * Triggers are handled one at a time, in order; a ring that arrives while a
 * motion burst is recording waits for it rather than being lost. A face
 * makes a motion event a face event (a ring stays a ring: someone asked for
 * the owner); encryption is the Sealer.
 */
import type Capture from "./capture";
import type Publisher from "./publisher";
import type Detection from "./detection";
import type { Sealer } from "./sealer";
import type { Identity } from "device/identity";
import type { Configuration } from "device/configuration";
import type { Outbox, EventKind } from "store/outbox";
import type Counter from "store/counter";
import { encodeClipParts } from "./clip";
import type { ClipMetadata } from "./clip";
import { eventTopic } from "device/identity";
import { bytes } from "hardware/random";
import { now } from "hardware/clock";
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

export default class Doorbell {
	#parts: DoorbellParts;
	#waiting: EventKind[] = [];
	#running = false;

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
		if (!this.#running)
			this.#run();
	}

	async #run(): Promise<void> {
		this.#running = true;
		while (this.#waiting.length) {
			const kind = this.#waiting.shift()!;
			try {
				await this.#record(kind);
			}
			catch (error) {
				log.error(`${kind} event failed: ${(error as Error).message}`);
			}
		}
		this.#running = false;
	}

	/**
	 * An event without pictures (an update's outcome), sealed and stored at
	 * once: it must be on flash before a restart that may follow it.
	 */
	recordNow(kind: EventKind, details: Record<string, string | number | boolean>): void {
		try {
			this.#store(kind, { width: 0, height: 0, format: "jpeg", frameCount: 0, startedAt: now(), kind, details }, []);
		}
		catch (error) {
			log.error(`${kind} event failed: ${(error as Error).message}`);
		}
	}

	async #record(kind: EventKind): Promise<void> {
		const { configuration, capture, detection } = this.#parts;
		show("capturing", { kind });
		const burst = await capture.burst(configuration.burst.frames, configuration.burst.timeoutMs);
		if (burst.metadata.cameraError)
			log.warn(`${kind} burst incomplete: ${burst.metadata.cameraError}`);
		const detected = await detection.process(burst.frames);
		if (detected.report.status === "unavailable")
			log.warn(`${kind} event without face data: ${detected.report.reason}`);
		const eventKind = ((kind === "motion") && (detected.report.status === "found")) ? "face" : kind;
		const metadata = { ...burst.metadata, frameCount: detected.frames.length, kind: eventKind, faces: detected.report };
		this.#store(eventKind, metadata, detected.frames, detected.thumbnail);
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

Object.freeze(Doorbell.prototype);
