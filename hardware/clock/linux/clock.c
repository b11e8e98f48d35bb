/*
 * Monotonic milliseconds for Linux (lin simulator and simulator host).
 */
#include "xsmc.h"

#include <time.h>

void xs_clock_ticks(xsMachine *the)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	xsmcSetNumber(xsResult, ((double)now.tv_sec * 1000.0) + ((double)now.tv_nsec / 1000000.0));
}
