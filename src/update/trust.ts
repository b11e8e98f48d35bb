/*
 * Whether a parsed root or manifest is to be trusted by this device: the
 * signatures against the trusted root and its thresholds, then the manifest
 * against the device (channel, model, target, expiry, security version,
 * firmware version). docs/protocol/update.md gives the order and the why.
 *
 * Signatures are checked before any signed field is acted on. Every
 * signature present must be good: one by an unknown key, a repeated signer
 * or a bad signature refuses the whole message even if enough others are
 * valid, so tampering is never silently tolerated.
 */
import { ed25519Verify } from "hardware/crypto";
import { concat, equal } from "util/bytes";
import { refuse } from "./errors";
import { channelCode, compareVersions, formatVersionString, parseBundleHeader, signatureLabel } from "./format";
import type { Channel, FirmwareVersion, Manifest, Root, SignatureEntry, Signed } from "./format";

/** What the device knows about itself when it judges an update. */
export interface DeviceState {
	/** The trusted root: set at the factory (verifyFirstRoot), changed only by verifyRootUpdate. */
	readonly root: Root;
	/** Its hardware model, as release manifests name it. */
	readonly model: string;
	/** Its device id, 32 hex digits (src/device/identity.ts). */
	readonly deviceId: string;
	/** The running firmware's version. */
	readonly firmwareVersion: FirmwareVersion;
	/** The security version burnt into its eFuses (0..16). */
	readonly securityVersion: number;
	/** Wall-clock time, milliseconds since the epoch: hardware/clock now(), and only once it is at or above the time floor (src/device/time.ts). */
	readonly now: number;
}

/** A set of keys that must supply `threshold` of the signatures. */
interface SignerGroup {
	readonly name: string;
	readonly keys: readonly Uint8Array[];
	readonly threshold: number;
}

/**
 * Checks every signature on `body` and that each group reaches its threshold.
 * `channel` is the device's: each signature's role must be it.
 */
function checkSignatures(label: Uint8Array, body: Uint8Array, signatures: readonly SignatureEntry[], channel: Channel, groups: readonly SignerGroup[], what: string): void {
	const message = concat([label, Uint8Array.of(channelCode[channel]), body]);
	const counts = groups.map(() => 0);
	const seen: Uint8Array[] = [];
	signatures.forEach((entry, index) => {
		const where = `${what}, signature ${index}`;
		if (entry.role !== channel) {
			if (channel === "production")
				refuse("development-key", `${where}: by a development key; this device takes production releases only`);
			refuse("wrong-channel", `${where}: by a ${entry.role} key; this device is on the ${channel} channel`);
		}
		if (seen.some((key) => equal(key, entry.publicKey)))
			refuse("duplicate-signer", `${where}: the same key signed twice`);
		seen.push(entry.publicKey);
		const memberships = groups.map((group) => group.keys.some((key) => equal(key, entry.publicKey)));
		if (!memberships.includes(true))
			refuse("unknown-key", `${where}: by a key that is not among the ${groups.map((group) => group.name).join(" or ")}`);
		if (!ed25519Verify(entry.publicKey, message, entry.signature))
			refuse("bad-signature", `${where}: does not verify`);
		memberships.forEach((member, group) => {
			if (member)
				counts[group]++;
		});
	});
	groups.forEach((group, index) => {
		if (counts[index] < group.threshold)
			refuse("threshold", `${what}: ${counts[index]} valid signature(s) from the ${group.name}; ${group.threshold} required`);
	});
}

function rootKeys(root: Root): Uint8Array[] {
	return root.keys.filter((key) => key.root).map((key) => key.publicKey);
}

function releaseKeys(root: Root): Uint8Array[] {
	return root.keys.filter((key) => key.release).map((key) => key.publicKey);
}

/**
 * Accepts the next root if it keeps the channel, is numbered current + 1, and
 * is signed by the current root's root keys to its root threshold AND by its
 * own root keys to its own threshold (so new keys prove they are held, and a
 * rotation cannot name keys nobody controls). Returns the new root.
 */
export function verifyRootUpdate(current: Root, candidate: Signed<Root>): Root {
	const next = candidate.value;
	if (next.channel !== current.channel)
		refuse("wrong-channel", `root ${next.version}: on the ${next.channel} channel; this device is on the ${current.channel} channel`);
	if (next.version !== current.version + 1)
		refuse("root-version", `root ${next.version}: the trusted root is ${current.version}, so only ${current.version + 1} can follow`);
	checkSignatures(signatureLabel.root, candidate.body, candidate.signatures, current.channel, [
		{ name: `root keys of root ${current.version}`, keys: rootKeys(current), threshold: current.rootThreshold },
		{ name: `root keys of root ${next.version}`, keys: rootKeys(next), threshold: next.rootThreshold },
	], `root ${next.version}`);
	return next;
}

/** Accepts a manifest for this device, or refuses it with the first reason found. */
export function verifyManifest(signed: Signed<Manifest>, device: DeviceState): Manifest {
	const root = device.root;
	checkSignatures(signatureLabel.manifest, signed.body, signed.signatures, root.channel, [
		{ name: `release keys of root ${root.version}`, keys: releaseKeys(root), threshold: root.releaseThreshold },
	], "manifest");
	const manifest = signed.value;
	if (manifest.channel !== root.channel)
		refuse("wrong-channel", `manifest: for the ${manifest.channel} channel; this device is on the ${root.channel} channel`);
	if (manifest.model !== device.model)
		refuse("wrong-model", `manifest: for ${manifest.model}; this device is ${device.model}`);
	if ((manifest.targets.length > 0) && !manifest.targets.includes(device.deviceId))
		refuse("not-for-this-device", `manifest: for ${manifest.targets.length} named device(s), not this one`);
	if (!Number.isFinite(device.now) || (device.now >= manifest.expires * 1000))
		refuse("expired", `manifest: expired at ${manifest.expires} (seconds since the epoch)`);
	if (manifest.securityVersion < device.securityVersion)
		refuse("rollback", `manifest: security version ${manifest.securityVersion} is below this device's ${device.securityVersion}`);
	if (compareVersions(manifest.version, device.firmwareVersion) <= 0)
		refuse("replay", `manifest: version ${formatVersionString(manifest.version)} is not above the running ${formatVersionString(device.firmwareVersion)}`);
	return manifest;
}

/**
 * A first root, installed at the factory: the device has nothing to check it
 * against, so it trusts it because of where it came from. Still, it must be
 * signed by its own root keys to its own root threshold, as `doorward release
 * root init` signs it, so a damaged or wrong file is refused, not trusted.
 */
export function verifyFirstRoot(candidate: Signed<Root>): Root {
	const root = candidate.value;
	checkSignatures(signatureLabel.root, candidate.body, candidate.signatures, root.channel, [
		{ name: `root keys of root ${root.version}`, keys: rootKeys(root), threshold: root.rootThreshold },
	], `root ${root.version}`);
	return root;
}

export interface VerifiedHeader {
	readonly manifest: Manifest;
	/** The root the manifest was verified under: the device's, or the last of the bundle's root updates. */
	readonly root: Root;
	/** Whether `root` is new (the caller was given it to store through `onRoot`). */
	readonly rootChanged: boolean;
}

/** Called with the last root update that verified, and its signed bytes, for the device to store. */
export type RootListener = (root: Root, bytes: Uint8Array) => void;

/**
 * Parses and verifies a bundle's header (bytes 0 .. H): its root updates in
 * order, then its manifest. The last root update that verified goes to
 * `onRoot` before the manifest is looked at, and also when a later one or
 * the manifest is refused: a rotation is valid on its own, and a key it
 * revoked must stay revoked whatever the rest of the bundle is.
 */
export function verifyBundleHeader(header: Uint8Array, device: DeviceState, onRoot?: RootListener): VerifiedHeader {
	const parsed = parseBundleHeader(header);
	let root = device.root;
	let rootBytes: Uint8Array | undefined;
	try {
		for (const candidate of parsed.roots) {
			root = verifyRootUpdate(root, candidate);
			rootBytes = candidate.bytes;
		}
	}
	finally {
		if (rootBytes && onRoot)
			onRoot(root, rootBytes);
	}
	const manifest = verifyManifest(parsed.manifest, { ...device, root });
	return { manifest, root, rootChanged: root !== device.root };
}
