/*
 * The device's TLS client identity (hardware/csr): a key pair made on the
 * device from the hardware RNG, its public key, and a PKCS#10 certification
 * request signed by it. Two kinds of key:
 *
 *   "rsa-2048"  what Moddable's TLS on the device signs with (RSA client keys only)
 *   "p-256"     ECDSA on secp256r1, for a TLS stack that signs with ECDSA
 *
 * Either is kept as unencrypted PKCS#8 DER (PrivateKeyInfo, RFC 5208).
 *
 *   xs_csr_generate(kind)                the new key, PKCS#8 DER
 *   xs_csr_public_key(key)               its SubjectPublicKeyInfo, DER
 *   xs_csr_request(key, commonName)      a CSR, DER: subject CN=commonName,
 *                                        SHA-256 with RSA or ECDSA, signed by key
 *   xs_csr_certificate_matches(cert, key) whether the DER certificate's
 *                                        public key is this key's
 *
 * The private key leaves this file only as the PKCS#8 buffer the firmware
 * stores in the keystore (encrypted NVS on the device). Every temporary
 * copy (the PKCS#1 or SEC1 encoding, the parsed key, the DRBG state, the PSA
 * key slot) is wiped and freed on every path, errors included.
 *
 * Mbed TLS versions:
 * - 2.28 (Debian 12, for the simulator host and lin) and 3.x: mbedtls_rsa_gen_key
 *   or mbedtls_ecp_gen_key with a CTR_DRBG (AES-256) seeded straight from the
 *   platform RNG (getrandom() on Linux, esp_fill_random() on an ESP32).
 *   mbedtls_pk_parse_key takes an RNG from 3.0 (RSA blinding); guarded by
 *   MBEDTLS_VERSION_MAJOR. psa_crypto_init() runs first when 3.x has PSA
 *   compiled in, as pk and x509write may route hashes through it.
 * - 4.x (ESP-IDF v6, so Moddable SDK 8.2; TF-PSA-Crypto 1.0): the rsa, ecp
 *   and ctr_drbg modules are private. The key is made by psa_generate_key and
 *   copied out with mbedtls_pk_copy_from_psa; signing and blinding draw from
 *   PSA's RNG, which ESP-IDF feeds from esp_fill_random (its
 *   mbedtls_psa_external_get_random, MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG).
 *
 * esp_fill_random() is true random only while the radio or the internal
 * entropy source is on: csr.ts makes keys and requests inside
 * hardware/random's withTrueRandom(), which sees to that.
 */
#include "doorward_mbedtls_config.h"

#include "xsmc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/version.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/x509_csr.h"
#include "mbedtls/platform_util.h"

#if MBEDTLS_VERSION_MAJOR >= 4
#include "psa/crypto.h"
#define CSR_PSA 1
#else
#include "mbedtls/rsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/ctr_drbg.h"
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
#endif

#if !defined(MBEDTLS_X509_CSR_WRITE_C) || !defined(MBEDTLS_PK_WRITE_C) || !defined(MBEDTLS_PK_PARSE_C) || !defined(MBEDTLS_X509_CRT_PARSE_C)
/* ESP-IDF leaves X.509 writing out by default: the board's sdkconfig.defaults
 * sets CONFIG_MBEDTLS_X509_CREATE_C and CONFIG_MBEDTLS_X509_CSR_WRITE_C. */
#error "hardware/crypto/csr.c needs Mbed TLS with X509_CSR_WRITE, PK_WRITE, PK_PARSE and X509_CRT_PARSE"
#endif

enum { KEY_NONE = 0, KEY_RSA2048, KEY_P256 };

#define CSR_RSA_BITS 2048
#define CSR_RSA_EXPONENT 65537
/* PKCS#1 RSAPrivateKey of a 2048-bit key is about 1190 bytes; PKCS#8 adds 26. */
#define CSR_KEY_BUFFER 2048
#define CSR_PUBLIC_BUFFER 600
#define CSR_REQUEST_BUFFER 1536
#define CSR_MAX_NAME 64

/* ---- randomness (Mbed TLS 2.x and 3.x; 4.x uses PSA's) ---- */

#if !CSR_PSA
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

static const char personalization[] = "doorward tls identity";

typedef mbedtls_ctr_drbg_context Drbg;

static void drbgInit(Drbg *drbg)
{
	mbedtls_ctr_drbg_init(drbg);
}

static int drbgSeed(Drbg *drbg)
{
	return mbedtls_ctr_drbg_seed(drbg, hardwareEntropy, NULL, (const unsigned char *)personalization, sizeof(personalization) - 1);
}

static void drbgFree(Drbg *drbg)
{
	mbedtls_ctr_drbg_free(drbg);	/* zeroizes the DRBG state */
}
#else
/* PSA keeps its own DRBG: nothing to seed or free here. */
typedef int Drbg;
static void drbgInit(Drbg *drbg) { *drbg = 0; }
static int drbgSeed(Drbg *drbg) { (void)drbg; return 0; }
static void drbgFree(Drbg *drbg) { (void)drbg; }
#endif

static void csrReady(xsMachine *the)
{
#if CSR_PSA || CSR_PSA_INIT
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

/* ---- keys ---- */

/* Which of the two kinds `pk` holds, as a key pair; KEY_NONE for anything else. */
static int keyKind(const mbedtls_pk_context *pk)
{
#if CSR_PSA
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	int kind = KEY_NONE;
	if (mbedtls_pk_get_psa_attributes(pk, PSA_KEY_USAGE_SIGN_HASH, &attributes) == 0) {
		psa_key_type_t type = psa_get_key_type(&attributes);
		size_t bits = psa_get_key_bits(&attributes);
		if ((type == PSA_KEY_TYPE_RSA_KEY_PAIR) && (bits == CSR_RSA_BITS))
			kind = KEY_RSA2048;
		else if ((type == PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)) && (bits == 256))
			kind = KEY_P256;
	}
	psa_reset_key_attributes(&attributes);
	return kind;
#else
	mbedtls_pk_type_t type = mbedtls_pk_get_type(pk);
	if ((type == MBEDTLS_PK_RSA) && (mbedtls_pk_get_bitlen(pk) == CSR_RSA_BITS))
		return KEY_RSA2048;
	if (type == MBEDTLS_PK_ECKEY) {
#if MBEDTLS_VERSION_MAJOR >= 3
		mbedtls_ecp_group_id curve = mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id;
#else
		mbedtls_ecp_group_id curve = mbedtls_pk_ec(*pk)->grp.id;
#endif
		if (curve == MBEDTLS_ECP_DP_SECP256R1)
			return KEY_P256;
	}
	return KEY_NONE;
#endif
}

/* Parses a PKCS#8 (or PKCS#1, SEC1) DER key into `pk`, which the caller has
 * initialized and frees; its kind, or KEY_NONE. The caller takes the key's
 * pointer (getBytes) before anything can throw or allocate. */
static int parseKey(const uint8_t *der, size_t length, mbedtls_pk_context *pk, Drbg *drbg)
{
	if (der[0] != 0x30)
		return KEY_NONE;	/* DER only: a PEM text would need a terminating NUL */
#if CSR_PSA
	(void)drbg;
	int ret = mbedtls_pk_parse_key(pk, der, length, NULL, 0);
#elif MBEDTLS_VERSION_MAJOR >= 3
	int ret = mbedtls_pk_parse_key(pk, der, length, NULL, 0, mbedtls_ctr_drbg_random, drbg);
#else
	(void)drbg;
	int ret = mbedtls_pk_parse_key(pk, der, length, NULL, 0);
#endif
	return ret ? KEY_NONE : keyKind(pk);
}

/* Makes a new key of `kind` into `pk` (initialized, empty). */
static int makeKey(int kind, mbedtls_pk_context *pk, Drbg *drbg)
{
#if CSR_PSA
	(void)drbg;
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	/* EXPORT: mbedtls_pk_copy_from_psa reads the key material out. */
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	if (kind == KEY_RSA2048) {
		psa_set_key_type(&attributes, PSA_KEY_TYPE_RSA_KEY_PAIR);
		psa_set_key_bits(&attributes, CSR_RSA_BITS);	/* PSA's public exponent is 65537 */
		psa_set_key_algorithm(&attributes, PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256));
	}
	else {
		psa_set_key_type(&attributes, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
		psa_set_key_bits(&attributes, 256);
		psa_set_key_algorithm(&attributes, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
	}
	mbedtls_svc_key_id_t id = MBEDTLS_SVC_KEY_ID_INIT;
	psa_status_t status = psa_generate_key(&attributes, &id);
	psa_reset_key_attributes(&attributes);
	if (status != PSA_SUCCESS)
		return (int)status;
	int ret = mbedtls_pk_copy_from_psa(id, pk);
	psa_destroy_key(id);	/* wipes the key slot */
	return ret;
#else
	int ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type((kind == KEY_RSA2048) ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECKEY));
	if (ret)
		return ret;
	if (kind == KEY_RSA2048)
		return mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), mbedtls_ctr_drbg_random, drbg, CSR_RSA_BITS, CSR_RSA_EXPONENT);
	return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random, drbg);
#endif
}

/* ---- DER ---- */

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

/* PrivateKeyInfo (RFC 5208) around what mbedtls_pk_write_key_der writes, a
 * PKCS#1 RSAPrivateKey or a SEC1 ECPrivateKey (RFC 5915, which keeps its
 * curve and public key inside: RFC 5915 section 2 allows both):
 *   SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING { key } } */
static const uint8_t pkcs8Version[] = { 0x02, 0x01, 0x00 };
/* SEQUENCE { OID rsaEncryption, NULL } */
static const uint8_t rsaAlgorithm[] = { 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00 };
/* SEQUENCE { OID id-ecPublicKey, OID prime256v1 } */
static const uint8_t p256Algorithm[] = { 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };

/* Puts the PKCS#8 header in front of the `inner` bytes at the end of
 * `buffer`; the total length, or 0 if it does not fit. */
static size_t wrapPkcs8(int kind, uint8_t *buffer, size_t size, size_t inner)
{
	const uint8_t *algorithm = (kind == KEY_RSA2048) ? rsaAlgorithm : p256Algorithm;
	size_t algorithmLength = (kind == KEY_RSA2048) ? sizeof(rsaAlgorithm) : sizeof(p256Algorithm);
	uint8_t header[48], octets[4];
	size_t octetsLength = derLength(octets + 1, inner) + 1;
	octets[0] = 0x04;
	size_t body = sizeof(pkcs8Version) + algorithmLength + octetsLength + inner;
	size_t h = 0;
	header[h++] = 0x30;
	h += derLength(header + h, body);
	memcpy(header + h, pkcs8Version, sizeof(pkcs8Version));
	h += sizeof(pkcs8Version);
	memcpy(header + h, algorithm, algorithmLength);
	h += algorithmLength;
	memcpy(header + h, octets, octetsLength);
	h += octetsLength;
	if (h + inner > size)
		return 0;
	memcpy(buffer + size - inner - h, header, h);
	return h + inner;
}

/* ---- the functions ---- */

/* xs_csr_generate(kind): a new "rsa-2048" or "p-256" key, as PKCS#8 DER. */
void xs_csr_generate(xsMachine *the)
{
	if (xsmcTypeOf(xsArg(0)) != xsStringType)
		xsTypeError("csr: the key kind must be a string");
	const char *name = xsmcToString(xsArg(0));
	int kind = !strcmp(name, "rsa-2048") ? KEY_RSA2048 : !strcmp(name, "p-256") ? KEY_P256 : KEY_NONE;
	if (kind == KEY_NONE)
		xsRangeError("csr: the key kind must be \"rsa-2048\" or \"p-256\"");
	csrReady(the);
	Drbg drbg;
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	uint8_t *buffer = calloc(1, CSR_KEY_BUFFER);
	drbgInit(&drbg);
	int ret = buffer ? drbgSeed(&drbg) : -1;
	if (!ret)
		ret = makeKey(kind, &pk, &drbg);
	size_t total = 0;
	if (!ret) {
		/* PKCS#1 or SEC1 at the end of the buffer, then the PKCS#8 header in front of it. */
		int written = mbedtls_pk_write_key_der(&pk, buffer, CSR_KEY_BUFFER);
		total = (written > 0) ? wrapPkcs8(kind, buffer, CSR_KEY_BUFFER, (size_t)written) : 0;
		if (!total)
			ret = (written < 0) ? written : -1;
	}
	mbedtls_pk_free(&pk);	/* zeroizes the key */
	drbgFree(&drbg);
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
	Drbg drbg;
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	uint8_t buffer[CSR_PUBLIC_BUFFER];
	drbgInit(&drbg);
	int ret = drbgSeed(&drbg);
	int kind = ret ? KEY_NONE : parseKey(key, keyLength, &pk, &drbg);
	int written = (kind == KEY_NONE) ? 0 : mbedtls_pk_write_pubkey_der(&pk, buffer, sizeof(buffer));
	mbedtls_pk_free(&pk);
	drbgFree(&drbg);
	if ((kind == KEY_NONE) || (written <= 0))
		xsUnknownError("csr: not an RSA-2048 or P-256 private key in DER");
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

	Drbg drbg;
	mbedtls_pk_context pk;
	mbedtls_x509write_csr csr;
	mbedtls_pk_init(&pk);
	mbedtls_x509write_csr_init(&csr);
	uint8_t *buffer = calloc(1, CSR_REQUEST_BUFFER);
	drbgInit(&drbg);
	int ret = buffer ? drbgSeed(&drbg) : -1;
	if (!ret && (parseKey(key, keyLength, &pk, &drbg) == KEY_NONE))
		ret = -1;
	if (!ret) {
		mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
		mbedtls_x509write_csr_set_key(&csr, &pk);
		ret = mbedtls_x509write_csr_set_subject_name(&csr, subject);
	}
	int written = 0;
	if (!ret) {
#if CSR_PSA
		written = mbedtls_x509write_csr_der(&csr, buffer, CSR_REQUEST_BUFFER);
#else
		written = mbedtls_x509write_csr_der(&csr, buffer, CSR_REQUEST_BUFFER, mbedtls_ctr_drbg_random, &drbg);
#endif
		if (written <= 0)
			ret = written ? written : -1;
	}
	mbedtls_x509write_csr_free(&csr);
	mbedtls_pk_free(&pk);
	drbgFree(&drbg);
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
		Drbg drbg;
		mbedtls_pk_context pk;
		mbedtls_pk_init(&pk);
		uint8_t mine[CSR_PUBLIC_BUFFER], theirs[CSR_PUBLIC_BUFFER];
		drbgInit(&drbg);
		int ret = drbgSeed(&drbg);
		if (!ret && (parseKey(key, keyLength, &pk, &drbg) != KEY_NONE)) {
			int a = mbedtls_pk_write_pubkey_der(&pk, mine, sizeof(mine));
			int b = mbedtls_pk_write_pubkey_der(&crt.pk, theirs, sizeof(theirs));
			matches = (a > 0) && (a == b) && !memcmp(mine + sizeof(mine) - a, theirs + sizeof(theirs) - b, (size_t)a);
		}
		mbedtls_pk_free(&pk);
		drbgFree(&drbg);
	}
	mbedtls_x509_crt_free(&crt);
	xsmcSetBoolean(xsResult, matches);
}
