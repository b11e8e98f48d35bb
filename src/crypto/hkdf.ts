/*
 * HKDF (RFC 5869) over the native HMAC. Expand is written out (§2.3) rather
 * than taken from mbedtls, whose hkdf_expand (2.28) refuses a PRK shorter
 * than the hash, which Cobblestone's 32-byte input key with SHA-512 is.
 */
import { hmac } from "hardware/crypto";
import type { HashName } from "hardware/crypto";
import { concat } from "util/bytes";

export const hashLength: Readonly<Record<HashName, number>> = Object.freeze({ "SHA-256": 32, "SHA-512": 64 });

export function extract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
	return hmac(hash, salt.length ? salt : new Uint8Array(hashLength[hash]), ikm);
}

export function expand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
	const size = hashLength[hash];
	if (!Number.isInteger(length) || (length < 0) || (length > 255 * size))
		throw new RangeError(`hkdf: cannot expand to ${length} bytes with ${hash}`);
	const okm = new Uint8Array(length);
	let block: Uint8Array = new Uint8Array(0);
	for (let counter = 1, offset = 0; offset < length; counter++) {
		block = hmac(hash, prk, concat([block, info, Uint8Array.of(counter)]));
		okm.set(block.subarray(0, Math.min(size, length - offset)), offset);
		offset += size;
	}
	return okm;
}
