/*
 * The paired phones: the only readers of what the camera sees. Kept in the
 * keystore, so that nobody with the flash chip alone can add a reader.
 *
 * On the local channel (pairing, removal, the log) a phone is named by its
 * phone key fingerprint, the first 8 bytes of SHA-256 of its public key: the
 * value `doorward phone keygen` prints. It is never in an envelope, whose key
 * ids are per device (crypto/envelope keyId), so that brokers cannot link a
 * phone across devices.
 */
import { read, write } from "hardware/keystore";
import { digest } from "hardware/crypto";
import { maxRecipients } from "crypto/envelope";
import type { Recipient } from "crypto/envelope";
import { fromHex, toHex, utf8Decode, utf8Encode } from "util/bytes";

const entry = "recipients";

/** An owner admits and removes phones; a member only receives events. The first phone is the owner. */
export type Role = "owner" | "member";

export interface PairedPhone extends Recipient {
	readonly name: string;
	readonly role: Role;
	/** The phone's Ed25519 key: it signs the phone's requests (hex; empty for a phone paired before roles). */
	readonly signingKey: string;
	/** The phone key fingerprint (hex): what `remove` takes. Not the key id in envelopes. */
	readonly keyId: string;
	readonly pairedAt: number;
}

interface Stored {
	publicKey: string;
	name: string;
	pairedAt: number;
	role?: Role;
	signingKey?: string;
}

/** The phone key fingerprint: the first 8 bytes of SHA-256 of the phone's X25519 public key, hex. */
export function phoneKeyFingerprint(publicKey: Uint8Array): string {
	return toHex(digest("SHA-256", publicKey).subarray(0, 8));
}

export function loadRecipients(): PairedPhone[] {
	const stored = read(entry);
	if (!stored)
		return [];
	const list = JSON.parse(utf8Decode(stored)) as Stored[];
	return list.map((phone) => {
		const publicKey = fromHex(phone.publicKey);
		// A phone paired before roles existed had no secret to show: it is a member, never an owner.
		return Object.freeze({ publicKey, name: phone.name, pairedAt: phone.pairedAt, keyId: phoneKeyFingerprint(publicKey), role: phone.role ?? "member", signingKey: phone.signingKey ?? "" });
	});
}

/** Whether some phone owns the device: then the label's code admits nobody. */
export function owned(phones: readonly PairedPhone[] = loadRecipients()): boolean {
	return phones.some((phone) => phone.role === "owner");
}

function store(phones: readonly PairedPhone[]): void {
	const stored: Stored[] = phones.map((phone) => ({ publicKey: toHex(phone.publicKey), name: phone.name, pairedAt: phone.pairedAt, role: phone.role, signingKey: phone.signingKey }));
	// One keystore write: a power cut leaves the old list or the new one, never half of one.
	write(entry, utf8Encode(JSON.stringify(stored)));
}

export function validPhoneName(name: unknown): name is string {
	return (typeof name === "string") && (name.length >= 1) && (name.length <= 64) && ![...name].some((c) => c.charCodeAt(0) < 0x20);
}

/** Adds a phone (or renames one already paired). Returns the new list. */
export function addRecipient(publicKey: Uint8Array, name: string, now: number, role: Role = "member", signingKey?: Uint8Array): PairedPhone[] {
	if (signingKey && (signingKey.length !== 32))
		throw new RangeError("pairing: the phone's signing key must be a 32-byte Ed25519 public key");
	if (publicKey.length !== 32)
		throw new RangeError("pairing: the phone key must be a 32-byte X25519 public key");
	if (!validPhoneName(name))
		throw new RangeError("pairing: the phone name must be 1 to 64 printable characters");
	const phones = loadRecipients().filter((phone) => toHex(phone.publicKey) !== toHex(publicKey));
	if (phones.length >= maxRecipients)
		throw new RangeError(`pairing: ${maxRecipients} phones are paired already`);
	phones.push(Object.freeze({ publicKey, name, pairedAt: now, keyId: phoneKeyFingerprint(publicKey), role, signingKey: signingKey ? toHex(signingKey) : "" }));
	store(phones);
	return phones;
}

/** Removes a phone by its phone key fingerprint; events sealed afterwards exclude it. */
export function removeRecipient(keyIdHex: string): PairedPhone[] {
	const phones = loadRecipients().filter((phone) => phone.keyId !== keyIdHex);
	store(phones);
	return phones;
}

/** Removes every phone (a factory reset): one keystore write. */
export function clearRecipients(): PairedPhone[] {
	store([]);
	return [];
}
