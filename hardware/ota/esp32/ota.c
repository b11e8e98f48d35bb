/*
 * Update slots on the ESP32-S3: ESP-IDF's OTA API with app rollback and
 * anti-rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE,
 * CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK and a 16-bit secure version field, in
 * the board's sdkconfig.defaults; see its README).
 *
 * activate() is the last check before the bootloader is pointed at the new
 * slot. The installer (src/update/installer.ts) verified the bundle's
 * signatures and hashed the image as it streamed it into the slot; here the
 * slot itself is read back and must hash to the manifest's digest, and the
 * image's own ESP-IDF app descriptor must carry the manifest's security
 * version, at or above the eFuse value. esp_ota_set_boot_partition() then
 * verifies the image's structure and, with secure boot, its signature.
 */
#include "xsmc.h"
#include "xsHost.h"

#include <stdlib.h>
#include <string.h>

#include "../../crypto/doorward_mbedtls_config.h"
#include "psa/crypto.h"

#include "esp_app_desc.h"
#include "esp_efuse.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_system.h"

#define OTA_DIGEST_BYTES 32
#define OTA_READ_CHUNK 4096
/* The ESP32-S3's SECURE_VERSION field: 16 bits, one per increment. */
#define OTA_MAX_SECURITY_VERSION 16

/* xs_ota_state() -> {running, inactive, trial, rolledBack, securityVersion} */
void xs_ota_state(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	esp_ota_img_states_t state = ESP_OTA_IMG_UNDEFINED;
	if (running)
		esp_ota_get_state_partition(running, &state);
	xsmcVars(1);
	xsmcSetNewObject(xsResult);
	xsmcSetString(xsVar(0), running ? (char *)running->label : "unknown");
	xsmcSet(xsResult, xsID("running"), xsVar(0));
	xsmcSetString(xsVar(0), next ? (char *)next->label : "none");
	xsmcSet(xsResult, xsID("inactive"), xsVar(0));
	xsmcSetBoolean(xsVar(0), state == ESP_OTA_IMG_PENDING_VERIFY);
	xsmcSet(xsResult, xsID("trial"), xsVar(0));
	xsmcSetBoolean(xsVar(0), esp_ota_get_last_invalid_partition() != NULL);
	xsmcSet(xsResult, xsID("rolledBack"), xsVar(0));
	xsmcSetInteger(xsVar(0), (xsIntegerValue)esp_efuse_read_secure_version());
	xsmcSet(xsResult, xsID("securityVersion"), xsVar(0));
}

/* SHA-256 of the first `size` bytes of `partition` (decrypted, when flash
 * encryption is on, as esp_partition_read does). */
static esp_err_t partitionDigest(const esp_partition_t *partition, size_t size, uint8_t digest[OTA_DIGEST_BYTES])
{
	uint8_t *chunk = malloc(OTA_READ_CHUNK);
	if (!chunk)
		return ESP_ERR_NO_MEM;
	esp_err_t err = (psa_crypto_init() == PSA_SUCCESS) ? ESP_OK : ESP_FAIL;
	psa_hash_operation_t hash = PSA_HASH_OPERATION_INIT;
	if ((err == ESP_OK) && (psa_hash_setup(&hash, PSA_ALG_SHA_256) != PSA_SUCCESS))
		err = ESP_FAIL;
	for (size_t offset = 0; (err == ESP_OK) && (offset < size); offset += OTA_READ_CHUNK) {
		size_t length = ((size - offset) < OTA_READ_CHUNK) ? (size - offset) : OTA_READ_CHUNK;
		err = esp_partition_read(partition, offset, chunk, length);
		if ((err == ESP_OK) && (psa_hash_update(&hash, chunk, length) != PSA_SUCCESS))
			err = ESP_FAIL;
	}
	size_t length = 0;
	if ((err == ESP_OK) && ((psa_hash_finish(&hash, digest, OTA_DIGEST_BYTES, &length) != PSA_SUCCESS) || (length != OTA_DIGEST_BYTES)))
		err = ESP_FAIL;
	psa_hash_abort(&hash);
	free(chunk);
	return err;
}

/* xs_ota_activate(partition label, size, digest, securityVersion): checks
 * the written image against the manifest, then boots that slot next. */
void xs_ota_activate(xsMachine *the)
{
	char label[17];
	if (xsmcTypeOf(xsArg(0)) != xsStringType)
		xsTypeError("ota: the partition must be a string");
	xsmcToStringBuffer(xsArg(0), label, sizeof(label));
	xsIntegerValue size = xsmcToInteger(xsArg(1));
	if ((xsmcTypeOf(xsArg(2)) != xsReferenceType)
			|| !(xsmcIsInstanceOf(xsArg(2), xsArrayBufferPrototype) || xsmcIsInstanceOf(xsArg(2), xsTypedArrayPrototype)))
		xsTypeError("ota: the digest must be a Uint8Array or an ArrayBuffer");
	void *expected;
	xsUnsignedValue expectedLength;
	xsmcGetBufferReadable(xsArg(2), &expected, &expectedLength);
	if (expectedLength != OTA_DIGEST_BYTES)
		xsRangeError("ota: the digest must be %d bytes", OTA_DIGEST_BYTES);
	uint8_t digest[OTA_DIGEST_BYTES];
	memcpy(digest, expected, OTA_DIGEST_BYTES);	/* before anything can move the buffer */
	xsIntegerValue securityVersion = xsmcToInteger(xsArg(3));
	if ((securityVersion < 0) || (securityVersion > OTA_MAX_SECURITY_VERSION))
		xsRangeError("ota: security version %d is outside 0..%d", (int)securityVersion, OTA_MAX_SECURITY_VERSION);

	const esp_partition_t *partition = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, label);
	if (!partition)
		xsRangeError("ota: no app partition %s", label);
	if (partition == esp_ota_get_running_partition())
		xsRangeError("ota: %s is the running slot", label);
	if (partition != esp_ota_get_next_update_partition(NULL))
		xsRangeError("ota: %s is not the slot the flash module opens as \"nextota\"", label);
	if ((size <= 0) || ((uint32_t)size > partition->size))
		xsRangeError("ota: an image of %d bytes does not fit %s", (int)size, label);

	uint8_t actual[OTA_DIGEST_BYTES];
	esp_err_t err = partitionDigest(partition, (size_t)size, actual);
	if (err != ESP_OK)
		xsUnknownError("ota: cannot read %s back (%s)", label, esp_err_to_name(err));
	if (memcmp(actual, digest, OTA_DIGEST_BYTES))
		xsUnknownError("ota: %s does not hold the signed image (digest mismatch)", label);

	esp_app_desc_t description;
	err = esp_ota_get_partition_description(partition, &description);
	if (err != ESP_OK)
		xsUnknownError("ota: %s holds no ESP-IDF app (%s)", label, esp_err_to_name(err));
	if (description.secure_version != (uint32_t)securityVersion)
		xsUnknownError("ota: the image's secure_version %u is not the manifest's security version %d", (unsigned)description.secure_version, (int)securityVersion);
	if (!esp_efuse_check_secure_version(description.secure_version))
		xsUnknownError("ota: the image's secure_version %u is below the eFuse's %u", (unsigned)description.secure_version, (unsigned)esp_efuse_read_secure_version());

	err = esp_ota_set_boot_partition(partition);
	if (err == ESP_ERR_OTA_VALIDATE_FAILED)
		xsUnknownError("ota: ESP-IDF refuses the image in %s (not a valid app image, or its secure boot signature fails)", label);
	if (err != ESP_OK)
		xsUnknownError("ota: cannot activate %s (%s)", label, esp_err_to_name(err));
}

/* xs_ota_confirm(): keep the running image; with anti-rollback, ESP-IDF raises the eFuse security version now. */
void xs_ota_confirm(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
	if (err != ESP_OK)
		xsUnknownError("ota: cannot confirm (%s)", esp_err_to_name(err));
}

void xs_ota_restart(xsMachine *the)
{
	esp_restart();
}
