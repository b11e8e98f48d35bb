/*
 * The C TFLite interpreter (hardware/inference/interpreter) in the XS host:
 *
 * - single-op models, built here with tools/model/tflite.ts, for every op in
 *   float32 and int8, against outputs computed here independently: plain
 *   loops in double for float (within 1e-5), and for int8 the exact integer
 *   arithmetic of TFLite Micro's reference kernels (BigInt where it needs 64
 *   bits), plus hand-derived values for the rounding cases;
 * - models that must be refused, each with the error it must name;
 * - every truncation and random byte flips of a small model;
 * - the MediaPipe float16 models from node_modules/@mediapipe/face_detection.
 *
 * The XS side is tests/xs/inference-run.ts.
 */
import { test } from "node:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../tools/build/firmware.js";
import { readModel, writeModel } from "../../tools/model/tflite.js";
import type { Model, OpName, OptionValue, Quantization, Tensor, TensorType } from "../../tools/model/tflite.js";
import { runXsModule } from "../support/xs-run.js";
import { sanitizedHost } from "../../tools/build/firmware.js";

type Activation = "NONE" | "RELU" | "RELU6" | "RELU_N1_TO_1";
type Padding = "SAME" | "VALID";

// ---------------------------------------------------------------- building models

class Graph {
	readonly tensors: Tensor[] = [];
	readonly buffers: Uint8Array[] = [new Uint8Array(0)];
	readonly operators: Model["subgraph"]["operators"] = [];

	tensor(shape: number[], type: TensorType, quantization?: Quantization, data?: Uint8Array): number {
		const buffer = data ? this.buffers.push(data) - 1 : 0;
		return this.tensors.push({ name: `t${this.tensors.length}`, shape, type, buffer, ...(quantization ? { quantization } : {}) }) - 1;
	}

	op(opcode: OpName, inputs: number[], outputs: number[], options: Record<string, OptionValue> = {}): this {
		this.operators.push({ opcode, inputs, outputs, options });
		return this;
	}

	bytes(inputs: number[], outputs: number[]): Uint8Array {
		return writeModel({ version: 3, description: "doorward interpreter test", subgraph: { name: "main", tensors: this.tensors, inputs, outputs, operators: this.operators }, buffers: this.buffers });
	}
}

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const i8 = (values: number[]) => new Uint8Array(Int8Array.from(values).buffer);
const i32 = (values: number[]) => new Uint8Array(Int32Array.from(values).buffer);

/** float16 bits of a value that float16 represents exactly (the test's values are chosen so). */
function f16(values: number[]): Uint8Array {
	const out = new Uint16Array(values.length);
	values.forEach((value, i) => {
		if (value === 0) {
			out[i] = Object.is(value, -0) ? 0x8000 : 0;
			return;
		}
		const sign = value < 0 ? 0x8000 : 0;
		const magnitude = Math.abs(value);
		const exponent = Math.floor(Math.log2(magnitude));
		const mantissa = magnitude / 2 ** exponent - 1;
		if (exponent < -14 || exponent > 15 || !Number.isInteger(mantissa * 1024))
			throw new Error(`${value} is not an exact normal float16`);
		out[i] = sign | ((exponent + 15) << 10) | (mantissa * 1024);
	});
	return new Uint8Array(out.buffer);
}

const quant = (scale: number[], zeroPoint: number[], quantizedDimension = 0): Quantization => ({ scale, zeroPoint, quantizedDimension });

function generator(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}
const random = generator(20240601);
const floats = (count: number, low = -1, high = 1) => Array.from({ length: count }, () => Math.fround(low + (high - low) * random()));
const ints = (count: number, low = -128, high = 127) => Array.from({ length: count }, () => low + Math.floor((high - low + 1) * random()));
const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------- the reference arithmetic

function activateFloat(value: number, activation: Activation): number {
	switch (activation) {
		case "RELU": return Math.max(0, value);
		case "RELU6": return Math.min(6, Math.max(0, value));
		case "RELU_N1_TO_1": return Math.min(1, Math.max(-1, value));
		default: return value;
	}
}

/** C's round(): half away from zero. */
const roundAway = (value: number) => Math.sign(value) * Math.round(Math.abs(value));

function quantizeMultiplier(real: number): [number, number] {
	if (real === 0)
		return [0, 0];
	let exponent = Math.ceil(Math.log2(real));
	let fraction = real / 2 ** exponent;
	while (fraction >= 1) { fraction /= 2; exponent++; }
	while (fraction < 0.5) { fraction *= 2; exponent--; }
	let fixed = roundAway(fraction * 2 ** 31);
	if (fixed === 2 ** 31) { fixed /= 2; exponent++; }
	if (exponent < -31) { exponent = 0; fixed = 0; }
	return [fixed, exponent];
}

function highMul(a: number, b: number): number {
	if (a === b && a === -(2 ** 31))
		return 2 ** 31 - 1;
	const ab = BigInt(a) * BigInt(b);
	const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
	return Number((ab + nudge) / (1n << 31n));
}

function divideByPowerOfTwo(x: number, exponent: number): number {
	const mask = 2 ** exponent - 1;
	const remainder = Number(BigInt(x) & BigInt(mask));
	const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
	return Math.floor(x / 2 ** exponent) + (remainder > threshold ? 1 : 0);
}

function multiply(x: number, [multiplier, shift]: [number, number]): number {
	const shifted = Number(BigInt.asIntN(32, BigInt(x) << BigInt(Math.max(shift, 0))));
	return divideByPowerOfTwo(highMul(shifted, multiplier), Math.max(-shift, 0));
}

function activationRange(activation: Activation, scale: number, zeroPoint: number): [number, number] {
	const q = (value: number) => zeroPoint + roundAway(Math.fround(value / Math.fround(scale)));
	switch (activation) {
		case "RELU": return [Math.max(-128, q(0)), 127];
		case "RELU6": return [Math.max(-128, q(0)), Math.min(127, q(6))];
		case "RELU_N1_TO_1": return [Math.max(-128, q(-1)), Math.min(127, q(1))];
		default: return [-128, 127];
	}
}

const clamp = (value: number, [low, high]: [number, number]) => Math.min(high, Math.max(low, value));
const dequantize = (q: number[], scale: number, zeroPoint: number) => q.map((value) => Math.fround(Math.fround(scale) * (value - zeroPoint)));

function windowOf(size: number, filter: number, stride: number, dilation: number, padding: Padding): { out: number; before: number } {
	const effective = (filter - 1) * dilation + 1;
	const out = padding === "SAME" ? Math.floor((size + stride - 1) / stride) : Math.floor((size + stride - effective) / stride);
	return { out, before: Math.floor(Math.max(0, (out - 1) * stride + effective - size) / 2) };
}

interface ConvSpec {
	input: number[]; // [N,H,W,C]
	filter: number[];
	stride: [number, number];
	dilation: [number, number];
	padding: Padding;
	depthMultiplier?: number; // depthwise when set
}

/** The convolution's raw sums (before bias) per output element, with `tap(inputValue)` applied to inputs. */
function convolve(spec: ConvSpec, input: number[], weights: number[], tap: (value: number) => number): { sums: number[]; shape: number[] } {
	const [batches, height, width, depth] = spec.input;
	const depthwise = spec.depthMultiplier !== undefined;
	const [filterH, filterW] = [spec.filter[1], spec.filter[2]];
	const channels = depthwise ? spec.filter[3] : spec.filter[0];
	const rows = windowOf(height, filterH, spec.stride[0], spec.dilation[0], spec.padding);
	const columns = windowOf(width, filterW, spec.stride[1], spec.dilation[1], spec.padding);
	const sums: number[] = [];
	for (let b = 0; b < batches; b++)
		for (let y = 0; y < rows.out; y++)
			for (let x = 0; x < columns.out; x++)
				for (let c = 0; c < channels; c++) {
					let sum = 0;
					for (let fy = 0; fy < filterH; fy++)
						for (let fx = 0; fx < filterW; fx++) {
							const iy = y * spec.stride[0] - rows.before + fy * spec.dilation[0];
							const ix = x * spec.stride[1] - columns.before + fx * spec.dilation[1];
							if (iy < 0 || iy >= height || ix < 0 || ix >= width)
								continue;
							if (depthwise) {
								const ic = Math.floor(c / (spec.depthMultiplier as number));
								sum += tap(input[((b * height + iy) * width + ix) * depth + ic]) * weights[(fy * filterW + fx) * channels + c];
							}
							else
								for (let ic = 0; ic < depth; ic++)
									sum += tap(input[((b * height + iy) * width + ix) * depth + ic]) * weights[((c * filterH + fy) * filterW + fx) * depth + ic];
						}
					sums.push(sum);
				}
	return { sums, shape: [batches, rows.out, columns.out, channels] };
}

// ---------------------------------------------------------------- the cases

interface Case {
	name: string;
	model: string;
	inputType?: "float32" | "int8";
	input?: number[];
	outputs?: number[][];
	tolerance?: number;
	error?: string;
}

const cases: Case[] = [];
const files = new Map<string, Uint8Array>();

function addModel(name: string, bytes: Uint8Array): string {
	const file = `${name.replace(/[^A-Za-z0-9_-]+/g, "_")}.tflite`;
	if (files.has(file))
		throw new Error(`two models named ${file}`);
	files.set(file, bytes);
	return file;
}

function floatCase(name: string, bytes: Uint8Array, input: number[], outputs: number[][]): void {
	cases.push({ name, model: addModel(name, bytes), inputType: "float32", input, outputs, tolerance: 1e-5 });
}

function int8Case(name: string, bytes: Uint8Array, input: number[], outputs: number[][], inputType: "float32" | "int8" = "int8"): void {
	cases.push({ name, model: addModel(name, bytes), inputType, input, outputs, tolerance: 0 });
}

function errorCase(name: string, bytes: Uint8Array, error: string): void {
	cases.push({ name, model: addModel(name, bytes), error });
}

// CONV_2D and DEPTHWISE_CONV_2D, float
for (const [index, spec, activation, withBias] of [
	[1, { input: [1, 5, 5, 2], filter: [3, 3, 3, 2], stride: [2, 2], dilation: [1, 1], padding: "SAME" }, "RELU6", true],
	[2, { input: [1, 6, 5, 3], filter: [2, 2, 2, 3], stride: [1, 1], dilation: [2, 2], padding: "VALID" }, "NONE", false],
	[3, { input: [2, 4, 7, 2], filter: [2, 3, 2, 2], stride: [1, 2], dilation: [1, 1], padding: "SAME" }, "RELU_N1_TO_1", true],
	[4, { input: [1, 4, 5, 2], filter: [1, 3, 3, 4], stride: [1, 1], dilation: [1, 1], padding: "SAME", depthMultiplier: 2 }, "RELU", true],
	[5, { input: [1, 7, 6, 3], filter: [1, 3, 3, 3], stride: [2, 2], dilation: [1, 1], padding: "VALID", depthMultiplier: 1 }, "NONE", false],
	[6, { input: [1, 6, 6, 2], filter: [1, 2, 2, 2], stride: [1, 1], dilation: [2, 3], padding: "SAME", depthMultiplier: 1 }, "RELU6", true],
] as [number, ConvSpec, Activation, boolean][]) {
	const depthwise = spec.depthMultiplier !== undefined;
	const channels = depthwise ? spec.filter[3] : spec.filter[0];
	const input = floats(product(spec.input), -2, 3), weights = floats(product(spec.filter)), bias = floats(channels);
	const { sums, shape } = convolve(spec, input, weights, (value) => value);
	const expected = sums.map((sum, i) => activateFloat(sum + (withBias ? bias[i % channels] : 0), activation));
	const g = new Graph();
	const x = g.tensor(spec.input, "float32"), w = g.tensor(spec.filter, "float32", undefined, f32(weights));
	const b = withBias ? g.tensor([channels], "float32", undefined, f32(bias)) : -1;
	const y = g.tensor(shape, "float32");
	g.op(depthwise ? "DEPTHWISE_CONV_2D" : "CONV_2D", [x, w, b], [y], {
		padding: spec.padding, strideH: spec.stride[0], strideW: spec.stride[1], dilationHFactor: spec.dilation[0], dilationWFactor: spec.dilation[1],
		fusedActivationFunction: activation, ...(depthwise ? { depthMultiplier: spec.depthMultiplier as number } : {}),
	});
	floatCase(`float ${depthwise ? "DEPTHWISE_CONV_2D" : "CONV_2D"} ${index}: ${spec.padding}, strides ${spec.stride}, dilation ${spec.dilation}, ${activation}${withBias ? ", bias" : ""}`, g.bytes([x], [y]), input, [expected]);
}

// CONV_2D and DEPTHWISE_CONV_2D, int8 per channel
for (const [index, spec, activation, inQ, outQ] of [
	[1, { input: [1, 4, 4, 3], filter: [4, 3, 3, 3], stride: [1, 1], dilation: [1, 1], padding: "SAME" }, "RELU6", [0.05, -3], [0.07, 5]],
	[2, { input: [1, 6, 5, 2], filter: [3, 2, 3, 2], stride: [2, 2], dilation: [1, 1], padding: "VALID" }, "NONE", [0.1, 10], [0.02, -100]],
	[3, { input: [1, 5, 5, 2], filter: [1, 3, 3, 4], stride: [2, 2], dilation: [1, 1], padding: "SAME", depthMultiplier: 2 }, "RELU", [0.1, 4], [0.2, -10]],
	[4, { input: [1, 6, 6, 3], filter: [1, 3, 3, 3], stride: [1, 1], dilation: [2, 2], padding: "SAME", depthMultiplier: 1 }, "RELU_N1_TO_1", [0.02, -128], [0.01, 0]],
] as [number, ConvSpec, Activation, [number, number], [number, number]][]) {
	const depthwise = spec.depthMultiplier !== undefined;
	const channels = depthwise ? spec.filter[3] : spec.filter[0];
	const scales = Array.from({ length: channels }, (_, c) => [0.01, 0.02, 0.005, 0.03, 0.0007][c % 5]);
	const input = ints(product(spec.input)), weights = ints(product(spec.filter), -127, 127), bias = ints(channels, -3000, 3000);
	const { sums, shape } = convolve(spec, input, weights, (value) => value - inQ[1]);
	const range = activationRange(activation, outQ[0], outQ[1]);
	const multipliers = scales.map((scale) => quantizeMultiplier(Math.fround(inQ[0]) * Math.fround(scale) / Math.fround(outQ[0])));
	const q = sums.map((sum, i) => clamp(multiply(sum + bias[i % channels], multipliers[i % channels]) + outQ[1], range));
	const g = new Graph();
	const x = g.tensor(spec.input, "int8", quant([inQ[0]], [inQ[1]]));
	const w = g.tensor(spec.filter, "int8", quant(scales, scales.map(() => 0), depthwise ? 3 : 0), i8(weights));
	const b = g.tensor([channels], "int32", quant(scales.map((scale) => Math.fround(inQ[0]) * Math.fround(scale)), scales.map(() => 0)), i32(bias));
	const y = g.tensor(shape, "int8", quant([outQ[0]], [outQ[1]]));
	g.op(depthwise ? "DEPTHWISE_CONV_2D" : "CONV_2D", [x, w, b], [y], {
		padding: spec.padding, strideH: spec.stride[0], strideW: spec.stride[1], dilationHFactor: spec.dilation[0], dilationWFactor: spec.dilation[1],
		fusedActivationFunction: activation, ...(depthwise ? { depthMultiplier: spec.depthMultiplier as number } : {}),
	});
	int8Case(`int8 ${depthwise ? "DEPTHWISE_CONV_2D" : "CONV_2D"} ${index}: per-channel, ${spec.padding}, strides ${spec.stride}, ${activation}, zero points ${inQ[1]}/${outQ[1]}`,
		g.bytes([x], [y]), input, [dequantize(q, outQ[0], outQ[1])]);
}

// CONV_2D int8, derived by hand: multipliers 0.5 (2^30, shift 0) and 0.25 (2^30, shift -1), so the
// reference's two roundings show: 0.25 * 5 = 1.25 comes out 2 (2.5 -> 3, then 1.5 -> 2), and -1.5 -> -1.
{
	const g = new Graph();
	const x = g.tensor([1, 1, 6, 1], "int8", quant([0.5], [-1]));
	const w = g.tensor([2, 1, 1, 1], "int8", quant([1, 0.5], [0, 0]), i8([1, 1]));
	const y = g.tensor([1, 1, 6, 2], "int8", quant([1], [3]));
	g.op("CONV_2D", [x, w, -1], [y], { padding: "VALID", strideH: 1, strideW: 1 });
	int8Case("int8 CONV_2D by hand: the reference's double rounding (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT)", g.bytes([x], [y]),
		[-128, -4, 0, 2, 4, 127], [[-63, -32, -1, -1, 1, 1, 2, 1, 3, 2, 64, 32]]);
}

// ADD
{
	const shape = [1, 2, 3, 4];
	const a = floats(24, -2, 2), constant = floats(4, -1, 1);
	const g = new Graph();
	const x = g.tensor(shape, "float32"), c = g.tensor([4], "float32", undefined, f32(constant)), y = g.tensor(shape, "float32");
	g.op("ADD", [x, c], [y], { fusedActivationFunction: "RELU" });
	floatCase("float ADD: broadcast [4] onto [1,2,3,4], RELU", g.bytes([x], [y]), a, [a.map((value, i) => Math.max(0, value + constant[i % 4]))]);
	const h = new Graph();
	const x2 = h.tensor(shape, "float32"), y2 = h.tensor(shape, "float32");
	h.op("ADD", [x2, x2], [y2], { fusedActivationFunction: "RELU_N1_TO_1" });
	floatCase("float ADD: a tensor to itself, RELU_N1_TO_1", h.bytes([x2], [y2]), a, [a.map((value) => Math.min(1, Math.max(-1, 2 * value)))]);
}
for (const [name, aQ, bQ, outQ, activation, bShape, aValues, bValues] of [
	["int8 ADD: different scales and zero points, RELU6", [0.05, -5], [0.1, 7], [0.08, 2], "RELU6", [1, 2, 2, 3], ints(12), ints(12)],
	["int8 ADD: broadcast [1,1,1,3], saturating at both ends", [0.5, 0], [0.5, 0], [0.05, 0], "NONE", [1, 1, 1, 3], [127, -128, 100, 1, -1, 0, 50, -50, 3, 127, 127, -128], [127, -128, 0]],
	["int8 ADD: negative zero points, RELU", [0.02, -128], [0.03, -60], [0.04, -20], "RELU", [1, 2, 2, 3], ints(12), ints(12)],
] as [string, [number, number], [number, number], [number, number], Activation, number[], number[], number[]][]) {
	const twiceMax = 2 * Math.max(Math.fround(aQ[0]), Math.fround(bQ[0]));
	const m1 = quantizeMultiplier(Math.fround(aQ[0]) / twiceMax), m2 = quantizeMultiplier(Math.fround(bQ[0]) / twiceMax);
	const mOut = quantizeMultiplier(twiceMax / (2 ** 20 * Math.fround(outQ[0])));
	const range = activationRange(activation, outQ[0], outQ[1]);
	const bCount = product(bShape);
	const q = aValues.map((value, i) => {
		const scaledA = multiply((value - aQ[1]) * 2 ** 20, m1), scaledB = multiply((bValues[i % bCount] - bQ[1]) * 2 ** 20, m2);
		return clamp(multiply(scaledA + scaledB, mOut) + outQ[1], range);
	});
	const g = new Graph();
	const x = g.tensor([1, 2, 2, 3], "int8", quant([aQ[0]], [aQ[1]])), c = g.tensor(bShape, "int8", quant([bQ[0]], [bQ[1]]), i8(bValues));
	const y = g.tensor([1, 2, 2, 3], "int8", quant([outQ[0]], [outQ[1]]));
	g.op("ADD", [x, c], [y], { fusedActivationFunction: activation });
	int8Case(name, g.bytes([x], [y]), aValues, [dequantize(q, outQ[0], outQ[1])]);
}

// PAD and PADV2
function padReference(input: number[], shape: number[], pads: number[][], value: number): number[] {
	const outShape = shape.map((size, d) => size + pads[d][0] + pads[d][1]);
	const out: number[] = [];
	const index = new Array(shape.length).fill(0);
	for (let i = 0; i < product(outShape); i++) {
		let rest = i;
		for (let d = shape.length - 1; d >= 0; d--) {
			index[d] = rest % outShape[d];
			rest = Math.floor(rest / outShape[d]);
		}
		const source = index.map((at, d) => at - pads[d][0]);
		if (source.some((at, d) => at < 0 || at >= shape[d]))
			out.push(value);
		else
			out.push(input[source.reduce((offset, at, d) => offset * shape[d] + at, 0)]);
	}
	return out;
}
{
	const shape = [1, 2, 3, 2], pads = [[0, 0], [1, 2], [2, 0], [0, 1]], outShape = [1, 5, 5, 3];
	const input = floats(12);
	const g = new Graph();
	const x = g.tensor(shape, "float32"), p = g.tensor([4, 2], "int32", undefined, i32(pads.flat())), y = g.tensor(outShape, "float32");
	g.op("PAD", [x, p], [y]);
	floatCase("float PAD: every dimension padded differently, zeros", g.bytes([x], [y]), input, [padReference(input, shape, pads, 0)]);
	const h = new Graph();
	const x2 = h.tensor(shape, "float32"), p2 = h.tensor([4, 2], "int32", undefined, i32(pads.flat())), v = h.tensor([1], "float32", undefined, f32([0.5]));
	const y2 = h.tensor(outShape, "float32");
	h.op("PADV2", [x2, p2, v], [y2]);
	floatCase("float PADV2: the pad value input", h.bytes([x2], [y2]), input, [padReference(input, shape, pads, 0.5)]);
	const k = new Graph();
	const q = ints(12);
	const x3 = k.tensor(shape, "int8", quant([0.1], [-7])), p3 = k.tensor([4, 2], "int32", undefined, i32(pads.flat())), y3 = k.tensor(outShape, "int8", quant([0.1], [-7]));
	k.op("PAD", [x3, p3], [y3]);
	int8Case("int8 PAD: the output's zero point pads (a real 0)", k.bytes([x3], [y3]), q, [dequantize(padReference(q, shape, pads, -7), 0.1, -7)]);
	const m = new Graph();
	const x4 = m.tensor([2, 3], "int8", quant([0.1], [3])), p4 = m.tensor([2, 2], "int32", undefined, i32([1, 0, 0, 2])), v4 = m.tensor([1], "int8", quant([0.1], [3]), i8([-100]));
	const y4 = m.tensor([3, 5], "int8", quant([0.1], [3]));
	m.op("PADV2", [x4, p4, v4], [y4]);
	int8Case("int8 PADV2: 2 dimensions, the pad value input", m.bytes([x4], [y4]), q.slice(0, 6), [dequantize(padReference(q.slice(0, 6), [2, 3], [[1, 0], [0, 2]], -100), 0.1, 3)]);
}

// MAX_POOL_2D
function maxPoolReference(input: number[], shape: number[], filter: [number, number], stride: [number, number], padding: Padding): { out: number[]; shape: number[] } {
	const [batches, height, width, depth] = shape;
	const rows = windowOf(height, filter[0], stride[0], 1, padding), columns = windowOf(width, filter[1], stride[1], 1, padding);
	const out: number[] = [];
	for (let b = 0; b < batches; b++)
		for (let y = 0; y < rows.out; y++)
			for (let x = 0; x < columns.out; x++)
				for (let c = 0; c < depth; c++) {
					let best = -Infinity;
					for (let fy = 0; fy < filter[0]; fy++)
						for (let fx = 0; fx < filter[1]; fx++) {
							const iy = y * stride[0] - rows.before + fy, ix = x * stride[1] - columns.before + fx;
							if (iy >= 0 && iy < height && ix >= 0 && ix < width)
								best = Math.max(best, input[((b * height + iy) * width + ix) * depth + c]);
						}
					out.push(best);
				}
	return { out, shape: [batches, rows.out, columns.out, depth] };
}
for (const [filter, stride, padding, activation] of [[[2, 2], [2, 2], "SAME", "NONE"], [[3, 2], [1, 2], "VALID", "RELU6"], [[3, 3], [2, 1], "SAME", "RELU"]] as [[number, number], [number, number], Padding, Activation][]) {
	const shape = [1, 5, 5, 2];
	const input = floats(50, -3, 8);
	const { out, shape: outShape } = maxPoolReference(input, shape, filter, stride, padding);
	const g = new Graph();
	const x = g.tensor(shape, "float32"), y = g.tensor(outShape, "float32");
	const options = { padding, strideH: stride[0], strideW: stride[1], filterHeight: filter[0], filterWidth: filter[1], fusedActivationFunction: activation };
	g.op("MAX_POOL_2D", [x], [y], options);
	floatCase(`float MAX_POOL_2D: ${filter} window, strides ${stride}, ${padding}, ${activation}`, g.bytes([x], [y]), input, [out.map((value) => activateFloat(value, activation))]);
	const q = ints(50);
	const h = new Graph();
	const x2 = h.tensor(shape, "int8", quant([0.05], [-20])), y2 = h.tensor(outShape, "int8", quant([0.05], [-20]));
	h.op("MAX_POOL_2D", [x2], [y2], options);
	const range = activationRange(activation, 0.05, -20);
	int8Case(`int8 MAX_POOL_2D: ${filter} window, strides ${stride}, ${padding}, ${activation}`, h.bytes([x2], [y2]), q,
		[dequantize(maxPoolReference(q, shape, filter, stride, padding).out.map((value) => clamp(value, range)), 0.05, -20)]);
}

// RESHAPE and CONCATENATION
{
	const input = floats(24);
	const g = new Graph();
	const x = g.tensor([1, 2, 3, 4], "float32"), s = g.tensor([3], "int32", undefined, i32([1, 6, 4])), y = g.tensor([1, 6, 4], "float32");
	g.op("RESHAPE", [x, s], [y], { newShape: [1, 6, 4] });
	floatCase("float RESHAPE: [1,2,3,4] to [1,6,4], with the shape input", g.bytes([x], [y]), input, [input]);
	const q = ints(24);
	const h = new Graph();
	const x2 = h.tensor([1, 2, 3, 4], "int8", quant([0.3], [9])), y2 = h.tensor([24], "int8", quant([0.3], [9]));
	h.op("RESHAPE", [x2], [y2], { newShape: [24] });
	int8Case("int8 RESHAPE: to [24]", h.bytes([x2], [y2]), q, [dequantize(q, 0.3, 9)]);

	const constant = floats(8);
	const concat = (a: number[], b: number[], outer: number, aChunk: number, bChunk: number) =>
		Array.from({ length: outer }, (_, o) => [...a.slice(o * aChunk, (o + 1) * aChunk), ...b.slice(o * bChunk, (o + 1) * bChunk)]).flat();
	const k = new Graph();
	const x3 = k.tensor([1, 2, 3, 2], "float32"), c3 = k.tensor([1, 2, 2, 2], "float32", undefined, f32(constant)), y3 = k.tensor([1, 2, 5, 2], "float32");
	k.op("CONCATENATION", [x3, c3], [y3], { axis: 2 });
	floatCase("float CONCATENATION: axis 2, the input and a constant", k.bytes([x3], [y3]), input.slice(0, 12), [concat(input.slice(0, 12), constant, 2, 6, 4)]);
	const m = new Graph();
	const x4 = m.tensor([1, 3, 4], "int8", quant([0.1], [-1])), y4 = m.tensor([1, 3, 8], "int8", quant([0.1], [-1]));
	m.op("CONCATENATION", [x4, x4], [y4], { axis: -1 });
	int8Case("int8 CONCATENATION: axis -1, a tensor with itself", m.bytes([x4], [y4]), q.slice(0, 12), [dequantize(concat(q.slice(0, 12), q.slice(0, 12), 3, 4, 4), 0.1, -1)]);
}

// DEQUANTIZE and QUANTIZE
{
	const halves = [0.5, -1.25, 3, 0.125, -0.0625, 1024, -2, 0.75];
	const input = floats(16);
	const g = new Graph();
	const h16 = g.tensor([2, 4], "float16", undefined, f16(halves)), w = g.tensor([2, 4], "float32");
	const x = g.tensor([2, 2, 4], "float32"), y = g.tensor([2, 2, 4], "float32");
	g.op("DEQUANTIZE", [h16], [w]).op("ADD", [x, w], [y]);
	floatCase("float16 DEQUANTIZE of a constant (done once at construction), then ADD", g.bytes([x], [y]), input, [input.map((value, i) => value + halves[i % 8])]);

	const q = ints(10);
	const h = new Graph();
	const x2 = h.tensor([10], "int8", quant([0.37], [-11])), y2 = h.tensor([10], "float32");
	h.op("DEQUANTIZE", [x2], [y2]);
	int8Case("int8 DEQUANTIZE: the input to float32", h.bytes([x2], [y2]), q, [q.map((value) => Math.fround(Math.fround(0.37) * (value + 11)))]);

	const k = new Graph();
	const x3 = k.tensor([10], "float32"), y3 = k.tensor([10], "int8", quant([0.5], [-3]));
	k.op("QUANTIZE", [x3], [y3]);
	// 2.5 -> 3 and -2.5 -> -3 (half away from zero), then + zero point -3, saturated.
	int8Case("QUANTIZE float32 to int8: round half away from zero, saturation", k.bytes([x3], [y3]),
		[1.25, -1.25, 0.25, -0.25, 100, -100, 0, 63.75, 0.75, -0.75], [dequantize([0, -6, -2, -4, 127, -128, -3, 125, -1, -5], 0.5, -3)], "float32");

	const m = new Graph();
	const x4 = m.tensor([12], "int8", quant([0.1], [0])), y4 = m.tensor([12], "int8", quant([0.3], [1]));
	m.op("QUANTIZE", [x4], [y4]);
	const requantized = quantizeMultiplier(Math.fround(0.1) / Math.fround(0.3));
	const source = [-128, -5, -4, -2, -1, 0, 1, 2, 4, 5, 127, 63];
	int8Case("QUANTIZE int8 to int8: requantized", m.bytes([x4], [y4]), source, [dequantize(source.map((value) => clamp(multiply(value, requantized) + 1, [-128, 127])), 0.3, 1)]);
}

// RELU, RELU6, RELU_N1_TO_1 as ops
{
	const input = floats(12, -8, 8);
	for (const [opcode, activation] of [["RELU", "RELU"], ["RELU6", "RELU6"], ["RELU_N1_TO_1", "RELU_N1_TO_1"]] as [OpName, Activation][]) {
		const g = new Graph();
		const x = g.tensor([3, 4], "float32"), y = g.tensor([3, 4], "float32");
		g.op(opcode, [x], [y]);
		floatCase(`float ${opcode}`, g.bytes([x], [y]), input, [input.map((value) => activateFloat(value, activation))]);
	}
	const q = ints(12);
	const g = new Graph();
	const x = g.tensor([12], "int8", quant([0.1], [-20])), y = g.tensor([12], "int8", quant([0.05], [-128]));
	g.op("RELU", [x], [y]);
	const rescale = quantizeMultiplier(Math.fround(0.1) / Math.fround(0.05));
	int8Case("int8 RELU: rescaled to the output's quantization", g.bytes([x], [y]), q, [dequantize(q.map((value) => clamp(-128 + multiply(value + 20, rescale), [-128, 127])), 0.05, -128)]);
	const h = new Graph();
	const x2 = h.tensor([12], "int8", quant([0.1], [-20])), y2 = h.tensor([12], "int8", quant([0.1], [-20]));
	h.op("RELU6", [x2], [y2]);
	int8Case("int8 RELU6: clamped to the quantized 0 and 6", h.bytes([x2], [y2]), q, [dequantize(q.map((value) => clamp(value, [-20, 40])), 0.1, -20)]);
}

// RESIZE_BILINEAR
function resizeFloat(input: number[], [batches, height, width, depth]: number[], outH: number, outW: number, align: boolean, half: boolean): number[] {
	const f = Math.fround;
	let scaleH = f(height / outH), scaleW = f(width / outW);
	if (align && outH > 1) scaleH = f((height - 1) / (outH - 1));
	if (align && outW > 1) scaleW = f((width - 1) / (outW - 1));
	const at = (value: number, scale: number, size: number) => {
		const scaled = half ? f(f(f(value + 0.5) * scale) - 0.5) : f(value * scale);
		return { scaled, low: Math.max(Math.floor(scaled), 0), high: Math.min(Math.ceil(scaled), size - 1) };
	};
	const out: number[] = [];
	for (let b = 0; b < batches; b++)
		for (let y = 0; y < outH; y++)
			for (let x = 0; x < outW; x++)
				for (let c = 0; c < depth; c++) {
					const r = at(y, scaleH, height), s = at(x, scaleW, width);
					const v = (yy: number, xx: number) => input[((b * height + yy) * width + xx) * depth + c];
					const dy = r.scaled - r.low, dx = s.scaled - s.low;
					out.push(v(r.low, s.low) * (1 - dy) * (1 - dx) + v(r.high, s.low) * dy * (1 - dx) + v(r.low, s.high) * (1 - dy) * dx + v(r.high, s.high) * dy * dx);
				}
	return out;
}
function resizeInt8(input: number[], [batches, height, width, depth]: number[], outH: number, outW: number, align: boolean, half: boolean): number[] {
	const div = (a: number, b: number) => Math.trunc(a / b);
	let scaleH = div(1024 * height + div(outH, 2), outH), scaleW = div(1024 * width + div(outW, 2), outW);
	if (align && outH > 1) scaleH = div(1024 * (height - 1) + div(outH - 1, 2), outH - 1);
	if (align && outW > 1) scaleW = div(1024 * (width - 1) + div(outW - 1, 2), outW - 1);
	const at = (value: number, scale: number, size: number) => {
		const scaled = half ? value * scale + div(scale, 2) - 512 : value * scale;
		// The lower index clamped at the top too, as our kernel does (TFLite Micro's would read past the end).
		return { scaled, low: Math.min(Math.max(div(scaled, 1024), 0), size - 1), high: Math.min(div(scaled + 1023, 1024), size - 1) };
	};
	const out: number[] = [];
	for (let b = 0; b < batches; b++)
		for (let y = 0; y < outH; y++)
			for (let x = 0; x < outW; x++)
				for (let c = 0; c < depth; c++) {
					const r = at(y, scaleH, height), s = at(x, scaleW, width);
					const v = (yy: number, xx: number) => input[((b * height + yy) * width + xx) * depth + c];
					const dy = r.scaled - 1024 * r.low, dx = s.scaled - 1024 * s.low;
					const sum = v(r.low, s.low) * (1024 - dy) * (1024 - dx) + v(r.high, s.low) * dy * (1024 - dx) + v(r.low, s.high) * (1024 - dy) * dx + v(r.high, s.high) * dy * dx;
					out.push(Math.trunc((sum + (sum > 0 ? 2 ** 19 : -(2 ** 19))) / 2 ** 20));
				}
	return out;
}
for (const [align, half] of [[false, false], [true, false], [false, true]]) {
	const shape = [1, 3, 4, 2], outH = 5, outW = 7;
	const input = floats(24, -4, 4), q = ints(24);
	const g = new Graph();
	const x = g.tensor(shape, "float32"), s = g.tensor([2], "int32", undefined, i32([outH, outW])), y = g.tensor([1, outH, outW, 2], "float32");
	g.op("RESIZE_BILINEAR", [x, s], [y], { alignCorners: align, halfPixelCenters: half });
	floatCase(`float RESIZE_BILINEAR 3x4 to 5x7, align_corners ${align}, half_pixel_centers ${half}`, g.bytes([x], [y]), input, [resizeFloat(input, shape, outH, outW, align, half)]);
	const h = new Graph();
	const x2 = h.tensor(shape, "int8", quant([0.02], [5])), s2 = h.tensor([2], "int32", undefined, i32([outH, outW])), y2 = h.tensor([1, outH, outW, 2], "int8", quant([0.02], [5]));
	h.op("RESIZE_BILINEAR", [x2, s2], [y2], { alignCorners: align, halfPixelCenters: half });
	int8Case(`int8 RESIZE_BILINEAR 3x4 to 5x7, align_corners ${align}, half_pixel_centers ${half}`, h.bytes([x2], [y2]), q, [dequantize(resizeInt8(q, shape, outH, outW, align, half), 0.02, 5)]);
}
{
	// A large upscale: the rounded scale puts the last rows' lower index at the
	// input's height, one past the end, unless it is clamped.
	const shape = [1, 3, 1, 1], outH = 2000, outW = 1;
	const q = ints(3);
	const h = new Graph();
	const x = h.tensor(shape, "int8", quant([0.02], [5])), s = h.tensor([2], "int32", undefined, i32([outH, outW])), y = h.tensor([1, outH, outW, 1], "int8", quant([0.02], [5]));
	h.op("RESIZE_BILINEAR", [x, s], [y], { alignCorners: false, halfPixelCenters: false });
	int8Case("int8 RESIZE_BILINEAR 3 rows to 2000 stays inside its input", h.bytes([x], [y]), q, [dequantize(resizeInt8(q, shape, outH, outW, false, false), 0.02, 5)]);
}

// Models that must be refused, each with the error it names.
{
	const relu = new Graph();
	const x = relu.tensor([4], "float32"), y = relu.tensor([4], "float32");
	relu.op("RELU", [x], [y]);
	const edited = readModel(relu.bytes([x], [y]));
	edited.subgraph.operators[0].opcode = "TANH";
	errorCase("an unsupported op is refused at construction, by name", writeModel(edited), "op TANH \\(builtin code 28\\) is not supported \\(operator 0\\)");

	const concat = new Graph();
	const a = concat.tensor([1, 2], "int8", quant([0.1], [0])), c = concat.tensor([1, 2], "int8", quant([0.2], [0]), i8([1, 2])), out = concat.tensor([1, 4], "int8", quant([0.1], [0]));
	concat.op("CONCATENATION", [a, c], [out], { axis: 1 });
	errorCase("int8 CONCATENATION with inputs of different quantization is refused", concat.bytes([a], [out]), "must share quantization");

	const conv = (options: Record<string, OptionValue>, outShape = [1, 4, 4, 2], filterQ = quant([0.1, 0.1], [0, 0], 0)) => {
		const g = new Graph();
		const i = g.tensor([1, 4, 4, 1], "int8", quant([0.1], [0])), w = g.tensor([2, 1, 1, 1], "int8", filterQ, i8([1, 2]));
		const o = g.tensor(outShape, "int8", quant([0.1], [0]));
		g.op("CONV_2D", [i, w, -1], [o], { padding: "SAME", strideH: 1, strideW: 1, ...options });
		return g.bytes([i], [o]);
	};
	errorCase("CONV_2D with stride 0 is refused", conv({ strideH: 0 }), "strides 0x1 are not supported");
	errorCase("CONV_2D whose output shape disagrees with its parameters is refused", conv({ strideH: 2 }), "the output is \\[1,4,4,...\\], the input and parameters make \\[1,2,4,...\\]");
	errorCase("CONV_2D weights quantized along the wrong dimension are refused", conv({}, [1, 4, 4, 2], quant([0.1, 0.1], [0, 0], 3)), "quantized along dimension 3, expected 0");
	errorCase("asymmetric int8 weights are refused", conv({}, [1, 4, 4, 2], quant([0.1, 0.1], [0, 1], 0)), "must be symmetric");

	const half = new Graph();
	const h = half.tensor([4], "float16"), o = half.tensor([4], "float32");
	half.op("DEQUANTIZE", [h], [o]);
	errorCase("a float16 model input is refused", half.bytes([h], [o]), "the model's input is float16");
}

// ---------------------------------------------------------------- running

const mediapipe = join(projectRoot, "node_modules", "@mediapipe", "face_detection");

// Each suite runs in the plain host and again in the sanitized one (ASan and
// UBSan, every report fatal), which catches what stays inside the arena.
const sanitized = sanitizedHost();
const hosts: [string, string | undefined][] = [["", undefined], [" (sanitized host)", existsSync(sanitized) ? sanitized : undefined]];
const noSanitizedHost = existsSync(sanitized) ? false : `${sanitized} is missing: npm test builds it (npx doorward build --sanitized)`;

for (const [label, host] of hosts) {
	const skip = label ? noSanitizedHost : false;
	test(`the interpreter's kernels against independently computed outputs, and refused models${label}`, { skip }, async (t) => {
		const folder = mkdtempSync(join(tmpdir(), "doorward-inference-"));
		for (const [file, bytes] of files)
			writeFileSync(join(folder, file), bytes);
		writeFileSync(join(folder, "cases.json"), JSON.stringify(cases));
		await runXsModule(t, "tests/inference-run", ["cases"], 120000, folder, host);
	});

	test(`truncated and corrupted models are refused with an error, never a crash${label}`, { skip }, async (t) => {
		const folder = mkdtempSync(join(tmpdir(), "doorward-inference-"));
		const name = "int8 CONV_2D 1: per-channel, SAME, strides 1,1, RELU6, zero points -3/5";
		const file = cases.find((item) => item.name === name)?.model as string;
		writeFileSync(join(folder, "conv.tflite"), files.get(file) as Uint8Array);
		await runXsModule(t, "tests/inference-run", ["corrupt", "conv.tflite"], 300000, folder, host);
	});

	test(`the MediaPipe float16 models run${label}`, { skip: skip || (existsSync(join(mediapipe, "face_detection_short_range.tflite")) ? false : `${mediapipe} is missing: run npm install (it provides @mediapipe/face_detection)`) }, async (t) => {
		await runXsModule(t, "tests/inference-run", ["models"], 300000, mediapipe, host);
	});
}
