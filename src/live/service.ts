/*
 * The live view on the device (docs/protocol/live.md): a paired phone's
 * signed start request (requests/service checks the signer, freshness and
 * replay before this sees it) opens a session with that phone alone; the
 * camera's frames are sealed for it, one AEAD message each, and published at
 * QoS 0 on the session's own topic until the phone's signed stop, the
 * session's limit, the phone's removal, or a restart.
 *
 * The doorbell comes first. Frames never wait: one is handed to the MQTT
 * client only when the client has nothing queued for the socket (a frame
 * still going out, an event being streamed from the outbox), and is dropped
 * otherwise. So a ring's notification, sealed and queued by pipeline/
 * doorbell at the press, waits at most for the rest of one frame already
 * handed to the socket, never for a queue of them; the frames' sealing runs
 * in the camera's callback, one frame at a time, so a press is taken between
 * two frames; and nothing here touches the trigger, the capture of a clip or
 * the outbox.
 *
 * Forward secrecy: the device's ephemeral X25519 secret and the shared
 * secret are wiped as soon as the session keys are derived, and the keys
 * when the session ends; nothing of a session is ever written to flash but
 * its audit entries (who, when, how long).
 */
import Timer from "timer";
import type { Audit } from "audit/audit";
import type { DeviceKeys } from "device/keys";
import type { PairedPhone } from "device/recipients";
import type { OpenedRequest } from "requests/format";
import { RequestRefusal } from "requests/format";
import type { RequestHandler } from "requests/service";
import { digest, gcmSeal, hmac, wipe, x25519, x25519PublicKey } from "hardware/crypto";
import { bytes } from "hardware/random";
import { ticks } from "hardware/clock";
import { watching } from "hardware/status";
import {
	EndReasons, LiveKinds, LiveRefusal, MessageTypes, encodeAccept, endContent, header, maxContent, nonce, parseStart, plaintext,
	sessionKeys, sessionTopic, stopPayloadSize, transcript,
} from "./format";
import type { EndReason, LiveCrypto } from "./format";
import { Sizes } from "./format";
import { toHex } from "util/bytes";
import { maskZones } from "detect/zones";
import type { PrivacyZone } from "detect/zones";
import { decodeJpeg, encodeJpeg } from "hardware/image";

/** At most this many sessions start per minute, all phones together: each writes two audit entries and wakes the radio. */
export const startsPerMinute = 4;
/** Sessions at once (one per phone): each seals every frame again under its own key. */
export const maxSessions = 3;
/** The quality of a frame re-encoded after its privacy zones are blanked (as pipeline/detection's). */
const zonesQuality = 85;

export interface LiveChannel {
	readonly connected: boolean;
	/** Whether the client still holds bytes the socket has not taken (mqtt/client backlogged). */
	readonly backlogged: boolean;
	publish(topic: string, payload: readonly Uint8Array[], qos: 0): number;
}

export interface LiveCamera {
	watch(watcher: (frame: Uint8Array, at: number) => void): { unwatch: () => void; error?: string };
	/** Asks the sensor for a size; none: back to the configuration's (pipeline/capture resize). */
	resize(size?: { width: number; height: number }): string | undefined;
	readonly width: number;
	readonly height: number;
}

export interface LiveOptions {
	readonly deviceId: string;
	readonly keys: DeviceKeys;
	readonly camera: LiveCamera;
	readonly channel: LiveChannel;
	readonly audit: Audit;
	/**
	 * The privacy zones (configuration privacyZones): blanked in every frame
	 * before it is sealed, as events' frames are (pipeline/detection); a frame
	 * that cannot be masked is dropped, never sent unmasked.
	 */
	readonly zones: readonly PrivacyZone[];
	/** The phones paired now; a session whose phone is no longer among them ends at its next frame. */
	recipients(): readonly PairedPhone[];
	/** The wall clock, ms: each frame's capture time. */
	now(): number;
	log(level: "info" | "warn", line: string): void;
}

interface Session {
	readonly id: string;
	readonly topic: string;
	readonly phone: PairedPhone;
	readonly key: Uint8Array;
	readonly salt: Uint8Array;
	readonly seconds: number;
	readonly startedAt: number;
	readonly size: typeof Sizes[number];
	counter: number;
	frames: number;
	dropped: number;
	timer: ReturnType<typeof Timer.set> | undefined;
}

const crypto: LiveCrypto = Object.freeze({
	sha256: (data: Uint8Array) => digest("SHA-256", data),
	hmacSha256: (key: Uint8Array, data: Uint8Array) => hmac("SHA-256", key, data),
});

export class LiveService {
	readonly #options: LiveOptions;
	#sessions: Session[] = [];
	#starts: number[] = [];
	#unwatch: (() => void) | undefined;
	/** The session served first at the next frame: turns go round, so that no phone always gets the congested end. */
	#turn = 0;

	constructor(options: LiveOptions) {
		this.#options = options;
	}

	get sessions(): number {
		return this.#sessions.length;
	}

	/** The request handlers to register with requests/service: start and stop, for any paired phone. */
	handlers(): RequestHandler[] {
		return [
			Object.freeze({ kind: LiveKinds.start, name: "live start", role: "member" as const, durable: false, handle: (request: OpenedRequest, signer: PairedPhone) => this.#start(request, signer) }),
			Object.freeze({ kind: LiveKinds.stop, name: "live stop", role: "member" as const, durable: false, handle: (request: OpenedRequest, signer: PairedPhone) => this.#stop(request, signer) }),
		];
	}

	/** A phone was removed: its session ends now (the removal's handler calls this; a frame would find it anyway). */
	phoneRemoved(keyId: string): void {
		for (const session of this.#sessions.filter((candidate) => candidate.phone.keyId === keyId))
			this.#end(session, "removed");
	}

	#start(request: OpenedRequest, signer: PairedPhone): void {
		const options = this.#options;
		let start;
		try {
			start = parseStart(request.payload);
		}
		catch (error) {
			throw new RequestRefusal((error as Error).message);
		}
		const at = ticks();
		this.#starts = this.#starts.filter((time) => at - time < 60000);
		if (this.#starts.length >= startsPerMinute)
			throw new RequestRefusal(`${startsPerMinute} live views started in the last minute already`);
		const own = this.#sessions.find((session) => session.phone.keyId === signer.keyId);
		if (!own && (this.#sessions.length >= maxSessions))
			throw new RequestRefusal(`${maxSessions} phones are watching already`);
		// The device's ephemeral key lives only until the session keys are derived.
		const secret = bytes(32);
		let shared: Uint8Array;
		try {
			shared = x25519(secret, start.phoneEphemeral);
		}
		catch {
			wipe(secret);
			throw new RequestRefusal("the phone's ephemeral key is of low order");
		}
		const deviceEphemeral = x25519PublicKey(secret);
		wipe(secret);
		// One session per phone: a new start from it replaces its session (its app restarted, or it asks for another size).
		if (own)
			this.#end(own, "replaced");
		// VGA is asked of the sensor while a session wants it (the clips get it too meanwhile); the accept says what it gives.
		if ((start.size.name === "vga") || !this.#sessions.some((session) => (session.size.name === "vga") && (session.phone.keyId !== signer.keyId))) {
			const unavailable = options.camera.resize((start.size.name === "vga") ? { width: start.size.width, height: start.size.height } : undefined);
			if (unavailable)
				options.log("warn", `live view: ${unavailable}`);
		}
		const fields = {
			deviceId: options.deviceId, signer: request.signer, time: request.time, nonce: request.nonce, payload: request.payload,
			deviceEphemeral, width: options.camera.width, height: options.camera.height, seconds: start.seconds,
		};
		const signed = transcript(fields);
		let keys;
		try {
			keys = sessionKeys(crypto, shared, signed);
		}
		catch (error) {
			throw new RequestRefusal((error as LiveRefusal).message);
		}
		finally {
			wipe(shared);
		}
		this.#starts.push(at);
		const session: Session = {
			id: keys.id, topic: sessionTopic(crypto, start.phoneEphemeral), phone: signer, key: keys.key, salt: keys.salt,
			seconds: start.seconds, startedAt: at, size: start.size, counter: 0, frames: 0, dropped: 0, timer: undefined,
		};
		// Everyone is told, before the first frame: the entry is on flash and queued, sealed to every phone. No entry, no session.
		try {
			options.audit.record({ type: "liveStart", phone: signer.keyId, name: signer.name, session: session.id, seconds: start.seconds, size: start.size.name }, { readers: options.recipients() });
		}
		catch (error) {
			wipe(keys.key);
			wipe(keys.salt);
			if (!this.#sessions.some((other) => other.size.name === "vga"))
				options.camera.resize();
			throw new RequestRefusal(`its audit entry could not be written: ${(error as Error).message}`);
		}
		this.#sessions.push(session);
		session.timer = Timer.set(() => {
			session.timer = undefined;
			this.#end(session, "limit");
		}, start.seconds * 1000);
		// The request came over this connection, so it is up; if it went down since, the phone hears nothing and gives up.
		if (options.channel.connected)
			options.channel.publish(session.topic, [encodeAccept(start.size.code, fields, options.keys.signer.sign(signed))], 0);
		options.log("info", `live view ${session.id} for phone ${signer.keyId}: ${start.seconds} s at ${fields.width}x${fields.height}`);
		if (!this.#unwatch) {
			const watched = options.camera.watch((frame, time) => this.#frame(frame, time));
			this.#unwatch = watched.unwatch;
			if (watched.error)
				options.log("warn", `live view ${session.id}: ${watched.error}`);
		}
		watching(this.#sessions.length);
	}

	#stop(request: OpenedRequest, signer: PairedPhone): void {
		if (request.payload.length !== stopPayloadSize)
			throw new RequestRefusal(`a live stop of ${request.payload.length} bytes (it is ${stopPayloadSize})`);
		const id = toHex(request.payload);
		const session = this.#sessions.find((candidate) => (candidate.id === id) && (candidate.phone.keyId === signer.keyId));
		if (!session)
			throw new RequestRefusal(`no live view ${id} of this phone`);
		this.#end(session, "stop");
	}

	/** One frame from the camera: sealed for each session the socket can take it for now, dropped for the others. */
	#frame(camera: Uint8Array, at: number): void {
		const options = this.#options;
		const paired = options.recipients();
		const count = this.#sessions.length;
		const turn = this.#turn++ % Math.max(count, 1);
		let frame: Uint8Array | undefined = options.zones.length ? undefined : camera;
		for (const session of [...this.#sessions.slice(turn), ...this.#sessions.slice(0, turn)]) {
			if (!paired.some((phone) => phone.keyId === session.phone.keyId)) {
				this.#end(session, "removed");
				continue;
			}
			const channel = options.channel;
			if (!channel.connected || channel.backlogged) {
				session.dropped++;
				continue;
			}
			// Masked once for all the sessions, and only once a session can take the frame: masking costs a decode and an encode.
			if (!frame) {
				try {
					const pixels = decodeJpeg(camera);
					maskZones(pixels, options.zones);
					frame = new Uint8Array(encodeJpeg(pixels, zonesQuality));
				}
				catch (error) {
					options.log("warn", `live view: a frame dropped, the privacy zones could not be applied: ${(error as Error).message}`);
					for (const other of this.#sessions)
						other.dropped++;
					return;
				}
			}
			if (frame.length > maxContent) {
				session.dropped++;
				continue;
			}
			this.#send(session, MessageTypes.frame, at, frame);
			session.frames++;
		}
	}

	#send(session: Session, type: number, at: number, content: Uint8Array): void {
		const counter = session.counter++;
		const head = header(counter);
		this.#options.channel.publish(session.topic, [head, gcmSeal(session.key, nonce(session.salt, counter), plaintext(type, at, content), head)], 0);
	}

	#end(session: Session, reason: EndReason): void {
		const options = this.#options;
		if (!this.#sessions.includes(session))
			return;
		this.#sessions = this.#sessions.filter((other) => other !== session);
		if (session.timer)
			Timer.clear(session.timer);
		// The phone hears why, if the connection is up; a phone that hears nothing ends at the limit it was granted.
		if (options.channel.connected) {
			try {
				this.#send(session, MessageTypes.end, options.now(), endContent(reason));
			}
			catch (error) {
				options.log("warn", `live view ${session.id}: the end message was not sent: ${(error as Error).message}`);
			}
		}
		wipe(session.key);
		wipe(session.salt);
		if (!this.#sessions.length && this.#unwatch) {
			this.#unwatch();
			this.#unwatch = undefined;
		}
		if (!this.#sessions.some((other) => other.size.name === "vga"))
			options.camera.resize();
		watching(this.#sessions.length);
		const seconds = Math.round((ticks() - session.startedAt) / 100) / 10;
		options.log("info", `live view ${session.id} for phone ${session.phone.keyId} ended (${reason}) after ${seconds} s: ${session.frames} frames sent, ${session.dropped} dropped`);
		try {
			options.audit.record({ type: "liveEnd", phone: session.phone.keyId, session: session.id, reason, seconds, frames: session.frames, dropped: session.dropped }, { readers: options.recipients() });
		}
		catch (error) {
			options.log("warn", `audit: the live view's end was not recorded: ${(error as Error).message}`);
		}
	}
}

/**
 * At boot: a session that a restart cut has a liveStart entry and no
 * liveEnd; its end is recorded now, with reason "restart" (its length is
 * not known: the device kept nothing of it).
 */
export function recordCutSessions(audit: Audit, readers: readonly { publicKey: Uint8Array }[]): number {
	const entries = audit.log.entries;
	const ended = new Set(entries.filter((entry) => entry.type === "liveEnd").map((entry) => String(entry.details.session)));
	const cut = entries.filter((entry) => (entry.type === "liveStart") && !ended.has(String(entry.details.session)));
	for (const entry of cut)
		audit.record({ type: "liveEnd", phone: String(entry.details.phone), session: String(entry.details.session), reason: "restart" }, { readers });
	return cut.length;
}

export { EndReasons };

Object.freeze(LiveService.prototype);
