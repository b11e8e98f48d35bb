/*
 * The native crypto binding, one file for every platform: the device
 * (ESP-IDF's Mbed TLS and Espressif's libsodium component), Moddable's lin
 * simulator and the Doorward simulator host (Debian's libmbedtls-dev and
 * libsodium-dev).
 *
 *   SHA-256, SHA-512, HMAC   Mbed TLS, through the generic md layer
 *   AES-GCM                  Mbed TLS: the gcm module up to 3.x, PSA from 4.x
 *   X25519, Ed25519          libsodium
 *
 * Mbed TLS versions:
 * - 2.28 (Debian 12) and 3.x (ESP-IDF 5): the md and gcm functions used here
 *   have the same names and signatures in both (the md layer hides the
 *   sha256_ret / sha256 renaming of 3.0). 3.x may route md and gcm through
 *   PSA, so psa_crypto_init() runs first when PSA is compiled in.
 * - 4.x (ESP-IDF 6, the version Moddable SDK 8.2 builds with): TF-PSA-Crypto
 *   keeps the md hash functions public but makes mbedtls_md_hmac and the gcm
 *   module private. HMAC is RFC 2104 over the md functions (PSA refuses the
 *   empty keys HMAC allows); AES-GCM goes through psa_aead_encrypt/decrypt
 *   with a volatile key that is destroyed after each call.
 *
 * Every function validates its arguments itself (the TypeScript wrapper in
 * crypto.ts does too): only ArrayBuffers and byte-sized typed arrays are
 * read, lengths are checked before any pointer is used, and the result
 * buffer is allocated before any argument's data pointer is taken, because
 * an allocation may move ArrayBuffer data.
 *
 * Secret intermediates are wiped (mbedtls_platform_zeroize, sodium_memzero)
 * and contexts freed on every path before an exception is thrown.
 */
#include "doorward_mbedtls_config.h"

#include "xsmc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/version.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"
#if MBEDTLS_VERSION_MAJOR >= 4
#include "psa/crypto.h"
#define CRYPTO_GCM_PSA 1
#else
#include "mbedtls/gcm.h"
#if (MBEDTLS_VERSION_MAJOR == 3) && defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#endif
#endif
#if (MBEDTLS_VERSION_MAJOR >= 4) || (defined(MBEDTLS_PSA_CRYPTO_C) && (MBEDTLS_VERSION_MAJOR == 3))
#define CRYPTO_PSA_INIT 1
#endif

#include <sodium.h>

#define GCM_TAG_BYTES 16
#define GCM_NONCE_BYTES 12
#define X25519_BYTES 32
#define ED25519_SEED_BYTES 32
#define ED25519_PUBLIC_KEY_BYTES 32
#define ED25519_SIGNATURE_BYTES 64
/* ArrayBuffer lengths are int32 in XS. */
#define MAX_BUFFER_BYTES 0x7FFFFFF0u

/* A non-NULL address for empty inputs and outputs: some library functions
 * check their pointers before their lengths. Never read or written. */
static uint8_t gEmpty[1];

/* ---- helpers ---- */

static void cryptoReady(xsMachine *the)
{
	static int ready = 0;
	if (ready)
		return;
	if (sodium_init() < 0)
		xsUnknownError("crypto: libsodium cannot initialize");
#if CRYPTO_PSA_INIT
	if (psa_crypto_init() != PSA_SUCCESS)
		xsUnknownError("crypto: PSA crypto cannot initialize");
#endif
	ready = 1;
}

/* The bytes of argument `slot`, an ArrayBuffer or a byte-sized typed array;
 * anything else (including host objects that claim a byteLength) throws. */
static void getBytes(xsMachine *the, xsSlot *slot, const uint8_t **data, size_t *length, const char *what)
{
	if ((xsmcTypeOf(*slot) != xsReferenceType)
			|| !(xsmcIsInstanceOf(*slot, xsArrayBufferPrototype) || xsmcIsInstanceOf(*slot, xsTypedArrayPrototype)))
		xsTypeError("crypto: %s must be a Uint8Array or an ArrayBuffer", what);
	void *bytes;
	xsUnsignedValue count;
	xsmcGetBufferReadable(*slot, &bytes, &count);
	*data = count ? (const uint8_t *)bytes : gEmpty;
	*length = count;
}

static size_t byteLength(xsMachine *the, xsSlot *slot, const char *what)
{
	const uint8_t *data;
	size_t length;
	getBytes(the, slot, &data, &length, what);
	return length;
}

/* A new ArrayBuffer of `length` bytes in xsResult; its data pointer. Take
 * argument pointers only after this call. */
static uint8_t *newResult(xsMachine *the, size_t length)
{
	if (length > MAX_BUFFER_BYTES)
		xsRangeError("crypto: result too large");
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)length);
	void *data;
	xsUnsignedValue count;
	xsmcGetBufferWritable(xsResult, &data, &count);
	return count ? (uint8_t *)data : gEmpty;
}

static const mbedtls_md_info_t *hashInfo(xsMachine *the, xsSlot *slot)
{
	xsIntegerValue bits = (xsmcTypeOf(*slot) == xsIntegerType) || (xsmcTypeOf(*slot) == xsNumberType) ? xsmcToInteger(*slot) : 0;
	const mbedtls_md_info_t *info = NULL;
	if (bits == 256)
		info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	else if (bits == 512)
		info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
	else
		xsRangeError("crypto: hash must be SHA-256 (256) or SHA-512 (512)");
	if (!info)
		xsUnknownError("crypto: SHA-%d is not compiled into Mbed TLS", (int)bits);
	return info;
}

static void requireLength(xsMachine *the, size_t length, size_t expected, const char *what)
{
	if (length != expected)
		xsRangeError("crypto: %s must be %d bytes, not %d", what, (int)expected, (int)((length > MAX_BUFFER_BYTES) ? MAX_BUFFER_BYTES : length));
}

/* ---- SHA-2 ---- */

/* xs_crypto_digest(bits, data): SHA-256 or SHA-512 of data. */
void xs_crypto_digest(xsMachine *the)
{
	cryptoReady(the);
	const mbedtls_md_info_t *info = hashInfo(the, &xsArg(0));
	byteLength(the, &xsArg(1), "data");
	uint8_t *out = newResult(the, mbedtls_md_get_size(info));
	const uint8_t *data;
	size_t length;
	getBytes(the, &xsArg(1), &data, &length, "data");
	if (mbedtls_md(info, data, length, out) != 0)
		xsUnknownError("crypto: digest failed");
}

/* The Hash class's instances hold a heap HashState as host data; finish()
 * frees it and sets the host data to NULL. */
typedef struct {
	mbedtls_md_context_t md;
	size_t size;
} HashState;

void xs_crypto_hash_destructor(void *data)
{
	HashState *state = data;
	if (!state)
		return;
	mbedtls_md_free(&state->md);	/* zeroizes the hash state */
	free(state);
}

/* xs_crypto_hash_init(bits), on a new Hash instance. */
void xs_crypto_hash_init(xsMachine *the)
{
	cryptoReady(the);
	const mbedtls_md_info_t *info = hashInfo(the, &xsArg(0));
	if (xsmcGetHostDataValidate(xsThis, (void *)xs_crypto_hash_destructor))
		xsUnknownError("crypto: Hash already initialized");
	HashState *state = calloc(1, sizeof(HashState));
	if (!state)
		xsUnknownError("crypto: out of memory");
	mbedtls_md_init(&state->md);
	state->size = mbedtls_md_get_size(info);
	if ((mbedtls_md_setup(&state->md, info, 0) != 0) || (mbedtls_md_starts(&state->md) != 0)) {
		xs_crypto_hash_destructor(state);
		xsUnknownError("crypto: hash setup failed");
	}
	xsmcSetHostData(xsThis, state);
}

static HashState *hashState(xsMachine *the)
{
	HashState *state = xsmcGetHostDataValidate(xsThis, (void *)xs_crypto_hash_destructor);
	if (!state)
		xsUnknownError("crypto: Hash used after finish()");
	return state;
}

/* xs_crypto_hash_update(data), on a Hash instance. */
void xs_crypto_hash_update(xsMachine *the)
{
	const uint8_t *data;
	size_t length;
	getBytes(the, &xsArg(0), &data, &length, "data");
	HashState *state = hashState(the);
	if (mbedtls_md_update(&state->md, data, length) != 0)
		xsUnknownError("crypto: hash update failed");
}

/* xs_crypto_hash_finish(): the digest; the instance cannot be used again. */
void xs_crypto_hash_finish(xsMachine *the)
{
	HashState *state = hashState(the);
	uint8_t *out = newResult(the, state->size);
	int failed = mbedtls_md_finish(&state->md, out);
	xsmcSetHostData(xsThis, NULL);
	xs_crypto_hash_destructor(state);
	if (failed)
		xsUnknownError("crypto: hash finish failed");
}

#if MBEDTLS_VERSION_MAJOR >= 4
/* TF-PSA-Crypto keeps mbedtls_md_hmac private, and PSA refuses empty keys,
 * which HMAC allows: RFC 2104 over the public md hash functions. */
static int hmacCompute(const mbedtls_md_info_t *info, const uint8_t *key, size_t keyLength,
		const uint8_t *data, size_t length, uint8_t *out)
{
	uint8_t block[128], inner[MBEDTLS_MD_MAX_SIZE];
	size_t blockSize = (mbedtls_md_get_type(info) == MBEDTLS_MD_SHA512) ? 128 : 64;
	size_t size = mbedtls_md_get_size(info);
	mbedtls_md_context_t md;
	int ret = 0;
	memset(block, 0, sizeof(block));
	if (keyLength > blockSize)
		ret = mbedtls_md(info, key, keyLength, block);
	else if (keyLength)
		memcpy(block, key, keyLength);
	mbedtls_md_init(&md);
	if (!ret)
		ret = mbedtls_md_setup(&md, info, 0);
	for (size_t i = 0; i < blockSize; i++)
		block[i] ^= 0x36;
	if (!ret)
		ret = mbedtls_md_starts(&md);
	if (!ret)
		ret = mbedtls_md_update(&md, block, blockSize);
	if (!ret)
		ret = mbedtls_md_update(&md, data, length);
	if (!ret)
		ret = mbedtls_md_finish(&md, inner);
	for (size_t i = 0; i < blockSize; i++)
		block[i] ^= 0x36 ^ 0x5c;
	if (!ret)
		ret = mbedtls_md_starts(&md);
	if (!ret)
		ret = mbedtls_md_update(&md, block, blockSize);
	if (!ret)
		ret = mbedtls_md_update(&md, inner, size);
	if (!ret)
		ret = mbedtls_md_finish(&md, out);
	mbedtls_md_free(&md);
	mbedtls_platform_zeroize(block, sizeof(block));
	mbedtls_platform_zeroize(inner, sizeof(inner));
	return ret;
}
#else
/* mbedtls_md_hmac wipes its padded keys before it returns. */
#define hmacCompute mbedtls_md_hmac
#endif

/* xs_crypto_hmac(bits, key, data): HMAC-SHA-256 or HMAC-SHA-512 (RFC 2104),
 * any key length, including empty. */
void xs_crypto_hmac(xsMachine *the)
{
	cryptoReady(the);
	const mbedtls_md_info_t *info = hashInfo(the, &xsArg(0));
	byteLength(the, &xsArg(1), "key");
	byteLength(the, &xsArg(2), "data");
	uint8_t *out = newResult(the, mbedtls_md_get_size(info));
	const uint8_t *key, *data;
	size_t keyLength, length;
	getBytes(the, &xsArg(1), &key, &keyLength, "key");
	getBytes(the, &xsArg(2), &data, &length, "data");
	if (hmacCompute(info, key, keyLength, data, length, out) != 0) {
		mbedtls_platform_zeroize(out, mbedtls_md_get_size(info));
		xsUnknownError("crypto: hmac failed");
	}
}

/* ---- AES-GCM ---- */

typedef struct {
	const uint8_t *key, *nonce, *input, *aad;
	size_t keyLength, inputLength, aadLength;
} GcmArguments;

/* Checks the arguments (key, nonce, input, aad?) and allocates the result;
 * `input` is the plaintext (seal) or ciphertext||tag (open). */
static uint8_t *gcmArguments(xsMachine *the, GcmArguments *a, int sealing)
{
	xsIntegerValue argc = xsmcArgc;
	if (argc < 3)
		xsRangeError("crypto: gcm needs a key, a nonce and data");
	int hasAad = (argc > 3) && (xsmcTypeOf(xsArg(3)) != xsUndefinedType);
	size_t keyLength = byteLength(the, &xsArg(0), "key");
	if ((keyLength != 16) && (keyLength != 24) && (keyLength != 32))
		xsRangeError("crypto: key must be 16, 24 or 32 bytes, not %d", (int)((keyLength > MAX_BUFFER_BYTES) ? MAX_BUFFER_BYTES : keyLength));
	requireLength(the, byteLength(the, &xsArg(1), "nonce"), GCM_NONCE_BYTES, "nonce");
	size_t inputLength = byteLength(the, &xsArg(2), sealing ? "plaintext" : "sealed");
	if (hasAad)
		byteLength(the, &xsArg(3), "aad");
	size_t outLength;
	if (sealing) {
		if (inputLength > MAX_BUFFER_BYTES - GCM_TAG_BYTES)
			xsRangeError("crypto: plaintext too long");
		outLength = inputLength + GCM_TAG_BYTES;
	}
	else {
		if (inputLength < GCM_TAG_BYTES)
			xsRangeError("crypto: sealed must be at least %d bytes (the tag), not %d", GCM_TAG_BYTES, (int)inputLength);
		outLength = inputLength - GCM_TAG_BYTES;
	}
	uint8_t *out = newResult(the, outLength);
	getBytes(the, &xsArg(0), &a->key, &a->keyLength, "key");
	size_t nonceLength;
	getBytes(the, &xsArg(1), &a->nonce, &nonceLength, "nonce");
	getBytes(the, &xsArg(2), &a->input, &a->inputLength, "data");
	if (hasAad)
		getBytes(the, &xsArg(3), &a->aad, &a->aadLength, "aad");
	else {
		a->aad = gEmpty;
		a->aadLength = 0;
	}
	return out;
}

#if CRYPTO_GCM_PSA
static psa_status_t gcmKey(const GcmArguments *a, psa_key_id_t *key)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_set_key_type(&attributes, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attributes, a->keyLength * 8);
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&attributes, PSA_ALG_GCM);
	psa_status_t status = psa_import_key(&attributes, a->key, a->keyLength, key);
	psa_reset_key_attributes(&attributes);
	return status;
}
#endif

/* xs_crypto_gcm_seal(key, nonce, plaintext, aad?): ciphertext || 16-byte tag. */
void xs_crypto_gcm_seal(xsMachine *the)
{
	cryptoReady(the);
	GcmArguments a;
	uint8_t *out = gcmArguments(the, &a, 1);
	int failed;
#if CRYPTO_GCM_PSA
	psa_key_id_t key;
	failed = gcmKey(&a, &key) != PSA_SUCCESS;
	if (!failed) {
		size_t written = 0;
		failed = (psa_aead_encrypt(key, PSA_ALG_GCM, a.nonce, GCM_NONCE_BYTES, a.aad, a.aadLength,
				a.input, a.inputLength, out, a.inputLength + GCM_TAG_BYTES, &written) != PSA_SUCCESS)
			|| (written != a.inputLength + GCM_TAG_BYTES);
		psa_destroy_key(key);	/* wipes the key slot */
	}
#else
	mbedtls_gcm_context gcm;
	mbedtls_gcm_init(&gcm);
	failed = (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, a.key, (unsigned int)(a.keyLength * 8)) != 0)
		|| (mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, a.inputLength, a.nonce, GCM_NONCE_BYTES,
				a.aad, a.aadLength, a.input, a.inputLength ? out : gEmpty, GCM_TAG_BYTES, out + a.inputLength) != 0);
	mbedtls_gcm_free(&gcm);	/* zeroizes the key schedule and hash subkey */
#endif
	if (failed) {
		mbedtls_platform_zeroize(out, a.inputLength + GCM_TAG_BYTES);
		xsUnknownError("crypto: gcm seal failed");
	}
}

/* xs_crypto_gcm_open(key, nonce, sealed, aad?): the plaintext, or an error
 * "authentication failed" (nothing of the plaintext is returned). */
void xs_crypto_gcm_open(xsMachine *the)
{
	cryptoReady(the);
	GcmArguments a;
	uint8_t *out = gcmArguments(the, &a, 0);
	size_t length = a.inputLength - GCM_TAG_BYTES;
	int result;	/* 0 opened, 1 authentication failed, -1 other failure */
#if CRYPTO_GCM_PSA
	psa_key_id_t key;
	if (gcmKey(&a, &key) != PSA_SUCCESS)
		result = -1;
	else {
		size_t written = 0;
		psa_status_t status = psa_aead_decrypt(key, PSA_ALG_GCM, a.nonce, GCM_NONCE_BYTES, a.aad, a.aadLength,
				a.input, a.inputLength, out, length, &written);
		psa_destroy_key(key);
		if (status == PSA_ERROR_INVALID_SIGNATURE)
			result = 1;
		else
			result = ((status == PSA_SUCCESS) && (written == length)) ? 0 : -1;
	}
#else
	mbedtls_gcm_context gcm;
	mbedtls_gcm_init(&gcm);
	if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, a.key, (unsigned int)(a.keyLength * 8)) != 0)
		result = -1;
	else {
		int status = mbedtls_gcm_auth_decrypt(&gcm, length, a.nonce, GCM_NONCE_BYTES, a.aad, a.aadLength,
				a.input + length, GCM_TAG_BYTES, length ? a.input : gEmpty, length ? out : gEmpty);
		if (status == MBEDTLS_ERR_GCM_AUTH_FAILED)
			result = 1;
		else
			result = status ? -1 : 0;
	}
	mbedtls_gcm_free(&gcm);
#endif
	if (result) {
		mbedtls_platform_zeroize(out, length);
		if (result > 0)
			xsUnknownError("crypto: gcmOpen: authentication failed");
		xsUnknownError("crypto: gcm open failed");
	}
}

/* ---- X25519 (RFC 7748) ---- */

/* xs_crypto_x25519(secret, publicKey): the shared secret. libsodium clamps
 * the scalar, masks the top bit of u and returns -1 when the result is all
 * zero (a small-order point), which RFC 9180 section 7.1.4 requires to be an error. */
void xs_crypto_x25519(xsMachine *the)
{
	cryptoReady(the);
	requireLength(the, byteLength(the, &xsArg(0), "secret"), X25519_BYTES, "secret");
	requireLength(the, byteLength(the, &xsArg(1), "publicKey"), X25519_BYTES, "publicKey");
	uint8_t *out = newResult(the, X25519_BYTES);
	const uint8_t *secret, *publicKey;
	size_t length;
	getBytes(the, &xsArg(0), &secret, &length, "secret");
	getBytes(the, &xsArg(1), &publicKey, &length, "publicKey");
	if (crypto_scalarmult(out, secret, publicKey) != 0) {
		sodium_memzero(out, X25519_BYTES);
		xsUnknownError("crypto: x25519: all-zero shared secret (low-order public key)");
	}
}

/* xs_crypto_x25519_public_key(secret): X25519(secret, 9). */
void xs_crypto_x25519_public_key(xsMachine *the)
{
	cryptoReady(the);
	requireLength(the, byteLength(the, &xsArg(0), "secret"), X25519_BYTES, "secret");
	uint8_t *out = newResult(the, X25519_BYTES);
	const uint8_t *secret;
	size_t length;
	getBytes(the, &xsArg(0), &secret, &length, "secret");
	if (crypto_scalarmult_base(out, secret) != 0) {
		sodium_memzero(out, X25519_BYTES);
		xsUnknownError("crypto: x25519 public key failed");
	}
}

/* ---- Ed25519 (RFC 8032), from a 32-byte seed ---- */

/* xs_crypto_ed25519_public_key(seed) */
void xs_crypto_ed25519_public_key(xsMachine *the)
{
	cryptoReady(the);
	requireLength(the, byteLength(the, &xsArg(0), "seed"), ED25519_SEED_BYTES, "seed");
	uint8_t *out = newResult(the, ED25519_PUBLIC_KEY_BYTES);
	const uint8_t *seed;
	size_t length;
	getBytes(the, &xsArg(0), &seed, &length, "seed");
	uint8_t secretKey[crypto_sign_SECRETKEYBYTES];
	int failed = crypto_sign_seed_keypair(out, secretKey, seed);
	sodium_memzero(secretKey, sizeof(secretKey));
	if (failed)
		xsUnknownError("crypto: ed25519 key pair failed");
}

/* xs_crypto_ed25519_sign(seed, message): the 64-byte signature. */
void xs_crypto_ed25519_sign(xsMachine *the)
{
	cryptoReady(the);
	requireLength(the, byteLength(the, &xsArg(0), "seed"), ED25519_SEED_BYTES, "seed");
	byteLength(the, &xsArg(1), "message");
	uint8_t *out = newResult(the, ED25519_SIGNATURE_BYTES);
	const uint8_t *seed, *message;
	size_t length, messageLength;
	getBytes(the, &xsArg(0), &seed, &length, "seed");
	getBytes(the, &xsArg(1), &message, &messageLength, "message");
	uint8_t publicKey[crypto_sign_PUBLICKEYBYTES];
	uint8_t secretKey[crypto_sign_SECRETKEYBYTES];
	int failed = crypto_sign_seed_keypair(publicKey, secretKey, seed);
	if (!failed)
		failed = crypto_sign_detached(out, NULL, message, messageLength, secretKey);
	sodium_memzero(secretKey, sizeof(secretKey));
	if (failed) {
		sodium_memzero(out, ED25519_SIGNATURE_BYTES);
		xsUnknownError("crypto: ed25519 sign failed");
	}
}

/* xs_crypto_ed25519_verify(publicKey, message, signature): true or false;
 * arguments of the wrong length are a bad signature, not an error. */
void xs_crypto_ed25519_verify(xsMachine *the)
{
	cryptoReady(the);
	const uint8_t *publicKey, *message, *signature;
	size_t publicKeyLength, messageLength, signatureLength;
	getBytes(the, &xsArg(0), &publicKey, &publicKeyLength, "publicKey");
	getBytes(the, &xsArg(1), &message, &messageLength, "message");
	getBytes(the, &xsArg(2), &signature, &signatureLength, "signature");
	int valid = (publicKeyLength == ED25519_PUBLIC_KEY_BYTES) && (signatureLength == ED25519_SIGNATURE_BYTES)
		&& (crypto_sign_verify_detached(signature, message, messageLength, publicKey) == 0);
	xsmcSetBoolean(xsResult, valid);
}

/* ---- wiping ---- */

/* xs_crypto_wipe(buffer): zeroes an ArrayBuffer or typed array in place,
 * with a call the compiler cannot remove. */
void xs_crypto_wipe(xsMachine *the)
{
	if ((xsmcTypeOf(xsArg(0)) != xsReferenceType)
			|| !(xsmcIsInstanceOf(xsArg(0), xsArrayBufferPrototype) || xsmcIsInstanceOf(xsArg(0), xsTypedArrayPrototype)))
		xsTypeError("crypto: wipe takes a Uint8Array or an ArrayBuffer");
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	if (length)
		sodium_memzero(data, length);
}
