/*
 * Still-image codecs, native on every platform: the device's use the JPEG
 * decoder and encoder that esp32-camera ships (esp32/); the simulator host
 * and lin use libjpeg-turbo (libjpeg/). Pixels are RGB888, row-major, top
 * row first. A corrupt or truncated JPEG throws; it never crashes.
 */
declare module "hardware/image" {
	export interface Pixels {
		readonly width: number;
		readonly height: number;
		/** width * height * 3 bytes, R, G, B. */
		readonly data: Uint8Array;
	}

	export interface DecodeOptions {
		/** Decode at 1/scale of the stored size, in the decoder's DCT domain: cheap. Default 1. */
		scale?: 1 | 2 | 4 | 8;
	}

	export function decodeJpeg(jpeg: ArrayBuffer | Uint8Array, options?: DecodeOptions): Pixels;
	/** The stored size, read from the JPEG's frame header without decoding. */
	export function jpegSize(jpeg: ArrayBuffer | Uint8Array): { width: number; height: number };
	/** quality: 1..100. */
	export function encodeJpeg(pixels: Pixels, quality: number): ArrayBuffer;
}
