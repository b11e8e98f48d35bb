/*
 * Argument checks shared by every platform's image codec (libjpeg/image.c,
 * esp32/image.c). image.ts checks the same things first; the C side never
 * trusts it.
 */
#ifndef IMAGE_ARGUMENTS_H
#define IMAGE_ARGUMENTS_H

#include <stddef.h>

#include "xsmc.h"

/* The same limit as maxImageSide in hardware/image/common.ts. */
#define IMAGE_MAX_SIDE 4096

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

/* xs_image_decode's arguments (jpeg, scale, pixels). The pointers stay valid
 * only until the caller's next XS allocation. */
typedef struct {
	void *jpeg;
	xsUnsignedValue length;
	void *out;
	xsUnsignedValue outLength;
	int scale;
} DecodeArguments;

static inline void decodeArguments(xsMachine *the, DecodeArguments *arguments)
{
	if (xsmcArgc < 3)
		xsTypeError("image: decode needs jpeg, scale and pixels");
	arguments->scale = integerArgument(the, &xsArg(1), 1, 8, "scale");
	if ((arguments->scale != 1) && (arguments->scale != 2) && (arguments->scale != 4) && (arguments->scale != 8))
		xsRangeError("image: scale must be 1, 2, 4 or 8");
	if (!isByteBuffer(the, &xsArg(0)))
		xsTypeError("image: jpeg must be an ArrayBuffer or a Uint8Array");
	if (!isByteBuffer(the, &xsArg(2)))
		xsTypeError("image: pixels must be a Uint8Array");
	xsmcGetBufferReadable(xsArg(0), &arguments->jpeg, &arguments->length);
	xsmcGetBufferWritable(xsArg(2), &arguments->out, &arguments->outLength);
	if (arguments->length == 0)
		xsUnknownError("image: corrupt JPEG: empty data");
}

/* xs_image_encode's arguments (data, width, height, quality); the same caveat. */
typedef struct {
	void *pixels;
	int width, height, quality;
	size_t length;
} EncodeArguments;

static inline void encodeArguments(xsMachine *the, EncodeArguments *arguments)
{
	xsUnsignedValue length;
	if (xsmcArgc < 4)
		xsTypeError("image: encode needs data, width, height and quality");
	arguments->width = integerArgument(the, &xsArg(1), 1, IMAGE_MAX_SIDE, "width");
	arguments->height = integerArgument(the, &xsArg(2), 1, IMAGE_MAX_SIDE, "height");
	arguments->quality = integerArgument(the, &xsArg(3), 1, 100, "quality");
	if (!isByteBuffer(the, &xsArg(0)))
		xsTypeError("image: data must be a Uint8Array");
	xsmcGetBufferReadable(xsArg(0), &arguments->pixels, &length);
	arguments->length = (size_t)arguments->width * arguments->height * 3;
	if ((size_t)length != arguments->length)
		xsRangeError("image: data is %u bytes, not width * height * 3 = %u", (unsigned)length, (unsigned)arguments->length);
}

#endif
