/*
 * SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256, the
 * verifier's side: the device holds only (w0, L), never the passcode nor
 * w1, so a copy of its flash does not let anyone pose as the owner's phone.
 * The phone is the prover (written independently, on @noble/curves).
 *
 * The group operations are native (hardware/p256, over Mbed TLS's ECP);
 * the transcript, key schedule and confirmation are here, on XS.
 *
 *   registration:  w0s || w1s = PBKDF2-HMAC-SHA256(passcode, salt, iterations, 80)
 *                  w0 = w0s mod n, w1 = w1s mod n, L = w1*G           (section 3.2)
 *   prover -> verifier:  shareP = X = x*G + w0*M
 *   verifier -> prover:  shareV = Y = y*G + w0*N, confirmV
 *   verifier:      Z = y*(X - w0*M), V = y*L                           (h = 1 on P-256)
 *   TT = each of Context, idProver, idVerifier, M, N, X, Y, Z, V, w0
 *        as u64 little-endian length || bytes                         (section 3.3)
 *   K_main = SHA-256(TT); K_confirmP || K_confirmV = HKDF(nil, K_main, "ConfirmationKeys", 64)
 *   K_shared = HKDF(nil, K_main, "SharedKey", 32)
 *   confirmP = HMAC(K_confirmP, Y), confirmV = HMAC(K_confirmV, X)    (section 3.4)
 */
import { digest, hmac, wipe } from "hardware/crypto";
import { mulAdd, negate, randomScalar, reduce } from "hardware/p256";
import { expand, extract } from "crypto/hkdf";
import { concat, equal, fromHex, utf8Encode } from "util/bytes";

/** The P-256 constants of RFC 9383 section 4, uncompressed. */
export const M = fromHex("04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20");
export const N = fromHex("04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7");

/** The scalar 1, to add X and (-w0)*M with one native call. */
const one = fromHex("0000000000000000000000000000000000000000000000000000000000000001");

/** PBKDF2's output: w0s and w1s, each ceil(log2 n)/8 + 8 = 40 bytes (section 3.2). */
const halfBytes = 40;

export class Spake2PlusError extends Error {
	override readonly name = "Spake2PlusError";
}

/** What the device keeps: never the passcode, never w1. */
export interface Verifier {
	readonly w0: Uint8Array;
	readonly L: Uint8Array;
}

/** PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2). */
export function pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array {
	if (!Number.isInteger(iterations) || (iterations < 1))
		throw new RangeError("pbkdf2: iterations must be a positive integer");
	const output = new Uint8Array(length);
	for (let block = 1, offset = 0; offset < length; block++, offset += 32) {
		let u = hmac("SHA-256", password, concat([salt, Uint8Array.of(block >>> 24, block >>> 16, block >>> 8, block)]));
		const t = u.slice();
		for (let i = 1; i < iterations; i++) {
			u = hmac("SHA-256", password, u);
			for (let j = 0; j < 32; j++)
				t[j] ^= u[j];
		}
		output.set(t.subarray(0, Math.min(32, length - offset)), offset);
		wipe(t);
		wipe(u);
	}
	return output;
}

/** w0 and w1 from PBKDF2's 80 bytes; L = w1*G. */
export function registration(pbkdfOutput: Uint8Array): { w0: Uint8Array; w1: Uint8Array; L: Uint8Array } {
	if (pbkdfOutput.length !== 2 * halfBytes)
		throw new RangeError(`spake2+: registration takes ${2 * halfBytes} bytes of PBKDF2 output`);
	const w0 = reduce(pbkdfOutput.subarray(0, halfBytes));
	const w1 = reduce(pbkdfOutput.subarray(halfBytes));
	return { w0, w1, L: mulAdd(w1, undefined) };
}

/** The verifier (w0, L) for a passcode: what provisioning stores. */
export function verifierFor(passcode: Uint8Array, salt: Uint8Array, iterations: number): Verifier {
	const output = pbkdf2(passcode, salt, iterations, 2 * halfBytes);
	const { w0, w1, L } = registration(output);
	wipe(output);
	wipe(w1);
	return { w0, L };
}

function lengthPrefixed(parts: readonly Uint8Array[]): Uint8Array {
	return concat(parts.flatMap((part) => {
		const length = new Uint8Array(8);
		new DataView(length.buffer).setUint32(0, part.length, true);
		return [length, part];
	}));
}

export interface Identities {
	readonly context: Uint8Array;
	readonly idProver: Uint8Array;
	readonly idVerifier: Uint8Array;
}

/** The key schedule of section 3.4 over a transcript. */
export function keySchedule(transcript: Uint8Array): { confirmP: Uint8Array; confirmV: Uint8Array; shared: Uint8Array } {
	const main = digest("SHA-256", transcript);
	const prk = extract("SHA-256", new Uint8Array(0), main);
	const confirmation = expand("SHA-256", prk, utf8Encode("ConfirmationKeys"), 64);
	const shared = expand("SHA-256", prk, utf8Encode("SharedKey"), 32);
	wipe(main);
	wipe(prk);
	return { confirmP: confirmation.slice(0, 32), confirmV: confirmation.slice(32), shared };
}

/**
 * One exchange on the device's side. respond() takes the prover's share and
 * gives the verifier's share and confirmation; finish() checks the prover's
 * confirmation and only then returns the shared key. One use: a second call
 * of either, or finish() before respond(), throws.
 */
export class VerifierExchange {
	readonly #identities: Identities;
	readonly #verifier: Verifier;
	readonly #y: Uint8Array;
	#expected: Uint8Array | undefined;
	#shared: Uint8Array | undefined;
	#state: "new" | "responded" | "done" = "new";

	/** `y` is for test vectors only; the device always draws it from the hardware RNG. */
	constructor(identities: Identities, verifier: Verifier, y: Uint8Array = randomScalar()) {
		this.#identities = identities;
		this.#verifier = verifier;
		this.#y = y.slice();
	}

	respond(shareP: Uint8Array): { shareV: Uint8Array; confirmV: Uint8Array } {
		if (this.#state !== "new")
			throw new Spake2PlusError("spake2+: respond() once per exchange");
		this.#state = "responded";
		const { w0, L } = this.#verifier;
		let shareV: Uint8Array, Z: Uint8Array, V: Uint8Array;
		try {
			// The native code refuses a share that is off the curve or the identity, and a Z or V that is the identity.
			shareV = mulAdd(this.#y, undefined, w0, N);
			Z = mulAdd(this.#y, mulAdd(one, shareP, negate(w0), M));
			V = mulAdd(this.#y, L);
		}
		catch (error) {
			this.#end();
			throw new Spake2PlusError(`spake2+: the prover's share is refused (${(error as Error).message})`);
		}
		const { context, idProver, idVerifier } = this.#identities;
		const transcript = lengthPrefixed([context, idProver, idVerifier, M, N, shareP, shareV, Z, V, w0]);
		const keys = keySchedule(transcript);
		wipe(transcript);
		wipe(Z);
		wipe(V);
		this.#expected = hmac("SHA-256", keys.confirmP, shareV);
		this.#shared = keys.shared;
		const confirmV = hmac("SHA-256", keys.confirmV, shareP);
		wipe(keys.confirmP);
		wipe(keys.confirmV);
		wipe(this.#y);
		return { shareV, confirmV };
	}

	/** The prover's confirmation; the shared key if it is right. A wrong one ends the exchange. */
	finish(confirmP: Uint8Array): Uint8Array {
		if ((this.#state !== "responded") || !this.#expected || !this.#shared)
			throw new Spake2PlusError("spake2+: finish() follows respond(), once");
		const right = (confirmP.length === 32) && equal(confirmP, this.#expected);
		const shared = this.#shared;
		this.#state = "done";
		wipe(this.#expected);
		this.#expected = undefined;
		this.#shared = undefined;
		if (!right) {
			wipe(shared);
			throw new Spake2PlusError("spake2+: the prover's confirmation is wrong (a wrong code)");
		}
		return shared;
	}

	#end(): void {
		this.#state = "done";
		wipe(this.#y);
	}
}
