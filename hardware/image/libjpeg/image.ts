/*
 * JPEG codecs over libjpeg-turbo (image.c), for the simulator host and
 * Moddable's lin. Arguments and the frame header are checked here first
 * (common.ts), so the pixels can be allocated in JavaScript at their final
 * size and the native decoder writes straight into them; the C side checks
 * everything again and never trusts this file.
 */
import type { DecodeOptions, Pixels } from "hardware/image/common";
import { checkDecodable, checkPixels, checkQuality, checkScale, jpegBytes, readFrameHeader, scaledSize } from "hardware/image/common";

export { jpegSize } from "hardware/image/common";
export type { DecodeOptions, Pixels } from "hardware/image/common";

function decodeNative(jpeg: Uint8Array, scale: number, pixels: Uint8Array): void {
	native("xs_image_decode").call(undefined, jpeg, scale, pixels);
}

function encodeNative(data: Uint8Array, width: number, height: number, quality: number): ArrayBuffer {
	return native("xs_image_encode").call(undefined, data, width, height, quality);
}

export function decodeJpeg(jpeg: ArrayBuffer | Uint8Array, options?: DecodeOptions): Pixels {
	const bytes = jpegBytes(jpeg, "decodeJpeg");
	const scale = checkScale(options);
	const frame = readFrameHeader(bytes);
	checkDecodable(frame);
	const { width, height } = scaledSize(frame.width, frame.height, scale);
	const data = new Uint8Array(width * height * 3);
	decodeNative(bytes, scale, data);
	return { width, height, data };
}

export function encodeJpeg(pixels: Pixels, quality: number): ArrayBuffer {
	checkPixels(pixels, "encodeJpeg");
	return encodeNative(pixels.data, pixels.width, pixels.height, checkQuality(quality));
}
