/*
 * Our interpreter (in the simulator host) against TFLite itself
 * (@tensorflow/tfjs-tflite's WebAssembly build, on Node: no browser needed)
 * on dev-set images prepared by the firmware's prepareInput: the same input
 * tensors into both, every output value compared.
 *
 * int8: every op, run alone on the same inputs in both runtimes, within one
 * quantization step. TFLite hands the graph to XNNPACK (that build cannot
 * turn it off), whose requantization rounds its own way, so bit-exactness
 * cannot be asked; one step is what two correct roundings of the same
 * integer sum can differ by. End to end, those one-step differences compound
 * through ~70-130 layers (tens of steps at the outputs on some images: a
 * value rounded the other way early moves everything downstream), so the
 * whole-model int8 figures are reported, not asserted.
 *
 * float: |ours - TFLite| <= 1e-5 x (1 + the output's largest |value|), end
 * to end. Both compute in float32 but sum in different orders (XNNPACK with
 * SIMD and fused multiply-adds); the error scales with the magnitudes
 * summed. Over all 129 dev images the worst seen is 2.4e-6 of the output's
 * largest value (npm run crosscheck:detect), a margin of about 4; a real bug
 * (a wrong padding, stride or bias) moves values by whole units.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { crosscheckModel, crosscheckOperators, defaultDevSet, devSetImages, formatComparison, formatOperators } from "../../tools/detect/crosscheck.js";
import { projectRoot } from "../../tools/build/firmware.js";

const modelPath = (name: string) => join(projectRoot, "models", `face_detection_${name}.tflite`);
const floatTolerance = 1e-5;

const images = existsSync(join(defaultDevSet, "images")) ? devSetImages(defaultDevSet).slice(0, 3) : [];
const noDevSet = images.length ? false : `the face dev set is absent (${join(defaultDevSet, "images")}): the cross-check needs its images`;

function skipFor(model: string): string | false {
	return noDevSet || (existsSync(model) ? false : `models/${basename(model)} is absent (run \`npm run model\`)`);
}

for (const range of ["short_range", "full_range"]) {
	const int8 = modelPath(`${range}_int8`);
	test(`every op of ${basename(int8)} matches TFLite within one step`, { skip: skipFor(int8) }, async (t) => {
		const whole = await crosscheckModel(int8, images);
		formatComparison(whole).forEach((line) => t.diagnostic(line));
		const operators = await crosscheckOperators(int8, images[0]);
		formatOperators(basename(int8), operators).forEach((line) => t.diagnostic(line));
		for (const op of operators)
			assert.equal(op.beyondOneStep, 0, `op ${op.index} (${op.opcode} -> ${op.output}): ${op.beyondOneStep} of ${op.values} values beyond one step (worst ${op.maxSteps} steps)`);
	});

	const float = modelPath(`${range}_float`);
	test(`${basename(float)} matches TFLite to float32 rounding`, { skip: skipFor(float) }, async (t) => {
		const comparison = await crosscheckModel(float, images);
		formatComparison(comparison).forEach((line) => t.diagnostic(line));
		for (const output of comparison.outputs) {
			const bound = floatTolerance * (1 + output.referenceMagnitude);
			assert.ok(output.maxAbs <= bound, `${output.name}: |diff| ${output.maxAbs} > ${bound} on ${output.maxAbsImage} [${output.maxAbsIndex}]`);
		}
	});
}
