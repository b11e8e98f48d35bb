/*
 * JPEG codecs on the device (image.c: esp_jpeg's TJpgDec to decode,
 * esp32-camera's encoder). Same checks as the libjpeg binding (common.ts),
 * plus what TJpgDec cannot do, refused here with a clear message rather than
 * left to the decoder: it reads baseline JPEGs only, and it never looks for
 * the end-of-image marker, so a frame cut short at its very end would pass
 * as whole. The pixels are allocated here at their final size and the
 * native decoder writes straight into them.
 */
import type { DecodeOptions, FrameHeader, Pixels } from "hardware/image/common";
import { decodeJpegChecked } from "hardware/image/common";

export { encodeJpeg, jpegSize } from "hardware/image/common";
export type { DecodeOptions, Pixels } from "hardware/image/common";

const baselineMarker = 0xC0;

/* esp32-camera may leave zero padding after the EOI marker of a frame: skip it. */
function endsWithEndOfImage(bytes: Uint8Array): boolean {
	let end = bytes.length;
	while ((end > 2) && (bytes[end - 1] === 0))
		end--;
	return (end >= 4) && (bytes[end - 2] === 0xFF) && (bytes[end - 1] === 0xD9);
}

/** What TJpgDec cannot read, refused before it is asked to. */
function checkForTJpgDec(bytes: Uint8Array, frame: FrameHeader): void {
	if (frame.marker !== baselineMarker)
		throw new RangeError(`image: the device decodes baseline JPEGs only, not frame type 0xFF${frame.marker.toString(16).toUpperCase()} (progressive or extended)`);
	if (!endsWithEndOfImage(bytes))
		throw new Error("image: corrupt JPEG: Premature end of JPEG file (no end-of-image marker)");
}

export function decodeJpeg(jpeg: ArrayBuffer | Uint8Array, options?: DecodeOptions): Pixels {
	return decodeJpegChecked(jpeg, options, checkForTJpgDec);
}
