/*
 * The signed update bundle, version 1: its layouts, limits and parsers.
 * docs/protocol/update.md is the normative text; this is its device side.
 * Parsing is structural only (no cryptography, no device state): every
 * length is checked against its limit and against the bytes present before
 * anything is read or allocated, and each refusal carries its reason code.
 *
 *   signed message = body || u8 S || S x (u8 role | public key (32) | Ed25519 signature (64))
 *   each signature is over  label || role || body
 *
 *   root body (DWR1)                       manifest body (DWM1)
 *    0  4 "DWR1"                            0  4 "DWM1"
 *    4  1 format version 1                  4  1 format version 1
 *    5  1 channel                           5  1 channel
 *    6  4 root version                      6 32 hardware model, zero-padded
 *   10  1 release threshold                38  6 firmware version: major, minor, patch (u16 each)
 *   11  1 root threshold                   44  1 security version, 0..16
 *   12  1 key count N, 1..8                45  4 expires: seconds since the epoch
 *   13 34N keys: role | uses | public key  49  4 image size
 *                                          53 32 image SHA-256
 *                                          85  1 target count T, 0..16
 *                                          86 16T target device ids
 *
 *   bundle = "DWU1" | u8 version 1 | u8 root updates U | u16 header length H
 *            || U signed roots || signed manifest      (bytes 8 .. H)
 *            || image                                   (image size bytes)
 */
import { equal, toHex, utf8Decode, utf8Encode } from "util/bytes";
import { refuse } from "./errors";

export type Channel = "development" | "production";

export const formatVersion = 1;

/** Every bound the device enforces, before it allocates. */
export const limits = Object.freeze({
	signatures: 8,
	keys: 8,
	targets: 16,
	rootUpdates: 4,
	/** The bundle header (prefix, root updates, manifest); the largest legal one is about 5.4 KiB. */
	headerLength: 8192,
	/** One OTA slot of the board's partition table (ota_0, ota_1: 0x300000 bytes). */
	imageSize: 0x300000,
	/** The ESP32-S3's SECURE_VERSION eFuse field: 16 bits, one burnt per increment. */
	securityVersion: 16,
	modelLength: 32,
});

export const magic = Object.freeze({
	bundle: utf8Encode("DWU1"),
	root: utf8Encode("DWR1"),
	manifest: utf8Encode("DWM1"),
});

/** Domain separation: a signature over a root can never pass as one over a manifest, or the reverse. */
export const signatureLabel = Object.freeze({
	root: utf8Encode("doorward/update/root/v1\u0000"),
	manifest: utf8Encode("doorward/update/manifest/v1\u0000"),
});

export const channelCode: Readonly<Record<Channel, number>> = Object.freeze({ development: 1, production: 2 });

/** Bits of a root key's `uses` byte. */
export const keyUse = Object.freeze({ release: 1, root: 2 });

export const prefixLength = 8;
export const rootFixedLength = 13;
export const rootKeyLength = 34;
export const manifestFixedLength = 86;
export const targetLength = 16;
export const signatureEntryLength = 97;
export const publicKeyLength = 32;
export const digestLength = 32;

export interface SignatureEntry {
	readonly role: Channel;
	readonly publicKey: Uint8Array;
	readonly signature: Uint8Array;
}

export interface RootKey {
	readonly role: Channel;
	readonly publicKey: Uint8Array;
	/** May sign manifests. */
	readonly release: boolean;
	/** May sign the next root. */
	readonly root: boolean;
}

export interface Root {
	readonly channel: Channel;
	readonly version: number;
	readonly releaseThreshold: number;
	readonly rootThreshold: number;
	readonly keys: readonly RootKey[];
}

export interface FirmwareVersion {
	readonly major: number;
	readonly minor: number;
	readonly patch: number;
}

export interface Manifest {
	readonly channel: Channel;
	readonly model: string;
	readonly version: FirmwareVersion;
	readonly securityVersion: number;
	/** Seconds since the epoch; the manifest is refused from this second on. */
	readonly expires: number;
	readonly imageSize: number;
	readonly imageDigest: Uint8Array;
	/** Device ids (32 hex digits); empty means every device of the model. */
	readonly targets: readonly string[];
}

/** A parsed signed message: its value, the exact body bytes the signatures cover, and the signatures. */
export interface Signed<T> {
	readonly value: T;
	readonly body: Uint8Array;
	readonly signatures: readonly SignatureEntry[];
	/** The whole signed message (body and signatures) as it arrived: what a device stores to trust it again. */
	readonly bytes: Uint8Array;
}

export interface BundleHeader {
	readonly roots: readonly Signed<Root>[];
	readonly manifest: Signed<Manifest>;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compareVersions(a: FirmwareVersion, b: FirmwareVersion): number {
	const difference = (a.major - b.major) || (a.minor - b.minor) || (a.patch - b.patch);
	return Math.sign(difference);
}

export function formatVersionString(version: FirmwareVersion): string {
	return `${version.major}.${version.minor}.${version.patch}`;
}

/** Reads big-endian fields, refusing (as truncated) any read past the end. */
class Cursor {
	offset: number;
	readonly #bytes: Uint8Array;
	readonly #what: string;

	constructor(bytes: Uint8Array, offset: number, what: string) {
		this.#bytes = bytes;
		this.offset = offset;
		this.#what = what;
	}

	need(length: number): void {
		const left = this.#bytes.length - this.offset;
		if (length > left)
			refuse("truncated", `${this.#what}: ${length} bytes needed at offset ${this.offset}, ${left} left`);
	}

	take(length: number): Uint8Array {
		this.need(length);
		const part = this.#bytes.subarray(this.offset, this.offset + length);
		this.offset += length;
		return part;
	}

	/** The bytes read since `start`. */
	since(start: number): Uint8Array {
		return this.#bytes.subarray(start, this.offset);
	}

	u8(): number {
		return this.take(1)[0];
	}

	u16(): number {
		const b = this.take(2);
		return (b[0] << 8) | b[1];
	}

	u32(): number {
		const b = this.take(4);
		return b[0] * 0x1000000 + ((b[1] << 16) | (b[2] << 8) | b[3]);
	}
}

function channelOf(code: number, what: string): Channel {
	if (code === channelCode.development)
		return "development";
	if (code === channelCode.production)
		return "production";
	return refuse("malformed", `${what}: channel or role ${code} is neither 1 (development) nor 2 (production)`);
}

function expectMagicAndVersion(cursor: Cursor, expected: Uint8Array, what: string): void {
	const found = cursor.take(expected.length);
	if (!equal(found, expected))
		refuse("malformed", `${what}: magic ${toHex(found)} is not "${utf8Decode(expected)}"`);
	const version = cursor.u8();
	if (version !== formatVersion)
		refuse("malformed", `${what}: format version ${version} is not ${formatVersion}`);
}

function readSignatures(cursor: Cursor, what: string): SignatureEntry[] {
	const count = cursor.u8();
	if (count === 0)
		refuse("malformed", `${what}: no signatures`);
	if (count > limits.signatures)
		refuse("too-long", `${what}: ${count} signatures; at most ${limits.signatures}`);
	cursor.need(count * signatureEntryLength);
	const entries: SignatureEntry[] = [];
	for (let i = 0; i < count; i++) {
		const role = channelOf(cursor.u8(), `${what}, signature ${i}`);
		entries.push({ role, publicKey: cursor.take(publicKeyLength), signature: cursor.take(64) });
	}
	return entries;
}

/**
 * Checks that each key's role is the root's channel: a production root never
 * lists a development key, so no development key can ever count on a
 * production device.
 */
function checkKeyRole(role: Channel, channel: Channel, what: string): void {
	if (role === channel)
		return;
	if (channel === "production")
		refuse("development-key", `${what}: a development key in a production root`);
	refuse("wrong-channel", `${what}: a production key in a development root`);
}

function readRootBody(cursor: Cursor): Root {
	expectMagicAndVersion(cursor, magic.root, "root");
	const channel = channelOf(cursor.u8(), "root");
	const version = cursor.u32();
	if (version === 0)
		refuse("malformed", "root: version 0; roots are numbered from 1");
	const releaseThreshold = cursor.u8();
	const rootThreshold = cursor.u8();
	const count = cursor.u8();
	if (count === 0)
		refuse("malformed", "root: no keys");
	if (count > limits.keys)
		refuse("too-long", `root: ${count} keys; at most ${limits.keys}`);
	cursor.need(count * rootKeyLength);
	const keys: RootKey[] = [];
	for (let i = 0; i < count; i++) {
		const role = channelOf(cursor.u8(), `root key ${i}`);
		checkKeyRole(role, channel, `root key ${i}`);
		const uses = cursor.u8();
		if ((uses === 0) || (uses & ~(keyUse.release | keyUse.root)))
			refuse("malformed", `root key ${i}: uses ${uses} is not 1 (release), 2 (root) or 3 (both)`);
		const publicKey = cursor.take(publicKeyLength);
		if (keys.some((key) => equal(key.publicKey, publicKey)))
			refuse("malformed", `root key ${i}: listed twice`);
		keys.push({ role, publicKey, release: (uses & keyUse.release) !== 0, root: (uses & keyUse.root) !== 0 });
	}
	const releaseKeys = keys.filter((key) => key.release).length;
	const rootKeys = keys.filter((key) => key.root).length;
	if ((releaseThreshold < 1) || (releaseThreshold > releaseKeys))
		refuse("malformed", `root: release threshold ${releaseThreshold} with ${releaseKeys} release keys`);
	if ((rootThreshold < 1) || (rootThreshold > rootKeys))
		refuse("malformed", `root: root threshold ${rootThreshold} with ${rootKeys} root keys`);
	return { channel, version, releaseThreshold, rootThreshold, keys };
}

const modelCharacters = /^[a-z0-9._-]+$/;

function readModel(cursor: Cursor): string {
	const field = cursor.take(limits.modelLength);
	let length = field.indexOf(0);
	if (length < 0)
		length = field.length;
	const padding = field.subarray(length);
	if (padding.some((byte) => byte !== 0))
		refuse("malformed", "manifest: bytes after the model's terminating zero");
	const model = String.fromCharCode(...field.subarray(0, length));
	if (!modelCharacters.test(model))
		refuse("malformed", `manifest: model ${JSON.stringify(model)} is not 1 to ${limits.modelLength} of [a-z0-9._-]`);
	return model;
}

function readManifestBody(cursor: Cursor): Manifest {
	expectMagicAndVersion(cursor, magic.manifest, "manifest");
	const channel = channelOf(cursor.u8(), "manifest");
	const model = readModel(cursor);
	const version = { major: cursor.u16(), minor: cursor.u16(), patch: cursor.u16() };
	const securityVersion = cursor.u8();
	if (securityVersion > limits.securityVersion)
		refuse("malformed", `manifest: security version ${securityVersion}; the eFuse field holds 0 to ${limits.securityVersion}`);
	const expires = cursor.u32();
	if (expires === 0)
		refuse("malformed", "manifest: no expiry");
	const imageSize = cursor.u32();
	if (imageSize === 0)
		refuse("malformed", "manifest: an empty image");
	if (imageSize > limits.imageSize)
		refuse("too-long", `manifest: image of ${imageSize} bytes; a slot holds ${limits.imageSize}`);
	const imageDigest = cursor.take(digestLength);
	const count = cursor.u8();
	if (count > limits.targets)
		refuse("too-long", `manifest: ${count} target devices; at most ${limits.targets}`);
	cursor.need(count * targetLength);
	const targets: string[] = [];
	for (let i = 0; i < count; i++)
		targets.push(toHex(cursor.take(targetLength)));
	return { channel, model, version, securityVersion, expires, imageSize, imageDigest, targets };
}

function readSigned<T>(cursor: Cursor, readBody: (cursor: Cursor) => T, what: string): Signed<T> {
	const start = cursor.offset;
	const value = readBody(cursor);
	const body = cursor.since(start);
	const signatures = readSignatures(cursor, what);
	return { value, body, signatures, bytes: cursor.since(start) };
}

function readWhole<T>(bytes: Uint8Array, readBody: (cursor: Cursor) => T, what: string): Signed<T> {
	const cursor = new Cursor(bytes, 0, what);
	const signed = readSigned(cursor, readBody, what);
	if (cursor.offset !== bytes.length)
		refuse("malformed", `${what}: ${bytes.length - cursor.offset} bytes after the signatures`);
	return signed;
}

/** A signed root on its own (a root file, or a root-rotation message). */
export function parseSignedRoot(bytes: Uint8Array): Signed<Root> {
	return readWhole(bytes, readRootBody, "root");
}

/** A signed manifest on its own. */
export function parseSignedManifest(bytes: Uint8Array): Signed<Manifest> {
	return readWhole(bytes, readManifestBody, "manifest");
}

/** The fixed 8-byte start of a bundle: how many root updates, and how long the header is. */
export function parseBundlePrefix(prefix: Uint8Array): { rootUpdates: number; headerLength: number } {
	const cursor = new Cursor(prefix, 0, "bundle");
	expectMagicAndVersion(cursor, magic.bundle, "bundle");
	const rootUpdates = cursor.u8();
	if (rootUpdates > limits.rootUpdates)
		refuse("too-long", `bundle: ${rootUpdates} root updates; at most ${limits.rootUpdates}`);
	const headerLength = cursor.u16();
	if (headerLength > limits.headerLength)
		refuse("too-long", `bundle: header of ${headerLength} bytes; at most ${limits.headerLength}`);
	if (headerLength <= prefixLength)
		refuse("malformed", `bundle: header length ${headerLength}`);
	return { rootUpdates, headerLength };
}

/** The bundle's header, bytes 0 .. H: root updates and manifest, which must fill it exactly. */
export function parseBundleHeader(header: Uint8Array): BundleHeader {
	const { rootUpdates, headerLength } = parseBundlePrefix(header.subarray(0, prefixLength));
	if (header.length < headerLength)
		refuse("truncated", `bundle: header of ${header.length} bytes; it declares ${headerLength}`);
	if (header.length > headerLength)
		refuse("malformed", `bundle: header of ${header.length} bytes; it declares ${headerLength}`);
	const cursor = new Cursor(header, prefixLength, "bundle header");
	const roots: Signed<Root>[] = [];
	for (let i = 0; i < rootUpdates; i++)
		roots.push(readSigned(cursor, readRootBody, `root update ${i}`));
	const manifest = readSigned(cursor, readManifestBody, "manifest");
	if (cursor.offset !== headerLength)
		refuse("malformed", `bundle: ${headerLength - cursor.offset} bytes between the manifest and the image`);
	return { roots, manifest };
}
