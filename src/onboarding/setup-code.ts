/*
 * The setup code of a device and what the device keeps of it.
 *
 * At provisioning the device draws an 8-digit passcode from the hardware RNG
 * (as Matter's setup passcode: 00000001 to 99999998, without the trivial
 * codes), derives the SPAKE2+ verifier (w0, L) from it with PBKDF2 and a
 * per-device salt, keeps only the verifier, and hands the passcode out once,
 * to the label printer (src/onboarding/factory-line.ts). It is never logged
 * and never written to flash or the keystore.
 *
 * 8 decimal digits carry log2(99999998 - 18) = 26.6 bits; like Matter's, the
 * code fits a 27-bit field. SPAKE2+ lets an online attacker test one code per
 * attempt, and the commissioning window allows 20 (./window.ts).
 *
 * PBKDF2 iterations: 10000 (Matter allows 1000 to 100000). The device pays
 * them once, at provisioning (docs/protocol/onboarding.md gives the measured
 * cost on XS and the projection for the ESP32-S3); the phone pays them once
 * per pairing. They slow down, by that factor, someone who has read the
 * verifier out of the keystore and tries all 10^8 codes offline.
 */
import { read, write } from "hardware/keystore";
import { below, bytes } from "hardware/random";
import { verifierFor } from "onboarding/spake2plus";
import type { Verifier } from "onboarding/spake2plus";
import { fromHex, toHex, utf8Encode, utf8Decode } from "util/bytes";

export const iterations = 10000;
export const saltBytes = 16;
/**
 * One keystore entry holds the verifier, the failed attempts (./window.ts),
 * a pending invitation (./invitation.ts) and the request floor
 * (requests/guard), so that the six keystore sectors of the nvs partition
 * suffice: the "onboarding" entry, JSON {"verifier": {salt, iterations, w0,
 * L}, "failures", "invitation", "requestFloor"}, written whole each time.
 */
const entry = "onboarding";

interface StoredVerifierJson {
	salt: string;
	iterations: number;
	w0: string;
	L: string;
}

/** A pending invitation (onboarding/invitation): the verifier of its one-time code, until when, and who invited. */
export interface StoredInvitationJson {
	verifier: StoredVerifierJson;
	expires: number;
	by: string;
	nonce: string;
}

interface Stored {
	verifier?: StoredVerifierJson;
	failures: number;
	invitation?: StoredInvitationJson;
	/** The request floor (requests/guard): the highest time of a durable request taken. */
	requestFloor?: number;
}

function readStored(): Stored {
	const stored = read(entry);
	if (!stored)
		return { failures: 0 };
	const json = JSON.parse(utf8Decode(stored)) as Stored;
	return {
		...(json.verifier ? { verifier: json.verifier } : {}),
		failures: Number.isInteger(json.failures) ? json.failures : 0,
		...(json.invitation ? { invitation: json.invitation } : {}),
		...(Number.isSafeInteger(json.requestFloor) ? { requestFloor: json.requestFloor } : {}),
	};
}

function writeStored(stored: Stored): void {
	// One keystore write: the count and the verifier change together or not at all.
	write(entry, utf8Encode(JSON.stringify(stored)));
}

/** Failed attempts on flash (./window.ts). */
export function storedFailures(): number {
	return readStored().failures;
}

export function storeFailures(failures: number): void {
	writeStored({ ...readStored(), failures });
}

/** The request floor kept with the verifier (requests/guard); 0 before the first durable request. */
export function storedRequestFloor(): number {
	return readStored().requestFloor ?? 0;
}

export function storeRequestFloor(time: number): void {
	writeStored({ ...readStored(), requestFloor: time });
}

/** The pending invitation, if any (onboarding/invitation checks its expiry). */
export function storedInvitation(): StoredInvitationJson | undefined {
	return readStored().invitation;
}

/** Stores an invitation (replacing any other), or clears it; the failed attempts start again with it. */
export function storeInvitation(invitation: StoredInvitationJson | undefined): void {
	const stored = readStored();
	delete stored.invitation;
	writeStored({ ...stored, failures: 0, ...(invitation ? { invitation } : {}) });
}

/** A verifier as stored, read back. */
export function verifierOf(json: StoredVerifierJson): StoredVerifier {
	return Object.freeze({ salt: fromHex(json.salt), iterations: json.iterations, w0: fromHex(json.w0), L: fromHex(json.L) });
}

/** Codes nobody may get: all one digit, and the two runs (Matter's list). */
export function trivialCode(code: string): boolean {
	return /^(\d)\1{7}$/.test(code) || (code === "12345678") || (code === "87654321");
}

/** A fresh 8-digit passcode from the hardware RNG, 00000001 to 99999998, not trivial. */
export function drawPasscode(): string {
	for (;;) {
		const code = String(1 + below(99999998)).padStart(8, "0");
		if (!trivialCode(code))
			return code;
	}
}

// Verhoeff's dihedral group D5: multiplication, permutation and inverse tables.
const d = [
	"0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
	"5987604321", "6598710432", "7659821043", "8765932104", "9876543210",
];
const p = ["0123456789", "1576283094", "5803796142", "8916043527", "9453126870", "4286573901", "2793806415", "7046913258"];
const inverse = "0432156789";

/** Verhoeff's check digit of a string of decimal digits: catches every single error and every swap of neighbours. */
export function verhoeff(digits: string): string {
	let c = 0;
	const reversed = [...digits].reverse();
	for (let i = 0; i < reversed.length; i++)
		c = Number(d[c][Number(p[(i + 1) % 8][Number(reversed[i])])]);
	return inverse[c];
}

/** The printed manual code: the passcode and its check digit, as 1234-5678-9. */
export function manualCode(passcode: string): string {
	return `${passcode.slice(0, 4)}-${passcode.slice(4)}-${verhoeff(passcode)}`;
}

export interface StoredVerifier extends Verifier {
	readonly salt: Uint8Array;
	readonly iterations: number;
}

/** The verifier the label's code opens, if the device has one. */
export function loadVerifier(): StoredVerifier | undefined {
	const json = readStored().verifier;
	return json ? verifierOf(json) : undefined;
}

/**
 * Draws a new passcode, stores its verifier (replacing any earlier one, so
 * only the last label printed opens the device) and returns the passcode,
 * which the caller hands to the label printer and forgets.
 */
export function newSetupCode(): string {
	const passcode = drawPasscode();
	const salt = bytes(saltBytes);
	const verifier = verifierFor(utf8Encode(passcode), salt, iterations);
	const { requestFloor } = readStored();
	writeStored({ verifier: { salt: toHex(salt), iterations, w0: toHex(verifier.w0), L: toHex(verifier.L) }, failures: 0, ...((requestFloor !== undefined) ? { requestFloor } : {}) });
	return passcode;
}
