/*
 * The sealed event envelope, version 2 (docs/protocol/events.md is the
 * normative text; this is its implementation on the device).
 *
 *   offset size
 *    0      4  "DWE2"
 *    4      1  version = 2
 *    5      1  suite = 1: Cobblestone-256, HPKE base(X25519, HKDF-SHA256, AES-256-GCM), Ed25519
 *    6      2  header length H = 93 + 88 R
 *    8     16  device id
 *   24     16  event id
 *   40      8  sequence number
 *   48      8  time, ms since the epoch
 *   56      4  ciphertext length C
 *   60     32  SHA-256 of the ciphertext
 *   92      1  recipient count R, 1..16
 *   93   88 R  recipients: key id (8) | enc (32) | wrapped clip key (48);
 *              key id = SHA-256(device id (16) || phone X25519 key (32))[0, 8)
 *    H     64  Ed25519 signature of "doorward/event/v1" 0x00 || bytes [0, H)
 *   H+64    C  Cobblestone-256 ciphertext of the padded clip
 */
import { Hash, digest } from "hardware/crypto";
import { bytes as randomBytes } from "hardware/random";
import { wipe } from "hardware/crypto";
import { Writer } from "./cobblestone";
import { setupSender, Mode, AeadAes256Gcm } from "./hpke";
import type { KeyPair } from "./hpke";
import { concat, fromHex, totalLength, utf8Encode } from "util/bytes";

// Version 2: the key id became per device (version 1's, a hash of the phone key alone, linked a phone across devices).
export const magic = utf8Encode("DWE2");
export const formatVersion = 2;
export const suiteId = 1;
export const fixedLength = 93;
export const recipientLength = 88;
export const signatureLength = 64;
export const maxRecipients = 16;
export const signatureLabel = utf8Encode("doorward/event/v1\u0000");
export const wrapInfoLabel = utf8Encode("doorward/event/v1\u0000");
export const clipContextLabel = utf8Encode("doorward/clip/v1\u0000");

export interface SealedHeader {
	readonly deviceId: string;
	readonly eventId: string;
	readonly seq: number;
	readonly time: number;
}

export interface Recipient {
	/** The phone's X25519 public key. */
	readonly publicKey: Uint8Array;
}

/** Signs with the device's Ed25519 identity key, which it does not reveal. */
export interface Signer {
	sign(message: Uint8Array): Uint8Array;
}

function u64(value: number): Uint8Array {
	if (!Number.isSafeInteger(value) || (value < 0))
		throw new RangeError(`envelope: ${value} is not a u64 this device can write`);
	const out = new Uint8Array(8);
	const view = new DataView(out.buffer);
	view.setUint32(0, Math.floor(value / 2 ** 32));
	view.setUint32(4, value >>> 0);
	return out;
}

function id16(hex: string, what: string): Uint8Array {
	const bytes = fromHex(hex);
	if (bytes.length !== 16)
		throw new RangeError(`envelope: ${what} must be 16 bytes`);
	return bytes;
}

/**
 * The 8-byte key id under which this device lists a phone: the first 8 bytes
 * of SHA-256(device id (16 raw bytes) || the phone's X25519 public key). It
 * differs from device to device, so a phone paired with several devices
 * shows a different id on each, and brokers cannot link it.
 */
export function keyId(deviceId: Uint8Array, publicKey: Uint8Array): Uint8Array {
	if ((deviceId.length !== 16) || (publicKey.length !== 32))
		throw new RangeError("envelope: a key id needs a 16-byte device id and a 32-byte phone key");
	return digest("SHA-256", concat([deviceId, publicKey])).subarray(0, 8);
}

/** What Cobblestone binds the clip to: this device, this event, its place and time. */
export function clipContext(header: SealedHeader): Uint8Array {
	return concat([clipContextLabel, id16(header.deviceId, "device id"), id16(header.eventId, "event id"), u64(header.seq), u64(header.time)]);
}

/** What HPKE binds each wrapped key to. */
export function wrapInfo(header: SealedHeader): Uint8Array {
	return concat([wrapInfoLabel, id16(header.deviceId, "device id"), id16(header.eventId, "event id")]);
}

/** Inputs that are random in use, fixed only for the worked example in the specification. */
export interface FixedInputs {
	clipKey: Uint8Array;
	salt: Uint8Array;
	/** One ephemeral HPKE key pair per recipient. */
	ephemerals: readonly KeyPair[];
}

/**
 * Seals a clip (as parts, padding included) for every recipient and signs
 * the result. Returns the envelope as parts: header, signature, ciphertext.
 */
export function sealEnvelope(header: SealedHeader, clip: readonly Uint8Array[], recipients: readonly Recipient[], signer: Signer, fixed?: FixedInputs): Uint8Array[] {
	if ((recipients.length < 1) || (recipients.length > maxRecipients))
		throw new RangeError(`envelope: ${recipients.length} recipients; 1 to ${maxRecipients} allowed`);
	const clipKey = fixed ? fixed.clipKey.slice() : randomBytes(32);
	try {
		const writer = fixed ? new Writer(clipKey, clipContext(header), fixed.salt) : new Writer(clipKey, clipContext(header));
		const ciphertext: Uint8Array[] = [writer.header];
		for (const part of clip)
			ciphertext.push(...writer.push(part));
		ciphertext.push(writer.finish());
		const hash = new Hash("SHA-256");
		for (const part of ciphertext)
			hash.update(part);
		const length = totalLength(ciphertext);
		if (length > 0xFFFFFFFF)
			throw new RangeError("envelope: ciphertext too long");
		const headerLength = fixedLength + recipientLength * recipients.length;
		const head = new Uint8Array(fixedLength);
		const view = new DataView(head.buffer);
		head.set(magic, 0);
		head[4] = formatVersion;
		head[5] = suiteId;
		view.setUint16(6, headerLength);
		head.set(id16(header.deviceId, "device id"), 8);
		head.set(id16(header.eventId, "event id"), 24);
		head.set(u64(header.seq), 40);
		head.set(u64(header.time), 48);
		view.setUint32(56, length);
		head.set(hash.finish(), 60);
		head[92] = recipients.length;
		const aad = head.subarray(0, 92);
		const info = wrapInfo(header);
		const deviceId = id16(header.deviceId, "device id");
		const entries = recipients.map((recipient, index) => {
			const { enc, context } = setupSender(Mode.Base, AeadAes256Gcm, recipient.publicKey, fixed ? { info, ephemeral: fixed.ephemerals[index] } : { info });
			try {
				return concat([keyId(deviceId, recipient.publicKey), enc, context.seal(aad, clipKey)]);
			}
			finally {
				context.close();
			}
		});
		const signed = concat([head, ...entries]);
		const signature = signer.sign(concat([signatureLabel, signed]));
		return [signed, signature, ...ciphertext];
	}
	finally {
		wipe(clipKey);
	}
}
