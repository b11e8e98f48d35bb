/*
 * The device's TLS client identity, native (csr.c): a key made on the device
 * from the hardware RNG, RSA-2048 (what Moddable's TLS signs with) or P-256,
 * kept as PKCS#8 DER; its public key; a PKCS#10 request for the factory CA;
 * and the check that a certificate the factory returns is for this key.
 *
 * Making a key and signing a request draw randomness inside the native code
 * (Mbed TLS's DRBG, or PSA's on Mbed TLS 4), so both run inside
 * hardware/random's withTrueRandom(): on the device that turns the internal
 * entropy source on while the radio is off, and refuses if neither can be.
 *
 * The private key is returned once, by generateKey(), for the keystore;
 * callers wipe their copies (hardware/crypto wipe()) when done.
 */
import { withTrueRandom } from "hardware/random";

type Bytes = Uint8Array | ArrayBuffer;

/** The kinds of key generateKey() makes. */
export type KeyKind = "rsa-2048" | "p-256";

function generateNative(this: unknown, kind: KeyKind): ArrayBuffer {
	return native("xs_csr_generate").call(this, kind);
}
function publicKeyNative(this: unknown, key: Bytes): ArrayBuffer {
	return native("xs_csr_public_key").call(this, key);
}
function requestNative(this: unknown, key: Bytes, commonName: string): ArrayBuffer {
	return native("xs_csr_request").call(this, key, commonName);
}
function certificateMatchesNative(this: unknown, certificate: Bytes, key: Bytes): boolean {
	return native("xs_csr_certificate_matches").call(this, certificate, key);
}

function requireBytes(value: Bytes, name: string, where: string): void {
	if (!(value instanceof Uint8Array || value instanceof ArrayBuffer) || !value.byteLength)
		throw new TypeError(`csr: ${where}: ${name} must be a non-empty Uint8Array or ArrayBuffer`);
}

/** A new private key, unencrypted PKCS#8 DER. RSA-2048 is slow on the device (seconds). */
export function generateKey(kind: KeyKind = "rsa-2048"): Uint8Array {
	if ((kind !== "rsa-2048") && (kind !== "p-256"))
		throw new RangeError(`csr: generateKey: the key kind must be "rsa-2048" or "p-256", not ${String(kind)}`);
	return new Uint8Array(withTrueRandom(() => generateNative(kind)));
}

/** The SubjectPublicKeyInfo (DER) of a PKCS#8 DER RSA-2048 or P-256 key. */
export function publicKey(privateKey: Uint8Array): Uint8Array {
	requireBytes(privateKey, "privateKey", "publicKey");
	return new Uint8Array(publicKeyNative(privateKey));
}

/** A PKCS#10 request (DER), subject CN=`commonName` (letters, digits, '-'), signed with SHA-256 and RSA or ECDSA by `privateKey`. */
export function certificationRequest(privateKey: Uint8Array, commonName: string): Uint8Array {
	requireBytes(privateKey, "privateKey", "certificationRequest");
	if ((typeof commonName !== "string") || !/^[0-9A-Za-z-]{1,64}$/.test(commonName))
		throw new RangeError("csr: certificationRequest: commonName must be 1 to 64 letters, digits or '-'");
	// RSA blinding and ECDSA's nonce are random.
	return new Uint8Array(withTrueRandom(() => requestNative(privateKey, commonName)));
}

/** Whether `certificate` (DER) parses and carries the public key of `privateKey`. */
export function certificateMatches(certificate: Uint8Array, privateKey: Uint8Array): boolean {
	requireBytes(certificate, "certificate", "certificateMatches");
	requireBytes(privateKey, "privateKey", "certificateMatches");
	return certificateMatchesNative(certificate, privateKey);
}
