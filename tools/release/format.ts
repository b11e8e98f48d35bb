/*
 * The release side of docs/protocol/update.md, on Node: encodes roots,
 * manifests and bundles, signs them, and parses and checks them for
 * `doorward release inspect`. Written from the specification with
 * @noble/curves' Ed25519 and node:crypto's SHA-256; it shares no code with
 * the device's verifier (src/update), so the tests that pass bundles from
 * one to the other are conformance tests of both.
 */
import { createHash } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";

export type Channel = "development" | "production";

export class ReleaseError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ReleaseError";
	}
}

export const LIMITS = {
	signatures: 8,
	keys: 8,
	targets: 16,
	rootUpdates: 4,
	headerLength: 8192,
	imageSize: 0x300000,
	securityVersion: 16,
	modelLength: 32,
} as const;

const CHANNEL_CODE: Record<Channel, number> = { development: 1, production: 2 };
const USE_RELEASE = 1;
const USE_ROOT = 2;
const SIGNATURE_ENTRY = 97;
const LABEL = {
	root: Buffer.from("doorward/update/root/v1\0", "latin1"),
	manifest: Buffer.from("doorward/update/manifest/v1\0", "latin1"),
};

export interface SecretKey {
	role: Channel;
	name: string;
	seed: Uint8Array;
	publicKey: Uint8Array;
}

export interface PublicKey {
	role: Channel;
	name: string;
	publicKey: Uint8Array;
}

export interface RootKeyFields {
	role: Channel;
	publicKey: Uint8Array;
	release: boolean;
	root: boolean;
}

export interface RootFields {
	channel: Channel;
	version: number;
	releaseThreshold: number;
	rootThreshold: number;
	keys: RootKeyFields[];
}

export interface Version {
	major: number;
	minor: number;
	patch: number;
}

export interface ManifestFields {
	channel: Channel;
	model: string;
	version: Version;
	securityVersion: number;
	/** Seconds since the epoch. */
	expires: number;
	imageSize: number;
	imageDigest: Uint8Array;
	/** 32 hex digits each. */
	targets: string[];
}

export interface SignatureFields {
	role: Channel;
	publicKey: Uint8Array;
	signature: Uint8Array;
}

export interface SignedMessage<T> {
	kind: "root" | "manifest";
	fields: T;
	body: Uint8Array;
	signatures: SignatureFields[];
	/** body and signatures, as they appear in the file. */
	bytes: Uint8Array;
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(data).digest());

export function versionText(version: Version): string {
	return `${version.major}.${version.minor}.${version.patch}`;
}

export function parseVersionText(text: string): Version {
	const match = /^(\d{1,5})\.(\d{1,5})\.(\d{1,5})$/.exec(text);
	const parts = match ? match.slice(1).map(Number) : [];
	if (!match || parts.some((part) => part > 0xFFFF))
		throw new ReleaseError(`version ${JSON.stringify(text)}: expected MAJOR.MINOR.PATCH, each 0 to 65535`);
	return { major: parts[0], minor: parts[1], patch: parts[2] };
}

function channelFrom(code: number, what: string): Channel {
	if (code === 1)
		return "development";
	if (code === 2)
		return "production";
	throw new ReleaseError(`${what}: channel or role ${code} is not 1 or 2`);
}

/* ---- encoding ---- */

export function checkModel(model: string): void {
	if (!/^[a-z0-9._-]{1,32}$/.test(model))
		throw new ReleaseError(`model ${JSON.stringify(model)}: 1 to 32 of a-z, 0-9, ".", "_", "-"`);
}

export function checkRoot(root: RootFields): void {
	if (!Number.isInteger(root.version) || (root.version < 1) || (root.version > 0xFFFFFFFF))
		throw new ReleaseError(`root version ${root.version}: 1 to 2^32 - 1`);
	if ((root.keys.length < 1) || (root.keys.length > LIMITS.keys))
		throw new ReleaseError(`a root lists 1 to ${LIMITS.keys} keys, not ${root.keys.length}`);
	const seen = new Set<string>();
	for (const key of root.keys) {
		if (key.role !== root.channel)
			throw new ReleaseError(`a ${root.channel} root cannot list the ${key.role} key ${hex(key.publicKey)}`);
		if (!key.release && !key.root)
			throw new ReleaseError(`key ${hex(key.publicKey)}: neither a release nor a root key`);
		if (seen.has(hex(key.publicKey)))
			throw new ReleaseError(`key ${hex(key.publicKey)} is listed twice`);
		seen.add(hex(key.publicKey));
	}
	const releaseKeys = root.keys.filter((key) => key.release).length;
	const rootKeys = root.keys.filter((key) => key.root).length;
	if (!Number.isInteger(root.releaseThreshold) || (root.releaseThreshold < 1) || (root.releaseThreshold > releaseKeys))
		throw new ReleaseError(`release threshold ${root.releaseThreshold}: 1 to the ${releaseKeys} release keys`);
	if (!Number.isInteger(root.rootThreshold) || (root.rootThreshold < 1) || (root.rootThreshold > rootKeys))
		throw new ReleaseError(`root threshold ${root.rootThreshold}: 1 to the ${rootKeys} root keys`);
}

export function encodeRoot(root: RootFields): Uint8Array {
	checkRoot(root);
	const out = Buffer.alloc(13 + 34 * root.keys.length);
	out.write("DWR1", 0, "latin1");
	out[4] = 1;
	out[5] = CHANNEL_CODE[root.channel];
	out.writeUInt32BE(root.version, 6);
	out[10] = root.releaseThreshold;
	out[11] = root.rootThreshold;
	out[12] = root.keys.length;
	root.keys.forEach((key, index) => {
		const at = 13 + 34 * index;
		out[at] = CHANNEL_CODE[key.role];
		out[at + 1] = (key.release ? USE_RELEASE : 0) | (key.root ? USE_ROOT : 0);
		out.set(key.publicKey, at + 2);
	});
	return new Uint8Array(out);
}

export function encodeManifest(manifest: ManifestFields): Uint8Array {
	checkModel(manifest.model);
	if (!Number.isInteger(manifest.securityVersion) || (manifest.securityVersion < 0) || (manifest.securityVersion > LIMITS.securityVersion))
		throw new ReleaseError(`security version ${manifest.securityVersion}: 0 to ${LIMITS.securityVersion} (the eFuse field)`);
	if (!Number.isInteger(manifest.expires) || (manifest.expires < 1) || (manifest.expires > 0xFFFFFFFF))
		throw new ReleaseError(`expiry ${manifest.expires}: seconds since the epoch, before 2106`);
	if ((manifest.imageSize < 1) || (manifest.imageSize > LIMITS.imageSize))
		throw new ReleaseError(`an image of ${manifest.imageSize} bytes: 1 to ${LIMITS.imageSize} (one OTA slot)`);
	if (manifest.targets.length > LIMITS.targets)
		throw new ReleaseError(`${manifest.targets.length} target devices: at most ${LIMITS.targets}`);
	for (const target of manifest.targets) {
		if (!/^[0-9a-f]{32}$/.test(target))
			throw new ReleaseError(`target device ${JSON.stringify(target)}: a device id is 32 lower-case hex digits`);
	}
	if (new Set(manifest.targets).size !== manifest.targets.length)
		throw new ReleaseError("a target device is named twice");
	const out = Buffer.alloc(86 + 16 * manifest.targets.length);
	out.write("DWM1", 0, "latin1");
	out[4] = 1;
	out[5] = CHANNEL_CODE[manifest.channel];
	out.write(manifest.model, 6, "latin1");
	out.writeUInt16BE(manifest.version.major, 38);
	out.writeUInt16BE(manifest.version.minor, 40);
	out.writeUInt16BE(manifest.version.patch, 42);
	out[44] = manifest.securityVersion;
	out.writeUInt32BE(manifest.expires, 45);
	out.writeUInt32BE(manifest.imageSize, 49);
	out.set(manifest.imageDigest, 53);
	out[85] = manifest.targets.length;
	manifest.targets.forEach((target, index) => out.write(target, 86 + 16 * index, "hex"));
	return new Uint8Array(out);
}

function signatureEntry(kind: "root" | "manifest", body: Uint8Array, key: SecretKey): Uint8Array {
	const role = CHANNEL_CODE[key.role];
	const signature = ed25519.sign(Buffer.concat([LABEL[kind], Buffer.of(role), body]), key.seed);
	return Buffer.concat([Buffer.of(role), key.publicKey, signature]);
}

/** body || count || one signature per key; keys may not repeat. */
export function signMessage(kind: "root" | "manifest", body: Uint8Array, keys: readonly SecretKey[], existing: readonly SignatureFields[] = []): Uint8Array {
	const signers = [...existing.map((entry) => hex(entry.publicKey)), ...keys.map((key) => hex(key.publicKey))];
	if (new Set(signers).size !== signers.length)
		throw new ReleaseError("the same key would sign twice");
	if ((signers.length < 1) || (signers.length > LIMITS.signatures))
		throw new ReleaseError(`${signers.length} signatures: 1 to ${LIMITS.signatures}`);
	const entries = [
		...existing.map((entry) => Buffer.concat([Buffer.of(CHANNEL_CODE[entry.role]), entry.publicKey, entry.signature])),
		...keys.map((key) => signatureEntry(kind, body, key)),
	];
	return new Uint8Array(Buffer.concat([body, Buffer.of(entries.length), ...entries]));
}

export function encodeBundle(roots: readonly Uint8Array[], manifest: Uint8Array, image: Uint8Array): Uint8Array {
	if (roots.length > LIMITS.rootUpdates)
		throw new ReleaseError(`${roots.length} root updates: at most ${LIMITS.rootUpdates}`);
	const headerLength = 8 + roots.reduce((sum, root) => sum + root.length, 0) + manifest.length;
	if (headerLength > LIMITS.headerLength)
		throw new ReleaseError(`a bundle header of ${headerLength} bytes: at most ${LIMITS.headerLength}`);
	const prefix = Buffer.alloc(8);
	prefix.write("DWU1", 0, "latin1");
	prefix[4] = 1;
	prefix[5] = roots.length;
	prefix.writeUInt16BE(headerLength, 6);
	return new Uint8Array(Buffer.concat([prefix, ...roots, manifest, image]));
}

/* ---- parsing ---- */

class Reader {
	at: number;
	constructor(readonly bytes: Buffer, at: number, readonly what: string) {
		this.at = at;
	}
	take(length: number): Buffer {
		if (this.at + length > this.bytes.length)
			throw new ReleaseError(`${this.what}: truncated (${length} bytes needed at offset ${this.at})`);
		this.at += length;
		return this.bytes.subarray(this.at - length, this.at);
	}
	u8(): number {
		return this.take(1)[0];
	}
}

function expectStart(reader: Reader, magic: string): void {
	const found = reader.take(4).toString("latin1");
	if (found !== magic)
		throw new ReleaseError(`${reader.what}: not ${magic} (starts with ${JSON.stringify(found)})`);
	const version = reader.u8();
	if (version !== 1)
		throw new ReleaseError(`${reader.what}: format version ${version}; this tool reads 1`);
}

function readSignatures(reader: Reader): SignatureFields[] {
	const count = reader.u8();
	if ((count < 1) || (count > LIMITS.signatures))
		throw new ReleaseError(`${reader.what}: ${count} signatures; 1 to ${LIMITS.signatures}`);
	const entries: SignatureFields[] = [];
	for (let i = 0; i < count; i++) {
		const entry = reader.take(SIGNATURE_ENTRY);
		entries.push({ role: channelFrom(entry[0], reader.what), publicKey: new Uint8Array(entry.subarray(1, 33)), signature: new Uint8Array(entry.subarray(33)) });
	}
	return entries;
}

function readRoot(reader: Reader): SignedMessage<RootFields> {
	const start = reader.at;
	expectStart(reader, "DWR1");
	const channel = channelFrom(reader.u8(), reader.what);
	const version = reader.take(4).readUInt32BE(0);
	const releaseThreshold = reader.u8();
	const rootThreshold = reader.u8();
	const count = reader.u8();
	if (count > LIMITS.keys)
		throw new ReleaseError(`${reader.what}: ${count} keys; at most ${LIMITS.keys}`);
	const keys: RootKeyFields[] = [];
	for (let i = 0; i < count; i++) {
		const entry = reader.take(34);
		if ((entry[1] < 1) || (entry[1] > 3))
			throw new ReleaseError(`${reader.what}: key ${i} has uses ${entry[1]}`);
		keys.push({ role: channelFrom(entry[0], reader.what), release: (entry[1] & USE_RELEASE) !== 0, root: (entry[1] & USE_ROOT) !== 0, publicKey: new Uint8Array(entry.subarray(2)) });
	}
	const fields = { channel, version, releaseThreshold, rootThreshold, keys };
	checkRoot(fields);
	const body = new Uint8Array(reader.bytes.subarray(start, reader.at));
	const signatures = readSignatures(reader);
	return { kind: "root", fields, body, signatures, bytes: new Uint8Array(reader.bytes.subarray(start, reader.at)) };
}

function readManifest(reader: Reader): SignedMessage<ManifestFields> {
	const start = reader.at;
	expectStart(reader, "DWM1");
	const channel = channelFrom(reader.u8(), reader.what);
	const modelField = reader.take(32);
	const end = modelField.indexOf(0);
	const model = modelField.subarray(0, end < 0 ? 32 : end).toString("latin1");
	if (modelField.subarray(model.length).some((byte) => byte !== 0))
		throw new ReleaseError(`${reader.what}: bytes after the model's terminating zero`);
	const numbers = reader.take(6);
	const version = { major: numbers.readUInt16BE(0), minor: numbers.readUInt16BE(2), patch: numbers.readUInt16BE(4) };
	const securityVersion = reader.u8();
	const expires = reader.take(4).readUInt32BE(0);
	const imageSize = reader.take(4).readUInt32BE(0);
	const imageDigest = new Uint8Array(reader.take(32));
	const count = reader.u8();
	if (count > LIMITS.targets)
		throw new ReleaseError(`${reader.what}: ${count} targets; at most ${LIMITS.targets}`);
	const targets: string[] = [];
	for (let i = 0; i < count; i++)
		targets.push(reader.take(16).toString("hex"));
	const fields = { channel, model, version, securityVersion, expires, imageSize, imageDigest, targets };
	encodeManifest(fields);	// the same range checks as when writing
	const body = new Uint8Array(reader.bytes.subarray(start, reader.at));
	const signatures = readSignatures(reader);
	return { kind: "manifest", fields, body, signatures, bytes: new Uint8Array(reader.bytes.subarray(start, reader.at)) };
}

export function parseRootFile(bytes: Uint8Array, what = "root"): SignedMessage<RootFields> {
	const reader = new Reader(Buffer.from(bytes), 0, what);
	const root = readRoot(reader);
	if (reader.at !== bytes.length)
		throw new ReleaseError(`${what}: ${bytes.length - reader.at} bytes after the signatures`);
	return root;
}

export interface ParsedBundle {
	headerLength: number;
	roots: SignedMessage<RootFields>[];
	manifest: SignedMessage<ManifestFields>;
	image: Uint8Array;
}

export function parseBundle(bytes: Uint8Array, what = "bundle"): ParsedBundle {
	const buffer = Buffer.from(bytes);
	const reader = new Reader(buffer, 0, what);
	expectStart(reader, "DWU1");
	const rootCount = reader.u8();
	const headerLength = reader.take(2).readUInt16BE(0);
	if (rootCount > LIMITS.rootUpdates)
		throw new ReleaseError(`${what}: ${rootCount} root updates; at most ${LIMITS.rootUpdates}`);
	if ((headerLength <= 8) || (headerLength > LIMITS.headerLength))
		throw new ReleaseError(`${what}: header length ${headerLength}`);
	if (buffer.length < headerLength)
		throw new ReleaseError(`${what}: truncated inside its ${headerLength}-byte header`);
	const header = buffer.subarray(0, headerLength);
	let at = reader.at;
	const roots = [];
	for (let i = 0; i < rootCount; i++) {
		const rootReader = new Reader(header, at, `${what}, root update ${i}`);
		roots.push(readRoot(rootReader));
		at = rootReader.at;
	}
	const manifestReader = new Reader(header, at, `${what}, manifest`);
	const manifest = readManifest(manifestReader);
	if (manifestReader.at !== headerLength)
		throw new ReleaseError(`${what}: the header says ${headerLength} bytes, its contents take ${manifestReader.at}`);
	const image = new Uint8Array(buffer.subarray(headerLength));
	return { headerLength, roots, manifest, image };
}

/* ---- verification, as a report ---- */

export type SignatureStatus = "valid" | "bad-signature" | "unknown-key" | "duplicate-signer" | "wrong-role";

/** Whether one signature verifies under the key it names (strict RFC 8032 rules, as libsodium on the device). */
export function signatureVerifies(kind: "root" | "manifest", body: Uint8Array, entry: SignatureFields): boolean {
	try {
		return ed25519.verify(entry.signature, Buffer.concat([LABEL[kind], Buffer.of(CHANNEL_CODE[entry.role]), body]), entry.publicKey, { zip215: false });
	}
	catch {
		return false;
	}
}

export interface Tally {
	statuses: SignatureStatus[];
	/** Valid signatures per group. */
	counts: number[];
	ok: boolean;
}

/**
 * Checks a signed message against groups of trusted keys, each with its
 * threshold, as the device does: every signature must be valid, by a listed
 * key of the expected role, and each group must reach its threshold.
 */
export function tally(message: SignedMessage<unknown>, channel: Channel, groups: readonly { keys: readonly Uint8Array[]; threshold: number }[]): Tally {
	const seen = new Set<string>();
	const counts = groups.map(() => 0);
	const statuses = message.signatures.map((entry): SignatureStatus => {
		const id = hex(entry.publicKey);
		if (entry.role !== channel)
			return "wrong-role";
		if (seen.has(id))
			return "duplicate-signer";
		seen.add(id);
		const member = groups.map((group) => group.keys.some((key) => hex(key) === id));
		if (!member.includes(true))
			return "unknown-key";
		if (!signatureVerifies(message.kind, message.body, entry))
			return "bad-signature";
		member.forEach((yes, index) => counts[index] += yes ? 1 : 0);
		return "valid";
	});
	const ok = statuses.every((status) => status === "valid") && groups.every((group, index) => counts[index] >= group.threshold);
	return { statuses, counts, ok };
}

export const releaseKeysOf = (root: RootFields): Uint8Array[] => root.keys.filter((key) => key.release).map((key) => key.publicKey);
export const rootKeysOf = (root: RootFields): Uint8Array[] => root.keys.filter((key) => key.root).map((key) => key.publicKey);

/** The tally of a root rotation: the old root's root keys to its threshold, and the new root's to its own. */
export function tallyRotation(current: RootFields, next: SignedMessage<RootFields>): Tally & { problem?: string } {
	const result = tally(next, current.channel, [
		{ keys: rootKeysOf(current), threshold: current.rootThreshold },
		{ keys: rootKeysOf(next.fields), threshold: next.fields.rootThreshold },
	]);
	if (next.fields.channel !== current.channel)
		return { ...result, ok: false, problem: `it moves from the ${current.channel} to the ${next.fields.channel} channel` };
	if (next.fields.version !== current.version + 1)
		return { ...result, ok: false, problem: `it is root ${next.fields.version}, and only ${current.version + 1} can follow root ${current.version}` };
	return result;
}
