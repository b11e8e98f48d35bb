/*
 * The model's input, prepared as MediaPipe's ImageToTensorCalculator does for
 * BlazeFace: the whole frame, aspect ratio kept, centred in the model's square
 * and padded with black (letterbox), sampled bilinearly, then each channel
 * mapped to [-1, 1] as v = p / 127.5 - 1 (and quantized for an int8 input).
 *
 * The types are structural copies of hardware/image's Pixels and
 * hardware/inference's TensorInfo, so this module has no hardware dependency
 * and runs unchanged on Node (the model tools import it) and on XS.
 *
 * Shrinking by more than 2x averages the source pixels each model pixel
 * covers (bilinear sampling alone would skip pixels and alias). The detector
 * avoids that slower path: it decodes the JPEG at a DCT scale that keeps the
 * shrink at or below 2x.
 */

export interface Pixels {
	readonly width: number;
	readonly height: number;
	/** width * height * 3 bytes, R, G, B, row-major, top row first. */
	readonly data: Uint8Array;
}

/** A rectangle of the frame, in frame pixels. */
export interface Region {
	readonly x: number;
	readonly y: number;
	readonly width: number;
	readonly height: number;
}

export interface InputTensor {
	/** [1, height, width, 3] */
	readonly shape: readonly number[];
	readonly type: "float32" | "int8";
	readonly scale: number;
	readonly zeroPoint: number;
}

/**
 * Where the frame sits inside the model's input. The model's coordinates are
 * normalized to its input (0..1 across the square, padding included); the
 * frame's are pixels.
 */
export class Letterbox {
	readonly frameWidth: number;
	readonly frameHeight: number;
	readonly inputWidth: number;
	readonly inputHeight: number;
	/** The frame region, in frame pixels, that the whole model input covers (it extends past the frame where there is padding). */
	readonly regionX: number;
	readonly regionY: number;
	readonly regionWidth: number;
	readonly regionHeight: number;

	/** `part`: the part of the frame the model sees (a close-up), the whole frame by default. */
	constructor(frameWidth: number, frameHeight: number, inputWidth: number, inputHeight: number, part?: Region) {
		for (const [name, value] of [["frame width", frameWidth], ["frame height", frameHeight], ["input width", inputWidth], ["input height", inputHeight]] as const) {
			if (!Number.isInteger(value) || value < 1)
				throw new RangeError(`letterbox: the ${name} must be a positive integer, not ${value}`);
		}
		const { x, y, width, height } = part ?? { x: 0, y: 0, width: frameWidth, height: frameHeight };
		if (!(width > 0 && height > 0 && Number.isFinite(x) && Number.isFinite(y)))
			throw new RangeError(`letterbox: the part of the frame must have a positive size, not ${width}x${height}`);
		this.frameWidth = frameWidth;
		this.frameHeight = frameHeight;
		this.inputWidth = inputWidth;
		this.inputHeight = inputHeight;
		// Frame pixels per model pixel: the larger ratio, so the whole part fits.
		const step = Math.max(width / inputWidth, height / inputHeight);
		this.regionWidth = inputWidth * step;
		this.regionHeight = inputHeight * step;
		this.regionX = x + ((width - this.regionWidth) / 2);
		this.regionY = y + ((height - this.regionHeight) / 2);
	}

	/** Frame pixels per model input pixel. */
	get step(): number {
		return this.regionWidth / this.inputWidth;
	}

	toFrameX(normalizedX: number): number {
		return this.regionX + normalizedX * this.regionWidth;
	}

	toFrameY(normalizedY: number): number {
		return this.regionY + normalizedY * this.regionHeight;
	}

	toFrameWidth(normalizedWidth: number): number {
		return normalizedWidth * this.regionWidth;
	}

	toFrameHeight(normalizedHeight: number): number {
		return normalizedHeight * this.regionHeight;
	}

	toModelX(frameX: number): number {
		return (frameX - this.regionX) / this.regionWidth;
	}

	toModelY(frameY: number): number {
		return (frameY - this.regionY) / this.regionHeight;
	}
}
Object.freeze(Letterbox.prototype);

export function checkPixels(pixels: Pixels, who: string): void {
	const { width, height, data } = pixels ?? {};
	if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
		throw new RangeError(`${who}: the image size must be positive integers, not ${width}x${height}`);
	if (!(data instanceof Uint8Array) || data.length < width * height * 3)
		throw new RangeError(`${who}: the pixels must be a Uint8Array of ${width * height * 3} bytes (RGB888)`);
}

/** The model input's height and width, checked to be an RGB image tensor. */
export function inputSize(input: InputTensor): { width: number; height: number } {
	const shape = input?.shape;
	if (!shape || shape.length !== 4 || shape[0] !== 1 || shape[3] !== 3 || !(shape[1] >= 1) || !(shape[2] >= 1))
		throw new RangeError(`prepareInput: the model input must be [1, height, width, 3], not [${shape}]`);
	if (input.type !== "float32" && input.type !== "int8")
		throw new RangeError(`prepareInput: the model input type ${input.type} is not supported`);
	if (input.type === "int8" && !(input.scale > 0 && Number.isFinite(input.scale) && Number.isInteger(input.zeroPoint)))
		throw new RangeError(`prepareInput: an int8 input needs a positive scale and an integer zero point`);
	return { width: shape[2], height: shape[1] };
}

/** Round half away from zero, as TFLite quantizes. */
function roundHalfAway(value: number): number {
	return value < 0 ? Math.ceil(value - 0.5) : Math.floor(value + 0.5);
}

/** To int8: rounded half away from zero, saturated. */
function quantize(value: number): number {
	const rounded = roundHalfAway(value);
	return rounded < -128 ? -128 : rounded > 127 ? 127 : rounded;
}

/**
 * Fills `output` (or a new array) with the letterboxed, normalized frame,
 * or with the `part` of it given (what lies outside the frame is padding).
 * `output` lets the detector reuse one buffer across frames: the float input
 * of the full-range model is 432 KiB.
 */
export function prepareInput(pixels: Pixels, input: InputTensor, output?: Float32Array | Int8Array, part?: Region): { data: Float32Array | Int8Array; letterbox: Letterbox } {
	const steps = prepareInputInBands(pixels, input, output, part, 0);
	let step = steps.next();
	while (!step.done)
		step = steps.next();
	return step.value;
}

/**
 * prepareInput in bands of `rows` model rows (0: all at once), yielding
 * between two bands: the detector hands the event loop back there, since
 * in XS this loop takes as long as a third of an inference (37 ms of 125 ms
 * for the full-range model in the simulator host).
 */
export function* prepareInputInBands(pixels: Pixels, input: InputTensor, output: Float32Array | Int8Array | undefined, part: Region | undefined, rows: number): Generator<undefined, { data: Float32Array | Int8Array; letterbox: Letterbox }, undefined> {
	checkPixels(pixels, "prepareInput");
	const { width, height } = inputSize(input);
	const count = width * height * 3;
	const quantized = input.type === "int8";
	let data: Float32Array | Int8Array;
	if (output) {
		if ((quantized ? !(output instanceof Int8Array) : !(output instanceof Float32Array)) || output.length !== count)
			throw new RangeError(`prepareInput: the output must be ${quantized ? "an Int8Array" : "a Float32Array"} of ${count} elements`);
		data = output;
	}
	else
		data = quantized ? new Int8Array(count) : new Float32Array(count);

	const letterbox = new Letterbox(pixels.width, pixels.height, width, height, part);
	const step = letterbox.step;
	// Mapping a channel value p (0..255, fractional after sampling) straight to
	// what the tensor stores: v = p / 127.5 - 1, then q = v / scale + zeroPoint.
	const gain = quantized ? 1 / (127.5 * input.scale) : 1 / 127.5;
	const offset = quantized ? -1 / input.scale + input.zeroPoint : -1;
	const padding = quantized ? quantize(offset) : -1;
	const source = pixels.data, rowBytes = pixels.width * 3;
	// Per model column, once per frame (XS pays for every operation in the
	// inner loop): the byte offsets of the two frame columns it samples and
	// the right one's weight; -1 for a padding column.
	const left = new Int32Array(width), right = new Int32Array(width), weight = new Float32Array(width);
	for (let column = 0; column < width; column++) {
		const centre = letterbox.regionX + (column + 0.5) * step;
		if (centre < 0 || centre >= pixels.width) {
			left[column] = -1;
			continue;
		}
		const x = Math.min(Math.max(centre - 0.5, 0), pixels.width - 1), x0 = Math.floor(x);
		left[column] = x0 * 3;
		right[column] = Math.min(x0 + 1, pixels.width - 1) * 3;
		weight[column] = x - x0;
	}
	const rgb = new Float32Array(3);

	let at = 0;
	for (let row = 0; row < height; row++) {
		if (rows && row && !(row % rows))
			yield;
		const centreY = letterbox.regionY + (row + 0.5) * step;
		if (centreY < 0 || centreY >= pixels.height) {
			data.fill(padding, at, at + width * 3);
			at += width * 3;
			continue;
		}
		const y = Math.min(Math.max(centreY - 0.5, 0), pixels.height - 1), y0 = Math.floor(y);
		const top = y0 * rowBytes, bottom = Math.min(y0 + 1, pixels.height - 1) * rowBytes, fy = y - y0;
		for (let column = 0; column < width; column++, at += 3) {
			const x0 = left[column];
			if (x0 < 0) {
				data[at] = data[at + 1] = data[at + 2] = padding;
				continue;
			}
			let r: number, g: number, b: number;
			if (step > 2) {
				sampleAverage(pixels, letterbox.regionX + (column + 0.5) * step, centreY, step, rgb);
				r = rgb[0];
				g = rgb[1];
				b = rgb[2];
			}
			else {
				// Unrolled over R, G, B: a loop costs XS more than the arithmetic.
				const x1 = right[column], fx = weight[column];
				const a = top + x0, c = bottom + x0, ab = top + x1, cd = bottom + x1;
				let upper = source[a] + (source[ab] - source[a]) * fx;
				r = upper + (source[c] + (source[cd] - source[c]) * fx - upper) * fy;
				upper = source[a + 1] + (source[ab + 1] - source[a + 1]) * fx;
				g = upper + (source[c + 1] + (source[cd + 1] - source[c + 1]) * fx - upper) * fy;
				upper = source[a + 2] + (source[ab + 2] - source[a + 2]) * fx;
				b = upper + (source[c + 2] + (source[cd + 2] - source[c + 2]) * fx - upper) * fy;
			}
			if (quantized) {
				data[at] = quantize(r * gain + offset);
				data[at + 1] = quantize(g * gain + offset);
				data[at + 2] = quantize(b * gain + offset);
			}
			else {
				data[at] = r * gain + offset;
				data[at + 1] = g * gain + offset;
				data[at + 2] = b * gain + offset;
			}
		}
	}
	return { data, letterbox };
}

/** The mean of the frame pixels whose centres fall in the model pixel's footprint (a step x step square). */
function sampleAverage(pixels: Pixels, centreX: number, centreY: number, step: number, rgb: Float32Array): void {
	const { width, height, data } = pixels;
	const half = step / 2;
	const left = Math.max(0, Math.round(centreX - half)), right = Math.min(width, Math.round(centreX + half));
	const top = Math.max(0, Math.round(centreY - half)), bottom = Math.min(height, Math.round(centreY + half));
	let r = 0, g = 0, b = 0;
	for (let y = top; y < bottom; y++) {
		for (let at = (y * width + left) * 3, end = (y * width + right) * 3; at < end; at += 3) {
			r += data[at];
			g += data[at + 1];
			b += data[at + 2];
		}
	}
	const count = (right - left) * (bottom - top);
	rgb[0] = r / count;
	rgb[1] = g / count;
	rgb[2] = b / count;
}

/**
 * The largest DCT scale (8, 4, 2, else 1) at which the decoded frame still
 * spans the model's input on its long side (letterboxed, the side that sets
 * the scale): no upsampling, and less than 2x of shrinking left to do.
 */
export function decodeScale(frame: { width: number; height: number }, input: { width: number; height: number }): 1 | 2 | 4 | 8 {
	for (const scale of [8, 4, 2] as const) {
		// libjpeg and esp_jpeg round a scaled dimension up.
		if (Math.max(Math.ceil(frame.width / scale) / input.width, Math.ceil(frame.height / scale) / input.height) >= 1)
			return scale;
	}
	return 1;
}

/**
 * RGB565 (as the camera can deliver it) to RGB888, each channel's top bits
 * repeated into its low bits so 0 stays 0 and full scale becomes 255.
 */
export function pixelsFromRgb565(buffer: ArrayBuffer | Uint8Array, width: number, height: number, bigEndian: boolean): Pixels {
	if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
		throw new RangeError(`pixelsFromRgb565: the size must be positive integers, not ${width}x${height}`);
	const source = buffer instanceof Uint8Array ? buffer : buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : undefined;
	if (!source)
		throw new RangeError("pixelsFromRgb565: the buffer must be an ArrayBuffer or a Uint8Array");
	const count = width * height;
	if (source.length < count * 2)
		throw new RangeError(`pixelsFromRgb565: ${width}x${height} needs ${count * 2} bytes, not ${source.length}`);
	const data = new Uint8Array(count * 3);
	const high = bigEndian ? 0 : 1;
	for (let index = 0, from = 0, to = 0; index < count; index++, from += 2, to += 3) {
		const value = (source[from + high] << 8) | source[from + 1 - high];
		const r = value >> 11, g = (value >> 5) & 0x3F, b = value & 0x1F;
		data[to] = (r << 3) | (r >> 2);
		data[to + 1] = (g << 2) | (g >> 4);
		data[to + 2] = (b << 3) | (b >> 2);
	}
	return { width, height, data };
}
