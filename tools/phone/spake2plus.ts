/*
 * SPAKE2+ (RFC 9383, P256-SHA256-HKDF-SHA256-HMAC-SHA256): the phone's side,
 * the prover, written from the RFC on @noble/curves and @noble/hashes. It
 * shares no code with the device's verifier (src/onboarding/spake2plus.ts);
 * the tests pass messages between the two and check both against the RFC's
 * vectors. Runs in Node and in a browser.
 */
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

const Point = p256.Point;
const order = Point.Fn.ORDER;

/** RFC 9383 section 4, P-256 (compressed, as the RFC prints them). */
export const M = Point.fromHex("02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f");
export const N = Point.fromHex("03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49");

function toScalar(bytes: Uint8Array): bigint {
	return BigInt(`0x${bytesToHex(bytes) || "0"}`) % order;
}

function scalarBytes(value: bigint): Uint8Array {
	return hexToBytes(value.toString(16).padStart(64, "0"));
}

/** w0 and w1 from a passcode (section 3.2): PBKDF2 to 2 x 40 bytes, each reduced mod n. */
export function proverSecrets(passcode: Uint8Array, salt: Uint8Array, iterations: number): { w0: bigint; w1: bigint } {
	const output = pbkdf2(sha256, passcode, salt, { c: iterations, dkLen: 80 });
	return { w0: toScalar(output.subarray(0, 40)), w1: toScalar(output.subarray(40)) };
}

/** L = w1*G: what the device keeps, beside w0. */
export function verifierPoint(w1: bigint): Uint8Array {
	return Point.BASE.multiply(w1).toBytes(false);
}

function lengthPrefixed(parts: Uint8Array[]): Uint8Array {
	const total = parts.reduce((sum, part) => sum + 8 + part.length, 0);
	const out = new Uint8Array(total);
	let at = 0;
	for (const part of parts) {
		new DataView(out.buffer).setBigUint64(at, BigInt(part.length), true);
		out.set(part, at + 8);
		at += 8 + part.length;
	}
	return out;
}

export interface Identities {
	context: Uint8Array;
	idProver: Uint8Array;
	idVerifier: Uint8Array;
}

export function identities(context: string, idProver: string, idVerifier: string): Identities {
	return { context: utf8ToBytes(context), idProver: utf8ToBytes(idProver), idVerifier: utf8ToBytes(idVerifier) };
}

function randomScalar(): bigint {
	for (;;) {
		const value = toScalar(p256.utils.randomSecretKey());
		if (value !== 0n)
			return value;
	}
}

/** The prover's exchange: start() gives shareP; finish() checks the verifier and gives confirmP and the key. */
export class ProverExchange {
	readonly #ids: Identities;
	readonly #w0: bigint;
	readonly #w1: bigint;
	readonly #x: bigint;
	#shareP: Uint8Array | undefined;

	/** `x` is for the RFC's vectors only. */
	constructor(ids: Identities, w0: bigint, w1: bigint, x: bigint = randomScalar()) {
		this.#ids = ids;
		this.#w0 = w0;
		this.#w1 = w1;
		this.#x = x;
	}

	start(): Uint8Array {
		if (this.#shareP)
			throw new Error("spake2+: start() once");
		this.#shareP = Point.BASE.multiply(this.#x).add(M.multiply(this.#w0)).toBytes(false);
		return this.#shareP;
	}

	/** The verifier's share and confirmation; throws if the confirmation is wrong (a wrong code, or not the device). */
	finish(shareVBytes: Uint8Array, confirmV: Uint8Array): { confirmP: Uint8Array; shared: Uint8Array } {
		if (!this.#shareP)
			throw new Error("spake2+: finish() follows start()");
		const shareV = Point.fromBytes(shareVBytes); // checks the point is on the curve
		if (shareV.is0())
			throw new Error("spake2+: the verifier's share is the identity");
		const base = shareV.subtract(N.multiply(this.#w0));
		const Z = base.multiply(this.#x);
		const V = base.multiply(this.#w1);
		if (Z.is0() || V.is0())
			throw new Error("spake2+: Z or V is the identity");
		const transcript = lengthPrefixed([this.#ids.context, this.#ids.idProver, this.#ids.idVerifier,
			M.toBytes(false), N.toBytes(false), this.#shareP, shareVBytes, Z.toBytes(false), V.toBytes(false), scalarBytes(this.#w0)]);
		const main = sha256(transcript);
		const confirmation = hkdf(sha256, main, undefined, utf8ToBytes("ConfirmationKeys"), 64);
		const shared = hkdf(sha256, main, undefined, utf8ToBytes("SharedKey"), 32);
		const expected = hmac(sha256, confirmation.subarray(32), this.#shareP);
		if ((confirmV.length !== expected.length) || expected.some((byte, i) => byte !== confirmV[i]))
			throw new Error("spake2+: the device's confirmation is wrong (a wrong code, or another device)");
		return { confirmP: hmac(sha256, confirmation.subarray(0, 32), shareVBytes), shared };
	}
}
