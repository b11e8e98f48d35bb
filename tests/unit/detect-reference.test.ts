/*
 * The reference runtime the cross-check and the benchmark compare our
 * interpreter with: TFLite's WebAssembly build, loaded on Node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { openReference, referenceNodeTypes, referenceRuntime } from "../../tools/detect/reference.js";
import { projectRoot } from "../../tools/build/firmware.js";

// The original model (fp16 weights, DEQUANTIZE ops) ships in a dependency, so this never skips.
const require = createRequire(import.meta.url);
const original = readFileSync(join(require.resolve("@mediapipe/face_detection/package.json"), "..", "face_detection_short_range.tflite"));
const int8Path = join(projectRoot, "models", "face_detection_short_range_int8.tflite");

test("the runtime says where it comes from", () => {
	const runtime = referenceRuntime();
	assert.equal(runtime.package, "@tensorflow/tfjs-tflite");
	assert.match(runtime.version, /^\d+\.\d+\.\d+/);
});

test("the float model's tensors are described and its outputs are repeatable", async () => {
	const reference = await openReference(original);
	try {
		assert.deepEqual(reference.inputs.map((info) => [info.shape, info.type, info.scale, info.zeroPoint]), [[[1, 128, 128, 3], "float32", 1, 0]]);
		assert.deepEqual(reference.outputs.map((info) => info.shape), [[1, 896, 16], [1, 896, 1]]);
		const input = new Float32Array(128 * 128 * 3).map((_, index) => ((index % 255) / 127.5) - 1);
		const first = await reference.run(input);
		const second = await reference.run(input);
		assert.deepEqual(first.map((output) => output.length), [896 * 16, 896]);
		assert.ok(first.every((output) => output.every(Number.isFinite)));
		assert.deepEqual(second, first);
		// Another input gives other outputs: the input really reached the model.
		const other = await reference.run(new Float32Array(128 * 128 * 3));
		assert.notDeepEqual(other[1], first[1]);
	}
	finally {
		await reference.close();
	}
});

test("the whole float graph runs in XNNPACK (why the cross-check allows rounding differences)", async () => {
	const types = await referenceNodeTypes(original);
	assert.ok(types.TfLiteXNNPackDelegate >= 1, JSON.stringify(types));
});

test("int8 outputs are dequantized with the file's scale and zero point", { skip: existsSync(int8Path) ? false : "models/face_detection_short_range_int8.tflite is absent (run `npm run model`)" }, async () => {
	const reference = await openReference(readFileSync(int8Path));
	try {
		const [input] = reference.inputs;
		assert.equal(input.type, "int8");
		const outputs = await reference.run(new Int8Array(128 * 128 * 3).fill(input.zeroPoint));
		reference.outputs.forEach((info, index) => {
			assert.equal(info.type, "int8");
			for (const value of outputs[index]) {
				const q = value / info.scale + info.zeroPoint;
				assert.ok(Math.abs(q - Math.round(q)) < 1e-3 && q >= -128.001 && q <= 127.001, `${info.name}: ${value} is no step of ${info.scale}`);
			}
		});
	}
	finally {
		await reference.close();
	}
});

test("a wrong input, a closed model and a corrupt file are refused with a message", async () => {
	const reference = await openReference(original);
	await assert.rejects(reference.run(new Float32Array(10)), /Float32Array of 49152 elements/);
	await assert.rejects(reference.run(new Int8Array(49152) as unknown as Float32Array), /Float32Array/);
	await assert.rejects(reference.time(new Float32Array(49152), 0), /rounds/);
	await reference.close();
	await assert.rejects(reference.run(new Float32Array(49152)), /closed/);
	await assert.rejects(openReference(original.subarray(0, 1000)));
	await assert.rejects(openReference(new Uint8Array(64)));
});
