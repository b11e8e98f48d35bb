/*
 * Update slots on the ESP32-S3: ESP-IDF's OTA API and its app rollback and
 * anti-rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE and
 * CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK in the production sdkconfig; see the
 * board README). Not compiled on our build machines: written against the
 * ESP-IDF v5/v6 OTA API, to be checked on a device.
 */
#include "xsmc.h"
#include "xsHost.h"

#include "esp_efuse.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_system.h"

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

/* xs_ota_activate(partition label): boot that slot next. ESP-IDF checks the app image itself. */
void xs_ota_activate(xsMachine *the)
{
	char label[17];
	xsmcToStringBuffer(xsArg(0), label, sizeof(label));
	const esp_partition_t *partition = esp_partition_find_first(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY, label);
	if (!partition)
		xsRangeError("ota: no app partition %s", label);
	esp_err_t err = esp_ota_set_boot_partition(partition);
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
