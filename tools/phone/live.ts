/*
 * The phone's side of the live view (docs/protocol/live.md), written from the
 * specification and sharing no code with the firmware (src/live/): a fresh
 * X25519 key for each session, the start request signed and sealed as every
 * request is (./requests.ts), the device's accept checked against the
 * device's Ed25519 key from pairing, the session keys derived with HKDF over
 * the transcript, and each frame opened with AES-256-GCM. A frame whose tag
 * fails, whose key id is not the session's, or whose counter is not above the
 * last one opened, is refused: a tampered, forged, replayed or reordered
 * frame never reaches the screen. A missing one is a gap, not an error.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import type { PhoneIdentity } from "./identity.js";
import { buildRequest, requestTopic, RequestError } from "./requests.js";
import { verifySignature } from "./open.js";

export const LABEL = "doorward/live/v1";
export const ACCEPT_MAGIC = Buffer.from("DWLA", "ascii");
export const Kind = Object.freeze({ Start: 16, Stop: 17 } as const);
export const SIZES = Object.freeze({ qvga: 0, vga: 1 } as const);
export type LiveSize = keyof typeof SIZES;
const ACCEPT_SIZE = 108;
const HEADER = 10;
const TAG = 16;
const INNER = 14;
export const BUCKETS = Object.freeze([1024, 4096, 8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304, 131072]);
export const END_REASONS = Object.freeze(["", "stop", "limit", "removed", "replaced", "camera"] as const);

export class LiveError extends Error {}
/** A message the phone refuses: it is dropped, the session goes on. */
export class LiveFrameRefused extends Error {}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest();
const hmac = (key: Buffer, data: Buffer) => createHmac("sha256", key).update(data).digest();

function u16(value: number): Buffer {
	const bytes = Buffer.alloc(2);
	bytes.writeUInt16BE(value);
	return bytes;
}

/** The topic a session's messages come on: from the phone's ephemeral key, so the phone can subscribe before it asks. */
export function sessionTopic(ephemeralPublic: Uint8Array): string {
	return `dw/lv/${sha256(Buffer.concat([Buffer.from(`${LABEL} topic`), Buffer.of(0), Buffer.from(ephemeralPublic)])).subarray(0, 16).toString("hex")}`;
}

export interface StartFields {
	readonly deviceId: string;
	readonly agreementPublicKey: string;
	readonly signingPublicKey: string;
	readonly signingSecretKey: string;
	readonly seconds: number;
	readonly size: LiveSize;
	/** For the worked example: fixed values; random otherwise. */
	readonly ephemeralSecret?: Uint8Array;
	readonly time?: number;
	readonly nonce?: Uint8Array;
	readonly hpkeIkm?: Uint8Array;
}

export interface Message {
	readonly type: "frame" | "end";
	readonly counter: number;
	/** The device's clock when the frame was captured (ms). */
	readonly time: number;
	/** The JPEG; for an end, one byte: the reason. */
	readonly content: Buffer;
	readonly reason?: string;
	/** The size of the message as the broker carried it. */
	readonly bytes: number;
}

/** One session, from the request it makes to the frames it opens. */
export class LiveSession {
	readonly topic: string;
	readonly requestTopic: string;
	readonly sealedRequest: Buffer;
	readonly payload: Buffer;
	readonly time: number;
	readonly nonce: Buffer;
	#fields: StartFields;
	#ephemeralSecret: Uint8Array | undefined;
	#key: Buffer | undefined;
	#salt: Buffer | undefined;
	#id: Buffer | undefined;
	#last = -1;
	width = 0;
	height = 0;
	seconds = 0;
	refused = 0;

	private constructor(fields: StartFields, topicId: string, ephemeralSecret: Uint8Array, payload: Buffer, time: number, nonce: Buffer, sealed: Buffer) {
		this.#fields = fields;
		this.#ephemeralSecret = ephemeralSecret;
		this.payload = payload;
		this.time = time;
		this.nonce = nonce;
		this.sealedRequest = sealed;
		this.topic = sessionTopic(x25519.getPublicKey(ephemeralSecret));
		this.requestTopic = requestTopic(topicId);
	}

	/** A start request for a device this phone has paired with. */
	static async start(phone: PhoneIdentity, deviceId: string, seconds: number, size: LiveSize, extra: Partial<StartFields> = {}): Promise<LiveSession> {
		const device = phone.devices[deviceId];
		if (!device || !device.topicId)
			throw new LiveError(`this phone has not paired with device ${deviceId}`);
		if (!phone.ed25519SecretKey || !phone.ed25519PublicKey)
			throw new LiveError("this phone has no signing key: it was never onboarded");
		return LiveSession.make({
			deviceId, agreementPublicKey: device.agreementPublicKey, signingPublicKey: device.signingPublicKey, signingSecretKey: phone.ed25519SecretKey,
			seconds, size, ...extra,
		}, device.topicId);
	}

	static async make(fields: StartFields, topicId: string): Promise<LiveSession> {
		if (!Number.isInteger(fields.seconds) || (fields.seconds < 1) || (fields.seconds > 300))
			throw new LiveError(`a live view of ${fields.seconds} s: 1 to 300`);
		const ephemeralSecret = fields.ephemeralSecret ?? x25519.utils.randomSecretKey();
		const payload = Buffer.concat([Buffer.of(1, SIZES[fields.size]), u16(fields.seconds), Buffer.from(x25519.getPublicKey(ephemeralSecret))]);
		const time = fields.time ?? Date.now();
		const nonce = Buffer.from(fields.nonce ?? randomBytes(16));
		try {
			const { sealed } = await buildRequest({
				kind: Kind.Start, payload, deviceId: fields.deviceId, agreementPublicKey: fields.agreementPublicKey, signingSecretKey: fields.signingSecretKey,
				time, nonce, ...(fields.hpkeIkm ? { ephemeralIkm: fields.hpkeIkm } : {}),
			});
			return new LiveSession(fields, topicId, ephemeralSecret, payload, time, nonce, sealed);
		}
		catch (error) {
			throw new LiveError((error as RequestError).message);
		}
	}

	get accepted(): boolean {
		return this.#key !== undefined;
	}

	/** The session id (hex) once accepted: the stop request names it. */
	get id(): string | undefined {
		return this.#id?.toString("hex");
	}

	/** The transcript the device signs, from what this phone sent and what the accept says. */
	transcript(deviceEphemeral: Buffer, width: number, height: number, seconds: number): Buffer {
		const time = Buffer.alloc(8);
		time.writeBigUInt64BE(BigInt(this.time));
		return Buffer.concat([
			Buffer.from(LABEL), Buffer.of(0), Buffer.from(this.#fields.deviceId, "hex"), Buffer.from(ed25519.getPublicKey(Buffer.from(this.#fields.signingSecretKey, "hex"))),
			time, this.nonce, this.payload, deviceEphemeral, u16(width), u16(height), u16(seconds),
		]);
	}

	/** The device's accept: checks its signature, derives the keys and deletes this phone's ephemeral secret. */
	accept(message: Buffer): void {
		if (this.#key)
			throw new LiveFrameRefused("a second accept");
		if ((message.length !== ACCEPT_SIZE) || !message.subarray(0, 4).equals(ACCEPT_MAGIC))
			throw new LiveFrameRefused(`not an accept (${message.length} bytes)`);
		const deviceEphemeral = message.subarray(4, 36);
		if ((message[36] !== SIZES[this.#fields.size]) || (message[37] !== 0))
			throw new LiveFrameRefused("the accept is for another size");
		const width = message.readUInt16BE(38);
		const height = message.readUInt16BE(40);
		const seconds = message.readUInt16BE(42);
		if ((seconds < 1) || (seconds > this.#fields.seconds))
			throw new LiveFrameRefused(`the accept grants ${seconds} s, more than asked`);
		const transcript = this.transcript(Buffer.from(deviceEphemeral), width, height, seconds);
		if (!verifySignature(message.subarray(44, 108), transcript, Buffer.from(this.#fields.signingPublicKey, "hex")))
			throw new LiveFrameRefused("the accept's signature is not the device's");
		const shared = Buffer.from(x25519.getSharedSecret(this.#ephemeralSecret!, deviceEphemeral));
		this.#ephemeralSecret!.fill(0);
		this.#ephemeralSecret = undefined;
		if (shared.every((byte) => byte === 0))
			throw new LiveFrameRefused("the device's ephemeral key is of low order");
		const prk = hmac(sha256(transcript), shared);
		shared.fill(0);
		const expand = (info: string, length: number) => hmac(prk, Buffer.concat([Buffer.from(`${LABEL} ${info}`), Buffer.of(1)])).subarray(0, length);
		this.#key = expand("key", 32);
		this.#salt = expand("salt", 12);
		this.#id = expand("id", 8);
		prk.fill(0);
		this.width = width;
		this.height = height;
		this.seconds = seconds;
	}

	/** Opens one message of the session, or throws LiveFrameRefused (and counts it). */
	open(message: Buffer): Message {
		try {
			return this.#open(message);
		}
		catch (error) {
			this.refused++;
			throw error;
		}
	}

	#open(message: Buffer): Message {
		if (!this.#key || !this.#salt)
			throw new LiveFrameRefused("a frame before the accept");
		if (message.length < HEADER + INNER + TAG)
			throw new LiveFrameRefused(`a message of ${message.length} bytes`);
		const header = message.subarray(0, HEADER);
		if ((header[0] !== 1) || (header[1] !== 0))
			throw new LiveFrameRefused(`version ${header[0]}, key id ${header[1]}: not this session's`);
		const counter = Number(header.readBigUInt64BE(2));
		if (!BUCKETS.includes(message.length - HEADER - TAG))
			throw new LiveFrameRefused(`a message of ${message.length} bytes is not padded to a bucket`);
		if (counter <= this.#last)
			throw new LiveFrameRefused(`counter ${counter} after ${this.#last}: replayed or reordered`);
		const nonce = Buffer.from(this.#salt);
		const value = Buffer.alloc(8);
		value.writeBigUInt64BE(BigInt(counter));
		for (let i = 0; i < 8; i++)
			nonce[4 + i] ^= value[i];
		const decipher = createDecipheriv("aes-256-gcm", this.#key, nonce);
		decipher.setAAD(header);
		decipher.setAuthTag(message.subarray(message.length - TAG));
		let plain: Buffer;
		try {
			plain = Buffer.concat([decipher.update(message.subarray(HEADER, message.length - TAG)), decipher.final()]);
		}
		catch {
			throw new LiveFrameRefused(`frame ${counter} does not authenticate: tampered or not from the device`);
		}
		const length = plain.readUInt32BE(10);
		if ((plain[1] !== 0) || (INNER + length > plain.length) || (BUCKETS.find((bucket) => bucket >= INNER + length) !== plain.length) || plain.subarray(INNER + length).some((byte) => byte !== 0))
			throw new LiveFrameRefused(`frame ${counter} is malformed inside`);
		this.#last = counter;
		const time = Number(plain.readBigUInt64BE(2));
		const content = Buffer.from(plain.subarray(INNER, INNER + length));
		if (plain[0] === 1)
			return { type: "frame", counter, time, content, bytes: message.length };
		if ((plain[0] === 2) && (length === 1))
			return { type: "end", counter, time, content, reason: END_REASONS[content[0]] || `reason ${content[0]}`, bytes: message.length };
		throw new LiveFrameRefused(`frame ${counter} of type ${plain[0]}`);
	}

	/** The signed stop for this session. */
	async stop(phone: PhoneIdentity): Promise<Buffer> {
		if (!this.#id)
			throw new LiveError("the session was not accepted: nothing to stop");
		const { sealed } = await buildRequest({
			kind: Kind.Stop, payload: this.#id, deviceId: this.#fields.deviceId, agreementPublicKey: this.#fields.agreementPublicKey, signingSecretKey: phone.ed25519SecretKey!,
		});
		return sealed;
	}

	/** Forgets the session's keys. */
	close(): void {
		this.#key?.fill(0);
		this.#salt?.fill(0);
		this.#ephemeralSecret?.fill(0);
		this.#key = this.#salt = this.#ephemeralSecret = undefined;
	}
}

/**
 * AES-256-GCM sealing of one padded frame on Node: the reference that
 * `npm run bench:live` sets the device's sealing beside (the same bucket, the
 * same header as aad).
 */
export function sealReference(key: Buffer, nonce: Buffer, header: Buffer, plaintext: Buffer): Buffer {
	const cipher = createCipheriv("aes-256-gcm", key, nonce);
	cipher.setAAD(header);
	return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}
