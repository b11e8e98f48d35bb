/*
 * The device's TLS client identity, native (csr.c): an RSA-2048 key made on
 * the device from the hardware RNG, kept as PKCS#8 DER (what Moddable's TLS
 * reads); its public key; a PKCS#10 request for the factory CA; and the
 * check that a certificate the factory returns is for this key.
 *
 * The private key is returned once, by generateKey(), for the keystore;
 * callers wipe their copies (hardware/crypto wipe()) when done.
 */

type Bytes = Uint8Array | ArrayBuffer;

function generateNative(this: unknown): ArrayBuffer {
	return native("xs_csr_generate").call(this);
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

/** A new RSA-2048 private key, unencrypted PKCS#8 DER. Slow on the device (seconds). */
export function generateKey(): Uint8Array {
	return new Uint8Array(generateNative());
}

/** The SubjectPublicKeyInfo (DER) of a PKCS#8 DER RSA-2048 key. */
export function publicKey(privateKey: Uint8Array): Uint8Array {
	requireBytes(privateKey, "privateKey", "publicKey");
	return new Uint8Array(publicKeyNative(privateKey));
}

/** A PKCS#10 request (DER), subject CN=`commonName` (letters, digits, '-'), signed with SHA-256 by `privateKey`. */
export function certificationRequest(privateKey: Uint8Array, commonName: string): Uint8Array {
	requireBytes(privateKey, "privateKey", "certificationRequest");
	if ((typeof commonName !== "string") || !/^[0-9A-Za-z-]{1,64}$/.test(commonName))
		throw new RangeError("csr: certificationRequest: commonName must be 1 to 64 letters, digits or '-'");
	return new Uint8Array(requestNative(privateKey, commonName));
}

/** Whether `certificate` (DER) parses and carries the public key of `privateKey`. */
export function certificateMatches(certificate: Uint8Array, privateKey: Uint8Array): boolean {
	requireBytes(certificate, "certificate", "certificateMatches");
	requireBytes(privateKey, "privateKey", "certificateMatches");
	return certificateMatchesNative(certificate, privateKey);
}
