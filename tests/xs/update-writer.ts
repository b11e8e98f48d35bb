/*
 * Test-only: writes update bundles inside the XS host, so that the device's
 * verifier (src/update) can be attacked here without a file API. It signs
 * with hardware/crypto's Ed25519 and lays bytes out as
 * docs/protocol/update.md says; it checks nothing, so tests can build the
 * malformed and mis-signed bundles an attacker would. The release tools
 * (tools/release) are the real signer, written separately on Node.
 */
import { digest, ed25519PublicKey, ed25519Sign } from "hardware/crypto";
import { concat, fromHex, utf8Encode } from "util/bytes";
import { channelCode, keyUse, magic, signatureLabel } from "update/format";
import type { Channel, FirmwareVersion } from "update/format";

export interface TestKey {
	readonly seed: Uint8Array;
	readonly publicKey: Uint8Array;
	readonly role: Channel;
}

export function testKey(seed: Uint8Array | number, role: Channel): TestKey {
	const bytes = (typeof seed === "number") ? new Uint8Array(32).fill(seed) : seed;
	return { seed: bytes, publicKey: ed25519PublicKey(bytes), role };
}

function u16(value: number): Uint8Array {
	return Uint8Array.of(value >> 8, value & 255);
}

function u32(value: number): Uint8Array {
	return Uint8Array.of(value >>> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255);
}

export interface RootSpec {
	channel: Channel;
	version: number;
	releaseThreshold: number;
	rootThreshold: number;
	keys: { key: TestKey; release?: boolean; root?: boolean; role?: Channel }[];
}

export function rootBody(spec: RootSpec): Uint8Array {
	const keys = spec.keys.map(({ key, release, root, role }) => concat([
		Uint8Array.of(channelCode[role ?? key.role], (release ? keyUse.release : 0) | (root ? keyUse.root : 0)),
		key.publicKey,
	]));
	return concat([magic.root, Uint8Array.of(1, channelCode[spec.channel]), u32(spec.version),
		Uint8Array.of(spec.releaseThreshold, spec.rootThreshold, spec.keys.length), ...keys]);
}

export interface ManifestSpec {
	channel: Channel;
	model: string;
	version: FirmwareVersion;
	securityVersion: number;
	expires: number;
	imageSize: number;
	imageDigest: Uint8Array;
	targets: string[];
}

export function manifestFor(image: Uint8Array, fields: Omit<ManifestSpec, "imageSize" | "imageDigest">): ManifestSpec {
	return { ...fields, imageSize: image.length, imageDigest: digest("SHA-256", image) };
}

export function manifestBody(spec: ManifestSpec): Uint8Array {
	const model = new Uint8Array(32);
	model.set(utf8Encode(spec.model).subarray(0, 32));
	return concat([magic.manifest, Uint8Array.of(1, channelCode[spec.channel]), model,
		u16(spec.version.major), u16(spec.version.minor), u16(spec.version.patch),
		Uint8Array.of(spec.securityVersion), u32(spec.expires), u32(spec.imageSize), spec.imageDigest,
		Uint8Array.of(spec.targets.length), ...spec.targets.map(fromHex)]);
}

/** A signer, optionally claiming a role other than its own (an attacker's relabelling). */
export type Signer = TestKey | { key: TestKey; claims: Channel };

/** body || signature count || signatures, each over label || role || body. */
export function signed(kind: "root" | "manifest", body: Uint8Array, signers: readonly Signer[]): Uint8Array {
	const entries = signers.map((signer) => {
		const key = ("key" in signer) ? signer.key : signer;
		const role = Uint8Array.of(channelCode[("claims" in signer) ? signer.claims : key.role]);
		const signature = ed25519Sign(key.seed, concat([signatureLabel[kind], role, body]));
		return concat([role, key.publicKey, signature]);
	});
	return concat([body, Uint8Array.of(entries.length), ...entries]);
}

/** The bundle: prefix, root updates, manifest, image. */
export function bundle(roots: readonly Uint8Array[], manifest: Uint8Array, image: Uint8Array): Uint8Array {
	const headerLength = 8 + roots.reduce((sum, root) => sum + root.length, 0) + manifest.length;
	return concat([magic.bundle, Uint8Array.of(1, roots.length), u16(headerLength), ...roots, manifest, image]);
}
