/*
 * JPEG codecs over libjpeg-turbo (image.c), for the simulator host and
 * Moddable's lin. Arguments and the frame header are checked first
 * (common.ts), so the pixels can be allocated in JavaScript at their final
 * size and the native decoder writes straight into them; the C side checks
 * everything again and never trusts this file. libjpeg reads every JPEG a
 * camera makes, so there is nothing to add to the common checks.
 */
import type { DecodeOptions, Pixels } from "hardware/image/common";
import { decodeJpegChecked } from "hardware/image/common";

export { encodeJpeg, jpegSize } from "hardware/image/common";
export type { DecodeOptions, Pixels } from "hardware/image/common";

export function decodeJpeg(jpeg: ArrayBuffer | Uint8Array, options?: DecodeOptions): Pixels {
	return decodeJpegChecked(jpeg, options);
}
