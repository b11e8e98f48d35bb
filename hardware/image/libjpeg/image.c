/*
 * JPEG decode and encode with libjpeg-turbo (Debian's libjpeg62-turbo-dev),
 * for the simulator host and Moddable's lin.
 *
 * libjpeg reports a fatal error by calling error_exit, whose default prints
 * and calls exit(): that would kill the whole firmware on one bad frame.
 * Here error_exit formats libjpeg's message and longjmps back to the
 * function that started the work, which destroys the codec (freeing every
 * libjpeg allocation) and only then raises the JavaScript exception. No XS
 * call is made while a codec exists, so an XS exception can never skip the
 * cleanup, and no pointer into an XS buffer is held across an XS allocation.
 *
 * A truncated file is only a warning to libjpeg (it pads the image with
 * grey and carries on); here a premature end is an error, because a half
 * frame must not reach the face detector as if it were a whole one. Other
 * warnings (stray bytes before a marker, which some cameras write) are
 * tolerated, as browsers do.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "xsmc.h"
#include "../image_arguments.h"

typedef struct {
	struct jpeg_error_mgr manager;	/* first: libjpeg sees only this part */
	jmp_buf escape;
	char message[JMSG_LENGTH_MAX];
} ImageError;

typedef enum {
	kImageDone = 0,
	kImageCorrupt,		/* message holds libjpeg's reason */
	kImageTooLarge,
	kImageWrongOutput,	/* the caller's pixel buffer does not fit the decoded size */
} ImageStatus;

static void imageErrorExit(j_common_ptr codec)
{
	ImageError *error = (ImageError *)codec->err;
	(*codec->err->format_message)(codec, error->message);
	longjmp(error->escape, 1);
}

static void imageEmitMessage(j_common_ptr codec, int level)
{
	if (level >= 0)
		return;	/* trace messages */
	if (codec->err->msg_code == JWRN_JPEG_EOF)
		imageErrorExit(codec);
	codec->err->num_warnings++;
}

static void imageOutputMessage(j_common_ptr codec)
{
	(void)codec;	/* never print to stderr from the firmware */
}

static struct jpeg_error_mgr *imageErrorInit(ImageError *error)
{
	jpeg_std_error(&error->manager);
	error->manager.error_exit = imageErrorExit;
	error->manager.emit_message = imageEmitMessage;
	error->manager.output_message = imageOutputMessage;
	error->message[0] = 0;
	return &error->manager;
}

/* Decodes `jpeg` at 1/scale into `out`, which must be exactly the decoded
 * width * height * 3 bytes. On kImageCorrupt, error->message says why. */
static ImageStatus imageDecode(const uint8_t *jpeg, size_t length, int scale, uint8_t *out, size_t outLength, ImageError *error)
{
	struct jpeg_decompress_struct codec;
	memset(&codec, 0, sizeof(codec));
	codec.err = imageErrorInit(error);
	if (setjmp(error->escape)) {
		jpeg_destroy_decompress(&codec);
		return kImageCorrupt;
	}
	jpeg_create_decompress(&codec);
	jpeg_mem_src(&codec, jpeg, (unsigned long)length);
	jpeg_read_header(&codec, TRUE);
	if ((codec.image_width > IMAGE_MAX_SIDE) || (codec.image_height > IMAGE_MAX_SIDE)) {
		jpeg_destroy_decompress(&codec);
		return kImageTooLarge;
	}
	codec.out_color_space = JCS_RGB;
	codec.scale_num = 1;
	codec.scale_denom = (unsigned int)scale;
	jpeg_calc_output_dimensions(&codec);
	if ((codec.output_components != 3) || ((size_t)codec.output_width * codec.output_height * 3 != outLength)) {
		jpeg_destroy_decompress(&codec);
		return kImageWrongOutput;
	}
	jpeg_start_decompress(&codec);
	const size_t stride = (size_t)codec.output_width * 3;
	while (codec.output_scanline < codec.output_height) {
		JSAMPROW row = out + (size_t)codec.output_scanline * stride;
		if (jpeg_read_scanlines(&codec, &row, 1) != 1)
			ERREXIT(&codec, JERR_INPUT_EOF);	/* a suspending source only: cannot happen with jpeg_mem_src */
	}
	jpeg_finish_decompress(&codec);
	jpeg_destroy_decompress(&codec);
	return kImageDone;
}

/* A growing output buffer that we own, rather than libjpeg's memory
 * destination: that one frees and replaces its buffer as it grows but tells
 * the caller the new address only at the end, so after an error the caller
 * holds a freed pointer. */
typedef struct {
	struct jpeg_destination_mgr manager;
	unsigned char *buffer;
	size_t capacity;
} GrowingDestination;

enum { kInitialOutput = 16384 };

static void growingInit(j_compress_ptr codec)
{
	GrowingDestination *destination = (GrowingDestination *)codec->dest;
	destination->buffer = malloc(kInitialOutput);
	if (!destination->buffer)
		ERREXIT1(codec, JERR_OUT_OF_MEMORY, 0);
	destination->capacity = kInitialOutput;
	destination->manager.next_output_byte = destination->buffer;
	destination->manager.free_in_buffer = kInitialOutput;
}

static boolean growingEmpty(j_compress_ptr codec)
{
	GrowingDestination *destination = (GrowingDestination *)codec->dest;
	const size_t used = destination->capacity;
	unsigned char *larger = realloc(destination->buffer, used * 2);
	if (!larger)
		ERREXIT1(codec, JERR_OUT_OF_MEMORY, 1);
	destination->buffer = larger;
	destination->capacity = used * 2;
	destination->manager.next_output_byte = larger + used;
	destination->manager.free_in_buffer = used;
	return TRUE;
}

static void growingTerm(j_compress_ptr codec)
{
	(void)codec;
}

/* Encodes RGB888 pixels; *jpeg is malloc'd and the caller frees it. On
 * failure nothing is left allocated. */
static ImageStatus imageEncode(const uint8_t *pixels, int width, int height, int quality, ImageError *error, unsigned char **jpeg, unsigned long *jpegLength)
{
	struct jpeg_compress_struct codec;
	GrowingDestination destination;
	memset(&codec, 0, sizeof(codec));
	memset(&destination, 0, sizeof(destination));
	codec.err = imageErrorInit(error);
	*jpeg = NULL;
	*jpegLength = 0;
	if (setjmp(error->escape)) {
		jpeg_destroy_compress(&codec);
		free(destination.buffer);
		return kImageCorrupt;
	}
	jpeg_create_compress(&codec);
	destination.manager.init_destination = growingInit;
	destination.manager.empty_output_buffer = growingEmpty;
	destination.manager.term_destination = growingTerm;
	codec.dest = &destination.manager;
	codec.image_width = (JDIMENSION)width;
	codec.image_height = (JDIMENSION)height;
	codec.input_components = 3;
	codec.in_color_space = JCS_RGB;
	jpeg_set_defaults(&codec);
	jpeg_set_quality(&codec, quality, TRUE);
	jpeg_start_compress(&codec, TRUE);
	const size_t stride = (size_t)width * 3;
	while (codec.next_scanline < codec.image_height) {
		JSAMPROW row = (JSAMPROW)(pixels + (size_t)codec.next_scanline * stride);
		jpeg_write_scanlines(&codec, &row, 1);
	}
	jpeg_finish_compress(&codec);
	*jpeg = destination.buffer;
	*jpegLength = (unsigned long)(destination.capacity - destination.manager.free_in_buffer);
	jpeg_destroy_compress(&codec);
	return kImageDone;
}

/* xs_image_decode(jpeg, scale, pixels): decodes into pixels, a Uint8Array of the decoded size. */
void xs_image_decode(xsMachine *the)
{
	/* No XS allocation from here on: the pointers stay valid. */
	DecodeArguments arguments;
	decodeArguments(the, &arguments);

	ImageError error;
	switch (imageDecode(arguments.jpeg, arguments.length, arguments.scale, arguments.out, arguments.outLength, &error)) {
	case kImageDone:
		return;
	case kImageTooLarge:
		xsRangeError("image: the JPEG is larger than the %d x %d limit", IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
		break;
	case kImageWrongOutput:
		xsRangeError("image: pixels is %u bytes, not the decoded size (or the JPEG is not RGB-convertible)", (unsigned)arguments.outLength);
		break;
	case kImageCorrupt:
		xsUnknownError("image: corrupt JPEG: %s", error.message);
		break;
	}
}

/* xs_image_encode(data, width, height, quality): the JPEG, as an ArrayBuffer. */
void xs_image_encode(xsMachine *the)
{
	EncodeArguments arguments;
	encodeArguments(the, &arguments);

	ImageError error;
	unsigned char *jpeg;
	unsigned long jpegLength;
	if (imageEncode(arguments.pixels, arguments.width, arguments.height, arguments.quality, &error, &jpeg, &jpegLength) != kImageDone)
		xsUnknownError("image: cannot encode: %s", error.message);
	if (jpegLength > 0x7FFFFFF0ul) {
		free(jpeg);
		xsRangeError("image: the JPEG is too large for an ArrayBuffer");
	}
	/* The copy into XS may throw (out of memory): free libjpeg's buffer on both paths. */
	xsTry {
		xsmcSetArrayBuffer(xsResult, jpeg, (xsIntegerValue)jpegLength);
	}
	xsCatch {
		free(jpeg);
		xsThrow(xsException);
	}
	free(jpeg);
}
