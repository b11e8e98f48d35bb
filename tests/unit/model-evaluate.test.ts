import { test } from "node:test";
import assert from "node:assert/strict";
import { Evaluator } from "../../tools/model/evaluate.js";
import { tinyModel } from "../../tools/model/tiny.js";
import type { Operator } from "../../tools/model/tflite.js";
import type { TinyTensor } from "../../tools/model/tiny.js";

function run(tensors: TinyTensor[], operators: Operator[], input: number[], output = tensors.length - 1): number[] {
	const model = tinyModel({ tensors, inputs: [0], outputs: [output], operators });
	return Array.from(new Evaluator(model).run(Float32Array.from(input))[0]);
}

const conv = { strideW: 1, strideH: 1, fusedActivationFunction: "NONE", dilationWFactor: 1, dilationHFactor: 1 };

test("CONV_2D, VALID: each output is bias plus the window times the filter", () => {
	// Input 3x3, one channel: 1..9. Filter 2x2 [[1, 0], [0, -1]], bias 10: out = 10 + x[y][x] - x[y+1][x+1] = 10 - 4.
	const out = run(
		[{ shape: [1, 3, 3, 1] }, { shape: [1, 2, 2, 1], data: new Float32Array([1, 0, 0, -1]) }, { shape: [1], data: new Float32Array([10]) }, { shape: [1, 2, 2, 1] }],
		[{ opcode: "CONV_2D", inputs: [0, 1, 2], outputs: [3], options: { ...conv, padding: "VALID" } }],
		[1, 2, 3, 4, 5, 6, 7, 8, 9]);
	assert.deepEqual(out, [6, 6, 6, 6]);
});

test("CONV_2D, SAME, stride 2, two input and two output channels, fused RELU", () => {
	// Input 2x2x2; filter 3x3 whose centre tap sums the channels (output 0) or negates channel 1 (output 1).
	const filter = new Float32Array(2 * 9 * 2);
	filter.set([1, 1], 4 * 2);          // output 0, centre tap
	filter.set([0, -1], 9 * 2 + 4 * 2); // output 1, centre tap
	const out = run(
		[{ shape: [1, 2, 2, 2] }, { shape: [2, 3, 3, 2], data: filter }, { shape: [2], data: new Float32Array([0, 0.5]) }, { shape: [1, 1, 1, 2] }],
		[{ opcode: "CONV_2D", inputs: [0, 1, 2], outputs: [3], options: { ...conv, padding: "SAME", strideW: 2, strideH: 2, fusedActivationFunction: "RELU" } }],
		[1, 2, 3, 4, 5, 6, 7, 8]);
	// SAME with stride 2 on 2 pixels pads nothing before (the one padding row goes after):
	// the window starts at pixel (0, 0), so its centre tap reads pixel (1, 1) = [7, 8]; output 1 is -8 + 0.5, cut by RELU.
	assert.deepEqual(out, [15, 0]);
});

test("DEPTHWISE_CONV_2D, SAME: per-channel 3x3 sums with zero padding", () => {
	const filter = new Float32Array(9 * 2);
	for (let tap = 0; tap < 9; tap++) {
		filter[tap * 2] = 1;      // channel 0: box sum
		filter[tap * 2 + 1] = tap === 4 ? 2 : 0; // channel 1: twice the centre
	}
	const input = [1, 10, 2, 20, 3, 30, 4, 40];
	const out = run(
		[{ shape: [1, 2, 2, 2] }, { shape: [1, 3, 3, 2], data: filter }, { shape: [2], data: new Float32Array([0, 1]) }, { shape: [1, 2, 2, 2] }],
		[{ opcode: "DEPTHWISE_CONV_2D", inputs: [0, 1, 2], outputs: [3], options: { ...conv, padding: "SAME", depthMultiplier: 1 } }],
		input);
	assert.deepEqual(out, [10, 21, 10, 41, 10, 61, 10, 81]);
});

test("ADD with broadcast, RELU, PAD, MAX_POOL_2D, RESHAPE, CONCATENATION", () => {
	assert.deepEqual(run(
		[{ shape: [1, 2, 2, 1] }, { shape: [1, 1, 1, 1], data: new Float32Array([-2]) }, { shape: [1, 2, 2, 1] }, { shape: [1, 2, 2, 1] }],
		[{ opcode: "ADD", inputs: [0, 1], outputs: [2], options: { fusedActivationFunction: "NONE" } }, { opcode: "RELU", inputs: [2], outputs: [3], options: {} }],
		[1, 2, 3, 4]), [0, 0, 1, 2]);
	assert.deepEqual(run(
		[{ shape: [1, 1, 2, 1] }, { shape: [4, 2], data: new Int32Array([0, 0, 1, 0, 0, 1, 0, 1]) }, { shape: [1, 2, 3, 2] }],
		[{ opcode: "PAD", inputs: [0, 1], outputs: [2], options: {} }],
		[5, 6]), [0, 0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0]);
	assert.deepEqual(run(
		[{ shape: [1, 3, 3, 1] }, { shape: [1, 2, 2, 1] }],
		[{ opcode: "MAX_POOL_2D", inputs: [0], outputs: [1], options: { padding: "SAME", strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: "NONE" } }],
		[-1, -2, -3, -4, -5, -6, -7, -8, -9]), [-1, -3, -7, -9]);
	assert.deepEqual(run(
		[{ shape: [1, 2, 1] }, { shape: [1, 2, 1] }, { shape: [1, 1, 1], data: new Float32Array([9]) }, { shape: [1, 3, 1] }],
		[{ opcode: "RESHAPE", inputs: [0], outputs: [1], options: { newShape: [1, -1, 1] } }, { opcode: "CONCATENATION", inputs: [1, 2], outputs: [3], options: { axis: 1, fusedActivationFunction: "NONE" } }],
		[1, 2]), [1, 2, 9]);
	assert.deepEqual(run(
		[{ shape: [1, 2, 2] }, { shape: [1, 2, 1], data: new Float32Array([7, 8]) }, { shape: [1, 2, 3] }],
		[{ opcode: "CONCATENATION", inputs: [0, 1], outputs: [2], options: { axis: -1, fusedActivationFunction: "NONE" } }],
		[1, 2, 3, 4]), [1, 2, 7, 3, 4, 8]);
});

test("RESIZE_BILINEAR with half-pixel centres and with neither option", () => {
	const size = { shape: [2], data: new Int32Array([1, 4]) };
	assert.deepEqual(run(
		[{ shape: [1, 1, 2, 1] }, size, { shape: [1, 1, 4, 1] }],
		[{ opcode: "RESIZE_BILINEAR", inputs: [0, 1], outputs: [2], options: { alignCorners: false, halfPixelCenters: true } }],
		[0, 1]), [0, 0.25, 0.75, 1]);
	assert.deepEqual(run(
		[{ shape: [1, 1, 2, 1] }, size, { shape: [1, 1, 4, 1] }],
		[{ opcode: "RESIZE_BILINEAR", inputs: [0, 1], outputs: [2], options: { alignCorners: false, halfPixelCenters: false } }],
		[0, 1]), [0, 0.5, 1, 1]);
});

test("ranges record each tensor's min and max over every run", () => {
	const model = tinyModel({
		tensors: [{ shape: [1, 2] }, { shape: [1, 2] }],
		inputs: [0], outputs: [1],
		operators: [{ opcode: "RELU", inputs: [0], outputs: [1], options: {} }],
	});
	const evaluator = new Evaluator(model, { recordRanges: true });
	evaluator.run(Float32Array.from([-3, 1]));
	evaluator.run(Float32Array.from([2, 5]));
	assert.deepEqual(Array.from(evaluator.ranges), [-3, 5, 0, 5]);
});

test("an op it does not implement is refused up front", () => {
	const model = tinyModel({ tensors: [{ shape: [1] }, { shape: [1] }], inputs: [0], outputs: [1], operators: [{ opcode: "TANH", inputs: [0], outputs: [1], options: {} }] });
	assert.throws(() => new Evaluator(model), /does not implement TANH/);
});
