/*
 * Invitations (docs/protocol/onboarding.md § Invitations): once a device is
 * owned, a new phone is admitted only with a one-time code an owner's phone
 * drew. The owner's phone sends, in a signed request (requests/, kind 2
 * "invite", owners only, durable), the SPAKE2+ verifier of that code, never
 * the code:
 *
 *   payload = salt (16) | u32 iterations | w0 (32) | L (65, uncompressed)
 *
 * The device keeps it in the keystore (with the setup code's verifier,
 * onboarding/setup-code) until it expires, 10 minutes after the request's
 * time, until it has admitted one phone, or until 20 wrong codes; a new
 * invitation replaces it. On the onboarding link an owned device then runs
 * the same exchange with the invitation's verifier instead of the label's,
 * and admits the phone as a member.
 */
import type { PairedPhone } from "device/recipients";
import { loadRecipients } from "device/recipients";
import type { Audit } from "audit/audit";
import { RequestKinds, RequestRefusal } from "requests/format";
import type { OpenedRequest } from "requests/format";
import type { RequestHandler } from "requests/service";
import { storedInvitation, storeInvitation, verifierOf } from "onboarding/setup-code";
import type { StoredVerifier } from "onboarding/setup-code";
import { maxFailures } from "onboarding/window";
import { toHex } from "util/bytes";

export const invitationMs = 10 * 60 * 1000;
export const invitationPayloadSize = 16 + 4 + 32 + 65;
/** The PBKDF2 iterations an invitation's verifier may ask a new phone for: Matter's range. */
export const minIterations = 1000;
export const maxIterations = 100000;

export interface Invitation {
	readonly verifier: StoredVerifier;
	readonly expires: number;
	/** The phone key fingerprint of the owner that invited. */
	readonly by: string;
}

/** The invitation that may admit a phone now, or why none may. */
export function currentInvitation(now: number, clockSet: boolean): Invitation | { refused: string } {
	const stored = storedInvitation();
	if (!stored)
		return { refused: "the device has an owner: the label's code admits nobody, an owner must invite" };
	if (!clockSet)
		return { refused: "the device's clock is not set: an invitation's expiry cannot be checked" };
	if (now >= stored.expires) {
		// Gone for good: a clock set back later does not bring it back.
		endInvitation();
		return { refused: "the invitation has expired: an owner must invite again" };
	}
	return { verifier: verifierOf(stored.verifier), expires: stored.expires, by: stored.by };
}

/** The invitation is used (a phone was admitted) or cancelled: it admits nobody again. */
export function endInvitation(): void {
	if (storedInvitation())
		storeInvitation(undefined);
}

/** A removed owner's pending invitation is cancelled with it. */
export function cancelInvitationBy(keyId: string): boolean {
	if (storedInvitation()?.by !== keyId)
		return false;
	endInvitation();
	return true;
}

/** A wrong code was tried with the invitation: at the limit, it is cancelled. */
export function invitationFailed(failures: number): boolean {
	if (failures < maxFailures)
		return false;
	endInvitation();
	return true;
}

function checkPayload(payload: Uint8Array): StoredVerifier & { raw: { salt: string; iterations: number; w0: string; L: string } } {
	if (payload.length !== invitationPayloadSize)
		throw new RequestRefusal(`an invitation carries ${invitationPayloadSize} bytes (salt, iterations, w0, L), not ${payload.length}`);
	const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
	const iterations = view.getUint32(16);
	if ((iterations < minIterations) || (iterations > maxIterations))
		throw new RequestRefusal(`an invitation's verifier of ${iterations} PBKDF2 iterations (${minIterations} to ${maxIterations})`);
	if (payload[52] !== 0x04)
		throw new RequestRefusal("an invitation's L must be an uncompressed P-256 point");
	const salt = payload.slice(0, 16);
	const w0 = payload.slice(20, 52);
	const L = payload.slice(52);
	return { salt, iterations, w0, L, raw: { salt: toHex(salt), iterations, w0: toHex(w0), L: toHex(L) } };
}

/**
 * The "invite" request's handler: its audit entry (a window opened by an
 * invitation, sealed to the phones), then the invitation stored.
 */
export function invitationHandler(audit: Audit, now: () => number, log: (line: string) => void): RequestHandler {
	return Object.freeze({
		kind: RequestKinds.invite,
		name: "invite",
		role: "owner" as const,
		durable: true,
		handle(request: OpenedRequest, signer: PairedPhone): void {
			const verifier = checkPayload(request.payload);
			const expires = Math.min(request.time, now()) + invitationMs;
			audit.record({ type: "window", reason: "invitation", minutes: invitationMs / 60000, by: signer.keyId }, {
				readers: loadRecipients(),
				apply: () => storeInvitation({ verifier: verifier.raw, expires, by: signer.keyId, nonce: request.nonce }),
			});
			log(`onboarding: an invitation from phone ${signer.keyId} is open until ${new Date(expires).toISOString()}`);
		},
	});
}
