/*
 * The app's side of the live view (docs/protocol/live.md), in the browser,
 * written from the specification as tools/phone/live.ts is for Node: a
 * fresh X25519 key pair for each session (WebCrypto, non-extractable), the
 * start request signed and sealed as every request (./requests.ts), the
 * device's accept checked against the device's Ed25519 key from pairing
 * (libsodium's rules, ./envelope.ts) over the transcript this app rebuilds,
 * the keys derived by WebCrypto's HKDF over the transcript, and each frame
 * opened with WebCrypto's AES-256-GCM under a non-extractable key. A frame
 * whose size is not a bucket's, whose version or key id is not 1 and 0,
 * whose counter is not above the last one opened, whose tag fails or whose
 * padding is not zeros is refused and dropped; the session goes on.
 */
import { concat, encoder, equal, fromHex, hex, own, sha256 } from "./bytes.js";
import type { KeyPair, Key } from "./bytes.js";
import { verifySignature } from "./envelope.js";
import { buildRequest, Kind, requestTopic } from "./requests.js";

export const LABEL = "doorward/live/v1";
const ACCEPT_SIZE = 108;
const HEADER = 10;
const TAG = 16;
const INNER = 14;
export const BUCKETS: readonly number[] = [1024, 4096, 8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304, 131072];
export const END_REASONS: readonly string[] = ["", "stop", "limit", "removed", "replaced", "camera"];
export const SIZES = { qvga: 0, vga: 1 } as const;

/** A message the app refuses: dropped, the session goes on. */
export class LiveRefused extends Error {
	constructor(message: string) {
		super(message);
		this.name = "LiveRefused";
	}
}

export interface LiveDevice {
	deviceId: string;
	topicId: string;
	agreementPublicKey: string;
	/** The device's Ed25519 key from pairing: what signs the accept. */
	signingPublicKey: string;
}

export interface LivePhone {
	signing: KeyPair;
	signingPublicKey: string;
}

export type LiveMessage =
	| { type: "frame"; counter: number; time: number; jpeg: Uint8Array }
	| { type: "end"; counter: number; time: number; reason: string };

const u16 = (value: number) => Uint8Array.of(value >> 8, value & 0xff);

/** The session topic: from the phone's ephemeral key, so the app subscribes before it asks. */
export async function sessionTopic(ephemeralPublic: Uint8Array): Promise<string> {
	return `dw/lv/${hex((await sha256(encoder.encode(`${LABEL} topic`), Uint8Array.of(0), ephemeralPublic)).subarray(0, 16))}`;
}

export class LiveSession {
	readonly topic: string;
	readonly requestTopic: string;
	readonly sealedRequest: Uint8Array;
	readonly seconds: number;
	readonly size: keyof typeof SIZES;
	#device: LiveDevice;
	#phone: LivePhone;
	#payload: Uint8Array;
	#time: number;
	#nonce: Uint8Array;
	#ephemeral: KeyPair | undefined;
	#key: Key | undefined;
	#salt: Uint8Array | undefined;
	#id: Uint8Array | undefined;
	#last = -1n;
	width = 0;
	height = 0;
	granted = 0;
	refused = 0;

	private constructor(device: LiveDevice, phone: LivePhone, seconds: number, size: keyof typeof SIZES, ephemeral: KeyPair, payload: Uint8Array, built: { sealed: Uint8Array; time: number; nonce: Uint8Array }, topic: string) {
		this.#device = device;
		this.#phone = phone;
		this.seconds = seconds;
		this.size = size;
		this.#ephemeral = ephemeral;
		this.#payload = payload;
		this.#time = built.time;
		this.#nonce = built.nonce;
		this.sealedRequest = built.sealed;
		this.topic = topic;
		this.requestTopic = requestTopic(device.topicId);
	}

	/** A start request (kind 16) with a new ephemeral key; nothing is sent here. */
	static async start(device: LiveDevice, phone: LivePhone, seconds: number, size: keyof typeof SIZES = "qvga"): Promise<LiveSession> {
		if (!Number.isInteger(seconds) || (seconds < 1) || (seconds > 300))
			throw new LiveRefused(`a live view of ${seconds} s: 1 to 300`);
		const ephemeral = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]) as KeyPair;
		const ephemeralPublic = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
		const payload = concat(Uint8Array.of(1, SIZES[size]), u16(seconds), ephemeralPublic);
		const built = await buildRequest({
			kind: Kind.LiveStart, payload, deviceId: device.deviceId, agreementPublicKey: device.agreementPublicKey,
			signing: phone.signing, signingPublicKey: phone.signingPublicKey,
		});
		return new LiveSession(device, phone, seconds, size, ephemeral, payload, built, await sessionTopic(ephemeralPublic));
	}

	get accepted(): boolean {
		return this.#key !== undefined;
	}

	/** The session id (hex), once accepted. */
	get id(): string | undefined {
		return this.#id && hex(this.#id);
	}

	/** What the device signs (live.md § Session), from this app's request and the accept. */
	transcript(deviceEphemeral: Uint8Array, width: number, height: number, seconds: number): Uint8Array {
		const time = new Uint8Array(8);
		new DataView(time.buffer).setBigUint64(0, BigInt(this.#time));
		return concat(encoder.encode(LABEL), Uint8Array.of(0), fromHex(this.#device.deviceId), fromHex(this.#phone.signingPublicKey),
			time, this.#nonce, this.#payload, deviceEphemeral, u16(width), u16(height), u16(seconds));
	}

	/** Checks the device's accept and derives the session's keys; the ephemeral key pair is dropped. */
	async accept(message: Uint8Array): Promise<void> {
		if (this.#key)
			throw new LiveRefused("a second accept");
		if ((message.length !== ACCEPT_SIZE) || !equal(message.subarray(0, 4), encoder.encode("DWLA")))
			throw new LiveRefused(`not an accept (${message.length} bytes)`);
		const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
		const deviceEphemeral = new Uint8Array(message.subarray(4, 36));
		if ((message[36] !== SIZES[this.size]) || (message[37] !== 0))
			throw new LiveRefused("the accept is for another size");
		const width = view.getUint16(38);
		const height = view.getUint16(40);
		const seconds = view.getUint16(42);
		if ((seconds < 1) || (seconds > this.seconds))
			throw new LiveRefused(`the accept grants ${seconds} s, more than asked`);
		const transcript = this.transcript(deviceEphemeral, width, height, seconds);
		if (!verifySignature(message.subarray(44, 108), transcript, fromHex(this.#device.signingPublicKey)))
			throw new LiveRefused("the accept's signature is not the device's");
		let shared: ArrayBuffer;
		try {
			const peer = await crypto.subtle.importKey("raw", own(deviceEphemeral), { name: "X25519" }, true, []);
			shared = await crypto.subtle.deriveBits({ name: "X25519", public: peer }, this.#ephemeral!.privateKey, 256);
		}
		catch {
			// WebCrypto refuses a low-order point (an all-zero shared secret), as the spec does.
			throw new LiveRefused("the device's ephemeral key is of low order");
		}
		this.#ephemeral = undefined;
		if (new Uint8Array(shared).every((byte) => byte === 0))
			throw new LiveRefused("the device's ephemeral key is of low order");
		const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveBits", "deriveKey"]);
		new Uint8Array(shared).fill(0);
		const salt = await sha256(transcript);
		const params = (info: string) => ({ name: "HKDF", hash: "SHA-256", salt: own(salt), info: encoder.encode(`${LABEL} ${info}`) });
		this.#key = await crypto.subtle.deriveKey(params("key"), ikm, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
		this.#salt = new Uint8Array(await crypto.subtle.deriveBits(params("salt"), ikm, 96));
		this.#id = new Uint8Array(await crypto.subtle.deriveBits(params("id"), ikm, 64));
		this.width = width;
		this.height = height;
		this.granted = seconds;
	}

	/** Opens one message after the accept, or throws LiveRefused (and counts it). */
	async open(message: Uint8Array): Promise<LiveMessage> {
		try {
			return await this.#open(message);
		}
		catch (error) {
			this.refused++;
			throw error;
		}
	}

	async #open(message: Uint8Array): Promise<LiveMessage> {
		if (!this.#key || !this.#salt)
			throw new LiveRefused("a frame before the accept");
		if (!BUCKETS.includes(message.length - HEADER - TAG))
			throw new LiveRefused(`a message of ${message.length} bytes is not padded to a bucket`);
		const header = new Uint8Array(message.subarray(0, HEADER));
		if ((header[0] !== 1) || (header[1] !== 0))
			throw new LiveRefused(`version ${header[0]}, key id ${header[1]}: not this session's`);
		const counter = new DataView(header.buffer).getBigUint64(2);
		if (counter <= this.#last)
			throw new LiveRefused(`counter ${counter} after ${this.#last}: replayed or reordered`);
		const nonce = this.#salt.slice();
		const value = new Uint8Array(8);
		new DataView(value.buffer).setBigUint64(0, counter);
		for (let i = 0; i < 8; i++)
			nonce[4 + i] ^= value[i];
		let plain: Uint8Array;
		try {
			plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: header, tagLength: 128 }, this.#key, own(message.subarray(HEADER))));
		}
		catch {
			throw new LiveRefused(`frame ${counter} does not authenticate: tampered or not from the device`);
		}
		// A second look: another message may have been opened while this one was decrypted.
		if (counter <= this.#last)
			throw new LiveRefused(`counter ${counter} after ${this.#last}: replayed or reordered`);
		const view = new DataView(plain.buffer);
		const length = view.getUint32(10);
		if ((plain[1] !== 0) || (INNER + length > plain.length) || (BUCKETS.find((bucket) => bucket >= INNER + length) !== plain.length) || !plain.subarray(INNER + length).every((byte) => byte === 0))
			throw new LiveRefused(`frame ${counter} is malformed inside`);
		const type = plain[0];
		if ((type !== 1) && !((type === 2) && (length === 1)))
			throw new LiveRefused(`frame ${counter} of type ${type}`);
		this.#last = counter;
		const time = Number(view.getBigUint64(2));
		if (type === 1)
			return { type: "frame", counter: Number(counter), time, jpeg: plain.slice(INNER, INNER + length) };
		const reason = plain[INNER];
		return { type: "end", counter: Number(counter), time, reason: END_REASONS[reason] || `reason ${reason}` };
	}

	/** The signed stop (kind 17) naming this session. */
	async stopRequest(): Promise<Uint8Array> {
		if (!this.#id)
			throw new LiveRefused("the session was not accepted: nothing to stop");
		const { sealed } = await buildRequest({
			kind: Kind.LiveStop, payload: this.#id, deviceId: this.#device.deviceId, agreementPublicKey: this.#device.agreementPublicKey,
			signing: this.#phone.signing, signingPublicKey: this.#phone.signingPublicKey,
		});
		return sealed;
	}

	/** Forgets the session's keys (the AES key is non-extractable: dropping it is all a page can do). */
	close(): void {
		this.#salt?.fill(0);
		this.#key = this.#salt = this.#ephemeral = undefined;
	}
}
