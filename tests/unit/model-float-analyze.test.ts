import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readModel, writeModel } from "../../tools/model/tflite.js";
import { floatModel, halfToFloat } from "../../tools/model/float.js";
import { analyze } from "../../tools/model/analyze.js";
import { floatData } from "../../tools/model/graph.js";
import { tinyModel } from "../../tools/model/tiny.js";

const mediapipe = dirname(createRequire(import.meta.url).resolve("@mediapipe/face_detection/package.json"));
const original = (variant: string) => readModel(new Uint8Array(readFileSync(join(mediapipe, `face_detection_${variant}_range.tflite`))));

test("float16 bit patterns convert exactly", () => {
	assert.equal(halfToFloat(0x3C00), 1);
	assert.equal(halfToFloat(0xC000), -2);
	assert.equal(halfToFloat(0x3555), 0.333251953125);
	assert.equal(halfToFloat(0x0001), 2 ** -24);
	assert.equal(halfToFloat(0x7BFF), 65504);
	assert.equal(halfToFloat(0x7C00), Infinity);
	assert.ok(Number.isNaN(halfToFloat(0x7E00)));
	assert.ok(Object.is(halfToFloat(0x8000), -0));
});

for (const variant of ["short", "full"]) {
	test(`${variant}-range float model: no DEQUANTIZE, the same graph of tensors, weights equal to the fp16 values`, () => {
		const source = original(variant);
		const converted = floatModel(source);
		const { tensors } = converted.subgraph;
		assert.ok(!converted.subgraph.operators.some((operator) => operator.opcode === "DEQUANTIZE"));
		assert.ok(!tensors.some((tensor) => tensor.type === "float16"));
		// Every other op is kept, in order, reading and writing tensors of the same names and shapes.
		const describe = (model: typeof source, index: number) => `${model.subgraph.tensors[index].name} [${model.subgraph.tensors[index].shape}]`;
		const kept = source.subgraph.operators.filter((operator) => operator.opcode !== "DEQUANTIZE");
		assert.equal(converted.subgraph.operators.length, kept.length);
		kept.forEach((operator, at) => {
			const other = converted.subgraph.operators[at];
			assert.equal(other.opcode, operator.opcode);
			assert.deepEqual(other.options, operator.options);
			assert.deepEqual(other.inputs.map((index) => describe(converted, index)), operator.inputs.map((index) => describe(source, index)));
			assert.deepEqual(other.outputs.map((index) => describe(converted, index)), operator.outputs.map((index) => describe(source, index)));
		});
		assert.deepEqual(converted.subgraph.inputs.map((index) => describe(converted, index)), source.subgraph.inputs.map((index) => describe(source, index)));
		assert.deepEqual(converted.subgraph.outputs.map((index) => describe(converted, index)), source.subgraph.outputs.map((index) => describe(source, index)));
		// A folded weight holds exactly its fp16 values.
		const dequantize = source.subgraph.operators.find((operator) => operator.opcode === "DEQUANTIZE");
		assert.ok(dequantize);
		const half = source.subgraph.tensors[dequantize.inputs[0]];
		const folded = tensors.find((tensor) => tensor.name === source.subgraph.tensors[dequantize.outputs[0]].name);
		assert.ok(folded);
		const bytes = source.buffers[half.buffer];
		const halves = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		const values = floatData(converted, folded);
		for (let i = 0; i < values.length; i++)
			assert.equal(values[i], halfToFloat(halves.getUint16(2 * i, true)));
		// No tensor or buffer is left unused, and the result survives a write and read.
		assert.equal(converted.buffers.length, 1 + tensors.filter((tensor) => tensor.buffer !== 0).length);
		assert.deepEqual(readModel(writeModel(converted)), converted);
	});
}

test("analysis: shapes and MACs of a hand-built conv + depthwise model match a hand computation", () => {
	const model = tinyModel({
		tensors: [
			{ shape: [1, 8, 8, 3] },
			{ shape: [4, 3, 3, 3], data: new Float32Array(4 * 27) },
			{ shape: [4], data: new Float32Array(4) },
			{ shape: [1, 4, 4, 4] },
			{ shape: [1, 3, 3, 4], data: new Float32Array(36) },
			{ shape: [4], data: new Float32Array(4) },
			{ shape: [1, 4, 4, 4] },
			{ shape: [1, 4, 4, 4] },
			{ shape: [1, 2, 2, 4] },
		],
		inputs: [0],
		outputs: [8],
		operators: [
			{ opcode: "CONV_2D", inputs: [0, 1, 2], outputs: [3], options: { padding: "SAME", strideW: 2, strideH: 2, fusedActivationFunction: "NONE", dilationWFactor: 1, dilationHFactor: 1 } },
			{ opcode: "DEPTHWISE_CONV_2D", inputs: [3, 4, 5], outputs: [6], options: { padding: "SAME", strideW: 1, strideH: 1, depthMultiplier: 1, fusedActivationFunction: "NONE", dilationWFactor: 1, dilationHFactor: 1 } },
			{ opcode: "ADD", inputs: [3, 6], outputs: [7], options: { fusedActivationFunction: "RELU", potScaleInt16: true } },
			{ opcode: "MAX_POOL_2D", inputs: [7], outputs: [8], options: { padding: "VALID", strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: "NONE" } },
		],
	});
	const facts = analyze(model);
	// conv: 4x4 outputs x 4 channels x 3x3 kernel x 3 input channels; depthwise: 4x4 x 4 x 3x3.
	assert.deepEqual(facts.operators.map((op) => op.macs), [4 * 4 * 4 * 3 * 3 * 3, 4 * 4 * 4 * 3 * 3, 0, 0]);
	assert.equal(facts.macs, 1728 + 576);
	// add: one per output; max pool: a 2x2 window per output.
	assert.deepEqual(facts.operators.map((op) => op.elementwise), [0, 0, 64, 16 * 4]);
	assert.deepEqual(facts.histogram, { CONV_2D: 1, DEPTHWISE_CONV_2D: 1, ADD: 1, MAX_POOL_2D: 1 });
	assert.equal(facts.weightBytes, 4 * (108 + 4 + 36 + 4));
	assert.deepEqual(facts.shapes[8], [1, 2, 2, 4]);
});

test("analysis catches a recorded shape that the op cannot produce", () => {
	const model = tinyModel({
		tensors: [{ shape: [1, 5, 5, 1] }, { shape: [1, 3, 3, 1] }],
		inputs: [0], outputs: [1],
		operators: [{ opcode: "MAX_POOL_2D", inputs: [0], outputs: [1], options: { padding: "VALID", strideW: 2, strideH: 2, filterWidth: 2, filterHeight: 2, fusedActivationFunction: "NONE" } }],
	});
	assert.throws(() => analyze(model), /recorded as \[1,3,3,1\] but computes to \[1,2,2,1\]/);
});

test("the short-range model's MACs and shapes", () => {
	const facts = analyze(floatModel(original("short")));
	assert.equal(facts.macs, 30760960);
	assert.deepEqual(facts.outputs.map((output) => output.shape), [[1, 896, 16], [1, 896, 1]]);
	// The converted model has the original's arithmetic: DEQUANTIZE only moved to build time.
	assert.equal(analyze(original("short")).macs, facts.macs);
});
