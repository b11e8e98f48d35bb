/*
 * Adding and removing a phone with its audit entry, in the order of
 * audit/audit: the entry on flash first, then its events queued, then the
 * keystore's recipient list written. recoverPhones() at boot finishes a
 * change whose entry is on flash but whose keystore write is not, so a phone
 * is never a recipient without its "admitted" entry, and never still one
 * after its "removed" entry. The onboarding code admits and removes phones
 * through these too.
 */
import { addRecipient, loadRecipients, phoneKeyFingerprint, removeRecipient, setRecipientRole, validPhoneName } from "device/recipients";
import type { PairedPhone, Role } from "device/recipients";
import { maxRecipients } from "crypto/envelope";
import { fromHex, toHex } from "util/bytes";
import type { Audit } from "./audit";
import type { AuditDetails, AuditEntry } from "./entry";

/**
 * Admits a phone (or renames one already admitted): checks everything that
 * could refuse it first, so that no entry records a change that then fails.
 * `details` adds to the entry (the onboarding code's role, inviter); a
 * `role` of "owner" there makes the phone the owner. `signingKey` (the
 * phone's Ed25519 key, from onboarding) is kept in the entry too, so that
 * recoverPhones() can finish the admission exactly as it was asked for.
 */
export function admitPhone(audit: Audit, publicKey: Uint8Array, name: string, time: number, details: AuditDetails = {}, signingKey?: Uint8Array): PairedPhone[] {
	if (publicKey.length !== 32)
		throw new RangeError("pairing: the phone key must be a 32-byte X25519 public key");
	if (signingKey && (signingKey.length !== 32))
		throw new RangeError("pairing: the phone's signing key must be a 32-byte Ed25519 public key");
	if (!validPhoneName(name))
		throw new RangeError("pairing: the phone name must be 1 to 64 printable characters");
	const key = toHex(publicKey);
	const phones = loadRecipients();
	const role = roleOf(details.role);
	const signing = signingKey ? toHex(signingKey) : "";
	// The same phone paired again under the same name, role and signing key changes nothing: nothing to record.
	if (phones.some((phone) => (toHex(phone.publicKey) === key) && (phone.name === name) && (phone.role === role) && (phone.signingKey === signing)))
		return phones;
	const others = phones.filter((phone) => toHex(phone.publicKey) !== key);
	if (others.length >= maxRecipients)
		throw new RangeError(`pairing: ${maxRecipients} phones are paired already`);
	let admitted: PairedPhone[] = [];
	audit.record({ ...details, type: "admitted", phone: phoneKeyFingerprint(publicKey), name, key, ...(signing ? { signingKey: signing } : {}) }, {
		readers: [...others, { publicKey }],
		apply: () => (admitted = addRecipient(publicKey, name, time, role, signingKey)),
	});
	return admitted;
}

/** An entry's role: only "owner" makes an owner; anything else (pairing's entries have none) is a member. */
function roleOf(value: unknown): Role {
	return (value === "owner") ? "owner" : "member";
}

/** Removes a phone by its phone key fingerprint; undefined if it is not paired (nothing changes, nothing is recorded). */
export function removePhone(audit: Audit, keyId: string, details: AuditDetails = {}): PairedPhone[] | undefined {
	const phones = loadRecipients();
	const gone = phones.find((phone) => phone.keyId === keyId);
	if (!gone)
		return undefined;
	let remaining: PairedPhone[] = [];
	audit.record({ ...details, type: "removed", phone: keyId, name: gone.name }, {
		readers: phones.filter((phone) => phone !== gone),
		notice: gone,
		apply: () => (remaining = removeRecipient(keyId)),
	});
	return remaining;
}

/**
 * Gives a paired phone another role: its "role" entry first (sealed to every
 * phone), then the keystore. Undefined if the phone is not paired or has that
 * role already (nothing changes, nothing is recorded). Throws if the change
 * would leave the device with no owner: an owned device always has one.
 */
export function changeRole(audit: Audit, keyId: string, role: Role, details: AuditDetails = {}): PairedPhone[] | undefined {
	const phones = loadRecipients();
	const phone = phones.find((known) => known.keyId === keyId);
	if (!phone || (phone.role === role))
		return undefined;
	if ((role !== "owner") && !phones.some((known) => (known !== phone) && (known.role === "owner")))
		throw new RangeError(`phone ${keyId} is the device's only owner: make another phone an owner first`);
	let changed: PairedPhone[] = [];
	audit.record({ ...details, type: "role", phone: keyId, name: phone.name, role }, {
		readers: phones,
		apply: () => (changed = setRecipientRole(keyId, role)),
	});
	return changed;
}

/** At boot: finishes the newest entry's admission, removal or role change if the keystore does not show it yet; returns that entry. */
export function recoverPhones(audit: Audit): AuditEntry | undefined {
	return audit.recover((entry) => {
		const phones = loadRecipients();
		const { key, phone, name, role, signingKey } = entry.details;
		if ((entry.type === "admitted") && (typeof key === "string") && /^[0-9a-f]{64}$/.test(key) && !phones.some((known) => toHex(known.publicKey) === key)) {
			const publicKey = fromHex(key);
			const signing = ((typeof signingKey === "string") && /^[0-9a-f]{64}$/.test(signingKey)) ? fromHex(signingKey) : undefined;
			return { readers: [...phones, { publicKey }], apply: () => addRecipient(publicKey, String(name), entry.time, roleOf(role), signing) };
		}
		const gone = (entry.type === "removed") ? phones.find((known) => known.keyId === phone) : undefined;
		if (gone)
			return { readers: phones.filter((known) => known !== gone), notice: gone, apply: () => removeRecipient(gone.keyId) };
		const changed = (entry.type === "role") ? phones.find((known) => (known.keyId === phone) && (known.role !== roleOf(role))) : undefined;
		if (changed)
			return { readers: phones, apply: () => setRecipientRole(changed.keyId, roleOf(role)) };
		return undefined;
	});
}
