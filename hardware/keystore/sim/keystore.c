/*
 * The simulator's stand-in for the device's encrypted NVS: entries are
 * sealed with AES-256-GCM under a per-device secret that the host reads from
 * `--device-secret FILE` (the world keeps that file outside the flash image,
 * as the eFuse key is outside the flash chip). The secret stays in this file's
 * memory; JavaScript only sees sealed entries and their plaintext.
 *
 *   sealed = nonce (12) || ciphertext || tag (16), AAD = "doorward/keystore/v1\0" || name
 */
#include "xsmc.h"
#include "../../sim/host/host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mbedtls/gcm.h"
#include "mbedtls/platform_util.h"

#define SECRET_SIZE 32
#define NONCE_SIZE 12
#define TAG_SIZE 16

static uint8_t gSecret[SECRET_SIZE];
static int gSecretLoaded = 0;

static void loadSecret(xsMachine *the)
{
	if (gSecretLoaded)
		return;
	if (!gHostDeviceSecretPath)
		xsUnknownError("keystore: this host was started without --device-secret");
	FILE *file = fopen(gHostDeviceSecretPath, "rb");
	if (!file)
		xsUnknownError("keystore: cannot open the device secret %s", gHostDeviceSecretPath);
	size_t count = fread(gSecret, 1, SECRET_SIZE, file);
	int extra = fgetc(file);
	fclose(file);
	if ((count != SECRET_SIZE) || (extra != EOF)) {
		mbedtls_platform_zeroize(gSecret, sizeof(gSecret));
		xsUnknownError("keystore: the device secret must be exactly %d bytes", SECRET_SIZE);
	}
	gSecretLoaded = 1;
}

static void buildAad(xsMachine *the, uint8_t *aad, size_t *aadLength)
{
	static const char label[] = "doorward/keystore/v1";
	char name[64];
	xsmcToStringBuffer(xsArg(0), name, sizeof(name));
	size_t nameLength = strlen(name);
	if (!nameLength)
		xsRangeError("keystore: empty name");
	memcpy(aad, label, sizeof(label)); /* includes the 0 terminator as separator */
	memcpy(aad + sizeof(label), name, nameLength);
	*aadLength = sizeof(label) + nameLength;
}

/* xs_keystore_seal(name, plaintext) -> sealed */
void xs_keystore_seal(xsMachine *the)
{
	uint8_t aad[96];
	size_t aadLength;
	void *plaintext;
	xsUnsignedValue length;
	loadSecret(the);
	buildAad(the, aad, &aadLength);
	xsmcGetBufferReadable(xsArg(1), &plaintext, &length);
	if (length > 65536)
		xsRangeError("keystore: entry too large");
	xsmcSetArrayBuffer(xsResult, NULL, NONCE_SIZE + length + TAG_SIZE);
	uint8_t *out;
	xsUnsignedValue outLength;
	xsmcGetBufferWritable(xsResult, (void **)&out, &outLength);
	xsmcGetBufferReadable(xsArg(1), &plaintext, &length); /* the allocation may have moved it */
	if (getrandom(out, NONCE_SIZE, 0) != NONCE_SIZE)
		xsUnknownError("keystore: no randomness for the nonce");
	mbedtls_gcm_context gcm;
	mbedtls_gcm_init(&gcm);
	int status = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, gSecret, SECRET_SIZE * 8);
	if (!status)
		status = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, length, out, NONCE_SIZE, aad, aadLength, plaintext, out + NONCE_SIZE, TAG_SIZE, out + NONCE_SIZE + length);
	mbedtls_gcm_free(&gcm);
	if (status)
		xsUnknownError("keystore: sealing failed (%d)", status);
}

/* xs_keystore_open(name, sealed) -> plaintext; throws if it does not authenticate */
void xs_keystore_open(xsMachine *the)
{
	uint8_t aad[96];
	size_t aadLength;
	void *sealed;
	xsUnsignedValue length;
	loadSecret(the);
	buildAad(the, aad, &aadLength);
	xsmcGetBufferReadable(xsArg(1), &sealed, &length);
	if (length < NONCE_SIZE + TAG_SIZE)
		xsUnknownError("keystore: entry is truncated");
	size_t plainLength = length - NONCE_SIZE - TAG_SIZE;
	xsmcSetArrayBuffer(xsResult, NULL, plainLength);
	uint8_t *out;
	xsUnsignedValue outLength;
	xsmcGetBufferWritable(xsResult, (void **)&out, &outLength);
	xsmcGetBufferReadable(xsArg(1), &sealed, &length);
	const uint8_t *in = sealed;
	mbedtls_gcm_context gcm;
	mbedtls_gcm_init(&gcm);
	int status = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, gSecret, SECRET_SIZE * 8);
	if (!status)
		status = mbedtls_gcm_auth_decrypt(&gcm, plainLength, in, NONCE_SIZE, aad, aadLength, in + NONCE_SIZE + plainLength, TAG_SIZE, in + NONCE_SIZE, out);
	mbedtls_gcm_free(&gcm);
	if (status) {
		mbedtls_platform_zeroize(out, plainLength);
		xsUnknownError("keystore: entry does not authenticate: modified, or sealed by another device");
	}
}
