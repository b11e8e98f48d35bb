/*
 * Random bytes from the ESP32-S3 hardware RNG.
 *
 * esp_fill_random() is a true RNG only while an RF subsystem (Wi-Fi or BT)
 * is on or the bootloader's entropy source is enabled; the firmware starts
 * Wi-Fi before it generates keys (see docs/porting.md).
 */
#include "xsmc.h"
#include "xsHost.h"

#include "esp_random.h"

/* xs_random_fill(buffer): fills an ArrayBuffer or typed array in place. */
void xs_random_fill(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	esp_fill_random(data, length);
}
