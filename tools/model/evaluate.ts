/*
 * A plain float32 evaluator for the ops the face models use, written for
 * clarity over speed: the quantizer runs the float model on calibration
 * images with it and records every tensor's range, so the model tools need
 * nothing but Node.
 *
 * It also runs an int8 model "fake quantized": constants dequantized, each
 * int8 activation rounded to its grid after the op that produces it. That
 * is close to, but not bit-exact with, integer kernels; the model tool uses
 * it to report how far the int8 model drifts from the float one.
 */
import { ModelError } from "./tflite.js";
import type { Model, Operator, Tensor } from "./tflite.js";
import { elementCount } from "./graph.js";
import { halfToFloat } from "./float.js";

/** Per-channel dequantization of a constant (int8 weights, int32 biases) or its raw values. */
function constantValues(model: Model, tensor: Tensor): Float32Array {
	const bytes = model.buffers[tensor.buffer];
	const count = elementCount(tensor.shape);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const size = { float32: 4, float16: 2, int8: 1, int32: 4 }[tensor.type];
	if (bytes.length !== count * size)
		throw new ModelError(`constant ${JSON.stringify(tensor.name)} has ${bytes.length} bytes, expected ${count * size}`);
	const values = new Float32Array(count);
	for (let i = 0; i < count; i++) {
		switch (tensor.type) {
			case "float32": values[i] = view.getFloat32(4 * i, true); break;
			case "float16": values[i] = halfToFloat(view.getUint16(2 * i, true)); break;
			case "int8": values[i] = view.getInt8(i); break;
			case "int32": values[i] = view.getInt32(4 * i, true); break;
		}
	}
	const q = tensor.quantization;
	if (q && tensor.type !== "float32") {
		const axis = q.quantizedDimension;
		const inner = elementCount(tensor.shape.slice(axis + 1));
		const channels = q.scale.length === 1 ? 1 : tensor.shape[axis];
		for (let i = 0; i < count; i++) {
			const channel = channels === 1 ? 0 : Math.floor(i / inner) % channels;
			values[i] = (values[i] - q.zeroPoint[channel]) * q.scale[channel];
		}
	}
	return values;
}

/** Round half away from zero, as TFLite quantizes. */
export function roundHalfAway(value: number): number {
	return value < 0 ? -Math.round(-value) : Math.round(value);
}

function activate(values: Float32Array, activation: unknown): void {
	const [low, high] = activation === "RELU" ? [0, Infinity] : activation === "RELU6" ? [0, 6] : activation === "RELU_N1_TO_1" ? [-1, 1] : [-Infinity, Infinity];
	if (low === -Infinity && high === Infinity)
		return;
	for (let i = 0; i < values.length; i++)
		values[i] = Math.min(high, Math.max(low, values[i]));
}

/** TFLite's SAME/VALID padding: the rows (or columns) added before the first window. */
function paddingBefore(size: number, output: number, kernel: number, stride: number, dilation: number, padding: unknown): number {
	if (padding === "VALID")
		return 0;
	const effective = (kernel - 1) * dilation + 1;
	return Math.max(0, Math.floor(((output - 1) * stride + effective - size) / 2));
}

export class Evaluator {
	readonly model: Model;
	/** [min0, max0, min1, max1, ...] per tensor over every run since construction, when recording. */
	readonly ranges: Float64Array;
	private readonly values: (Float32Array | undefined)[];
	private readonly constants: boolean[];

	constructor(model: Model, readonly options: { recordRanges?: boolean; fakeQuantize?: boolean } = {}) {
		this.model = model;
		const { tensors } = model.subgraph;
		this.constants = tensors.map((tensor) => tensor.buffer !== 0);
		this.values = tensors.map((tensor) => tensor.buffer !== 0 ? constantValues(model, tensor) : undefined);
		this.ranges = new Float64Array(2 * tensors.length);
		for (let i = 0; i < tensors.length; i++) {
			this.ranges[2 * i] = Infinity;
			this.ranges[2 * i + 1] = -Infinity;
		}
		for (const operator of model.subgraph.operators)
			if (!supported.has(operator.opcode))
				throw new ModelError(`the evaluator does not implement ${operator.opcode}`);
	}

	/** Runs the model on one input (float, as the float model takes it) and returns its outputs. */
	run(input: Float32Array): Float32Array[] {
		const { tensors, operators } = this.model.subgraph;
		const inputIndex = this.model.subgraph.inputs[0];
		if (input.length !== elementCount(tensors[inputIndex].shape))
			throw new ModelError(`input has ${input.length} values, the model takes ${elementCount(tensors[inputIndex].shape)}`);
		for (let i = 0; i < this.values.length; i++)
			if (!this.constants[i])
				this.values[i] = undefined;
		this.store(inputIndex, Float32Array.from(input));
		for (const operator of operators)
			this.store(operator.outputs[0], this.evaluate(operator));
		return this.model.subgraph.outputs.map((index) => this.value(index));
	}

	private value(index: number): Float32Array {
		const values = this.values[index];
		if (!values)
			throw new ModelError(`tensor ${index} (${this.model.subgraph.tensors[index]?.name}) is read before it is computed`);
		return values;
	}

	private store(index: number, values: Float32Array): void {
		const tensor = this.model.subgraph.tensors[index];
		const q = tensor.quantization;
		if (this.options.fakeQuantize && tensor.type === "int8" && q) {
			const scale = q.scale[0], zeroPoint = q.zeroPoint[0];
			for (let i = 0; i < values.length; i++)
				values[i] = (Math.min(127, Math.max(-128, roundHalfAway(values[i] / scale) + zeroPoint)) - zeroPoint) * scale;
		}
		if (this.options.recordRanges) {
			let low = this.ranges[2 * index], high = this.ranges[2 * index + 1];
			for (let i = 0; i < values.length; i++) {
				const v = values[i];
				if (v < low) low = v;
				if (v > high) high = v;
			}
			this.ranges[2 * index] = low;
			this.ranges[2 * index + 1] = high;
		}
		this.values[index] = values;
	}

	private shape(index: number): number[] {
		return this.model.subgraph.tensors[index].shape;
	}

	private evaluate(operator: Operator): Float32Array {
		const output = this.shape(operator.outputs[0]);
		const result = new Float32Array(elementCount(output));
		const input = this.value(operator.inputs[0]);
		const inputShape = this.shape(operator.inputs[0]);
		const options = operator.options;
		switch (operator.opcode) {
			case "CONV_2D":
			case "DEPTHWISE_CONV_2D":
				this.convolve(operator, input, inputShape, output, result);
				activate(result, options.fusedActivationFunction);
				break;
			case "MAX_POOL_2D":
			case "AVERAGE_POOL_2D":
				pool(operator, input, inputShape, output, result);
				activate(result, options.fusedActivationFunction);
				break;
			case "ADD":
				add(input, inputShape, this.value(operator.inputs[1]), this.shape(operator.inputs[1]), output, result);
				activate(result, options.fusedActivationFunction);
				break;
			case "RELU":
			case "RELU6":
				result.set(input);
				activate(result, operator.opcode);
				break;
			case "LOGISTIC":
				for (let i = 0; i < result.length; i++)
					result[i] = 1 / (1 + Math.exp(-input[i]));
				break;
			case "RESHAPE":
			case "DEQUANTIZE":
			case "QUANTIZE":
				if (input.length !== result.length)
					throw new ModelError(`${operator.opcode}: ${input.length} values in, ${result.length} out`);
				result.set(input);
				break;
			case "PAD":
				pad(input, inputShape, this.value(operator.inputs[1]), output, result);
				break;
			case "CONCATENATION":
				concatenate(operator.inputs.map((index) => ({ values: this.value(index), shape: this.shape(index) })), options.axis as number, output, result);
				break;
			case "RESIZE_BILINEAR":
				resizeBilinear(input, inputShape, output, result, options.alignCorners === true, options.halfPixelCenters === true);
				break;
		}
		return result;
	}

	private convolve(operator: Operator, input: Float32Array, [batches, height, width, depth]: number[], output: number[], result: Float32Array): void {
		const depthwise = operator.opcode === "DEPTHWISE_CONV_2D";
		const filter = this.value(operator.inputs[1]);
		const [, kernelHeight, kernelWidth, filterDepth] = this.shape(operator.inputs[1]);
		const biasIndex = operator.inputs[2];
		const bias = biasIndex !== undefined && biasIndex >= 0 ? this.value(biasIndex) : undefined;
		const [, outHeight, outWidth, outDepth] = output;
		const o = operator.options;
		const strideH = o.strideH as number, strideW = o.strideW as number;
		const dilationH = o.dilationHFactor as number, dilationW = o.dilationWFactor as number;
		const padTop = paddingBefore(height, outHeight, kernelHeight, strideH, dilationH, o.padding);
		const padLeft = paddingBefore(width, outWidth, kernelWidth, strideW, dilationW, o.padding);
		if (!depthwise && filterDepth !== depth)
			throw new ModelError(`CONV_2D: filter depth ${filterDepth}, input depth ${depth}`);
		const multiplier = depthwise ? outDepth / depth : 1;
		let at = 0;
		for (let b = 0; b < batches; b++) {
			for (let oy = 0; oy < outHeight; oy++) {
				for (let ox = 0; ox < outWidth; ox++) {
					for (let oc = 0; oc < outDepth; oc++, at++) {
						let sum = bias ? bias[oc] : 0;
						const ic = depthwise ? Math.floor(oc / multiplier) : 0;
						for (let ky = 0; ky < kernelHeight; ky++) {
							const iy = oy * strideH - padTop + ky * dilationH;
							if (iy < 0 || iy >= height)
								continue;
							for (let kx = 0; kx < kernelWidth; kx++) {
								const ix = ox * strideW - padLeft + kx * dilationW;
								if (ix < 0 || ix >= width)
									continue;
								const pixel = ((b * height + iy) * width + ix) * depth;
								if (depthwise)
									sum += input[pixel + ic] * filter[(ky * kernelWidth + kx) * outDepth + oc];
								else {
									const weights = ((oc * kernelHeight + ky) * kernelWidth + kx) * depth;
									for (let c = 0; c < depth; c++)
										sum += input[pixel + c] * filter[weights + c];
								}
							}
						}
						result[at] = sum;
					}
				}
			}
		}
	}
}
Object.freeze(Evaluator.prototype);

const supported = new Set(["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "ADD", "RELU", "RELU6", "LOGISTIC", "RESHAPE", "DEQUANTIZE", "QUANTIZE", "PAD", "CONCATENATION", "RESIZE_BILINEAR"]);

function pool(operator: Operator, input: Float32Array, [batches, height, width, depth]: number[], output: number[], result: Float32Array): void {
	const o = operator.options;
	const [, outHeight, outWidth] = output;
	const kernelHeight = o.filterHeight as number, kernelWidth = o.filterWidth as number;
	const strideH = o.strideH as number, strideW = o.strideW as number;
	const padTop = paddingBefore(height, outHeight, kernelHeight, strideH, 1, o.padding);
	const padLeft = paddingBefore(width, outWidth, kernelWidth, strideW, 1, o.padding);
	const maximum = operator.opcode === "MAX_POOL_2D";
	let at = 0;
	for (let b = 0; b < batches; b++)
		for (let oy = 0; oy < outHeight; oy++)
			for (let ox = 0; ox < outWidth; ox++)
				for (let c = 0; c < depth; c++, at++) {
					// Padding is never part of a window: windows only cover real pixels.
					let best = -Infinity, sum = 0, count = 0;
					for (let ky = 0; ky < kernelHeight; ky++) {
						const iy = oy * strideH - padTop + ky;
						if (iy < 0 || iy >= height)
							continue;
						for (let kx = 0; kx < kernelWidth; kx++) {
							const ix = ox * strideW - padLeft + kx;
							if (ix < 0 || ix >= width)
								continue;
							const v = input[((b * height + iy) * width + ix) * depth + c];
							best = Math.max(best, v);
							sum += v;
							count++;
						}
					}
					result[at] = maximum ? best : sum / count;
				}
}

/** Strides of a shape aligned right against `rank` dimensions, 0 where the dimension broadcasts. */
function broadcastStrides(shape: number[], output: number[]): number[] {
	const rank = output.length;
	const strides = new Array<number>(rank).fill(0);
	let stride = 1;
	for (let i = shape.length - 1, j = rank - 1; i >= 0; i--, j--) {
		strides[j] = shape[i] === 1 ? 0 : stride;
		stride *= shape[i];
	}
	return strides;
}

function add(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], output: number[], result: Float32Array): void {
	if (a.length === result.length && b.length === result.length) {
		for (let i = 0; i < result.length; i++)
			result[i] = a[i] + b[i];
		return;
	}
	const aStrides = broadcastStrides(aShape, output), bStrides = broadcastStrides(bShape, output);
	const index = new Array<number>(output.length).fill(0);
	for (let i = 0; i < result.length; i++) {
		let ai = 0, bi = 0;
		for (let d = 0; d < output.length; d++) {
			ai += index[d] * aStrides[d];
			bi += index[d] * bStrides[d];
		}
		result[i] = a[ai] + b[bi];
		for (let d = output.length - 1; d >= 0; d--) {
			if (++index[d] < output[d])
				break;
			index[d] = 0;
		}
	}
}

function pad(input: Float32Array, shape: number[], paddings: Float32Array, output: number[], result: Float32Array): void {
	// Result starts as zeros (the pad value); copy each input element to its shifted place.
	const rank = shape.length;
	const index = new Array<number>(rank).fill(0);
	for (let i = 0; i < input.length; i++) {
		let at = 0;
		for (let d = 0; d < rank; d++)
			at = at * output[d] + index[d] + paddings[2 * d];
		result[at] = input[i];
		for (let d = rank - 1; d >= 0; d--) {
			if (++index[d] < shape[d])
				break;
			index[d] = 0;
		}
	}
}

function concatenate(parts: { values: Float32Array; shape: number[] }[], axisOption: number, output: number[], result: Float32Array): void {
	const axis = (axisOption + output.length) % output.length;
	const outer = elementCount(output.slice(0, axis));
	const inner = elementCount(output.slice(axis + 1));
	let at = 0;
	for (let o = 0; o < outer; o++)
		for (const part of parts) {
			const size = part.shape[axis] * inner;
			result.set(part.values.subarray(o * size, (o + 1) * size), at);
			at += size;
		}
}

function resizeBilinear(input: Float32Array, [batches, height, width, depth]: number[], output: number[], result: Float32Array, alignCorners: boolean, halfPixelCenters: boolean): void {
	const [, outHeight, outWidth] = output;
	const scaleY = alignCorners && outHeight > 1 ? (height - 1) / (outHeight - 1) : height / outHeight;
	const scaleX = alignCorners && outWidth > 1 ? (width - 1) / (outWidth - 1) : width / outWidth;
	const source = (position: number, scale: number, size: number) => {
		const exact = halfPixelCenters ? (position + 0.5) * scale - 0.5 : position * scale;
		const low = Math.max(Math.floor(exact), 0);
		const high = Math.min(Math.ceil(exact), size - 1);
		return { low, high, fraction: exact - low };
	};
	let at = 0;
	for (let b = 0; b < batches; b++)
		for (let oy = 0; oy < outHeight; oy++) {
			const y = source(oy, scaleY, height);
			for (let ox = 0; ox < outWidth; ox++) {
				const x = source(ox, scaleX, width);
				const row0 = (b * height + y.low) * width, row1 = (b * height + y.high) * width;
				for (let c = 0; c < depth; c++, at++) {
					const topLeft = input[(row0 + x.low) * depth + c], topRight = input[(row0 + x.high) * depth + c];
					const bottomLeft = input[(row1 + x.low) * depth + c], bottomRight = input[(row1 + x.high) * depth + c];
					result[at] = topLeft * (1 - y.fraction) * (1 - x.fraction) + bottomLeft * y.fraction * (1 - x.fraction)
						+ topRight * (1 - y.fraction) * x.fraction + bottomRight * y.fraction * x.fraction;
				}
			}
		}
}
