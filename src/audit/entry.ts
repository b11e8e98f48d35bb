/*
 * One entry of the audit log (docs/protocol/audit.md, byte-exact):
 *
 *   body = "DWA1" | u32 seq | u64 time (ms) | u8 clock | u8 type | u16 D
 *          | prev (32: SHA-256 of the previous entry, zeros before seq 1)
 *          | device id (16) | details (D bytes, UTF-8 JSON object)
 *   entry = body | Ed25519 signature (64) over "doorward/audit/v1" 0 | body
 *   hash(entry) = SHA-256(entry)                                 (big-endian)
 *
 * Pure: the crypto is passed in, so the same code runs on XS (hardware/crypto)
 * and in Node tests. The phone never imports this: tools/phone/audit.ts is
 * written from the specification.
 */
import { concat, equal, fromHex, toHex, utf8Decode, utf8Encode } from "util/bytes";

export const entryMagic = Uint8Array.of(0x44, 0x57, 0x41, 0x31); // "DWA1"
export const signatureLabel = "doorward/audit/v1";
export const bodyHeaderSize = 68;
export const signatureSize = 64;
/** The largest details object, in bytes: an entry fits a flash sector several times over. */
export const maxDetails = 1024;
export const maxEntrySize = bodyHeaderSize + maxDetails + signatureSize;

/** The entry types and their numbers; never renumbered. */
export const AuditTypes = Object.freeze({
	admitted: 1,
	removed: 2,
	role: 3,
	window: 4,
	attempts: 5,
	reset: 6,
	wifi: 7,
	provisioned: 8,
	updateRoot: 9,
	dropped: 10,
	liveStart: 11,
	liveEnd: 12,
} as const);
export type AuditType = keyof typeof AuditTypes;

export type AuditDetails = Readonly<Record<string, string | number | boolean>>;

export interface AuditEntry {
	readonly seq: number;
	readonly time: number;
	/** Whether the wall clock was set when the entry was made; if not, `time` is what the device's clock said, not a date. */
	readonly clockSet: boolean;
	readonly type: AuditType;
	readonly prev: Uint8Array;
	readonly deviceId: string;
	readonly details: AuditDetails;
	/** The whole entry, as signed and stored. */
	readonly bytes: Uint8Array;
	/** SHA-256 of `bytes`: the next entry's `prev`. */
	readonly hash: Uint8Array;
}

export interface AuditCrypto {
	sha256(data: Uint8Array): Uint8Array;
	sign(message: Uint8Array): Uint8Array;
}

const typeNames = Object.keys(AuditTypes) as AuditType[];

export function typeName(code: number): AuditType | undefined {
	return typeNames.find((name) => AuditTypes[name] === code);
}

function signedMessage(body: Uint8Array): Uint8Array {
	return concat([utf8Encode(signatureLabel), Uint8Array.of(0), body]);
}

function checkDetails(details: AuditDetails): Uint8Array {
	for (const [name, value] of Object.entries(details)) {
		const kind = typeof value;
		if (!name.length || ((kind !== "string") && (kind !== "boolean") && ((kind !== "number") || !Number.isFinite(value as number))))
			throw new RangeError(`audit: detail ${name} is not a string, a finite number or a boolean`);
	}
	const json = utf8Encode(JSON.stringify(details));
	if (json.length > maxDetails)
		throw new RangeError(`audit: details of ${json.length} bytes; at most ${maxDetails}`);
	return json;
}

/** Builds and signs the entry after `prev` (undefined: the first entry). */
export function makeEntry(crypto: AuditCrypto, fields: { seq: number; time: number; clockSet: boolean; type: AuditType; deviceId: string; details: AuditDetails }, prev: Uint8Array | undefined): AuditEntry {
	const code = AuditTypes[fields.type];
	if (code === undefined)
		throw new RangeError(`audit: unknown entry type ${String(fields.type)}`);
	if (!Number.isInteger(fields.seq) || (fields.seq < 1) || (fields.seq > 0xFFFFFFFF) || !Number.isInteger(fields.time) || (fields.time < 0))
		throw new RangeError("audit: invalid sequence number or time");
	if (!/^[0-9a-f]{32}$/.test(fields.deviceId))
		throw new RangeError("audit: invalid device id");
	const json = checkDetails(fields.details);
	const body = new Uint8Array(bodyHeaderSize + json.length);
	const view = new DataView(body.buffer);
	body.set(entryMagic, 0);
	view.setUint32(4, fields.seq);
	view.setUint32(8, Math.floor(fields.time / 0x100000000));
	view.setUint32(12, fields.time >>> 0);
	body[16] = fields.clockSet ? 1 : 0;
	body[17] = code;
	view.setUint16(18, json.length);
	body.set(prev ?? new Uint8Array(32), 20);
	body.set(fromHex(fields.deviceId), 52);
	body.set(json, bodyHeaderSize);
	const signature = crypto.sign(signedMessage(body));
	if (signature.length !== signatureSize)
		throw new Error("audit: the signer returned no Ed25519 signature");
	const bytes = concat([body, signature]);
	return Object.freeze({ ...fields, prev: body.slice(20, 52), bytes, hash: crypto.sha256(bytes) });
}

/**
 * Reads an entry's fields; undefined for bytes that are not a whole entry
 * (what a power cut may leave). The signature is checked by `verify`.
 */
export function parseEntry(bytes: Uint8Array, sha256: (data: Uint8Array) => Uint8Array): AuditEntry | undefined {
	if ((bytes.length < bodyHeaderSize + signatureSize) || !equal(bytes.subarray(0, 4), entryMagic))
		return undefined;
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const length = view.getUint16(18);
	const type = typeName(bytes[17]);
	if ((length > maxDetails) || (bytes.length !== bodyHeaderSize + length + signatureSize) || !type || (bytes[16] > 1))
		return undefined;
	let details: AuditDetails;
	try {
		details = JSON.parse(utf8Decode(bytes.subarray(bodyHeaderSize, bodyHeaderSize + length))) as AuditDetails;
	}
	catch {
		return undefined;
	}
	if ((typeof details !== "object") || (details === null) || Array.isArray(details))
		return undefined;
	const copy = bytes.slice();
	return Object.freeze({
		seq: view.getUint32(4),
		time: view.getUint32(8) * 0x100000000 + view.getUint32(12),
		clockSet: bytes[16] === 1,
		type,
		prev: copy.slice(20, 52),
		deviceId: toHex(copy.subarray(52, 68)),
		details,
		bytes: copy,
		hash: sha256(copy),
	});
}

/** Whether the entry's signature holds under the device's Ed25519 key. */
export function verifyEntry(entry: AuditEntry, check: (message: Uint8Array, signature: Uint8Array) => boolean): boolean {
	const split = entry.bytes.length - signatureSize;
	return check(signedMessage(entry.bytes.subarray(0, split)), entry.bytes.subarray(split));
}
