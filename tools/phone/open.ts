/*
 * The phone's side of docs/protocol/events.md: verify and decrypt one sealed
 * event envelope (DWE2). Written from the specification alone, on
 * independent implementations (@hpke/core, @noble/curves' Ed25519 points and
 * WebCrypto for AES-GCM and HMAC), and sharing no code with the firmware:
 * the conformance of the two is what the tests check.
 *
 * Nothing is returned until every check has passed: a caller never gets a
 * partly decrypted clip. Every refusal is an EnvelopeError whose message is
 * one line that names the rule, never a byte of what was decrypted.
 */
import { createHash } from "node:crypto";
import { TextDecoder } from "node:util";
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

const MAGIC = "DWE2";
const VERSION = 2;
const FIXED = 93;
const RECIPIENT = 88;
const SIGNATURE = 64;
const MAX_RECIPIENTS = 16;
/** The largest ciphertext a phone accepts: 64 MiB, far above any clip. */
export const MAX_CIPHERTEXT = 64 * 1024 * 1024;
/** Cobblestone-256: salt, commitment, 16 KiB chunks each with a 16-byte tag. */
const COBBLESTONE_HEADER = 24 + 32;
const CHUNK = 16384;
const TAG = 16;
/** The smallest padded clip (Padmé's floor), and so the smallest ciphertext. */
export const MIN_CLIP = 4096;
export const MIN_CIPHERTEXT = COBBLESTONE_HEADER + MIN_CLIP + TAG;
/** The fixed record bodies of an event with pictures. */
export const METADATA_BYTES = 4096;
export const THUMBNAIL_BYTES = 8192;
export const KINDS = Object.freeze(["ring", "motion", "face", "update", "audit"] as const);
/** The kinds of events without pictures: an update's outcome, an audit entry (docs/protocol/audit.md). */
export const KINDS_WITHOUT_PICTURES: readonly string[] = Object.freeze(["update", "audit"]);
/** The fixed record bodies of a ring's notification. */
export const NOTIFICATION_METADATA_BYTES = 1024;
export const SNAPSHOT_BYTES = 14336;

export interface EnvelopeHeader {
	version: number;
	suite: number;
	deviceId: string;
	eventId: string;
	seq: number;
	time: number;
	ciphertextLength: number;
	/** The padded clip's length, which C determines. */
	clipLength: number;
	recipients: { keyId: string; enc: Uint8Array; wrappedKey: Uint8Array }[];
}

export interface OpenedEvent {
	header: EnvelopeHeader;
	metadata: Record<string, unknown>;
	frames: Uint8Array[];
	/** The face thumbnail (JPEG), when the device found a face and made one. */
	thumbnail?: Uint8Array;
	/** A notification's snapshot (JPEG), when it has one. */
	snapshot?: Uint8Array;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const sha256 = (...parts: Uint8Array[]) => parts.reduce((hash, part) => hash.update(part), createHash("sha256")).digest();

/**
 * The key id under which a device lists a phone: the first 8 bytes of
 * SHA-256(device id (16 raw bytes) || phone X25519 public key (32)). It
 * differs from device to device, so it does not link a phone across them.
 */
export function recipientKeyId(deviceId: Uint8Array, phonePublicKey: Uint8Array): string {
	if ((deviceId.length !== 16) || (phonePublicKey.length !== 32))
		throw new RangeError("key id: a 16-byte device id and a 32-byte phone key");
	return hex(sha256(deviceId, phonePublicKey).subarray(0, 8));
}

/**
 * The phone key fingerprint: the first 8 bytes of SHA-256 of the phone's
 * X25519 public key. It names the phone on a device's local channel; it is
 * never in an envelope.
 */
export function phoneKeyFingerprint(phonePublicKey: Uint8Array): string {
	return hex(sha256(phonePublicKey).subarray(0, 8));
}

/** Padmé (docs/protocol/events.md § Padding), in integers. */
export function paddedLength(n: number): number {
	if (n <= MIN_CLIP)
		return MIN_CLIP;
	let e = 0;
	while (2 ** (e + 1) <= n)
		e++;
	let s = 0;
	while (2 ** (s + 1) <= e)
		s++;
	const m = 2 ** (e - (s + 1));
	return Math.ceil(n / m) * m;
}

/** The padded clip length a ciphertext of C bytes holds, or undefined when no padded clip seals to C bytes. */
export function clipLengthFor(ciphertextLength: number): number | undefined {
	const body = ciphertextLength - COBBLESTONE_HEADER;
	const full = Math.floor(body / (CHUNK + TAG));
	const last = body - full * (CHUNK + TAG);
	if ((body < TAG) || (last < TAG))
		return undefined;
	const clip = full * CHUNK + last - TAG;
	return ((clip >= MIN_CLIP) && (paddedLength(clip) === clip)) ? clip : undefined;
}

function u64(view: DataView, offset: number, what: string): number {
	const value = view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
	if (!Number.isSafeInteger(value))
		throw new EnvelopeError(`the ${what} is at or beyond 2^53`);
	return value;
}

/** Parses the clear part; checks every length and limit before anything else is done. */
export function parseHeader(envelope: Uint8Array): { header: EnvelopeHeader; signed: Uint8Array; signature: Uint8Array; ciphertext: Uint8Array } {
	if (envelope.length < FIXED + RECIPIENT + SIGNATURE)
		throw new EnvelopeError(`truncated: ${envelope.length} bytes is shorter than any envelope`);
	const magic = Buffer.from(envelope.subarray(0, 4)).toString("latin1");
	if (magic === "DWE1")
		throw new EnvelopeError("a DWE1 envelope: that format is withdrawn (its key ids link a phone across devices); this phone reads DWE2");
	if (magic !== MAGIC)
		throw new EnvelopeError("not a DWE2 envelope");
	const view = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
	const version = envelope[4];
	if (version !== VERSION)
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
	if (ciphertextLength < MIN_CIPHERTEXT)
		throw new EnvelopeError(`ciphertext length ${ciphertextLength} is under the ${MIN_CIPHERTEXT} bytes of the smallest padded clip`);
	const clipLength = clipLengthFor(ciphertextLength);
	if (clipLength === undefined)
		throw new EnvelopeError(`ciphertext length ${ciphertextLength} is not that of a padded clip in 16 KiB chunks`);
	if (envelope.length !== headerLength + SIGNATURE + ciphertextLength)
		throw new EnvelopeError(`${envelope.length} bytes, but the header says ${headerLength + SIGNATURE + ciphertextLength}: truncated or extended`);
	const seq = u64(view, 40, "sequence number");
	if (seq === 0)
		throw new EnvelopeError("sequence number 0: a device numbers its events from 1");
	const time = u64(view, 48, "time");
	const recipients = [];
	for (let i = 0; i < count; i++) {
		const at = FIXED + RECIPIENT * i;
		recipients.push({ keyId: hex(envelope.subarray(at, at + 8)), enc: envelope.slice(at + 8, at + 40), wrappedKey: envelope.slice(at + 40, at + 88) });
	}
	if (new Set(recipients.map((recipient) => recipient.keyId)).size !== count)
		throw new EnvelopeError("two recipients have the same key id");
	return {
		header: {
			version, suite,
			deviceId: hex(envelope.subarray(8, 24)),
			eventId: hex(envelope.subarray(24, 40)),
			seq, time, ciphertextLength, clipLength, recipients,
		},
		signed: envelope.subarray(0, headerLength),
		signature: envelope.subarray(headerLength, headerLength + SIGNATURE),
		ciphertext: envelope.subarray(headerLength + SIGNATURE),
	};
}

const Point = ed25519.Point;
const ORDER = Point.Fn.ORDER;

function littleEndian(bytes: Uint8Array): bigint {
	let value = 0n;
	for (let i = bytes.length - 1; i >= 0; i--)
		value = (value << 8n) | BigInt(bytes[i]);
	return value;
}

/** A point from its strict encoding (y < p, no negative zero); undefined if it is none. */
function decodePoint(bytes: Uint8Array): InstanceType<typeof Point> | undefined {
	try {
		return Point.fromBytes(bytes, false);
	}
	catch {
		return undefined;
	}
}

/**
 * Ed25519 verification as libsodium's crypto_sign_verify_detached does it on
 * the device (1.0.18 to 1.0.22, without ED25519_COMPAT): S < L; A and R
 * canonical and not of small order; and the cofactorless equation, checked
 * as encode([S]B - [k]A) = R byte for byte, k = SHA-512(R || A || M) mod L.
 * @noble/curves' own verify (zip215: false) checks the cofactored equation
 * and lets a small-order R through, so it is not used alone.
 */
export function verifySignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
	if ((signature.length !== 64) || (publicKey.length !== 32))
		return false;
	const r = signature.subarray(0, 32);
	const s = littleEndian(signature.subarray(32));
	if (s >= ORDER)
		return false;
	const A = decodePoint(publicKey);
	const R = decodePoint(r);
	if (!A || A.isSmallOrder() || !R || R.isSmallOrder())
		return false;
	const k = littleEndian(createHash("sha512").update(r).update(publicKey).update(message).digest()) % ORDER;
	const check = Point.BASE.multiplyUnsafe(s).add(A.negate().multiplyUnsafe(k));
	return Buffer.from(check.toBytes()).equals(Buffer.from(r));
}

/** Why a device's Ed25519 key cannot be one a phone pairs with, or undefined if it can. */
export function signingKeyProblem(publicKey: Uint8Array): string | undefined {
	const A = (publicKey.length === 32) ? decodePoint(publicKey) : undefined;
	if (!A)
		return "not a canonical Ed25519 point";
	if (A.isSmallOrder())
		return "a point of small order";
	if (!A.isTorsionFree())
		return "not in the prime-order subgroup";
	return undefined;
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
	if (ciphertext.length < COBBLESTONE_HEADER + TAG)
		throw new EnvelopeError("clip ciphertext truncated");
	const salt = ciphertext.subarray(0, 24);
	const okm = await hkdfExpandSha512(inputKey, Buffer.concat([encoder.encode("c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM"), Uint8Array.of(0), salt, context]), 76);
	const commitment = okm.subarray(44, 76);
	if (!Buffer.from(commitment).equals(Buffer.from(ciphertext.subarray(24, 56))))
		throw new EnvelopeError("clip key commitment does not match: wrong key or context");
	const key = await subtle.importKey("raw", okm.subarray(0, 32), "AES-GCM", false, ["decrypt"]);
	const body = ciphertext.subarray(COBBLESTONE_HEADER);
	const sealedChunk = CHUNK + TAG;
	const full = Math.floor(body.length / sealedChunk);
	if (body.length - full * sealedChunk < TAG)
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

// Fatal: invalid UTF-8 is refused, not replaced. ignoreBOM keeps a byte order mark, which JSON then refuses.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The first member name that repeats within one object, at any depth, of a
 * JSON text that JSON.parse has already accepted (so the scan can be simple).
 */
function duplicateName(json: string): string | undefined {
	const objects: (Set<string> | undefined)[] = [];
	let expectName = false;
	for (let i = 0; i < json.length; i++) {
		const c = json[i];
		if (c === "\"") {
			let end = i + 1;
			while (json[end] !== "\"")
				end += (json[end] === "\\") ? 2 : 1;
			if (expectName) {
				const name = JSON.parse(json.slice(i, end + 1)) as string;
				const names = objects[objects.length - 1]!;
				if (names.has(name))
					return name;
				names.add(name);
				expectName = false;
			}
			i = end;
		}
		else if (c === "{") {
			objects.push(new Set());
			expectName = true;
		}
		else if (c === "[")
			objects.push(undefined);
		else if ((c === "}") || (c === "]"))
			objects.pop();
		else if (c === ",")
			expectName = objects[objects.length - 1] !== undefined;
	}
	return undefined;
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isEventId = (value: unknown) => (typeof value === "string") && /^[0-9a-f]{32}$/.test(value);

/** The metadata record's body: UTF-8, a JSON object, no repeated name, the fields the specification requires. */
function parseMetadata(body: Uint8Array): Record<string, unknown> {
	let text: string;
	try {
		text = utf8.decode(body);
	}
	catch {
		throw new EnvelopeError("clip: the metadata is not valid UTF-8");
	}
	let metadata: unknown;
	try {
		metadata = JSON.parse(text);
	}
	catch {
		// Never the parser's message: it quotes the text, and the text is the plaintext.
		throw new EnvelopeError("clip: the metadata is not JSON");
	}
	if ((typeof metadata !== "object") || (metadata === null) || Array.isArray(metadata))
		throw new EnvelopeError("clip: the metadata is JSON but not an object");
	if (duplicateName(text) !== undefined)
		throw new EnvelopeError("clip: the metadata repeats a member name");
	const fields = metadata as Record<string, unknown>;
	if (!KINDS.includes(fields.kind as typeof KINDS[number]))
		throw new EnvelopeError("clip: the metadata's kind is missing or not one of ring, motion, face, update, audit");
	if (!isCount(fields.frameCount) || !isCount(fields.width) || !isCount(fields.height) || !isCount(fields.startedAt) || (fields.format !== "jpeg"))
		throw new EnvelopeError("clip: the metadata's width, height, format, frameCount or startedAt is missing or malformed");
	if (fields.faces !== undefined) {
		const faces = fields.faces as Record<string, unknown> | null;
		if ((typeof faces !== "object") || (faces === null) || !["found", "none", "unavailable"].includes(faces.status as string) || !Array.isArray(faces.faces))
			throw new EnvelopeError("clip: the metadata's face report is malformed");
	}
	if ((fields.notification !== undefined) && (fields.notification !== true))
		throw new EnvelopeError("clip: the metadata's notification is not true");
	if ((fields.triggeredAt !== undefined) && !isCount(fields.triggeredAt))
		throw new EnvelopeError("clip: the metadata's triggeredAt is malformed");
	if ((fields.frameTimes !== undefined) && (!Array.isArray(fields.frameTimes) || (fields.frameTimes.length !== fields.frameCount) || !fields.frameTimes.every(isCount)))
		throw new EnvelopeError("clip: the metadata's frameTimes is not one time per frame");
	// A device names the notification on every ring's clip; a phone shows a ring's clip without one on its own.
	const ringClip = (fields.kind === "ring") && (fields.notification === undefined) && (fields.faces !== undefined);
	if (!ringClip && (fields.follows !== undefined))
		throw new EnvelopeError("clip: follows outside a ring's clip");
	if ((fields.follows !== undefined) && !isEventId(fields.follows))
		throw new EnvelopeError("clip: the metadata's follows is not an event id");
	if (fields.notification) {
		if ((fields.kind !== "ring") || (fields.faces !== undefined) || (fields.frameCount !== 0))
			throw new EnvelopeError("clip: a notification that is not a ring with frameCount 0 and no face report");
		if ((fields.snapshotError !== undefined) && (typeof fields.snapshotError !== "string"))
			throw new EnvelopeError("clip: the metadata's snapshotError is not a string");
	}
	else if ((fields.snapshotError !== undefined) || (fields.snapshotAt !== undefined))
		throw new EnvelopeError("clip: snapshot fields outside a notification");
	return fields;
}

/**
 * The clip (DWC1), with every rule of the specification: records in their
 * order, the fixed sizes of an event with pictures, and the padding.
 */
export function parseClip(clip: Uint8Array): { metadata: Record<string, unknown>; frames: Uint8Array[]; thumbnail?: Uint8Array; snapshot?: Uint8Array } {
	if ((clip.length < 4) || (Buffer.from(clip.subarray(0, 4)).toString("latin1") !== "DWC1"))
		throw new EnvelopeError("the decrypted clip is not DWC1");
	const view = new DataView(clip.buffer, clip.byteOffset, clip.byteLength);
	let metadata: Record<string, unknown> | undefined;
	let pictures = false;
	let notification = false;
	let snapshotSeen = false;
	let snapshot: Uint8Array | undefined;
	let thumbnail: Uint8Array | undefined;
	let thumbnailSeen = false;
	let padded = false;
	const frames: Uint8Array[] = [];
	for (let offset = 4; offset < clip.length;) {
		if (offset + 5 > clip.length)
			throw new EnvelopeError("clip: a record header is cut off");
		const type = clip[offset];
		const length = view.getUint32(offset + 1);
		if (offset + 5 + length > clip.length)
			throw new EnvelopeError("clip: a record overruns the clip");
		const body = clip.subarray(offset + 5, offset + 5 + length);
		if (!metadata) {
			if (type !== 1)
				throw new EnvelopeError(`clip: the first record is of type ${type}, not the metadata`);
			if (length > METADATA_BYTES)
				throw new EnvelopeError(`clip: metadata of ${length} bytes; at most ${METADATA_BYTES}`);
			metadata = parseMetadata(body);
			notification = metadata.notification === true;
			pictures = metadata.faces !== undefined;
			if (!notification && (pictures === KINDS_WITHOUT_PICTURES.includes(metadata.kind as string)))
				throw new EnvelopeError(pictures ? `clip: an ${String(metadata.kind)} event with a face report` : `clip: a ${String(metadata.kind)} event without a face report`);
			if ((metadata.kind === "audit") && !/^([0-9a-f]{2})+$/.test(String((metadata.details as Record<string, unknown> | undefined)?.entry ?? "")))
				throw new EnvelopeError("clip: an audit event without its entry in hex");
			if (pictures && (length !== METADATA_BYTES))
				throw new EnvelopeError(`clip: metadata of ${length} bytes in an event with pictures; exactly ${METADATA_BYTES}`);
			if (notification && (length !== NOTIFICATION_METADATA_BYTES))
				throw new EnvelopeError(`clip: metadata of ${length} bytes in a notification; exactly ${NOTIFICATION_METADATA_BYTES}`);
		}
		else if (notification && !snapshotSeen) {
			if (type !== 4)
				throw new EnvelopeError("clip: a notification without a snapshot record after its metadata");
			snapshotSeen = true;
			if (length !== SNAPSHOT_BYTES)
				throw new EnvelopeError(`clip: a snapshot record of ${length} bytes; exactly ${SNAPSHOT_BYTES}`);
			const jpegLength = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
			if (jpegLength > SNAPSHOT_BYTES - 4)
				throw new EnvelopeError(`clip: a snapshot JPEG length of ${jpegLength} bytes does not fit its record`);
			if (!body.subarray(4 + jpegLength).every((byte) => byte === 0))
				throw new EnvelopeError("clip: the snapshot record's padding is not zero");
			if ((jpegLength === 0) !== (typeof metadata.snapshotError === "string"))
				throw new EnvelopeError(jpegLength ? "clip: a snapshot, and a snapshotError" : "clip: no snapshot, and no snapshotError to say why");
			if (jpegLength)
				snapshot = body.subarray(4, 4 + jpegLength);
		}
		else if (pictures && !thumbnailSeen) {
			if (type !== 3)
				throw new EnvelopeError("clip: a face report without a thumbnail record after it");
			thumbnailSeen = true;
			if (length !== THUMBNAIL_BYTES)
				throw new EnvelopeError(`clip: a thumbnail record of ${length} bytes; exactly ${THUMBNAIL_BYTES}`);
			const jpegLength = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
			if (jpegLength > THUMBNAIL_BYTES - 4)
				throw new EnvelopeError(`clip: a thumbnail JPEG length of ${jpegLength} bytes does not fit its record`);
			if (!body.subarray(4 + jpegLength).every((byte) => byte === 0))
				throw new EnvelopeError("clip: the thumbnail record's padding is not zero");
			if (jpegLength && ((metadata.faces as Record<string, unknown>).status !== "found"))
				throw new EnvelopeError("clip: a face thumbnail, but the face report found no face");
			if (jpegLength)
				thumbnail = body.subarray(4, 4 + jpegLength);
		}
		else if (type === 0) {
			if (offset + 5 + length !== clip.length)
				throw new EnvelopeError("clip: a record follows the padding");
			if (!body.every((byte) => byte === 0))
				throw new EnvelopeError("clip: the padding is not zero");
			if (clip.length !== paddedLength(offset + 5))
				throw new EnvelopeError(`clip: padded to ${clip.length} bytes, but ${offset} bytes of records pad to ${paddedLength(offset + 5)}`);
			padded = true;
		}
		else if (type === 2) {
			if (!length)
				throw new EnvelopeError(`clip: frame ${frames.length} is empty`);
			if (!pictures)
				throw new EnvelopeError("clip: a frame in an event without pictures");
			frames.push(body);
		}
		else if (type === 1)
			throw new EnvelopeError("clip: a second metadata record");
		else if (type === 3)
			throw new EnvelopeError(pictures ? "clip: a second thumbnail record" : "clip: a thumbnail record without a face report");
		else if (type === 4)
			throw new EnvelopeError(notification ? "clip: a second snapshot record" : "clip: a snapshot record outside a notification");
		else if (type < 128)
			throw new EnvelopeError(`clip: record type ${type} is reserved`);
		// Types 128 to 255 are extensions: a phone that does not know one skips it.
		offset += 5 + length;
	}
	if (!metadata)
		throw new EnvelopeError("clip: the metadata is missing");
	if (pictures && !thumbnailSeen)
		throw new EnvelopeError("clip: a face report without a thumbnail record after it");
	if (notification && !snapshotSeen)
		throw new EnvelopeError("clip: a notification without a snapshot record after its metadata");
	if (!padded)
		throw new EnvelopeError("clip: the padding record is missing");
	if (metadata.frameCount !== frames.length)
		throw new EnvelopeError(`clip: frameCount ${String(metadata.frameCount)}, but ${frames.length} frames`);
	return { metadata, frames, ...(thumbnail ? { thumbnail } : {}), ...(snapshot ? { snapshot } : {}) };
}

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

export interface PhoneKeys {
	secretKey: Uint8Array;
	publicKey: Uint8Array;
}

/**
 * Verifies and decrypts an envelope from a device whose Ed25519 public key
 * the phone learned at pairing. Throws EnvelopeError naming what failed, and
 * only that: whatever else goes wrong is reported by its class name alone,
 * since a message could quote decrypted bytes.
 */
export async function openEvent(envelope: Uint8Array, phone: PhoneKeys, deviceSigningKey: Uint8Array): Promise<OpenedEvent> {
	try {
		return await openChecked(envelope, phone, deviceSigningKey);
	}
	catch (error) {
		if (error instanceof EnvelopeError)
			throw error;
		throw new EnvelopeError(`could not be opened (${(error as Error)?.name ?? "unknown error"})`);
	}
}

async function openChecked(envelope: Uint8Array, phone: PhoneKeys, deviceSigningKey: Uint8Array): Promise<OpenedEvent> {
	const { header, signed, signature, ciphertext } = parseHeader(envelope);
	const message = Buffer.concat([encoder.encode("doorward/event/v1"), Uint8Array.of(0), signed]);
	if (!verifySignature(signature, message, deviceSigningKey))
		throw new EnvelopeError("the signature does not verify: not from the paired device, or modified");
	if (!sha256(ciphertext).equals(Buffer.from(envelope.subarray(60, 92))))
		throw new EnvelopeError("the ciphertext digest does not match the signed header");
	const myKeyId = recipientKeyId(envelope.subarray(8, 24), phone.publicKey);
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
	let clip: Uint8Array;
	try {
		clip = await cobblestoneDecrypt(clipKey, context, ciphertext);
	}
	finally {
		clipKey.fill(0);
	}
	try {
		const parsed = parseClip(clip);
		if (parsed.metadata.follows === header.eventId)
			throw new EnvelopeError("clip: an event that follows itself");
		return { header, ...parsed };
	}
	catch (error) {
		clip.fill(0); // refused: nothing of it stays in memory longer than needed
		throw error;
	}
}

/** 2024-01-01T00:00Z: a device time before this means its clock had not been set. */
export const CLOCK_FLOOR = Date.UTC(2024, 0, 1);
/** How far ahead of the phone's clock a device time may be before the phone says so. */
export const CLOCK_AHEAD_LIMIT = 10 * 60 * 1000;

/**
 * What a phone says about an event's time (docs/protocol/events.md § Time):
 * never a reason to refuse, only to warn.
 */
export function clockNote(time: number, phoneNow: number): string | undefined {
	if (time < CLOCK_FLOOR)
		return `the device's clock was not set (time ${time})`;
	if (time > phoneNow + CLOCK_AHEAD_LIMIT)
		return `the device's clock is ${Math.round((time - phoneNow) / 1000)} s ahead of this phone's`;
	return undefined;
}
