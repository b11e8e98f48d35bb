/*
 * A phone identity: the stand-in for the owner's app. Its X25519 key pair is
 * what devices wrap clip keys to; the devices it has paired with are
 * remembered by their keys, learned (and checked against the label's
 * fingerprint) at pairing, together with what it has opened of each (the
 * replay window, ./state.ts). The file holds a private key: it is written
 * with mode 0600 and never printed.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { phoneKeyFingerprint, recipientKeyId, signingKeyProblem } from "./open.js";
import { emptyReplayState, validReplayState } from "./state.js";
import type { ReplayState } from "./state.js";

export interface PairedDevice {
	/** The device's pseudonymous topic id: its events are on dw/<topic id>/ev, and only there. */
	topicId?: string;
	signingPublicKey: string;
	agreementPublicKey: string;
	fingerprint: string;
	/** This phone's key id in the device's envelopes (differs from device to device). */
	keyId: string;
	pairedAt: number;
	/** What has been opened of this device: older or repeated sequence numbers are replays. */
	replay: ReplayState;
}

export interface PhoneIdentity {
	version: 2;
	name: string;
	x25519SecretKey: string;
	x25519PublicKey: string;
	/** The phone's Ed25519 key: it signs the phone's requests to its devices; made at the first pairing (ensureSigningKey). */
	ed25519SecretKey?: string;
	ed25519PublicKey?: string;
	devices: Record<string, PairedDevice>;
}

export class PhoneFileError extends Error {}

export function createPhone(name: string): PhoneIdentity {
	if (!name || (name.length > 64) || [...name].some((c) => c.charCodeAt(0) < 0x20))
		throw new PhoneFileError(`phone name ${JSON.stringify(name)}: 1 to 64 printable characters`);
	const secretKey = x25519.utils.randomSecretKey();
	const phone: PhoneIdentity = {
		version: 2,
		name,
		x25519SecretKey: Buffer.from(secretKey).toString("hex"),
		x25519PublicKey: Buffer.from(x25519.getPublicKey(secretKey)).toString("hex"),
		devices: {},
	};
	ensureSigningKey(phone);
	return phone;
}

const isHex = (value: unknown, bytes: number) => (typeof value === "string") && new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(value);

/** A device entry as stored, checked; a version 1 file's `lastSeq` becomes a window in which everything up to it was opened. */
function loadDevice(file: string, deviceId: string, stored: Record<string, unknown>, publicKey: string): PairedDevice {
	if (!isHex(deviceId, 16) || !isHex(stored.signingPublicKey, 32) || !isHex(stored.agreementPublicKey, 32) || ((stored.topicId !== undefined) && !isHex(stored.topicId, 16)))
		throw new PhoneFileError(`${file}: the entry of device ${deviceId.slice(0, 32)} is malformed`);
	let replay = validReplayState(stored.replay);
	if (stored.replay === undefined) {
		const lastSeq = Number.isSafeInteger(stored.lastSeq) ? stored.lastSeq as number : 0;
		replay = lastSeq > 0 ? { highest: lastSeq, window: "f".repeat(emptyReplayState().window.length) } : emptyReplayState();
	}
	if (!replay)
		throw new PhoneFileError(`${file}: the replay state of device ${deviceId} is malformed`);
	const signing = Buffer.from(stored.signingPublicKey as string, "hex");
	const agreement = Buffer.from(stored.agreementPublicKey as string, "hex");
	return {
		...(stored.topicId !== undefined ? { topicId: stored.topicId as string } : {}),
		signingPublicKey: stored.signingPublicKey as string,
		agreementPublicKey: stored.agreementPublicKey as string,
		fingerprint: deviceFingerprint(signing, agreement),
		keyId: recipientKeyId(Buffer.from(deviceId, "hex"), Buffer.from(publicKey, "hex")),
		pairedAt: Number(stored.pairedAt) || 0,
		replay,
	};
}

export function loadPhone(file: string): PhoneIdentity {
	let json: Record<string, unknown>;
	try {
		json = JSON.parse(readFileSync(file, "utf8"));
	}
	catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		throw new PhoneFileError(`${file}: ${code ? `cannot read (${code})` : "not valid JSON"}`);
	}
	if (((json?.version !== 1) && (json?.version !== 2)) || !isHex(json.x25519SecretKey, 32) || !isHex(json.x25519PublicKey, 32))
		throw new PhoneFileError(`${file}: not a Doorward phone identity`);
	const derived = Buffer.from(x25519.getPublicKey(Buffer.from(json.x25519SecretKey as string, "hex"))).toString("hex");
	if (derived !== json.x25519PublicKey)
		throw new PhoneFileError(`${file}: the public key does not match the secret key`);
	const stored = (json.devices ?? {}) as Record<string, Record<string, unknown>>;
	if ((typeof stored !== "object") || Array.isArray(stored))
		throw new PhoneFileError(`${file}: its devices are malformed`);
	const devices: Record<string, PairedDevice> = {};
	for (const [deviceId, entry] of Object.entries(stored))
		devices[deviceId] = loadDevice(file, deviceId, entry ?? {}, derived);
	let signing: { ed25519SecretKey: string; ed25519PublicKey: string } | undefined;
	if (json.ed25519SecretKey !== undefined) {
		if (!isHex(json.ed25519SecretKey, 32))
			throw new PhoneFileError(`${file}: its signing key is malformed`);
		signing = { ed25519SecretKey: json.ed25519SecretKey as string, ed25519PublicKey: Buffer.from(ed25519.getPublicKey(Buffer.from(json.ed25519SecretKey as string, "hex"))).toString("hex") };
	}
	return { version: 2, name: String(json.name ?? "phone"), x25519SecretKey: json.x25519SecretKey as string, x25519PublicKey: derived, ...(signing ?? {}), devices };
}

/** The phone's Ed25519 signing key, made now if the phone has none (a phone file from before signed requests). */
export function ensureSigningKey(phone: PhoneIdentity): string {
	if (!phone.ed25519SecretKey) {
		const secretKey = ed25519.utils.randomSecretKey();
		phone.ed25519SecretKey = Buffer.from(secretKey).toString("hex");
		phone.ed25519PublicKey = Buffer.from(ed25519.getPublicKey(secretKey)).toString("hex");
	}
	return phone.ed25519PublicKey!;
}

/**
 * Writes the phone file so that a crash leaves the old file or the new one,
 * never a mixture: a temporary file, flushed to disk, renamed over the old
 * one, and the directory flushed so the rename itself survives.
 */
export function savePhone(file: string, phone: PhoneIdentity): void {
	const temporary = `${file}.${process.pid}.tmp`;
	const descriptor = openSync(temporary, "w", 0o600);
	try {
		writeSync(descriptor, `${JSON.stringify(phone, null, "\t")}\n`);
		fsyncSync(descriptor);
	}
	catch (error) {
		closeSync(descriptor);
		rmSync(temporary, { force: true });
		throw error;
	}
	closeSync(descriptor);
	renameSync(temporary, file);
	const folder = openSync(dirname(file), "r");
	try {
		fsyncSync(folder);
	}
	finally {
		closeSync(folder);
	}
}

export function phoneKeys(phone: PhoneIdentity): { secretKey: Uint8Array; publicKey: Uint8Array } {
	return { secretKey: Buffer.from(phone.x25519SecretKey, "hex"), publicKey: Buffer.from(phone.x25519PublicKey, "hex") };
}

/** The phone key fingerprint (never in an envelope): what names this phone on a device's local channel. */
export function phoneFingerprint(phone: PhoneIdentity): string {
	return phoneKeyFingerprint(Buffer.from(phone.x25519PublicKey, "hex"));
}

/** The device fingerprint a pairing label shows, from its two public keys (docs/protocol/events.md). */
export function deviceFingerprint(signingPublicKey: Uint8Array, agreementPublicKey: Uint8Array): string {
	const digest = createHash("sha256").update(signingPublicKey).update(agreementPublicKey).digest().subarray(0, 16);
	return digest.toString("hex").match(/.{4}/g)!.join("-");
}

export interface PairingReply {
	ok: boolean;
	error?: string;
	deviceId?: string;
	signingPublicKey?: string;
	agreementPublicKey?: string;
	fingerprint?: string;
	topicId?: string;
	/** The role the device gave this phone: "owner" for the first one. */
	role?: string;
}

export interface RememberOptions {
	/**
	 * The owner's decision that this device id may now have other keys (the
	 * device was reset): its stored keys and what was opened of it are
	 * forgotten. Without it, a device id that comes back with other keys is
	 * refused, as an impostor would be.
	 */
	resetDevice?: boolean;
}

/**
 * Records a device after pairing. The fingerprint is recomputed from the keys
 * the device sent; when the label's fingerprint is given it must match, or
 * the device is an impostor and is refused. Pairing again with the same keys
 * keeps what was opened of the device.
 */
export function rememberDevice(phone: PhoneIdentity, reply: PairingReply, labelFingerprint?: string, options: RememberOptions = {}): string {
	if (!reply.ok)
		throw new PhoneFileError(`the device refused pairing: ${reply.error}`);
	const signing = Buffer.from(isHex(reply.signingPublicKey, 32) ? reply.signingPublicKey! : "", "hex");
	const agreement = Buffer.from(isHex(reply.agreementPublicKey, 32) ? reply.agreementPublicKey! : "", "hex");
	if ((signing.length !== 32) || (agreement.length !== 32) || !isHex(reply.deviceId, 16) || !isHex(reply.topicId, 16))
		throw new PhoneFileError("the device's pairing reply is malformed");
	const problem = signingKeyProblem(signing);
	if (problem)
		throw new PhoneFileError(`the device's Ed25519 key is ${problem}: not pairing`);
	const fingerprint = deviceFingerprint(signing, agreement);
	if (fingerprint !== reply.fingerprint)
		throw new PhoneFileError("the device's fingerprint does not match its keys");
	if ((labelFingerprint !== undefined) && (labelFingerprint !== fingerprint))
		throw new PhoneFileError(`the device's fingerprint ${fingerprint} is not the label's ${labelFingerprint}: not pairing`);
	const deviceId = reply.deviceId!;
	const known = phone.devices[deviceId];
	const sameKeys = known && (known.signingPublicKey === signing.toString("hex")) && (known.agreementPublicKey === agreement.toString("hex"));
	if (known && !sameKeys && !options.resetDevice)
		throw new PhoneFileError(`device ${deviceId} was paired with other keys (fingerprint ${known.fingerprint}, now ${fingerprint}): not pairing; if the device was reset, pair again with --reset-device`);
	phone.devices[deviceId] = {
		topicId: reply.topicId!,
		signingPublicKey: signing.toString("hex"), agreementPublicKey: agreement.toString("hex"), fingerprint,
		keyId: recipientKeyId(Buffer.from(deviceId, "hex"), Buffer.from(phone.x25519PublicKey, "hex")),
		pairedAt: Date.now(),
		replay: (sameKeys && !options.resetDevice) ? known.replay : emptyReplayState(),
	};
	return fingerprint;
}
