/*
 * Still-image codecs, native on every platform: the device's use the JPEG
 * decoder and encoder that esp32-camera ships (esp32/); the simulator host
 * and lin use libjpeg-turbo (libjpeg/). Pixels are RGB888, row-major, top
 * row first. A corrupt or truncated JPEG throws; it never crashes.
 */
declare module "hardware/image" {
	import type { DecodeOptions, Pixels } from "hardware/image/common";
	export type { DecodeOptions, Pixels } from "hardware/image/common";

	export function decodeJpeg(jpeg: ArrayBuffer | Uint8Array, options?: DecodeOptions): Pixels;
	/** The stored size, read from the JPEG's frame header without decoding. */
	export function jpegSize(jpeg: ArrayBuffer | Uint8Array): { width: number; height: number };
	/** quality: 1..100. */
	export function encodeJpeg(pixels: Pixels, quality: number): ArrayBuffer;
}
