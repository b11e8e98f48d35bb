/*
 * Random bytes from the ESP32-S3 hardware RNG, true random only.
 *
 * esp_fill_random() gives true random numbers only while the RF subsystem
 * is on (Wi-Fi started) or while the internal entropy source (the SAR ADC,
 * bootloader_random_enable()) is; otherwise its output is pseudo-random
 * (ESP-IDF Programming Guide, "Random Number Generation"). The bootloader
 * turns its entropy source off before the app starts, so on a first boot
 * with no Wi-Fi (or before Wi-Fi is up) every key would come from a
 * pseudo-random sequence. Hence:
 *
 *   xs_random_source()       which true random source is on: "radio", "entropy" or "none"
 *   xs_random_entropy(on)    turns the internal entropy source on (only while
 *                            the radio is off: bootloader_random_enable() must
 *                            not run while the RF subsystem or the ADC is in
 *                            use) or off again (it must be off before Wi-Fi
 *                            starts); returns whether it is on
 *   xs_random_fill(buffer)   fills it, and refuses while no source is on
 *
 * random.ts runs every fill inside withTrueRandom(), which turns the entropy
 * source on and off around it when the radio is off; the refusal here is
 * the last line, for any caller that skips it.
 *
 * The radio counts as on once Wi-Fi is set to a mode: Moddable's Wi-Fi
 * (modules/io/wifi/esp32/wifi-esp32.c) initializes and starts it in one call
 * and never stops it. Doorward uses neither the ADC nor Bluetooth. The XS
 * machine runs in one task, and the JavaScript between turning the source
 * on and off is synchronous, so Wi-Fi cannot start in between.
 */
#include "xsmc.h"
#include "xsHost.h"

#include "bootloader_random.h"
#include "esp_random.h"
#include "esp_wifi.h"

static uint8_t gEntropyOn = 0;

static int radioOn(void)
{
	wifi_mode_t mode;
	return (esp_wifi_get_mode(&mode) == ESP_OK) && (mode != WIFI_MODE_NULL);
}

static const char *trueSource(void)
{
	if (gEntropyOn)
		return "entropy";
	if (radioOn())
		return "radio";
	return NULL;
}

/* xs_random_source() -> "radio" | "entropy" | "none" */
void xs_random_source(xsMachine *the)
{
	const char *source = trueSource();
	xsmcSetString(xsResult, (char *)(source ? source : "none"));
}

/* xs_random_entropy(on) -> whether the internal entropy source is on now */
void xs_random_entropy(xsMachine *the)
{
	if (xsmcTest(xsArg(0))) {
		if (!gEntropyOn && !radioOn()) {
			bootloader_random_enable();
			gEntropyOn = 1;
		}
	}
	else if (gEntropyOn) {
		bootloader_random_disable();
		gEntropyOn = 0;
	}
	xsmcSetBoolean(xsResult, gEntropyOn);
}

/* xs_random_fill(buffer): fills an ArrayBuffer or typed array in place. */
void xs_random_fill(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	if (!trueSource())
		xsUnknownError("random: no true random source is on (the radio is off and the entropy source is not enabled)");
	esp_fill_random(data, length);
}
