/*
 * The app's side of docs/protocol/events.md: verify and decrypt one sealed
 * event envelope (DWE2), in the browser. Written from the specification,
 * as tools/phone/open.ts is for Node, on the browser's own pieces: WebCrypto
 * for SHA-256, HMAC and AES-GCM, @hpke/core's native X25519 KEM (which takes
 * the phone's non-extractable CryptoKeyPair as it is: the private key never
 * leaves WebCrypto), and @noble/curves' Ed25519 points for libsodium's
 * verification rules. Nothing of a clip is returned before every check has
 * passed; every refusal is an EnvelopeError with one line naming the rule.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { concat, encoder, equal, hex, own, sha256 } from "./bytes.js";

export class EnvelopeError extends Error {
	constructor(reason: string) {
		super(reason);
		this.name = "EnvelopeError";
	}
}

const FIXED = 93;
const RECIPIENT = 88;
const SIGNATURE = 64;
const MAX_RECIPIENTS = 16;
/** The largest ciphertext the app accepts: 64 MiB, far above any clip. */
const MAX_CIPHERTEXT = 64 * 1024 * 1024;
const COBBLESTONE_HEADER = 24 + 32;
const CHUNK = 16384;
const TAG = 16;
const MIN_CLIP = 4096;
const MIN_CIPHERTEXT = COBBLESTONE_HEADER + MIN_CLIP + TAG;
const METADATA_BYTES = 4096;
const THUMBNAIL_BYTES = 8192;
const NOTIFICATION_METADATA_BYTES = 1024;
const SNAPSHOT_BYTES = 14336;
export const KINDS: readonly string[] = ["ring", "motion", "face", "update", "audit"];
const KINDS_WITHOUT_PICTURES: readonly string[] = ["update", "audit"];

export interface Recipient {
	keyId: string;
	enc: Uint8Array;
	wrappedKey: Uint8Array;
}

export interface EnvelopeHeader {
	deviceId: string;
	eventId: string;
	seq: number;
	time: number;
	ciphertextLength: number;
	recipients: Recipient[];
}

export interface FaceBox {
	frame: number;
	box: [number, number, number, number];
	score: number;
}

export interface OpenedEvent {
	header: EnvelopeHeader;
	metadata: Record<string, unknown>;
	frames: Uint8Array[];
	thumbnail?: Uint8Array;
	snapshot?: Uint8Array;
}

/** The key id under which a device lists a phone: SHA-256(device id (16) || phone X25519 public key (32)), first 8 bytes. */
export async function recipientKeyId(deviceId: Uint8Array, phonePublicKey: Uint8Array): Promise<string> {
	return hex((await sha256(deviceId, phonePublicKey)).subarray(0, 8));
}

/** Padmé (§ Padding), in integers. */
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

function clipLengthFor(ciphertextLength: number): number | undefined {
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

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** The clear part, with every length and limit checked before any cryptographic work (§ Limits). */
export function parseHeader(envelope: Uint8Array): { header: EnvelopeHeader; signed: Uint8Array; signature: Uint8Array; ciphertext: Uint8Array } {
	if (envelope.length < FIXED + RECIPIENT + SIGNATURE)
		throw new EnvelopeError(`truncated: ${envelope.length} bytes is shorter than any envelope`);
	const magic = latin1(envelope.subarray(0, 4));
	if (magic === "DWE1")
		throw new EnvelopeError("a DWE1 envelope: that format is withdrawn; this app reads DWE2");
	if (magic !== "DWE2")
		throw new EnvelopeError("not a DWE2 envelope");
	const view = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
	if (envelope[4] !== 2)
		throw new EnvelopeError(`unknown version ${envelope[4]}`);
	if (envelope[5] !== 1)
		throw new EnvelopeError(`unknown suite ${envelope[5]}`);
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
	if (clipLengthFor(ciphertextLength) === undefined)
		throw new EnvelopeError(`ciphertext length ${ciphertextLength} is not that of a padded clip in 16 KiB chunks`);
	if (envelope.length !== headerLength + SIGNATURE + ciphertextLength)
		throw new EnvelopeError(`${envelope.length} bytes, but the header says ${headerLength + SIGNATURE + ciphertextLength}: truncated or extended`);
	const seq = u64(view, 40, "sequence number");
	if (seq === 0)
		throw new EnvelopeError("sequence number 0: a device numbers its events from 1");
	const time = u64(view, 48, "time");
	const recipients: Recipient[] = [];
	for (let i = 0; i < count; i++) {
		const at = FIXED + RECIPIENT * i;
		recipients.push({ keyId: hex(envelope.subarray(at, at + 8)), enc: envelope.slice(at + 8, at + 40), wrappedKey: envelope.slice(at + 40, at + 88) });
	}
	if (new Set(recipients.map((recipient) => recipient.keyId)).size !== count)
		throw new EnvelopeError("two recipients have the same key id");
	return {
		header: { deviceId: hex(envelope.subarray(8, 24)), eventId: hex(envelope.subarray(24, 40)), seq, time, ciphertextLength, recipients },
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

function decodePoint(bytes: Uint8Array): InstanceType<typeof Point> | undefined {
	try {
		return Point.fromBytes(bytes, false);
	}
	catch {
		return undefined;
	}
}

/**
 * Ed25519 as libsodium's crypto_sign_verify_detached on the device
 * (§ Signature): S < L; A and R canonical and not of small order; the
 * cofactorless equation, byte for byte. WebCrypto's Ed25519 verify is not
 * used: it does not promise these rules, and device and app must agree on
 * every signature.
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
	const k = littleEndian(sha512(concat(r, publicKey, message))) % ORDER;
	const check = Point.BASE.multiplyUnsafe(s).add(A.negate().multiplyUnsafe(k));
	return equal(check.toBytes(), r);
}

/** Why a device's Ed25519 key cannot be one the app pairs with, or undefined if it can. */
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

/** HKDF-Expand with SHA-512 (RFC 5869 §2.3), on WebCrypto's HMAC. */
async function hkdfExpandSha512(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", own(prk), { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
	const out = new Uint8Array(length);
	let previous: Uint8Array = new Uint8Array(0);
	for (let counter = 1, offset = 0; offset < length; counter++) {
		previous = new Uint8Array(await crypto.subtle.sign("HMAC", key, concat(previous, info, Uint8Array.of(counter))));
		out.set(previous.subarray(0, Math.min(64, length - offset)), offset);
		offset += 64;
	}
	return out;
}

/** Cobblestone-256 decryption (c2sp.org/chunked-encryption): the commitment first, then every chunk. */
async function cobblestoneDecrypt(inputKey: Uint8Array, context: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
	const salt = ciphertext.subarray(0, 24);
	const okm = await hkdfExpandSha512(inputKey, concat(encoder.encode("c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM"), Uint8Array.of(0), salt, context), 76);
	if (!equal(okm.subarray(44, 76), ciphertext.subarray(24, 56)))
		throw new EnvelopeError("clip key commitment does not match: wrong key or context");
	const key = await crypto.subtle.importKey("raw", own(okm.subarray(0, 32)), "AES-GCM", false, ["decrypt"]);
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
			chunks.push(new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, key, own(chunk))));
		}
		catch {
			throw new EnvelopeError(`clip chunk ${index} does not authenticate: modified, reordered or truncated`);
		}
	}
	okm.fill(0);
	return concat(...chunks);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The first member name repeated within one object of a JSON text that JSON.parse accepted. */
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
		// Never the parser's message: it quotes the plaintext.
		throw new EnvelopeError("clip: the metadata is not JSON");
	}
	if ((typeof metadata !== "object") || (metadata === null) || Array.isArray(metadata))
		throw new EnvelopeError("clip: the metadata is JSON but not an object");
	if (duplicateName(text) !== undefined)
		throw new EnvelopeError("clip: the metadata repeats a member name");
	const fields = metadata as Record<string, unknown>;
	if (!KINDS.includes(fields.kind as string))
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

/** A fixed-size picture record (thumbnail, snapshot): J (4) || J bytes of JPEG || zeros. */
function pictureRecord(body: Uint8Array, size: number, what: string): Uint8Array | undefined {
	if (body.length !== size)
		throw new EnvelopeError(`clip: a ${what} record of ${body.length} bytes; exactly ${size}`);
	const jpegLength = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
	if (jpegLength > size - 4)
		throw new EnvelopeError(`clip: a ${what} JPEG length of ${jpegLength} bytes does not fit its record`);
	if (!body.subarray(4 + jpegLength).every((byte) => byte === 0))
		throw new EnvelopeError(`clip: the ${what} record's padding is not zero`);
	return jpegLength ? body.slice(4, 4 + jpegLength) : undefined;
}

/** The clip (DWC1), with every rule of § Clip: records in order, fixed sizes, the padding. */
export function parseClip(clip: Uint8Array): Omit<OpenedEvent, "header"> {
	if ((clip.length < 4) || (latin1(clip.subarray(0, 4)) !== "DWC1"))
		throw new EnvelopeError("the decrypted clip is not DWC1");
	const view = new DataView(clip.buffer, clip.byteOffset, clip.byteLength);
	let metadata: Record<string, unknown> | undefined;
	let pictures = false;
	let notification = false;
	let snapshotSeen = false;
	let thumbnailSeen = false;
	let padded = false;
	let snapshot: Uint8Array | undefined;
	let thumbnail: Uint8Array | undefined;
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
			snapshot = pictureRecord(body, SNAPSHOT_BYTES, "snapshot");
			if ((snapshot === undefined) !== (typeof metadata.snapshotError === "string"))
				throw new EnvelopeError(snapshot ? "clip: a snapshot, and a snapshotError" : "clip: no snapshot, and no snapshotError to say why");
		}
		else if (pictures && !thumbnailSeen) {
			if (type !== 3)
				throw new EnvelopeError("clip: a face report without a thumbnail record after it");
			thumbnailSeen = true;
			thumbnail = pictureRecord(body, THUMBNAIL_BYTES, "thumbnail");
			if (thumbnail && ((metadata.faces as Record<string, unknown>).status !== "found"))
				throw new EnvelopeError("clip: a face thumbnail, but the face report found no face");
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
			frames.push(body.slice());
		}
		else if (type === 1)
			throw new EnvelopeError("clip: a second metadata record");
		else if (type === 3)
			throw new EnvelopeError(pictures ? "clip: a second thumbnail record" : "clip: a thumbnail record without a face report");
		else if (type === 4)
			throw new EnvelopeError(notification ? "clip: a second snapshot record" : "clip: a snapshot record outside a notification");
		else if (type < 128)
			throw new EnvelopeError(`clip: record type ${type} is reserved`);
		// 128 to 255: extensions, skipped.
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

/** WebCrypto's CryptoKeyPair, as @hpke/core takes it (named so, Node's tests compile this module too). */
type RecipientKey = Parameters<typeof suite.createRecipientContext>[0]["recipientKey"];

export interface PhoneKeyPair {
	/** The non-extractable X25519 key pair (a CryptoKeyPair), and the public key's bytes. */
	keys: RecipientKey;
	publicKey: Uint8Array;
}

/**
 * § Phone processing steps 5 to 8: signature, digest, unwrapping with the
 * phone's X25519 key pair, decryption, the clip's rules. The caller has done
 * steps 1 to 4 (limits, device, topic, window) and does step 9.
 */
export async function openEvent(envelope: Uint8Array, phone: PhoneKeyPair, deviceSigningKey: Uint8Array): Promise<OpenedEvent> {
	try {
		return await openChecked(envelope, phone, deviceSigningKey);
	}
	catch (error) {
		if (error instanceof EnvelopeError)
			throw error;
		throw new EnvelopeError(`could not be opened (${(error as Error)?.name ?? "unknown error"})`);
	}
}

async function openChecked(envelope: Uint8Array, phone: PhoneKeyPair, deviceSigningKey: Uint8Array): Promise<OpenedEvent> {
	const { header, signed, signature, ciphertext } = parseHeader(envelope);
	if (!verifySignature(signature, concat(encoder.encode("doorward/event/v1"), Uint8Array.of(0), signed), deviceSigningKey))
		throw new EnvelopeError("the signature does not verify: not from the paired device, or modified");
	if (!equal(await sha256(ciphertext), envelope.subarray(60, 92)))
		throw new EnvelopeError("the ciphertext digest does not match the signed header");
	const myKeyId = await recipientKeyId(envelope.subarray(8, 24), phone.publicKey);
	const entry = header.recipients.find((recipient) => recipient.keyId === myKeyId);
	if (!entry)
		throw new EnvelopeError("this phone is not a recipient of the event");
	const ids = envelope.subarray(8, 40);
	const info = concat(encoder.encode("doorward/event/v1"), Uint8Array.of(0), ids);
	let clipKey: Uint8Array;
	try {
		const context = await suite.createRecipientContext({ recipientKey: phone.keys, enc: own(entry.enc).buffer, info: info.buffer });
		clipKey = new Uint8Array(await context.open(own(entry.wrappedKey).buffer, own(envelope.subarray(0, 92)).buffer));
	}
	catch {
		throw new EnvelopeError("the wrapped clip key does not open with this phone's key");
	}
	const context = concat(encoder.encode("doorward/clip/v1"), Uint8Array.of(0), ids, envelope.subarray(40, 56));
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
	finally {
		clip.fill(0);
	}
}

/** 2024-01-01T00:00Z: a device time before this means its clock had not been set (§ Time). */
export const CLOCK_FLOOR = Date.UTC(2024, 0, 1);

/** What the app says about an event's time: never a reason to refuse. */
export function clockNote(time: number, appNow: number): string | undefined {
	if (time < CLOCK_FLOOR)
		return "the device's clock was not set: its time counts from power-up";
	if (time > appNow + 10 * 60 * 1000)
		return `the device's clock is ${Math.round((time - appNow) / 1000)} s ahead of this phone's`;
	return undefined;
}
