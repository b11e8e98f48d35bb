/*
 * The platform-neutral half of hardware/image: argument checks, size limits
 * and the JPEG frame-header reader, shared by every platform's codec so that
 * bad input is refused the same way (and before any native code or large
 * allocation) on the device, on lin and in the simulator host.
 */

/*
 * The API's types, here so every platform's codec can import and re-export
 * them: under mcconfig "hardware/image" names the implementation itself.
 * The contract (image.d.ts) re-exports them too.
 */
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

/**
 * Neither side of a stored image may exceed this: 4096 × 4096 × 3 bytes is
 * already 48 MB decoded, more than the device's PSRAM, so anything larger is
 * an attack or a mistake, not a camera frame.
 */
export const maxImageSide = 4096;

export type Scale = 1 | 2 | 4 | 8;

export interface FrameHeader {
	readonly width: number;
	readonly height: number;
	/** The start-of-frame marker's second byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive... */
	readonly marker: number;
	readonly components: number;
}

/** `jpeg` as a byte view (an ArrayBuffer is wrapped; a Uint8Array keeps its byteOffset). */
export function jpegBytes(jpeg: ArrayBuffer | Uint8Array, where: string): Uint8Array {
	if (jpeg instanceof Uint8Array)
		return jpeg;
	if (jpeg instanceof ArrayBuffer)
		return new Uint8Array(jpeg);
	throw new TypeError(`image: ${where}: jpeg must be an ArrayBuffer or a Uint8Array`);
}

export function checkScale(options: DecodeOptions | undefined): Scale {
	if (options === undefined)
		return 1;
	if ((typeof options !== "object") || (options === null))
		throw new TypeError("image: decodeJpeg: options must be an object");
	const scale = options.scale ?? 1;
	if ((scale !== 1) && (scale !== 2) && (scale !== 4) && (scale !== 8))
		throw new RangeError(`image: decodeJpeg: scale must be 1, 2, 4 or 8, not ${String(scale)}`);
	return scale;
}

/** The decoded size at 1/scale: what a DCT-domain scaled decoder produces (rounded up). */
export function scaledSize(width: number, height: number, scale: Scale): { width: number; height: number } {
	return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

export function checkPixels(pixels: Pixels, where: string): void {
	if ((typeof pixels !== "object") || (pixels === null))
		throw new TypeError(`image: ${where}: pixels must be an object { width, height, data }`);
	const { width, height, data } = pixels;
	checkSide(width, "width", where);
	checkSide(height, "height", where);
	if (!(data instanceof Uint8Array))
		throw new TypeError(`image: ${where}: pixels.data must be a Uint8Array`);
	if (data.length !== width * height * 3)
		throw new RangeError(`image: ${where}: pixels.data must be width * height * 3 = ${width * height * 3} bytes, not ${data.length}`);
}

function checkSide(value: unknown, name: string, where: string): void {
	if (typeof value !== "number")
		throw new TypeError(`image: ${where}: ${name} must be a number`);
	if (!Number.isInteger(value) || (value < 1) || (value > maxImageSide))
		throw new RangeError(`image: ${where}: ${name} must be an integer from 1 to ${maxImageSide}, not ${value}`);
}

export function checkQuality(quality: unknown): number {
	if (typeof quality !== "number")
		throw new TypeError("image: encodeJpeg: quality must be a number");
	if (!Number.isInteger(quality) || (quality < 1) || (quality > 100))
		throw new RangeError(`image: encodeJpeg: quality must be an integer from 1 to 100, not ${quality}`);
	return quality;
}

/* Start-of-frame markers (ITU T.81 table B.1): C4 (DHT), C8 (JPG) and CC (DAC) sit in the range but are not frames. */
function isFrameMarker(marker: number): boolean {
	return (marker >= 0xC0) && (marker <= 0xCF) && (marker !== 0xC4) && (marker !== 0xC8) && (marker !== 0xCC);
}

function truncated(at: number): Error {
	return new Error(`image: corrupt JPEG: truncated at byte ${at}, before the frame header`);
}

/**
 * Walks the marker segments from SOI to the first start-of-frame. Every
 * read is bounds-checked: a truncated or garbage header throws, never reads
 * past the end. The size is not limited here (jpegSize reports any size);
 * decoders call checkDecodable before allocating.
 */
export function readFrameHeader(bytes: Uint8Array): FrameHeader {
	const length = bytes.length;
	if (length === 0)
		throw new Error("image: corrupt JPEG: empty data");
	if ((length < 2) || (bytes[0] !== 0xFF) || (bytes[1] !== 0xD8))
		throw new Error("image: corrupt JPEG: not a JPEG (no start-of-image marker)");
	let at = 2;
	for (;;) {
		if (at >= length)
			throw truncated(at);
		if (bytes[at] !== 0xFF)
			throw new Error(`image: corrupt JPEG: expected a marker at byte ${at}, found 0x${bytes[at].toString(16)}`);
		// Any number of 0xFF fill bytes may precede a marker (T.81 B.1.1.2).
		while ((at < length) && (bytes[at] === 0xFF))
			at++;
		if (at >= length)
			throw truncated(at);
		const marker = bytes[at++];
		if ((marker === 0x01) || ((marker >= 0xD0) && (marker <= 0xD7)))
			continue; // TEM and RSTn stand alone, with no length
		if ((marker === 0xDA) || (marker === 0xD9))
			throw new Error("image: corrupt JPEG: no frame header before the image data");
		if ((marker === 0x00) || (marker === 0xD8))
			throw new Error(`image: corrupt JPEG: unexpected marker 0xFF${marker.toString(16).toUpperCase()} at byte ${at - 1}`);
		if (at + 2 > length)
			throw truncated(at);
		const segmentLength = (bytes[at] << 8) | bytes[at + 1];
		if (segmentLength < 2)
			throw new Error(`image: corrupt JPEG: segment length ${segmentLength} at byte ${at}`);
		if (isFrameMarker(marker)) {
			// length(2) precision(1) height(2) width(2) components(1)
			if ((segmentLength < 8) || (at + 8 > length))
				throw truncated(at);
			const height = (bytes[at + 3] << 8) | bytes[at + 4];
			const width = (bytes[at + 5] << 8) | bytes[at + 6];
			const components = bytes[at + 7];
			if ((width === 0) || (height === 0))
				throw new Error(`image: corrupt JPEG: the frame header gives a ${width} × ${height} image (a height from a DNL marker is not supported)`);
			return { width, height, marker, components };
		}
		at += segmentLength;
	}
}

/** Refuses, before anything is allocated, a frame larger than the codecs accept. */
export function checkDecodable(frame: FrameHeader): void {
	if ((frame.width > maxImageSide) || (frame.height > maxImageSide))
		throw new RangeError(`image: the JPEG is ${frame.width} × ${frame.height}, larger than the ${maxImageSide} × ${maxImageSide} limit`);
}

/** The stored size, read from the JPEG's frame header without decoding. */
export function jpegSize(jpeg: ArrayBuffer | Uint8Array): { width: number; height: number } {
	const { width, height } = readFrameHeader(jpegBytes(jpeg, "jpegSize"));
	return { width, height };
}

function decodeNative(jpeg: Uint8Array, scale: number, pixels: Uint8Array): void {
	native("xs_image_decode").call(undefined, jpeg, scale, pixels);
}

function encodeNative(data: Uint8Array, width: number, height: number, quality: number): ArrayBuffer {
	return native("xs_image_encode").call(undefined, data, width, height, quality);
}

/**
 * Decodes with the platform's native xs_image_decode (every platform has
 * one, image.c beside its image.ts), after the checks all platforms make and
 * the platform's own (`check`, for what its decoder cannot read). The pixels
 * are allocated here at their final size; the decoder writes into them.
 */
export function decodeJpegChecked(jpeg: ArrayBuffer | Uint8Array, options: DecodeOptions | undefined, check?: (bytes: Uint8Array, frame: FrameHeader) => void): Pixels {
	const bytes = jpegBytes(jpeg, "decodeJpeg");
	const scale = checkScale(options);
	const frame = readFrameHeader(bytes);
	checkDecodable(frame);
	check?.(bytes, frame);
	const { width, height } = scaledSize(frame.width, frame.height, scale);
	const data = new Uint8Array(width * height * 3);
	decodeNative(bytes, scale, data);
	return { width, height, data };
}

/** Encodes with the platform's native xs_image_encode. */
export function encodeJpeg(pixels: Pixels, quality: number): ArrayBuffer {
	checkPixels(pixels, "encodeJpeg");
	return encodeNative(pixels.data, pixels.width, pixels.height, checkQuality(quality));
}
