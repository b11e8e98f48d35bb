import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readModel, writeModel, opVersion } from "../../tools/model/tflite.js";
import type { Model, Quantization } from "../../tools/model/tflite.js";
import { floatModel } from "../../tools/model/float.js";
import { activationParameters, fuseRelus, quantize, quantizeModel } from "../../tools/model/quantize.js";
import { Evaluator } from "../../tools/model/evaluate.js";
import { decodeImage, faceImages, modelInputs } from "../../tools/model/calibration.js";
import { tinyModel } from "../../tools/model/tiny.js";

const mediapipe = dirname(createRequire(import.meta.url).resolve("@mediapipe/face_detection/package.json"));
const shortFloat = () => floatModel(readModel(new Uint8Array(readFileSync(join(mediapipe, "face_detection_short_range.tflite")))));
const faces = join(fileURLToPath(new URL("../../../..", import.meta.url)), "..", "shared", "faces", "dev");
const noFaces = existsSync(join(faces, "boxes.json")) ? false : `the face dev set (${faces}) is absent: calibration on real images is not tested`;

/** Deterministic pseudo-random images in [-1, 1], for invariants that do not depend on real data. */
function* syntheticInputs(count: number, length: number): Generator<Float32Array> {
	let state = 12345;
	for (let n = 0; n < count; n++) {
		const values = new Float32Array(length);
		for (let i = 0; i < length; i++) {
			state = (state * 1103515245 + 12345) >>> 0;
			values[i] = (state / 2 ** 32) * 2 - 1;
		}
		yield values;
	}
}

const q = (model: Model, index: number) => model.subgraph.tensors[index].quantization as Quantization;
const same = (a: Quantization, b: Quantization) => a.scale[0] === b.scale[0] && a.zeroPoint[0] === b.zeroPoint[0];

function checkInvariants(model: Model): void {
	const { tensors, operators, inputs, outputs } = model.subgraph;
	const input = tensors[inputs[0]];
	assert.equal(input.type, "int8", "input type");
	assert.ok(Math.abs(input.quantization!.scale[0] - 2 / 255) < 1e-9, "input scale covers [-1, 1]");
	for (const index of outputs)
		assert.equal(tensors[index].type, "int8");
	tensors.forEach((tensor) => {
		if (tensor.buffer === 0) {
			assert.equal(tensor.type, "int8", `${tensor.name} is an int8 activation`);
			assert.equal(tensor.quantization?.scale.length, 1, `${tensor.name} is quantized per tensor`);
			const zp = tensor.quantization!.zeroPoint[0];
			assert.ok(zp >= -128 && zp <= 127 && Number.isInteger(zp));
		}
		assert.notEqual(tensor.type, "float32", `${tensor.name} is not float`);
	});
	assert.ok(!operators.some((operator) => operator.opcode === "RELU" || operator.opcode === "DEQUANTIZE"));
	for (const operator of operators) {
		const [first] = operator.inputs;
		const output = operator.outputs[0];
		switch (operator.opcode) {
			case "CONV_2D":
			case "DEPTHWISE_CONV_2D": {
				const axis = operator.opcode === "CONV_2D" ? 0 : 3;
				const filter = tensors[operator.inputs[1]];
				const bias = tensors[operator.inputs[2]];
				const channels = filter.shape[axis];
				assert.equal(filter.type, "int8");
				assert.equal(filter.quantization?.quantizedDimension, axis);
				assert.equal(filter.quantization?.scale.length, channels, "per-channel scales");
				assert.ok(filter.quantization!.zeroPoint.every((zp) => zp === 0), "symmetric weights");
				const weights = new Int8Array(model.buffers[filter.buffer].slice().buffer);
				assert.ok(weights.every((w) => w >= -127), "weights avoid -128");
				assert.equal(bias.type, "int32");
				assert.ok(bias.quantization!.zeroPoint.every((zp) => zp === 0));
				bias.quantization!.scale.forEach((scale, c) => {
					const expected = q(model, first).scale[0] * filter.quantization!.scale[c];
					assert.ok(Math.abs(scale - expected) <= expected * 1e-6, `bias scale of channel ${c}`);
				});
				assert.equal(opVersion(model, operator), 3);
				break;
			}
			case "MAX_POOL_2D":
			case "PAD":
			case "RESHAPE":
			case "RESIZE_BILINEAR":
				assert.ok(same(q(model, first), q(model, output)), `${operator.opcode} output shares its input's parameters`);
				break;
			case "CONCATENATION":
				for (const index of operator.inputs)
					assert.ok(same(q(model, index), q(model, output)), "CONCATENATION inputs share the output's parameters");
				break;
		}
		if (operator.options.fusedActivationFunction === "RELU")
			assert.equal(q(model, output).zeroPoint[0], -128, "a RELU output starts at 0");
	}
}

test("activation parameters contain 0, span the range, and put a non-negative range's 0 at -128", () => {
	assert.deepEqual(activationParameters(0, 25.5), { scale: Math.fround(0.1), zeroPoint: -128 });
	const signed = activationParameters(-1, 1);
	assert.equal(signed.zeroPoint, -1);
	const positive = activationParameters(2, 4); // widened to [0, 4]
	assert.equal(positive.zeroPoint, -128);
	assert.ok(Math.abs(positive.scale - 4 / 255) < 1e-7);
	const negative = activationParameters(-5, -1); // widened to [-5, 0]
	assert.equal(negative.zeroPoint, 127);
	assert.throws(() => activationParameters(NaN, 1));
});

test("a tiny conv model quantizes to the layout TFLite Micro expects and stays close to float", () => {
	const filter = Float32Array.from([0.5, -0.25, 1, 0.75, -1, 0.5, 0.25, 0, 2, -2, 1, 0.5]);
	const model = tinyModel({
		tensors: [
			{ shape: [1, 2, 2, 3] },
			{ shape: [2, 1, 2, 3], data: filter },
			{ shape: [2], data: new Float32Array([0.1, -0.2]) },
			{ shape: [1, 2, 1, 2] },
			{ shape: [1, 2, 1, 2] },
			{ shape: [1, 1, 1, 2] },
		],
		inputs: [0], outputs: [5],
		operators: [
			{ opcode: "CONV_2D", inputs: [0, 1, 2], outputs: [3], options: { padding: "VALID", strideW: 1, strideH: 1, fusedActivationFunction: "NONE", dilationWFactor: 1, dilationHFactor: 1 } },
			{ opcode: "RELU", inputs: [3], outputs: [4], options: {} },
			{ opcode: "MAX_POOL_2D", inputs: [4], outputs: [5], options: { padding: "VALID", strideW: 1, strideH: 1, filterWidth: 1, filterHeight: 2, fusedActivationFunction: "NONE" } },
		],
	});
	const inputs = [...syntheticInputs(8, 12)];
	const quantized = quantizeModel(model, inputs);
	assert.deepEqual(quantized.subgraph.operators.map((operator) => operator.opcode), ["CONV_2D", "MAX_POOL_2D"]);
	assert.equal(quantized.subgraph.operators[0].options.fusedActivationFunction, "RELU");
	checkInvariants(quantized);
	// Per-channel weight scales are the channel's largest magnitude over 127.
	assert.deepEqual(quantized.subgraph.tensors[quantized.subgraph.operators[0].inputs[1]].quantization!.scale, [Math.fround(1 / 127), Math.fround(2 / 127)]);
	const reference = new Evaluator(model);
	const simulated = new Evaluator(quantized, { fakeQuantize: true });
	for (const input of inputs) {
		const expected = reference.run(input)[0], actual = simulated.run(input)[0];
		const scale = q(quantized, quantized.subgraph.outputs[0]).scale[0];
		expected.forEach((value, i) => assert.ok(Math.abs(value - actual[i]) <= 2 * scale, `${value} vs ${actual[i]}`));
	}
	// Written and read back unchanged.
	assert.deepEqual(readModel(writeModel(quantized)), quantized);
});

test("the short-range model quantizes with every invariant TFLite Micro needs (synthetic calibration)", () => {
	const floatVersion = shortFloat();
	const fused = fuseRelus(floatVersion);
	assert.equal(fused.subgraph.operators.filter((operator) => operator.opcode === "RELU").length, 0, "every RELU follows a single-use conv or add");
	const length = 128 * 128 * 3;
	const quantized = quantizeModel(floatVersion, syntheticInputs(2, length));
	checkInvariants(quantized);
	const bytes = writeModel(quantized);
	assert.deepEqual(readModel(bytes), quantized);
	// Deterministic: the same inputs give the same bytes.
	assert.deepEqual(writeModel(quantizeModel(floatVersion, syntheticInputs(2, length))), bytes);
});

test("output clips bound the tensors tied to an output, and are validated", () => {
	const fused = fuseRelus(shortFloat());
	const evaluator = new Evaluator(fused, { recordRanges: true });
	for (const input of syntheticInputs(1, 128 * 128 * 3))
		evaluator.run(input);
	const clipped = quantize(fused, evaluator.ranges, [{ output: 1, min: -16, max: 16 }]);
	const scores = q(clipped, clipped.subgraph.outputs[1]);
	assert.ok(scores.scale[0] <= 32 / 255 + 1e-7);
	checkInvariants(clipped);
	// A fixed clip is the range itself, wider or narrower than what calibration saw.
	const fixed = quantize(fused, evaluator.ranges, [{ output: 0, min: -64, max: 128, fixed: true }]);
	const regressors = q(fixed, fixed.subgraph.outputs[0]);
	assert.ok(Math.abs(regressors.scale[0] - 192 / 255) < 1e-6, `scale ${regressors.scale[0]}`);
	assert.equal(regressors.zeroPoint[0], Math.round(-128 + 64 / (192 / 255)));
	checkInvariants(fixed);
	assert.throws(() => quantize(fused, evaluator.ranges, [{ output: 5, min: -1, max: 1 }]), /clip of output 5/);
	assert.throws(() => quantize(fused, evaluator.ranges, [{ output: 0, min: 1, max: 2 }]), /must contain 0/);
});

test("the calibration set is refused with a clear message when the dev set is absent", () => {
	assert.throws(() => faceImages("/nonexistent/faces"), /the face dev set is missing: \/nonexistent\/faces needs boxes.json and images\//);
});

test("calibration on the face dev set: every other image with faces, sorted, prepared by the firmware's prepareInput", { skip: noFaces }, () => {
	const set = faceImages(faces);
	assert.ok(set.calibration.length > 0);
	assert.deepEqual([...set.calibration].sort(), set.calibration);
	assert.equal(set.calibration.filter((file) => set.heldOut.includes(file)).length, 0);
	const images = set.calibration.slice(0, 2).map((file) => decodeImage(faces, file));
	const [first] = modelInputs(images, [1, 128, 128, 3]);
	assert.equal(first.length, 128 * 128 * 3);
	assert.ok(first.every((value) => value >= -1 && value <= 1));
	checkInvariants(quantizeModel(shortFloat(), modelInputs(images, [1, 128, 128, 3])));
});
