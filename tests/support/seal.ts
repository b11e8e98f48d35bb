/*
 * A third implementation of the device's side of docs/protocol/events.md,
 * written from the specification for the tests: it seals whatever clip a
 * test builds, including the ones a device must never send, so that each of
 * the phone's rules can be shown refusing exactly what it names. It shares
 * no code with the firmware or the phone: Node's own AES-GCM and HMAC,
 * @hpke/core's sender, @noble/curves' signing. tests/conformance/
 * phone-rules.test.ts checks that it reproduces the specification's worked
 * example byte for byte, which the firmware produces too.
 */
import { createCipheriv, createHash, createHmac } from "node:crypto";
import { CipherSuite, Aes256Gcm, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { ed25519 } from "@noble/curves/ed25519.js";

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

export interface Record {
	type: number;
	body: Uint8Array;
}

/** "DWC1" and the records, unpadded. */
export function clipOf(records: readonly Record[]): Buffer {
	return Buffer.concat([Buffer.from("DWC1"), ...records.flatMap((record) => {
		const head = Buffer.alloc(5);
		head[0] = record.type;
		head.writeUInt32BE(record.body.length, 1);
		return [head, record.body];
	})]);
}

/** Padmé, from the specification's formula. */
export function padme(n: number): number {
	if (n <= 4096)
		return 4096;
	const e = Math.floor(Math.log2(n));
	const m = 2 ** (e - (Math.floor(Math.log2(e)) + 1));
	return Math.ceil(n / m) * m;
}

/** The padding record that a clip of `length` bytes needs. */
export function paddingFor(length: number): Record {
	return { type: 0, body: new Uint8Array(padme(length + 5) - length - 5) };
}

/** A clip with its padding record. */
export function paddedClip(records: readonly Record[]): Buffer {
	const clip = clipOf(records);
	return Buffer.concat([clip, clipOf([paddingFor(clip.length)]).subarray(4)]);
}

/** A metadata body: the JSON, then spaces to `size` bytes (an event with pictures: 4096). */
export function metadataBody(metadata: unknown, size?: number): Buffer {
	const json = Buffer.from(JSON.stringify(metadata));
	return size === undefined ? json : Buffer.concat([json, Buffer.alloc(size - json.length, 0x20)]);
}

/** A thumbnail body: JPEG length, the JPEG, zeros to 8192 bytes. */
export function thumbnailBody(jpeg: Uint8Array = new Uint8Array(0), size = 8192): Buffer {
	const body = Buffer.alloc(size);
	body.writeUInt32BE(jpeg.length, 0);
	Buffer.from(jpeg).copy(body, 4);
	return body;
}

export const noFaces = Object.freeze({ status: "none", model: "face_detection_full_range_int8.tflite", zones: "5c5424f4ed5f64f54c4ded73ea5145c4c5981669132cbb7ac13f5f7987e6bfd7", faces: [] });

/** A small JPEG-looking frame; the phone does not decode frames. */
export const frame = Buffer.from("ffd8ffe000104a46494600010100000100010000ffd9", "hex");

/** The records of a well-formed ring with one frame and no face. */
export function ringRecords(metadata: object = {}): Record[] {
	return [
		{ type: 1, body: metadataBody({ width: 8, height: 8, format: "jpeg", frameCount: 1, startedAt: 1795799999750, kind: "ring", faces: noFaces, ...metadata }, 4096) },
		{ type: 3, body: thumbnailBody() },
		{ type: 2, body: frame },
	];
}

export interface SealOptions {
	deviceSeed: Uint8Array;
	deviceId: string;
	eventId: string;
	seq: number;
	time: number;
	/** The phones' X25519 public keys. */
	phones: readonly Uint8Array[];
	/** Random unless given (the worked example fixes them). */
	clipKey?: Uint8Array;
	salt?: Uint8Array;
	ephemeralIkm?: readonly Uint8Array[];
	/** What a broken device might do instead of the specification. */
	keyIds?: readonly Uint8Array[];
	magic?: string;
	version?: number;
	/** Replaces the signature over the signed message, for crafted signatures. */
	sign?: (message: Uint8Array) => Uint8Array;
}

/** The specification's key id. */
export function keyIdFor(deviceId: string, phone: Uint8Array): Buffer {
	return createHash("sha256").update(Buffer.from(deviceId, "hex")).update(phone).digest().subarray(0, 8);
}

function u64(value: number): Buffer {
	const out = Buffer.alloc(8);
	out.writeUInt32BE(Math.floor(value / 2 ** 32), 0);
	out.writeUInt32BE(value % 2 ** 32, 4);
	return out;
}

/** Cobblestone-256 encryption, from c2sp.org/chunked-encryption. */
export function cobblestone(key: Uint8Array, context: Uint8Array, plaintext: Uint8Array, salt: Uint8Array): Buffer {
	const info = Buffer.concat([Buffer.from("c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0"), salt, context]);
	const blocks: Buffer[] = [];
	for (let t = Buffer.alloc(0), i = 1; blocks.length * 64 < 76; i++) {
		t = createHmac("sha512", key).update(Buffer.concat([t, info, Buffer.of(i)])).digest();
		blocks.push(t);
	}
	const okm = Buffer.concat(blocks);
	const out = [Buffer.from(salt), okm.subarray(44, 76)];
	const chunks = Math.floor(plaintext.length / 16384) + 1;
	for (let index = 0; index < chunks; index++) {
		const nonce = Buffer.from(okm.subarray(32, 44));
		for (let i = 11, counter = index; i >= 7; i--, counter = Math.floor(counter / 256))
			nonce[i] ^= counter % 256; // the chunk counter, big-endian, into the nonce's last 5 bytes
		const cipher = createCipheriv("aes-256-gcm", okm.subarray(0, 32), nonce);
		out.push(cipher.update(plaintext.subarray(index * 16384, (index + 1) * 16384)), cipher.final(), cipher.getAuthTag());
	}
	return Buffer.concat(out);
}

/** Seals a padded clip into a DWE2 envelope. */
export async function seal(clip: Uint8Array, options: SealOptions): Promise<Buffer> {
	const deviceId = Buffer.from(options.deviceId, "hex");
	const eventId = Buffer.from(options.eventId, "hex");
	const clipKey = options.clipKey ?? globalThis.crypto.getRandomValues(new Uint8Array(32));
	const salt = options.salt ?? globalThis.crypto.getRandomValues(new Uint8Array(24));
	const context = Buffer.concat([Buffer.from("doorward/clip/v1\0"), deviceId, eventId, u64(options.seq), u64(options.time)]);
	const ciphertext = cobblestone(clipKey, context, clip, salt);
	const count = options.phones.length;
	const head = Buffer.alloc(93);
	head.write(options.magic ?? "DWE2", 0, "latin1");
	head[4] = options.version ?? 2;
	head[5] = 1;
	head.writeUInt16BE(93 + 88 * count, 6);
	deviceId.copy(head, 8);
	eventId.copy(head, 24);
	u64(options.seq).copy(head, 40);
	u64(options.time).copy(head, 48);
	head.writeUInt32BE(ciphertext.length, 56);
	createHash("sha256").update(ciphertext).digest().copy(head, 60);
	head[92] = count;
	const info = Buffer.concat([Buffer.from("doorward/event/v1\0"), deviceId, eventId]);
	const entries: Buffer[] = [];
	for (let i = 0; i < count; i++) {
		const recipientPublicKey = await suite.kem.deserializePublicKey(options.phones[i]);
		const sender = await suite.createSenderContext({ recipientPublicKey, info, ...(options.ephemeralIkm ? { ekm: options.ephemeralIkm[i] } : {}) });
		const wrapped = Buffer.from(await sender.seal(clipKey, head.subarray(0, 92)));
		entries.push(Buffer.from(options.keyIds?.[i] ?? keyIdFor(options.deviceId, options.phones[i])), Buffer.from(sender.enc), wrapped);
	}
	const signed = Buffer.concat([head, ...entries]);
	const message = Buffer.concat([Buffer.from("doorward/event/v1\0"), signed]);
	const signature = options.sign ? options.sign(message) : ed25519.sign(message, options.deviceSeed);
	return Buffer.concat([signed, signature, ciphertext]);
}
