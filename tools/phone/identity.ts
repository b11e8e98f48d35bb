/*
 * A phone identity: the stand-in for the owner's app. Its X25519 key pair is
 * what devices wrap clip keys to; the devices it has paired with are
 * remembered by their Ed25519 key, learned (and checked against the label's
 * fingerprint) at pairing. The file holds a private key: it is written with
 * mode 0600 and never printed.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { x25519 } from "@noble/curves/ed25519.js";

export interface PairedDevice {
	/** The device's pseudonymous topic id: its events are on dw/<topic id>/ev. */
	topicId?: string;
	signingPublicKey: string;
	agreementPublicKey: string;
	fingerprint: string;
	pairedAt: number;
	/** The highest sequence number opened so far: older ones are replays. */
	lastSeq: number;
}

export interface PhoneIdentity {
	version: 1;
	name: string;
	x25519SecretKey: string;
	x25519PublicKey: string;
	devices: Record<string, PairedDevice>;
}

export class PhoneFileError extends Error {}

export function createPhone(name: string): PhoneIdentity {
	if (!name || (name.length > 64) || [...name].some((c) => c.charCodeAt(0) < 0x20))
		throw new PhoneFileError(`phone name ${JSON.stringify(name)}: 1 to 64 printable characters`);
	const secretKey = x25519.utils.randomSecretKey();
	return {
		version: 1,
		name,
		x25519SecretKey: Buffer.from(secretKey).toString("hex"),
		x25519PublicKey: Buffer.from(x25519.getPublicKey(secretKey)).toString("hex"),
		devices: {},
	};
}

export function loadPhone(file: string): PhoneIdentity {
	let json: PhoneIdentity;
	try {
		json = JSON.parse(readFileSync(file, "utf8"));
	}
	catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		throw new PhoneFileError(`${file}: ${code ? `cannot read (${code})` : "not valid JSON"}`);
	}
	if ((json?.version !== 1) || !/^[0-9a-f]{64}$/.test(json.x25519SecretKey ?? "") || !/^[0-9a-f]{64}$/.test(json.x25519PublicKey ?? ""))
		throw new PhoneFileError(`${file}: not a Doorward phone identity`);
	const derived = Buffer.from(x25519.getPublicKey(Buffer.from(json.x25519SecretKey, "hex"))).toString("hex");
	if (derived !== json.x25519PublicKey)
		throw new PhoneFileError(`${file}: the public key does not match the secret key`);
	json.devices ??= {};
	return json;
}

export function savePhone(file: string, phone: PhoneIdentity): void {
	const temporary = `${file}.${process.pid}.tmp`;
	writeFileSync(temporary, `${JSON.stringify(phone, null, "\t")}\n`, { mode: 0o600 });
	chmodSync(temporary, 0o600);
	renameSync(temporary, file);
}

export function phoneKeys(phone: PhoneIdentity): { secretKey: Uint8Array; publicKey: Uint8Array } {
	return { secretKey: Buffer.from(phone.x25519SecretKey, "hex"), publicKey: Buffer.from(phone.x25519PublicKey, "hex") };
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
}

/**
 * Records a device after pairing. The fingerprint is recomputed from the keys
 * the device sent; when the label's fingerprint is given it must match, or
 * the device is an impostor and is refused.
 */
export function rememberDevice(phone: PhoneIdentity, reply: PairingReply, labelFingerprint?: string): string {
	if (!reply.ok)
		throw new PhoneFileError(`the device refused pairing: ${reply.error}`);
	const signing = Buffer.from(reply.signingPublicKey ?? "", "hex");
	const agreement = Buffer.from(reply.agreementPublicKey ?? "", "hex");
	if ((signing.length !== 32) || (agreement.length !== 32) || !/^[0-9a-f]{32}$/.test(reply.deviceId ?? ""))
		throw new PhoneFileError("the device's pairing reply is malformed");
	const fingerprint = deviceFingerprint(signing, agreement);
	if (fingerprint !== reply.fingerprint)
		throw new PhoneFileError("the device's fingerprint does not match its keys");
	if ((labelFingerprint !== undefined) && (labelFingerprint !== fingerprint))
		throw new PhoneFileError(`the device's fingerprint ${fingerprint} is not the label's ${labelFingerprint}: not pairing`);
	phone.devices[reply.deviceId!] = {
		...(/^[0-9a-f]{32}$/.test(reply.topicId ?? "") ? { topicId: reply.topicId } : {}),
		signingPublicKey: signing.toString("hex"), agreementPublicKey: agreement.toString("hex"), fingerprint, pairedAt: Date.now(),
		lastSeq: phone.devices[reply.deviceId!]?.lastSeq ?? 0,
	};
	return fingerprint;
}
