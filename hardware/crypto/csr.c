/*
 * The device's TLS client identity (hardware/csr): an RSA-2048 key made on
 * the device from the hardware RNG, its public key, and a PKCS#10
 * certification request signed by it. RSA because Moddable's TLS on the
 * device signs only with RSA client keys, read as unencrypted PKCS#8 DER.
 *
 *   xs_csr_generate()                    the new key, PKCS#8 DER
 *   xs_csr_public_key(key)               its SubjectPublicKeyInfo, DER
 *   xs_csr_request(key, commonName)      a CSR, DER: subject CN=commonName,
 *                                        SHA-256 with RSA, signed by key
 *   xs_csr_certificate_matches(cert, key) whether the DER certificate's
 *                                        public key is this key's
 *
 * The private key leaves this file only as the PKCS#8 buffer the firmware
 * stores in the keystore (encrypted NVS on the device). Every temporary
 * copy (the PKCS#1 encoding, the parsed key, the DRBG state) is wiped and
 * freed on every path, errors included.
 *
 * Randomness: a CTR_DRBG (AES-256) seeded directly from the platform RNG:
 * getrandom() on Linux (the simulator host, lin), esp_fill_random() on the
 * ESP32-S3, whose RF subsystem or bootloader entropy source must be on when
 * the key is made (see docs/porting.md and hardware/random/esp32/random.c).
 *
 * Mbed TLS versions:
 * - 2.28 (Debian 12) and 3.x (ESP-IDF 5): the same calls, except that
 *   mbedtls_pk_parse_key takes an RNG from 3.0 (for RSA blinding); guarded by
 *   MBEDTLS_VERSION_MAJOR. psa_crypto_init() runs first when 3.x has PSA
 *   compiled in, as pk and x509write may route hashes through it.
 * - 4.x (ESP-IDF 6, TF-PSA-Crypto): the rsa and ctr_drbg modules are private
 *   and x509write_csr_der no longer takes an RNG; keys must be made with
 *   psa_generate_key and wrapped for x509write. NOT PORTED YET: on 4.x every
 *   function here throws "not supported on Mbed TLS 4.x", so the firmware
 *   still builds and the device reports the gap when the factory asks for
 *   its CSR. See docs/factory.md.
 */
#include "doorward_mbedtls_config.h"

#include "xsmc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/version.h"

#define CSR_RSA_BITS 2048
#define CSR_RSA_EXPONENT 65537
/* PKCS#1 RSAPrivateKey of a 2048-bit key is about 1190 bytes; PKCS#8 adds 26. */
#define CSR_KEY_BUFFER 2048
#define CSR_PUBLIC_BUFFER 600
#define CSR_REQUEST_BUFFER 1536
#define CSR_MAX_NAME 64

#if MBEDTLS_VERSION_MAJOR >= 4

static void unsupported(xsMachine *the)
{
	xsUnknownError("csr: not supported on Mbed TLS 4.x yet (see hardware/crypto/csr.c)");
}
void xs_csr_generate(xsMachine *the) { unsupported(the); }
void xs_csr_public_key(xsMachine *the) { unsupported(the); }
void xs_csr_request(xsMachine *the) { unsupported(the); }
void xs_csr_certificate_matches(xsMachine *the) { unsupported(the); }

#else

#include "mbedtls/pk.h"
#include "mbedtls/rsa.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/x509_csr.h"
#include "mbedtls/platform_util.h"
#if (MBEDTLS_VERSION_MAJOR == 3) && defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#define CSR_PSA_INIT 1
#endif

#if defined(ESP_PLATFORM)
#include "esp_random.h"
#else
#include <errno.h>
#include <sys/random.h>
#endif

/* ---- randomness ---- */

/* The DRBG's entropy source: the platform RNG, straight. */
static int hardwareEntropy(void *context, unsigned char *out, size_t length)
{
	(void)context;
#if defined(ESP_PLATFORM)
	esp_fill_random(out, length);
	return 0;
#else
	while (length) {
		ssize_t got = getrandom(out, length, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
		}
		out += got;
		length -= (size_t)got;
	}
	return 0;
#endif
}

static void csrReady(xsMachine *the)
{
#if CSR_PSA_INIT
	static int ready = 0;
	if (!ready) {
		if (psa_crypto_init() != PSA_SUCCESS)
			xsUnknownError("csr: PSA crypto cannot initialize");
		ready = 1;
	}
#else
	(void)the;
#endif
}

static const char personalization[] = "doorward tls identity";

static int drbgSeed(mbedtls_ctr_drbg_context *drbg)
{
	mbedtls_ctr_drbg_init(drbg);
	return mbedtls_ctr_drbg_seed(drbg, hardwareEntropy, NULL, (const unsigned char *)personalization, sizeof(personalization) - 1);
}

/* ---- arguments ---- */

static void getBytes(xsMachine *the, xsSlot *slot, const uint8_t **data, size_t *length, const char *what)
{
	if ((xsmcTypeOf(*slot) != xsReferenceType)
			|| !(xsmcIsInstanceOf(*slot, xsArrayBufferPrototype) || xsmcIsInstanceOf(*slot, xsTypedArrayPrototype)))
		xsTypeError("csr: %s must be a Uint8Array or an ArrayBuffer", what);
	void *bytes;
	xsUnsignedValue count;
	xsmcGetBufferReadable(*slot, &bytes, &count);
	if (!count)
		xsRangeError("csr: %s is empty", what);
	*data = bytes;
	*length = count;
}

/* Parses a PKCS#8 (or PKCS#1) DER key into `pk`, which the caller has
 * initialized and frees. Only an RSA-2048 key is accepted. The caller takes
 * the key's pointer (getBytes) before anything can throw or allocate. */
static int parseKey(const uint8_t *der, size_t length, mbedtls_pk_context *pk, mbedtls_ctr_drbg_context *drbg)
{
	if (der[0] != 0x30)
		return -1;	/* DER only: a PEM text would need a terminating NUL */
#if MBEDTLS_VERSION_MAJOR >= 3
	int ret = mbedtls_pk_parse_key(pk, der, length, NULL, 0, mbedtls_ctr_drbg_random, drbg);
#else
	(void)drbg;
	int ret = mbedtls_pk_parse_key(pk, der, length, NULL, 0);
#endif
	if (ret)
		return ret;
	if ((mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA) || (mbedtls_pk_get_bitlen(pk) != CSR_RSA_BITS))
		return -1;
	return 0;
}

/* Copies the last `length` bytes of `buffer` (where Mbed TLS's DER writers
 * put their output) into a new ArrayBuffer in xsResult. */
static void setResult(xsMachine *the, const uint8_t *end, size_t length)
{
	xsmcSetArrayBuffer(xsResult, (void *)(end - length), (xsIntegerValue)length);
}

/* DER length octets for `length` into `out` (at most 3 bytes here); their count. */
static size_t derLength(uint8_t *out, size_t length)
{
	if (length < 0x80) {
		out[0] = (uint8_t)length;
		return 1;
	}
	if (length < 0x100) {
		out[0] = 0x81;
		out[1] = (uint8_t)length;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (uint8_t)(length >> 8);
	out[2] = (uint8_t)length;
	return 3;
}

/* PrivateKeyInfo (RFC 5208) around a PKCS#1 RSAPrivateKey:
 *   SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING { pkcs1 } } */
static const uint8_t pkcs8Version[] = { 0x02, 0x01, 0x00 };
static const uint8_t rsaAlgorithm[] = { 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00 };

/* ---- the functions ---- */

/* xs_csr_generate(): a new RSA-2048 key, as PKCS#8 DER. */
void xs_csr_generate(xsMachine *the)
{
	csrReady(the);
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	uint8_t *buffer = calloc(1, CSR_KEY_BUFFER);
	int ret = buffer ? drbgSeed(&drbg) : -1;
	if (!buffer)
		mbedtls_ctr_drbg_init(&drbg);
	if (!ret)
		ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
	if (!ret)
		ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random, &drbg, CSR_RSA_BITS, CSR_RSA_EXPONENT);
	int written = 0;
	if (!ret) {
		/* PKCS#1 at the end of the buffer, then the PKCS#8 header in front of it. */
		written = mbedtls_pk_write_key_der(&pk, buffer, CSR_KEY_BUFFER);
		if (written <= 0)
			ret = -1;
	}
	size_t total = 0;
	if (!ret) {
		uint8_t header[32];
		size_t pkcs1 = (size_t)written, h = 0;
		uint8_t octets[4];
		size_t octetsLength = derLength(octets + 1, pkcs1) + 1;
		octets[0] = 0x04;
		size_t inner = sizeof(pkcs8Version) + sizeof(rsaAlgorithm) + octetsLength + pkcs1;
		header[h++] = 0x30;
		h += derLength(header + h, inner);
		memcpy(header + h, pkcs8Version, sizeof(pkcs8Version));
		h += sizeof(pkcs8Version);
		memcpy(header + h, rsaAlgorithm, sizeof(rsaAlgorithm));
		h += sizeof(rsaAlgorithm);
		memcpy(header + h, octets, octetsLength);
		h += octetsLength;
		total = h + pkcs1;
		if (total > CSR_KEY_BUFFER)
			ret = -1;
		else
			memcpy(buffer + CSR_KEY_BUFFER - total, header, h);
	}
	mbedtls_pk_free(&pk);	/* zeroizes the RSA context */
	mbedtls_ctr_drbg_free(&drbg);	/* zeroizes the DRBG state */
	if (ret) {
		if (buffer) {
			mbedtls_platform_zeroize(buffer, CSR_KEY_BUFFER);
			free(buffer);
		}
		xsUnknownError("csr: key generation failed (%d)", ret);
	}
	/* The allocation may run the garbage collector but no JavaScript; XS
	 * aborts the machine (it does not throw) when memory runs out. */
	setResult(the, buffer + CSR_KEY_BUFFER, total);
	mbedtls_platform_zeroize(buffer, CSR_KEY_BUFFER);
	free(buffer);
}

/* xs_csr_public_key(key): the key's SubjectPublicKeyInfo, DER. */
void xs_csr_public_key(xsMachine *the)
{
	csrReady(the);
	const uint8_t *key;
	size_t keyLength;
	getBytes(the, &xsArg(0), &key, &keyLength, "key");
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	uint8_t buffer[CSR_PUBLIC_BUFFER];
	int ret = drbgSeed(&drbg);
	if (!ret)
		ret = parseKey(key, keyLength, &pk, &drbg);
	int written = ret ? 0 : mbedtls_pk_write_pubkey_der(&pk, buffer, sizeof(buffer));
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	if (ret || (written <= 0))
		xsUnknownError("csr: not an RSA-2048 private key in DER");
	setResult(the, buffer + sizeof(buffer), (size_t)written);
}

/* xs_csr_request(key, commonName): a PKCS#10 request, DER, subject CN=commonName. */
void xs_csr_request(xsMachine *the)
{
	csrReady(the);
	char subject[CSR_MAX_NAME + 4];
	if (xsmcTypeOf(xsArg(1)) != xsStringType)
		xsTypeError("csr: commonName must be a string");
	const char *name = xsmcToString(xsArg(1));
	size_t nameLength = strlen(name);
	if (!nameLength || (nameLength > CSR_MAX_NAME))
		xsRangeError("csr: commonName must be 1 to %d characters", CSR_MAX_NAME);
	for (size_t i = 0; i < nameLength; i++) {
		char c = name[i];
		if (!(((c >= '0') && (c <= '9')) || ((c >= 'a') && (c <= 'z')) || ((c >= 'A') && (c <= 'Z')) || (c == '-')))
			xsRangeError("csr: commonName may hold only letters, digits and '-'");
	}
	memcpy(subject, "CN=", 3);
	memcpy(subject + 3, name, nameLength + 1);
	const uint8_t *key;
	size_t keyLength;
	getBytes(the, &xsArg(0), &key, &keyLength, "key");

	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	mbedtls_x509write_csr csr;
	mbedtls_pk_init(&pk);
	mbedtls_x509write_csr_init(&csr);
	uint8_t *buffer = calloc(1, CSR_REQUEST_BUFFER);
	int ret = buffer ? drbgSeed(&drbg) : -1;
	if (!buffer)
		mbedtls_ctr_drbg_init(&drbg);
	if (!ret)
		ret = parseKey(key, keyLength, &pk, &drbg);
	if (!ret) {
		mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
		mbedtls_x509write_csr_set_key(&csr, &pk);
		ret = mbedtls_x509write_csr_set_subject_name(&csr, subject);
	}
	int written = 0;
	if (!ret) {
		written = mbedtls_x509write_csr_der(&csr, buffer, CSR_REQUEST_BUFFER, mbedtls_ctr_drbg_random, &drbg);
		if (written <= 0)
			ret = written ? written : -1;
	}
	mbedtls_x509write_csr_free(&csr);
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	if (ret) {
		free(buffer);
		xsUnknownError("csr: cannot make the request (%d)", ret);
	}
	setResult(the, buffer + CSR_REQUEST_BUFFER, (size_t)written);
	free(buffer);	/* public data: the request */
}

/* xs_csr_certificate_matches(certificate, key): whether the DER
 * certificate parses and carries this key's public key. */
void xs_csr_certificate_matches(xsMachine *the)
{
	csrReady(the);
	const uint8_t *der, *key;
	size_t length, keyLength;
	getBytes(the, &xsArg(0), &der, &length, "certificate");
	getBytes(the, &xsArg(1), &key, &keyLength, "key");
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int matches = 0;
	if (mbedtls_x509_crt_parse_der(&crt, der, length) == 0) {
		mbedtls_ctr_drbg_context drbg;
		mbedtls_pk_context pk;
		mbedtls_pk_init(&pk);
		uint8_t mine[CSR_PUBLIC_BUFFER], theirs[CSR_PUBLIC_BUFFER];
		int ret = drbgSeed(&drbg);
		if (!ret)
			ret = parseKey(key, keyLength, &pk, &drbg);
		if (!ret) {
			int a = mbedtls_pk_write_pubkey_der(&pk, mine, sizeof(mine));
			int b = mbedtls_pk_write_pubkey_der(&crt.pk, theirs, sizeof(theirs));
			matches = (a > 0) && (a == b) && !memcmp(mine + sizeof(mine) - a, theirs + sizeof(theirs) - b, (size_t)a);
		}
		mbedtls_pk_free(&pk);
		mbedtls_ctr_drbg_free(&drbg);
	}
	mbedtls_x509_crt_free(&crt);
	xsmcSetBoolean(xsResult, matches);
}

#endif
