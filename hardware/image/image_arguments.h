/*
 * Argument checks shared by every platform's image codec (libjpeg/image.c,
 * esp32/image.c). image.ts checks the same things first; the C side never
 * trusts it.
 */
#ifndef IMAGE_ARGUMENTS_H
#define IMAGE_ARGUMENTS_H

#include "xsmc.h"

static inline int isByteBuffer(xsMachine *the, xsSlot *slot)
{
	return (xsmcTypeOf(*slot) == xsReferenceType)
		&& (xsmcIsInstanceOf(*slot, xsArrayBufferPrototype) || xsmcIsInstanceOf(*slot, xsTypedArrayPrototype));
}

/* An integer from low to high, or a TypeError / RangeError naming `what`. */
static inline int integerArgument(xsMachine *the, xsSlot *slot, int low, int high, const char *what)
{
	if (xsmcTypeOf(*slot) == xsIntegerType) {
		int value = xsmcToInteger(*slot);
		if ((value >= low) && (value <= high))
			return value;
	}
	else if (xsmcTypeOf(*slot) == xsNumberType) {
		double value = xsmcToNumber(*slot);
		if ((value >= low) && (value <= high) && (value == (double)(int)value))
			return (int)value;
	}
	else
		xsTypeError("image: %s must be a number", what);
	xsRangeError("image: %s must be an integer from %d to %d", what, low, high);
	return 0;
}

#endif
