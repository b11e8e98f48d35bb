import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ModelError, readModel, writeModel } from "../../tools/model/tflite.js";
import { tinyModel } from "../../tools/model/tiny.js";

// The MediaPipe models ship in a dependency, so these never skip.
const mediapipe = dirname(createRequire(import.meta.url).resolve("@mediapipe/face_detection/package.json"));
const original = (variant: string) => new Uint8Array(readFileSync(join(mediapipe, `face_detection_${variant}_range.tflite`)));

for (const variant of ["short", "full"]) {
	test(`${variant}-range model: read, write, read gives the same model, and writing is deterministic`, () => {
		const model = readModel(original(variant));
		const written = writeModel(model);
		const again = readModel(written);
		assert.deepEqual(again, model);
		assert.deepEqual(writeModel(again), written);
		assert.equal(String.fromCharCode(...written.subarray(4, 8)), "TFL3");
	});
}

test("the short-range model reads as MediaPipe documents it", () => {
	const model = readModel(original("short"));
	const { tensors, inputs, outputs, operators } = model.subgraph;
	assert.deepEqual(tensors[inputs[0]].shape, [1, 128, 128, 3]);
	assert.deepEqual(outputs.map((index) => tensors[index].shape), [[1, 896, 16], [1, 896, 1]]);
	assert.equal(model.buffers[0].length, 0);
	const conv = operators.find((operator) => operator.opcode === "CONV_2D");
	assert.deepEqual(conv?.options, { padding: "SAME", strideW: 2, strideH: 2, fusedActivationFunction: "NONE", dilationWFactor: 1, dilationHFactor: 1 });
	assert.ok(operators.some((operator) => operator.opcode === "DEQUANTIZE" && tensors[operator.inputs[0]].type === "float16"));
});

test("a hand-built model round-trips, quantization and options included", () => {
	const model = tinyModel({
		tensors: [
			{ shape: [1, 4, 4, 2], type: "int8", quantization: { scale: [0.5], zeroPoint: [-3], quantizedDimension: 0 } },
			{ shape: [3, 1, 1, 2], data: new Int8Array([1, -2, 3, -4, 5, -6]), quantization: { scale: [0.125, 0.25, 0.375], zeroPoint: [0, 0, 0], quantizedDimension: 0 } },
			{ shape: [3], data: new Int32Array([7, -8, 9]), quantization: { scale: [0.0625, 0.125, 0.1875], zeroPoint: [0, 0, 0], quantizedDimension: 0 } },
			{ shape: [1, 4, 4, 3], type: "int8", quantization: { scale: [0.25], zeroPoint: [5], quantizedDimension: 0 } },
			{ shape: [1, 48], type: "int8", quantization: { scale: [0.25], zeroPoint: [5], quantizedDimension: 0 } },
		],
		inputs: [0],
		outputs: [4],
		operators: [
			{ opcode: "CONV_2D", inputs: [0, 1, 2], outputs: [3], options: { padding: "VALID", strideW: 1, strideH: 1, fusedActivationFunction: "RELU6" } },
			{ opcode: "RESHAPE", inputs: [3], outputs: [4], options: { newShape: [1, -1] } },
		],
	});
	const back = readModel(writeModel(model));
	assert.deepEqual(back.subgraph.tensors, model.subgraph.tensors);
	assert.deepEqual(back.buffers, model.buffers);
	// Options come back complete, defaults filled in.
	assert.deepEqual(back.subgraph.operators[0].options, { padding: "VALID", strideW: 1, strideH: 1, fusedActivationFunction: "RELU6", dilationWFactor: 1, dilationHFactor: 1 });
	assert.deepEqual(back.subgraph.operators[1].options, { newShape: [1, -1] });
});

test("op versions follow the tensor types (int8 conv is version 3)", () => {
	const bytes = writeModel(tinyModel({
		tensors: [
			{ shape: [1, 1, 1, 1], type: "int8", quantization: { scale: [1], zeroPoint: [0], quantizedDimension: 0 } },
			{ shape: [1, 1, 1, 1], data: new Int8Array([1]), quantization: { scale: [1], zeroPoint: [0], quantizedDimension: 0 } },
			{ shape: [1, 1, 1, 1], type: "int8", quantization: { scale: [1], zeroPoint: [0], quantizedDimension: 0 } },
		],
		inputs: [0], outputs: [2],
		operators: [{ opcode: "CONV_2D", inputs: [0, 1, -1], outputs: [2], options: { padding: "VALID", strideW: 1, strideH: 1 } }],
	}));
	// The version is stored in the operator code table: find the int32 3 right after the code's builtin 3 fields.
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const root = view.getUint32(0, true);
	const codesField = root + view.getUint16(root - view.getInt32(root, true) + 6, true);
	const codes = codesField + view.getUint32(codesField, true);
	const code = codes + 4 + view.getUint32(codes + 4, true);
	const vtable = code - view.getInt32(code, true);
	assert.equal(view.getInt32(code + view.getUint16(vtable + 8, true), true), 3, "version");
	assert.equal(view.getInt32(code + view.getUint16(vtable + 10, true), true), 3, "builtin code of CONV_2D");
});

test("malformed input throws ModelError, never anything else", () => {
	assert.throws(() => readModel(new Uint8Array(4)), ModelError);
	assert.throws(() => readModel(new TextEncoder().encode("not a model at all")), ModelError);
	const good = original("short");
	for (const length of [8, 64, 1000, good.length >> 1, good.length - 100])
		assert.throws(() => readModel(good.subarray(0, length)), ModelError, `truncated to ${length}`);
	// Corrupt bytes across the header and tables: each read either succeeds or throws ModelError.
	for (let at = 0; at < 400; at += 3) {
		const bad = good.slice();
		bad[at] ^= 0xA5;
		try {
			readModel(bad);
		} catch (error) {
			assert.ok(error instanceof ModelError, `byte ${at}: ${error}`);
		}
	}
});

test("writing refuses what it cannot express", () => {
	const base = () => tinyModel({ tensors: [{ shape: [1, 2] }, { shape: [1, 2] }], inputs: [0], outputs: [1], operators: [{ opcode: "RELU", inputs: [0], outputs: [1], options: {} }] });
	const unknownOption = base();
	unknownOption.subgraph.operators[0] = { opcode: "ADD", inputs: [0, 0], outputs: [1], options: { stride: 2 } };
	assert.throws(() => writeModel(unknownOption), /option "stride" is not one of ADD's/);
	const badIndex = base();
	badIndex.subgraph.operators[0].inputs = [7];
	assert.throws(() => writeModel(badIndex), ModelError);
	const badName = base();
	(badName.subgraph.operators[0] as { opcode: string }).opcode = "FROBNICATE";
	assert.throws(() => writeModel(badName), /unknown builtin operator "FROBNICATE"/);
	const sentinel = base();
	sentinel.buffers[0] = new Uint8Array(1);
	assert.throws(() => writeModel(sentinel), /buffer 0 must be the empty sentinel/);
});
