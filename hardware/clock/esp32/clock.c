/*
 * Monotonic milliseconds on the ESP32-S3, from the 64-bit esp_timer.
 */
#include "xsmc.h"

#include "esp_timer.h"

void xs_clock_ticks(xsMachine *the)
{
	xsmcSetNumber(xsResult, (double)(esp_timer_get_time() / 1000));
}
