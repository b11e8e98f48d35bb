/*
 * The phone's side of docs/protocol/events.md: verify and decrypt one sealed
 * event envelope (DWE1). Written from the specification alone, on
 * independent implementations (@hpke/core, @noble/curves' Ed25519 and
 * WebCrypto for AES-GCM and HMAC), and sharing no code with the firmware:
 * the conformance of the two is what the tests check.
 *
 * Nothing is returned until every check has passed: a caller never gets a
 * partly decrypted clip.
 */
import { CipherSuite, Aes256Gcm, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { ed25519 } from "@noble/curves/ed25519.js";

const encoder = new TextEncoder();
const subtle = globalThis.crypto.subtle;

export class EnvelopeError extends Error {
	constructor(reason: string) {
		super(`event: ${reason}`);
		this.name = "EnvelopeError";
	}
}

const MAGIC = "DWE1";
const FIXED = 93;
const RECIPIENT = 88;
const SIGNATURE = 64;
const MAX_RECIPIENTS = 16;
/** The largest ciphertext a phone accepts: 64 MiB, far above any clip. */
export const MAX_CIPHERTEXT = 64 * 1024 * 1024;

export interface EnvelopeHeader {
	version: number;
	suite: number;
	deviceId: string;
	eventId: string;
	seq: number;
	time: number;
	ciphertextLength: number;
	recipients: { keyId: string; enc: Uint8Array; wrappedKey: Uint8Array }[];
}

export interface OpenedEvent {
	header: EnvelopeHeader;
	metadata: Record<string, unknown>;
	frames: Uint8Array[];
	/** The face thumbnail (JPEG), when the device found a face. */
	thumbnail?: Uint8Array;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function u64(view: DataView, offset: number): number {
	const value = view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
	if (!Number.isSafeInteger(value))
		throw new EnvelopeError("a 64-bit field is beyond 2^53");
	return value;
}

/** Parses the clear part; checks every length before it reads. */
export function parseHeader(envelope: Uint8Array): { header: EnvelopeHeader; signed: Uint8Array; signature: Uint8Array; ciphertext: Uint8Array } {
	if (envelope.length < FIXED + RECIPIENT + SIGNATURE)
		throw new EnvelopeError(`truncated: ${envelope.length} bytes is shorter than any envelope`);
	if (Buffer.from(envelope.subarray(0, 4)).toString("latin1") !== MAGIC)
		throw new EnvelopeError("not a DWE1 envelope");
	const view = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
	const version = envelope[4];
	if (version !== 1)
		throw new EnvelopeError(`unknown version ${version}`);
	const suite = envelope[5];
	if (suite !== 1)
		throw new EnvelopeError(`unknown suite ${suite}`);
	const headerLength = view.getUint16(6);
	const count = envelope[92];
	if ((count < 1) || (count > MAX_RECIPIENTS))
		throw new EnvelopeError(`recipient count ${count} is outside 1..${MAX_RECIPIENTS}`);
	if (headerLength !== FIXED + RECIPIENT * count)
		throw new EnvelopeError(`header length ${headerLength} does not match ${count} recipients`);
	const ciphertextLength = view.getUint32(56);
	if (ciphertextLength > MAX_CIPHERTEXT)
		throw new EnvelopeError(`ciphertext length ${ciphertextLength} is over the ${MAX_CIPHERTEXT}-byte limit`);
	if (envelope.length !== headerLength + SIGNATURE + ciphertextLength)
		throw new EnvelopeError(`${envelope.length} bytes, but the header says ${headerLength + SIGNATURE + ciphertextLength}: truncated or extended`);
	const recipients = [];
	for (let i = 0; i < count; i++) {
		const at = FIXED + RECIPIENT * i;
		recipients.push({ keyId: hex(envelope.subarray(at, at + 8)), enc: envelope.slice(at + 8, at + 40), wrappedKey: envelope.slice(at + 40, at + 88) });
	}
	return {
		header: {
			version, suite,
			deviceId: hex(envelope.subarray(8, 24)),
			eventId: hex(envelope.subarray(24, 40)),
			seq: u64(view, 40),
			time: u64(view, 48),
			ciphertextLength,
			recipients,
		},
		signed: envelope.subarray(0, headerLength),
		signature: envelope.subarray(headerLength, headerLength + SIGNATURE),
		ciphertext: envelope.subarray(headerLength + SIGNATURE),
	};
}

async function sha(name: "SHA-256" | "SHA-512", data: Uint8Array): Promise<Uint8Array> {
	return new Uint8Array(await subtle.digest(name, data));
}

/** HKDF-Expand (RFC 5869 §2.3), written out: the PRK here is shorter than SHA-512's output. */
async function hkdfExpandSha512(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
	const key = await subtle.importKey("raw", prk, { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
	const out = new Uint8Array(length);
	let previous = new Uint8Array(0);
	for (let counter = 1, offset = 0; offset < length; counter++) {
		previous = new Uint8Array(await subtle.sign("HMAC", key, Buffer.concat([previous, info, Uint8Array.of(counter)])));
		out.set(previous.subarray(0, Math.min(64, length - offset)), offset);
		offset += 64;
	}
	return out;
}

/** Cobblestone-256 decryption (c2sp.org/chunked-encryption). */
export async function cobblestoneDecrypt(inputKey: Uint8Array, context: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
	if (inputKey.length !== 32)
		throw new EnvelopeError("clip key is not 32 bytes");
	if (ciphertext.length < 56 + 16)
		throw new EnvelopeError("clip ciphertext truncated");
	const salt = ciphertext.subarray(0, 24);
	const okm = await hkdfExpandSha512(inputKey, Buffer.concat([encoder.encode("c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM"), Uint8Array.of(0), salt, context]), 76);
	const commitment = okm.subarray(44, 76);
	if (!Buffer.from(commitment).equals(Buffer.from(ciphertext.subarray(24, 56))))
		throw new EnvelopeError("clip key commitment does not match: wrong key or context");
	const key = await subtle.importKey("raw", okm.subarray(0, 32), "AES-GCM", false, ["decrypt"]);
	const body = ciphertext.subarray(56);
	const sealedChunk = 16384 + 16;
	const full = Math.floor(body.length / sealedChunk);
	if (body.length - full * sealedChunk < 16)
		throw new EnvelopeError("clip truncated: the final chunk is missing");
	const chunks: Uint8Array[] = [];
	for (let index = 0; index <= full; index++) {
		const nonce = okm.slice(32, 44);
		let counter = index;
		for (let i = 11; i >= 7; i--) {
			nonce[i] ^= counter % 256;
			counter = Math.floor(counter / 256);
		}
		const chunk = body.subarray(index * sealedChunk, index < full ? (index + 1) * sealedChunk : body.length);
		try {
			chunks.push(new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, key, chunk)));
		}
		catch {
			throw new EnvelopeError(`clip chunk ${index} does not authenticate: modified, reordered or truncated`);
		}
	}
	return Buffer.concat(chunks);
}

/** The clip (DWC1), padding included. */
export function parseClip(clip: Uint8Array): { metadata: Record<string, unknown>; frames: Uint8Array[]; thumbnail?: Uint8Array } {
	if (Buffer.from(clip.subarray(0, 4)).toString("latin1") !== "DWC1")
		throw new EnvelopeError("the decrypted clip is not DWC1");
	const view = new DataView(clip.buffer, clip.byteOffset, clip.byteLength);
	let metadata: Record<string, unknown> | undefined;
	let thumbnail: Uint8Array | undefined;
	let thumbnailSeen = false;
	const frames: Uint8Array[] = [];
	let padded = false;
	for (let offset = 4; offset < clip.length;) {
		if (padded || (offset + 5 > clip.length))
			throw new EnvelopeError("clip: malformed record layout");
		const type = clip[offset];
		const length = view.getUint32(offset + 1);
		const body = clip.subarray(offset + 5, offset + 5 + length);
		if (body.length !== length)
			throw new EnvelopeError("clip: record overruns the clip");
		if ((type === 1) && !metadata && !frames.length)
			metadata = JSON.parse(Buffer.from(body).toString("utf8"));
		else if ((type === 2) && metadata)
			frames.push(body);
		else if ((type === 3) && metadata && !thumbnailSeen && !frames.length) {
			// u32 JPEG length, the JPEG, zeros: a fixed size, face or not.
			thumbnailSeen = true;
			const jpegLength = body.length >= 4 ? new DataView(body.buffer, body.byteOffset, 4).getUint32(0) : -1;
			if ((jpegLength < 0) || (jpegLength > body.length - 4) || !body.subarray(4 + jpegLength).every((byte) => byte === 0))
				throw new EnvelopeError("clip: malformed thumbnail record");
			if (jpegLength)
				thumbnail = body.subarray(4, 4 + jpegLength);
		}
		else if ((type === 0) && body.every((byte) => byte === 0))
			padded = true;
		else
			throw new EnvelopeError(`clip: unexpected record type ${type}`);
		offset += 5 + length;
	}
	if (!metadata || (metadata.frameCount !== frames.length))
		throw new EnvelopeError("clip: metadata missing or frame count wrong");
	return { metadata, frames, ...(thumbnail ? { thumbnail } : {}) };
}

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

export interface PhoneKeys {
	secretKey: Uint8Array;
	publicKey: Uint8Array;
}

/**
 * Verifies and decrypts an envelope from a device whose Ed25519 public key
 * the phone learned at pairing. Throws EnvelopeError naming what failed.
 */
export async function openEvent(envelope: Uint8Array, phone: PhoneKeys, deviceSigningKey: Uint8Array): Promise<OpenedEvent> {
	const { header, signed, signature, ciphertext } = parseHeader(envelope);
	const message = Buffer.concat([encoder.encode("doorward/event/v1"), Uint8Array.of(0), signed]);
	if (!ed25519.verify(signature, message, deviceSigningKey, { zip215: false }))
		throw new EnvelopeError("the signature does not verify: not from the paired device, or modified");
	if (!Buffer.from(await sha("SHA-256", ciphertext)).equals(Buffer.from(envelope.subarray(60, 92))))
		throw new EnvelopeError("the ciphertext digest does not match the signed header");
	const myKeyId = hex((await sha("SHA-256", phone.publicKey)).subarray(0, 8));
	const entry = header.recipients.find((recipient) => recipient.keyId === myKeyId);
	if (!entry)
		throw new EnvelopeError("this phone is not a recipient of the event");
	const ids = Buffer.concat([envelope.subarray(8, 24), envelope.subarray(24, 40)]);
	const info = Buffer.concat([encoder.encode("doorward/event/v1"), Uint8Array.of(0), ids]);
	let clipKey: Uint8Array;
	try {
		const recipientKey = await suite.kem.importKey("raw", phone.secretKey, false);
		const context = await suite.createRecipientContext({ recipientKey, enc: entry.enc, info });
		clipKey = new Uint8Array(await context.open(entry.wrappedKey, envelope.subarray(0, 92)));
	}
	catch {
		throw new EnvelopeError("the wrapped clip key does not open with this phone's key");
	}
	const context = Buffer.concat([encoder.encode("doorward/clip/v1"), Uint8Array.of(0), ids, envelope.subarray(40, 56)]);
	const clip = await cobblestoneDecrypt(clipKey, context, ciphertext);
	clipKey.fill(0);
	return { header, ...parseClip(clip) };
}
