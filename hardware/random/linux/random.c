/*
 * Random bytes from the Linux kernel's CSPRNG, for Moddable's lin simulator
 * and the Doorward simulator host. The device uses esp32/random.c; both
 * answer random.ts's three calls:
 *
 *   xs_random_source()       the true random source that is on now
 *   xs_random_entropy(on)    turns the internal entropy source on or off;
 *                            whether it is on
 *   xs_random_fill(buffer)   fills it; refuses while no source is on
 *
 * getrandom(2) is always true random ("kernel"; it blocks until the kernel
 * has seeded itself), so on lin there is nothing to turn on.
 *
 * The simulator host instead models the device's RNG, so that the firmware
 * runs its first boot in the order the device needs: at power-on the radio
 * is off and the internal entropy source is not enabled, so nothing is true
 * random until withTrueRandom() turns the source on. The bytes still come
 * from getrandom(); the model only decides whether a fill is allowed and
 * counts what happened. Tests change and read it with xs_random_model().
 */
#include "xsmc.h"
#include "xsHost.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#if defined(DOORWARD_SIM_PLATFORM_H)
#define RANDOM_MODEL 1
static struct {
	uint8_t radio;              /* the device's Wi-Fi is on */
	uint8_t entropyAvailable;   /* bootloader_random_enable() may be used */
	uint8_t entropyOn;
	uint32_t radioFills, entropyFills, refusedFills, entropyEnabled;
} gModel = { 0, 1, 0, 0, 0, 0, 0 };
#endif

static const char *trueSource(void)
{
#if RANDOM_MODEL
	if (gModel.entropyOn)
		return "entropy";
	if (gModel.radio)
		return "radio";
	return NULL;
#else
	return "kernel";
#endif
}

/* xs_random_source() -> "kernel" (lin), or in the host's model "radio" | "entropy" | "none" */
void xs_random_source(xsMachine *the)
{
	const char *source = trueSource();
	xsmcSetString(xsResult, (char *)(source ? source : "none"));
}

/* xs_random_entropy(on) -> whether the internal entropy source is on now */
void xs_random_entropy(xsMachine *the)
{
#if RANDOM_MODEL
	int on = xsmcTest(xsArg(0));
	/* As on the device: never while the radio is on, and only where it exists. */
	if (on && !gModel.entropyOn && !gModel.radio && gModel.entropyAvailable) {
		gModel.entropyOn = 1;
		gModel.entropyEnabled++;
	}
	else if (!on)
		gModel.entropyOn = 0;
	xsmcSetBoolean(xsResult, gModel.entropyOn);
#else
	xsmcSetBoolean(xsResult, 0);	/* none to turn on: the kernel's is always true random */
#endif
}

/* xs_random_fill(buffer): fills an ArrayBuffer or typed array in place. */
void xs_random_fill(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	const char *source = trueSource();
#if RANDOM_MODEL
	if (!source) {
		gModel.refusedFills++;
		xsUnknownError("random: no true random source is on (the radio is off and the entropy source is not enabled)");
	}
	if (gModel.entropyOn)
		gModel.entropyFills++;
	else
		gModel.radioFills++;
#else
	(void)source;
#endif
	uint8_t *cursor = data;
	while (length > 0) {
		ssize_t count = getrandom(cursor, length, 0);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			xsUnknownError("random: getrandom failed");
		}
		cursor += count;
		length -= (xsUnsignedValue)count;
	}
}

#if RANDOM_MODEL
/* xs_random_model([settings]) -> the model's state and counters. Tests
 * only: settings may set radio and entropyAvailable (booleans). */
void xs_random_model(xsMachine *the)
{
	xsmcVars(1);
	if ((xsmcArgc > 0) && xsmcTest(xsArg(0))) {
		if (xsmcHas(xsArg(0), xsID("radio"))) {
			xsmcGet(xsVar(0), xsArg(0), xsID("radio"));
			gModel.radio = xsmcTest(xsVar(0)) ? 1 : 0;
			if (gModel.radio)
				gModel.entropyOn = 0;	/* the device turns it off before Wi-Fi starts */
		}
		if (xsmcHas(xsArg(0), xsID("entropyAvailable"))) {
			xsmcGet(xsVar(0), xsArg(0), xsID("entropyAvailable"));
			gModel.entropyAvailable = xsmcTest(xsVar(0)) ? 1 : 0;
		}
	}
	xsmcSetNewObject(xsResult);
	xsmcSetBoolean(xsVar(0), gModel.radio);
	xsmcSet(xsResult, xsID("radio"), xsVar(0));
	xsmcSetBoolean(xsVar(0), gModel.entropyAvailable);
	xsmcSet(xsResult, xsID("entropyAvailable"), xsVar(0));
	xsmcSetBoolean(xsVar(0), gModel.entropyOn);
	xsmcSet(xsResult, xsID("entropyOn"), xsVar(0));
	xsmcSetInteger(xsVar(0), (xsIntegerValue)gModel.radioFills);
	xsmcSet(xsResult, xsID("radioFills"), xsVar(0));
	xsmcSetInteger(xsVar(0), (xsIntegerValue)gModel.entropyFills);
	xsmcSet(xsResult, xsID("entropyFills"), xsVar(0));
	xsmcSetInteger(xsVar(0), (xsIntegerValue)gModel.refusedFills);
	xsmcSet(xsResult, xsID("refusedFills"), xsVar(0));
	xsmcSetInteger(xsVar(0), (xsIntegerValue)gModel.entropyEnabled);
	xsmcSet(xsResult, xsID("entropyEnabled"), xsVar(0));
}
#endif
