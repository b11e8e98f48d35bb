/*
 * The live view's bytes (docs/protocol/live.md, byte-exact): the start and
 * stop requests' payloads (inside the signed requests of
 * docs/protocol/requests.md, kinds 16 and 17), the transcript the device
 * signs, the key schedule, the session topic, and the sealed frames:
 *
 *   start payload = version 1 (1) | size (1) | seconds (2) | phone ephemeral X25519 (32)
 *   stop payload  = session id (8)
 *   transcript    = "doorward/live/v1" 0 | device id (16) | phone signing key (32)
 *                   | request time (8) | request nonce (16) | start payload (36)
 *                   | device ephemeral X25519 (32) | width (2) | height (2) | seconds (2)
 *   accept        = "DWLA" | device ephemeral (32) | size (1) | 0 (1) | width (2) | height (2)
 *                   | seconds (2) | Ed25519 signature of the transcript (64)
 *   prk           = HKDF-Extract(SHA-256, salt = SHA-256(transcript), X25519 shared secret)
 *   key, salt, id = HKDF-Expand(prk, "doorward/live/v1 key" | "... salt" | "... id", 32 | 12 | 8)
 *   message       = header (10: 1 | key id | counter u64) | AES-256-GCM(key, salt ^ counter, aad = header, plaintext)
 *   plaintext     = type (1) | 0 (1) | time u64 | length u32 | content | zeros to a bucket
 *
 * Pure: the crypto is passed in, so the same code runs on XS (./service.ts
 * wires hardware/crypto) and in Node's tests and the worked example. The
 * phone never imports this: tools/phone/live.ts is written from the spec.
 */
import { concat, fromHex, toHex, utf8Encode } from "util/bytes";

export const label = "doorward/live/v1";
export const acceptMagic = Uint8Array.of(0x44, 0x57, 0x4C, 0x41); // "DWLA"
/** The request kinds (docs/protocol/requests.md § Kinds: 16 to 31 are the live view's). */
export const LiveKinds = Object.freeze({ start: 16, stop: 17 } as const);
export const startPayloadSize = 36;
export const stopPayloadSize = 8;
export const acceptSize = 4 + 32 + 1 + 1 + 2 + 2 + 2 + 64;
export const headerSize = 10;
export const tagSize = 16;
export const plaintextHeaderSize = 14;
export const frameVersion = 1;
/** The only key id of a session: its one key (a rekeying would be the next, and is not defined). */
export const keyId = 0;

/** Durations, seconds. */
export const defaultSeconds = 60;
export const maxSeconds = 300;

/** What a session may ask for: size code, and the width and height the device's camera is asked for. */
export const Sizes = Object.freeze([
	Object.freeze({ code: 0, name: "qvga", width: 320, height: 240 }),
	Object.freeze({ code: 1, name: "vga", width: 640, height: 480 }),
] as const);
export type SizeName = typeof Sizes[number]["name"];

/**
 * The plaintext sizes a message is padded to: the broker learns a frame's
 * size only to within its bucket (docs/threat-model.md § Live view). About
 * 1.5x apart, so that the padding costs at most a third on top of a frame.
 */
export const buckets = Object.freeze([1024, 4096, 8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304, 131072]);
export const maxContent = buckets[buckets.length - 1] - plaintextHeaderSize;

export const MessageTypes = Object.freeze({ frame: 1, end: 2 } as const);

/** Why a session ended (the end message's content, and its audit entry's `reason`). */
export const EndReasons = Object.freeze({ stop: 1, limit: 2, removed: 3, replaced: 4, camera: 5 } as const);
export type EndReason = keyof typeof EndReasons;

export class LiveRefusal extends Error {
	override readonly name = "LiveRefusal";
}

export interface StartRequest {
	readonly size: typeof Sizes[number];
	/** The duration granted: the asked one, or the default for 0. */
	readonly seconds: number;
	readonly phoneEphemeral: Uint8Array;
}

export interface LiveCrypto {
	sha256(data: Uint8Array): Uint8Array;
	hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
}

export function parseStart(payload: Uint8Array): StartRequest {
	if (payload.length !== startPayloadSize)
		throw new LiveRefusal(`a live start of ${payload.length} bytes (it is ${startPayloadSize})`);
	if (payload[0] !== 1)
		throw new LiveRefusal(`live start version ${payload[0]}`);
	const size = Sizes.find((candidate) => candidate.code === payload[1]);
	if (!size)
		throw new LiveRefusal(`live start size ${payload[1]} (0 QVGA, 1 VGA)`);
	const asked = (payload[2] << 8) | payload[3];
	if (asked > maxSeconds)
		throw new LiveRefusal(`a live view of ${asked} s (at most ${maxSeconds})`);
	return Object.freeze({ size, seconds: asked || defaultSeconds, phoneEphemeral: payload.slice(4, 36) });
}

export function startPayload(size: number, seconds: number, phoneEphemeral: Uint8Array): Uint8Array {
	const payload = new Uint8Array(startPayloadSize);
	payload[0] = 1;
	payload[1] = size;
	payload[2] = seconds >> 8;
	payload[3] = seconds & 0xff;
	payload.set(phoneEphemeral, 4);
	return payload;
}

function u16(value: number): Uint8Array {
	return Uint8Array.of(value >> 8, value & 0xff);
}

function u64(value: number): Uint8Array {
	const bytes = new Uint8Array(8);
	const view = new DataView(bytes.buffer);
	view.setUint32(0, Math.floor(value / 0x100000000));
	view.setUint32(4, value >>> 0);
	return bytes;
}

export interface TranscriptFields {
	readonly deviceId: string;
	/** The phone's Ed25519 key (hex), as the request was signed with. */
	readonly signer: string;
	readonly time: number;
	/** The request's nonce (hex). */
	readonly nonce: string;
	readonly payload: Uint8Array;
	readonly deviceEphemeral: Uint8Array;
	readonly width: number;
	readonly height: number;
	readonly seconds: number;
}

export function transcript(fields: TranscriptFields): Uint8Array {
	return concat([
		utf8Encode(label), Uint8Array.of(0), fromHex(fields.deviceId), fromHex(fields.signer), u64(fields.time), fromHex(fields.nonce), fields.payload,
		fields.deviceEphemeral, u16(fields.width), u16(fields.height), u16(fields.seconds),
	]);
}

export function encodeAccept(sizeCode: number, fields: TranscriptFields, signature: Uint8Array): Uint8Array {
	return concat([acceptMagic, fields.deviceEphemeral, Uint8Array.of(sizeCode, 0), u16(fields.width), u16(fields.height), u16(fields.seconds), signature]);
}

/** HKDF (RFC 5869) with SHA-256, written out over the injected HMAC: one block is all this needs. */
function expand(crypto: LiveCrypto, prk: Uint8Array, info: string, length: number): Uint8Array {
	return crypto.hmacSha256(prk, concat([utf8Encode(info), Uint8Array.of(1)])).slice(0, length);
}

export interface SessionKeys {
	readonly key: Uint8Array;
	readonly salt: Uint8Array;
	/** The session id (hex): the stop request names it. */
	readonly id: string;
}

/** The session's keys from the X25519 shared secret and the signed transcript. The caller wipes `shared`. */
export function sessionKeys(crypto: LiveCrypto, shared: Uint8Array, signedTranscript: Uint8Array): SessionKeys {
	if (shared.every((byte) => byte === 0))
		throw new LiveRefusal("the phone's ephemeral key is of low order");
	const prk = crypto.hmacSha256(crypto.sha256(signedTranscript), shared);
	const keys = {
		key: expand(crypto, prk, `${label} key`, 32),
		salt: expand(crypto, prk, `${label} salt`, 12),
		id: toHex(expand(crypto, prk, `${label} id`, 8)),
	};
	prk.fill(0);
	return Object.freeze(keys);
}

/** The session's topic: dw/lv/ and 32 hex digits from the phone's ephemeral key, which only the phone and the device know. */
export function sessionTopic(crypto: LiveCrypto, phoneEphemeral: Uint8Array): string {
	return `dw/lv/${toHex(crypto.sha256(concat([utf8Encode(`${label} topic`), Uint8Array.of(0), phoneEphemeral])).subarray(0, 16))}`;
}

export function bucketFor(length: number): number {
	const size = buckets.find((bucket) => bucket >= plaintextHeaderSize + length);
	if (size === undefined)
		throw new LiveRefusal(`a frame of ${length} bytes (at most ${maxContent})`);
	return size;
}

export function header(counter: number): Uint8Array {
	const bytes = new Uint8Array(headerSize);
	bytes[0] = frameVersion;
	bytes[1] = keyId;
	bytes.set(u64(counter), 2);
	return bytes;
}

/** The GCM nonce of a counter: the session's salt XOR the counter, right-aligned (as SFrame, RFC 9605 §4.4.3). */
export function nonce(salt: Uint8Array, counter: number): Uint8Array {
	const bytes = salt.slice();
	const value = u64(counter);
	for (let i = 0; i < 8; i++)
		bytes[4 + i] ^= value[i];
	return bytes;
}

/** The padded plaintext of one message. */
export function plaintext(type: number, time: number, content: Uint8Array): Uint8Array {
	const bytes = new Uint8Array(bucketFor(content.length));
	bytes[0] = type;
	bytes.set(u64(time), 2);
	const view = new DataView(bytes.buffer);
	view.setUint32(10, content.length);
	bytes.set(content, plaintextHeaderSize);
	return bytes;
}

export function endContent(reason: EndReason): Uint8Array {
	return Uint8Array.of(EndReasons[reason]);
}

