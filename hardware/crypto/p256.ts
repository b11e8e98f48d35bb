/*
 * P-256 group operations for SPAKE2+ (RFC 9383), native on every platform
 * (p256.c, over Mbed TLS's ECP module). Scalars are 32-byte big-endian
 * values below the group order; points are 65-byte uncompressed SEC 1
 * encodings, checked on the curve, never the identity. Every result is a
 * fresh Uint8Array. The protocol is in src/onboarding/spake2plus.ts.
 */
import { bytes as randomBytes } from "hardware/random";

type Bytes = Uint8Array | ArrayBuffer;

export const scalarBytes = 32;
export const pointBytes = 65;

function mulAddNative(this: unknown, blinding: Bytes, a: Bytes, P: Bytes | undefined, b: Bytes | undefined, Q: Bytes | undefined): ArrayBuffer {
	return native("xs_p256_mul_add").call(this, blinding, a, P, b, Q);
}

function reduceNative(this: unknown, value: Bytes): ArrayBuffer {
	return native("xs_p256_reduce").call(this, value);
}

function negateNative(this: unknown, scalar: Bytes): ArrayBuffer {
	return native("xs_p256_negate").call(this, scalar);
}

function requireBytes(value: unknown, length: number, name: string): void {
	if (!(value instanceof Uint8Array))
		throw new TypeError(`p256: ${name} must be a Uint8Array`);
	if (value.length !== length)
		throw new RangeError(`p256: ${name} must be ${length} bytes, not ${value.length}`);
}

/** a·P + b·Q, or a·P without b and Q; P undefined is the generator G. */
export function mulAdd(a: Uint8Array, P: Uint8Array | undefined, b?: Uint8Array, Q?: Uint8Array): Uint8Array {
	requireBytes(a, scalarBytes, "a");
	if (P !== undefined)
		requireBytes(P, pointBytes, "P");
	if ((b === undefined) !== (Q === undefined))
		throw new RangeError("p256: b and Q come together");
	if (b !== undefined) {
		requireBytes(b, scalarBytes, "b");
		requireBytes(Q, pointBytes, "Q");
	}
	return new Uint8Array(mulAddNative(randomBytes(32), a, P, b, Q));
}

/** A big-endian integer of 1 to 64 bytes, reduced mod the group order. */
export function reduce(value: Uint8Array): Uint8Array {
	if (!(value instanceof Uint8Array) || (value.length < 1) || (value.length > 64))
		throw new RangeError("p256: reduce() takes 1 to 64 bytes");
	return new Uint8Array(reduceNative(value));
}

/** The additive inverse of a scalar mod the group order. */
export function negate(scalar: Uint8Array): Uint8Array {
	requireBytes(scalar, scalarBytes, "scalar");
	return new Uint8Array(negateNative(scalar));
}

/** A uniformly random scalar in 1..n-1: 40 random bytes reduced (bias below 2^-64). */
export function randomScalar(): Uint8Array {
	for (;;) {
		const scalar = reduce(randomBytes(40));
		if (scalar.some((byte) => byte !== 0))
			return scalar;
	}
}
