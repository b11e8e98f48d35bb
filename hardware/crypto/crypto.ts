/*
 * Cryptographic primitives, native on every platform (crypto.c): SHA-2, HMAC
 * and AES-GCM from Mbed TLS, X25519 and Ed25519 from libsodium. Arguments
 * are validated here and again in C; every result is a fresh Uint8Array.
 * Inputs may be Uint8Arrays or ArrayBuffers.
 *
 * HKDF is not here: the protocol layer builds it on hmac() (src/crypto/hkdf.ts).
 */

export type HashName = "SHA-256" | "SHA-512";

type Bytes = Uint8Array | ArrayBuffer;

function hashBits(hash: HashName, where: string): number {
	if (hash === "SHA-256")
		return 256;
	if (hash === "SHA-512")
		return 512;
	throw new RangeError(`crypto: ${where}: hash must be "SHA-256" or "SHA-512", not ${String(hash)}`);
}

function byteLength(value: Bytes, name: string, where: string): number {
	if (value instanceof Uint8Array || value instanceof ArrayBuffer)
		return value.byteLength;
	throw new TypeError(`crypto: ${where}: ${name} must be a Uint8Array or an ArrayBuffer`);
}

function requireLength(value: Bytes, length: number, name: string, where: string): void {
	const actual = byteLength(value, name, where);
	if (actual !== length)
		throw new RangeError(`crypto: ${where}: ${name} must be ${length} bytes, not ${actual}`);
}

/* ---- the native functions, in the one shape xsc links directly ---- */

function digestNative(this: unknown, bits: number, data: Bytes): ArrayBuffer {
	return native("xs_crypto_digest").call(this, bits, data);
}

function hmacNative(this: unknown, bits: number, key: Bytes, data: Bytes): ArrayBuffer {
	return native("xs_crypto_hmac").call(this, bits, key, data);
}

function gcmSealNative(this: unknown, key: Bytes, nonce: Bytes, plaintext: Bytes, aad: Bytes | undefined): ArrayBuffer {
	return native("xs_crypto_gcm_seal").call(this, key, nonce, plaintext, aad);
}

function gcmOpenNative(this: unknown, key: Bytes, nonce: Bytes, sealed: Bytes, aad: Bytes | undefined): ArrayBuffer {
	return native("xs_crypto_gcm_open").call(this, key, nonce, sealed, aad);
}

function x25519Native(this: unknown, secret: Bytes, publicKey: Bytes): ArrayBuffer {
	return native("xs_crypto_x25519").call(this, secret, publicKey);
}

function x25519PublicKeyNative(this: unknown, secret: Bytes): ArrayBuffer {
	return native("xs_crypto_x25519_public_key").call(this, secret);
}

function ed25519PublicKeyNative(this: unknown, seed: Bytes): ArrayBuffer {
	return native("xs_crypto_ed25519_public_key").call(this, seed);
}

function ed25519SignNative(this: unknown, seed: Bytes, message: Bytes): ArrayBuffer {
	return native("xs_crypto_ed25519_sign").call(this, seed, message);
}

function ed25519VerifyNative(this: unknown, publicKey: Bytes, message: Bytes, signature: Bytes): boolean {
	return native("xs_crypto_ed25519_verify").call(this, publicKey, message, signature);
}

function wipeNative(this: unknown, buffer: Bytes): void {
	return native("xs_crypto_wipe").call(this, buffer);
}

/* ---- SHA-2 and HMAC ---- */

/** The SHA-256 (32 bytes) or SHA-512 (64 bytes) digest of `data`. */
export function digest(hash: HashName, data: Uint8Array): Uint8Array {
	const bits = hashBits(hash, "digest");
	byteLength(data, "data", "digest");
	return new Uint8Array(digestNative(bits, data));
}

/** An incremental SHA-256 or SHA-512: update() any number of times, then finish() once. */
export class Hash extends Native("xs_crypto_hash_destructor") {
	#finished = false;

	constructor(hash: HashName) {
		const bits = hashBits(hash, "Hash");
		super();
		native("xs_crypto_hash_init").call(this, bits);
	}

	update(data: Uint8Array): this {
		if (this.#finished)
			throw new Error("crypto: Hash: update() after finish()");
		byteLength(data, "data", "Hash.update");
		native("xs_crypto_hash_update").call(this, data);
		return this;
	}

	/** The digest. The hash state is released; the instance cannot be used again. */
	finish(): Uint8Array {
		if (this.#finished)
			throw new Error("crypto: Hash: finish() called twice");
		this.#finished = true;
		return new Uint8Array(native("xs_crypto_hash_finish").call(this) as ArrayBuffer);
	}
}

/** HMAC (RFC 2104) with SHA-256 or SHA-512; any key length, including empty. */
export function hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
	const bits = hashBits(hash, "hmac");
	byteLength(key, "key", "hmac");
	byteLength(data, "data", "hmac");
	return new Uint8Array(hmacNative(bits, key, data));
}

/* ---- AES-GCM ---- */

function checkGcm(key: Bytes, nonce: Bytes, aad: Bytes | undefined, where: string): void {
	const keyLength = byteLength(key, "key", where);
	if ((keyLength !== 16) && (keyLength !== 24) && (keyLength !== 32))
		throw new RangeError(`crypto: ${where}: key must be 16, 24 or 32 bytes, not ${keyLength}`);
	requireLength(nonce, 12, "nonce", where);
	if (aad !== undefined)
		byteLength(aad, "aad", where);
}

/** AES-GCM encryption with a 12-byte nonce: ciphertext || 16-byte tag. */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
	checkGcm(key, nonce, aad, "gcmSeal");
	byteLength(plaintext, "plaintext", "gcmSeal");
	return new Uint8Array(gcmSealNative(key, nonce, plaintext, aad));
}

/** AES-GCM decryption of ciphertext || tag; throws "authentication failed" when the tag does not match. */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
	checkGcm(key, nonce, aad, "gcmOpen");
	const length = byteLength(sealed, "sealed", "gcmOpen");
	if (length < 16)
		throw new RangeError(`crypto: gcmOpen: sealed must be at least 16 bytes (the tag), not ${length}`);
	return new Uint8Array(gcmOpenNative(key, nonce, sealed, aad));
}

/* ---- X25519 (RFC 7748) ---- */

/**
 * The X25519 shared secret. Throws "all-zero shared secret" for a low-order
 * public key (RFC 9180 section 7.1.4). The top bit of `publicKey` is ignored.
 */
export function x25519(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
	requireLength(secret, 32, "secret", "x25519");
	requireLength(publicKey, 32, "publicKey", "x25519");
	return new Uint8Array(x25519Native(secret, publicKey));
}

/** The X25519 public key of a 32-byte secret. */
export function x25519PublicKey(secret: Uint8Array): Uint8Array {
	requireLength(secret, 32, "secret", "x25519PublicKey");
	return new Uint8Array(x25519PublicKeyNative(secret));
}

/* ---- Ed25519 (RFC 8032), keys are 32-byte seeds ---- */

/** The Ed25519 public key of a 32-byte seed (RFC 8032's private key). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
	requireLength(seed, 32, "seed", "ed25519PublicKey");
	return new Uint8Array(ed25519PublicKeyNative(seed));
}

/** The 64-byte Ed25519 signature of `message`. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
	requireLength(seed, 32, "seed", "ed25519Sign");
	byteLength(message, "message", "ed25519Sign");
	return new Uint8Array(ed25519SignNative(seed, message));
}

/** Whether `signature` is a valid Ed25519 signature; false (never an exception) for a wrong length. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
	const publicKeyLength = byteLength(publicKey, "publicKey", "ed25519Verify");
	byteLength(message, "message", "ed25519Verify");
	const signatureLength = byteLength(signature, "signature", "ed25519Verify");
	if ((publicKeyLength !== 32) || (signatureLength !== 64))
		return false;
	return ed25519VerifyNative(publicKey, message, signature);
}

/* ---- wiping ---- */

/** Zeroes `buffer` in place, with a call the compiler cannot remove. */
export function wipe(buffer: Uint8Array): void {
	byteLength(buffer, "buffer", "wipe");
	wipeNative(buffer);
}
