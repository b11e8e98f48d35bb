/*
 * An owner's invitation, the phone's side (docs/protocol/onboarding.md §
 * Invitations): the owner's phone draws a one-time code, derives its SPAKE2+
 * verifier as the device derives the label's (PBKDF2 with a fresh salt,
 * w0 and L = w1*G), and sends the device only the verifier, in a signed
 * request (./requests.ts). The code is shown to the owner, who gives it to
 * the new phone; it runs the same onboarding exchange with it.
 */
import { randomInt, randomBytes } from "node:crypto";
import { proverSecrets, verifierPoint } from "./spake2plus.js";

export const invitationMinutes = 10;
export const invitationIterations = 10000;

const trivial = (code: string) => /^(\d)\1{7}$/.test(code) || (code === "12345678") || (code === "87654321");

/** A fresh 8-digit code, 00000001 to 99999998, none of the trivial ones. */
export function newInvitationCode(): string {
	for (;;) {
		const code = String(1 + randomInt(99999998)).padStart(8, "0");
		if (!trivial(code))
			return code;
	}
}

function bigintBytes(value: bigint, length: number): Buffer {
	return Buffer.from(value.toString(16).padStart(2 * length, "0"), "hex");
}

/** The invite request's payload: salt (16) || iterations (4) || w0 (32) || L (65). Never the code. */
export function invitationPayload(code: string, salt: Uint8Array = randomBytes(16)): Buffer {
	const { w0, w1 } = proverSecrets(new TextEncoder().encode(code), salt, invitationIterations);
	const iterations = Buffer.alloc(4);
	iterations.writeUInt32BE(invitationIterations);
	return Buffer.concat([Buffer.from(salt), iterations, bigintBytes(w0, 32), Buffer.from(verifierPoint(w1))]);
}
