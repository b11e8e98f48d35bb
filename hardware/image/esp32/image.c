/*
 * JPEG decode and encode on the device, with the codecs that Moddable's
 * camera module already links (modules/io/imagein/camera/manifest.json):
 *
 * - Decode: esp32-camera 2.x no longer exports a scaled jpg2rgb888 (it is
 *   static in to_bmp.c); it decodes through espressif/esp_jpeg (TJpgDec, in
 *   the ESP32-S3's ROM), which esp32-camera makes a public dependency. So
 *   this calls esp_jpeg_decode() itself, with the output buffer's real size
 *   (esp32-camera's wrappers pass UINT32_MAX, which would let a lying header
 *   write past the buffer), and a working buffer of our own.
 *   esp_jpeg's RGB888 is R, G, B with swap_color_bytes = 0 (its test data is
 *   PIL's RGB). Define IMAGE_ESP32_DECODER_BGR=1 if a bring-up check shows
 *   blue and red swapped (docs/porting.md).
 *   TJpgDec scales by whole MCUs and rounds the size down; the contract
 *   rounds up (libjpeg's DCT scaling). When a side is not a multiple of the
 *   scale, the decode goes to a PSRAM scratch buffer and the missing last
 *   column or row repeats its neighbour.
 * - Encode: fmt2jpg_cb (esp32-camera's JPEGENC) reads PIXFORMAT_RGB888 as
 *   B, G, R (camera order), so the pixels are swapped into a PSRAM copy
 *   first; the output grows in PSRAM through the callback (fmt2jpg's fixed
 *   128 KB buffer is too small for large frames).
 *
 * Arguments are checked in image.ts and again here. Neither library throws
 * or exits: they return an error code, and every buffer is freed before the
 * JavaScript exception is raised. No XS call is made while a pointer into an
 * XS buffer is in use. Not compiled in this repository's CI (no ESP-IDF).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "jpeg_decoder.h"
#include "img_converters.h"

#include "xsmc.h"
#include "../image_arguments.h"

/* TJpgDec's scratch: 3100 bytes suffice unless JD_FASTDECODE == 2 (esp_jpeg's README). */
#define IMAGE_DECODER_WORK_BYTES 3100

#ifndef IMAGE_ESP32_DECODER_BGR
#define IMAGE_ESP32_DECODER_BGR 0
#endif

static uint8_t gDecoderWork[IMAGE_DECODER_WORK_BYTES];

/* Large buffers belong in PSRAM; internal RAM only if there is no PSRAM. */
static void *imageAllocate(size_t size)
{
	void *buffer = heap_caps_malloc(size, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
	return buffer ? buffer : heap_caps_malloc(size, MALLOC_CAP_8BIT);
}

static esp_jpeg_image_scale_t decoderScale(int scale)
{
	switch (scale) {
	case 2: return JPEG_IMAGE_SCALE_1_2;
	case 4: return JPEG_IMAGE_SCALE_1_4;
	case 8: return JPEG_IMAGE_SCALE_1_8;
	default: return JPEG_IMAGE_SCALE_0;
	}
}

/* Copies a floor-sized decode into the ceil-sized output, repeating the last column and row. */
static void imagePad(const uint8_t *from, uint32_t fromWidth, uint32_t fromHeight, uint8_t *to, uint32_t toWidth, uint32_t toHeight)
{
	for (uint32_t y = 0; y < toHeight; y++) {
		const uint8_t *row = from + (size_t)((y < fromHeight) ? y : fromHeight - 1) * fromWidth * 3;
		uint8_t *out = to + (size_t)y * toWidth * 3;
		memcpy(out, row, (size_t)fromWidth * 3);
		for (uint32_t x = fromWidth; x < toWidth; x++)
			memcpy(out + (size_t)x * 3, row + (size_t)(fromWidth - 1) * 3, 3);
	}
}

/* xs_image_decode(jpeg, scale, pixels): decodes into pixels, a Uint8Array of the decoded size. */
void xs_image_decode(xsMachine *the)
{
	/* No XS allocation from here on: these pointers stay valid. */
	DecodeArguments arguments;
	decodeArguments(the, &arguments);
	void *jpeg = arguments.jpeg, *out = arguments.out;
	const xsUnsignedValue length = arguments.length, outLength = arguments.outLength;
	const int scale = arguments.scale;

	esp_jpeg_image_cfg_t config;
	memset(&config, 0, sizeof(config));
	config.indata = (uint8_t *)jpeg;
	config.indata_size = length;
	config.out_format = JPEG_IMAGE_FORMAT_RGB888;
	config.out_scale = decoderScale(scale);
	config.flags.swap_color_bytes = IMAGE_ESP32_DECODER_BGR;
	config.advanced.working_buffer = gDecoderWork;
	config.advanced.working_buffer_size = sizeof(gDecoderWork);
	esp_jpeg_image_output_t info;
	memset(&info, 0, sizeof(info));
	if (esp_jpeg_get_image_info(&config, &info) != ESP_OK)
		xsUnknownError("image: corrupt JPEG: the decoder cannot read its header");
	/* esp_jpeg_get_image_info reports the stored size. */
	uint32_t width = info.width, height = info.height;
	if ((width > IMAGE_MAX_SIDE) || (height > IMAGE_MAX_SIDE))
		xsRangeError("image: the JPEG is larger than the %d x %d limit", IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
	if ((width < (uint32_t)scale) || (height < (uint32_t)scale))
		xsRangeError("image: a %u x %u JPEG is too small to decode at 1/%d on the device", (unsigned)width, (unsigned)height, scale);
	uint32_t outWidth = (width + scale - 1) / scale, outHeight = (height + scale - 1) / scale;
	if ((size_t)outWidth * outHeight * 3 != outLength)
		xsRangeError("image: pixels is %u bytes, not the decoded size", (unsigned)outLength);
	uint32_t floorWidth = width / scale, floorHeight = height / scale;

	uint8_t *scratch = NULL;
	if ((floorWidth == outWidth) && (floorHeight == outHeight)) {
		config.outbuf = out;
		config.outbuf_size = outLength;
	}
	else {
		config.outbuf_size = floorWidth * floorHeight * 3;
		scratch = imageAllocate(config.outbuf_size);
		if (!scratch)
			xsUnknownError("image: out of memory for a %u-byte decode", (unsigned)config.outbuf_size);
		config.outbuf = scratch;
	}
	config.priv.read = 0;
	esp_err_t result = esp_jpeg_decode(&config, &info);
	/* TJpgDec fails (JDR_INP) when the data ends inside the scan; a skip past
	 * the end only shows in the read count. A cut just before the EOI marker
	 * decodes whole: image.ts refuses a JPEG without one. */
	int truncated = (result == ESP_OK) && (config.priv.read > config.indata_size);
	if ((result == ESP_OK) && !truncated && scratch)
		imagePad(scratch, floorWidth, floorHeight, out, outWidth, outHeight);
	if (scratch)
		heap_caps_free(scratch);
	if (truncated)
		xsUnknownError("image: corrupt JPEG: Premature end of JPEG file");
	if (result == ESP_ERR_NO_MEM)
		xsUnknownError("image: out of memory while decoding");
	if (result != ESP_OK)
		xsUnknownError("image: corrupt JPEG: the decoder failed (esp_err %d)", (int)result);
}

typedef struct {
	uint8_t *data;
	size_t length;
	size_t capacity;
	int failed;
} ImageOutput;

/* fmt2jpg_cb's writer: appends to a PSRAM buffer that doubles as it fills. */
static size_t imageWrite(void *context, size_t index, const void *data, size_t length)
{
	ImageOutput *output = context;
	if (output->failed || (index != output->length))
		return 0;
	if (output->length + length > output->capacity) {
		size_t capacity = output->capacity ? output->capacity : 16384;
		while (capacity < output->length + length)
			capacity *= 2;
		uint8_t *grown = heap_caps_realloc(output->data, capacity, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
		if (!grown)
			grown = heap_caps_realloc(output->data, capacity, MALLOC_CAP_8BIT);
		if (!grown) {
			output->failed = 1;
			return 0;
		}
		output->data = grown;
		output->capacity = capacity;
	}
	memcpy(output->data + output->length, data, length);
	output->length += length;
	return length;
}

/* xs_image_encode(data, width, height, quality): the JPEG, as an ArrayBuffer. */
void xs_image_encode(xsMachine *the)
{
	EncodeArguments arguments;
	encodeArguments(the, &arguments);
	const void *pixels = arguments.pixels;
	const int width = arguments.width, height = arguments.height, quality = arguments.quality;
	const size_t expected = arguments.length;

	uint8_t *bgr = imageAllocate(expected);
	if (!bgr)
		xsUnknownError("image: out of memory for a %u-byte encode", (unsigned)expected);
	const uint8_t *rgb = pixels;
	for (size_t i = 0; i < expected; i += 3) {
		bgr[i] = rgb[i + 2];
		bgr[i + 1] = rgb[i + 1];
		bgr[i + 2] = rgb[i];
	}
	ImageOutput output = { NULL, 0, 0, 0 };
	bool encoded = fmt2jpg_cb(bgr, expected, (uint16_t)width, (uint16_t)height, PIXFORMAT_RGB888, (uint8_t)quality, imageWrite, &output);
	heap_caps_free(bgr);
	if (!encoded || output.failed) {
		heap_caps_free(output.data);
		xsUnknownError(output.failed ? "image: out of memory while encoding" : "image: the encoder failed");
	}
	/* The copy into XS may throw (out of memory): free the PSRAM buffer on both paths. */
	xsTry {
		xsmcSetArrayBuffer(xsResult, output.data, (xsIntegerValue)output.length);
	}
	xsCatch {
		heap_caps_free(output.data);
		xsThrow(xsException);
	}
	heap_caps_free(output.data);
}
