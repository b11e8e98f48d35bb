/*
 * `npm run model [-- --only short|full] [--faces DIR] [--float]`: regenerates the
 * detector's models in models/ from MediaPipe's BlazeFace models in
 * node_modules/@mediapipe/face_detection:
 *
 *   face_detection_{short,full}_range_float.tflite  fp16 weights folded to fp32
 *   face_detection_{short,full}_range_int8.tflite   int8, calibrated on ../shared/faces/dev
 *
 * and prints, per model, its ops, tensors, weight bytes, MACs, file size and
 * SHA-256, plus how far the int8 model's outputs drift from the float one's
 * on held-out images. The output is the same bytes on every run.
 *
 * The int8 models are committed (their calibration images are not in the
 * repository); --float writes only the float ones, which need nothing but
 * the npm package: `npm install` runs that.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../build/firmware.js";
import { readModel, writeModel } from "./tflite.js";
import type { Model } from "./tflite.js";
import { floatModel } from "./float.js";
import { analyze } from "./analyze.js";
import { quantizeModel } from "./quantize.js";
import type { RangeClip } from "./quantize.js";
import { Evaluator } from "./evaluate.js";
import { decodeImage, faceImages, modelInputs } from "./calibration.js";
import type { CalibrationImage } from "./calibration.js";

const variants = ["short", "full"] as const;
const heldOutChecks = 12;

function option(name: string): string | undefined {
	const at = process.argv.indexOf(name);
	return at >= 0 ? process.argv[at + 1] : undefined;
}

function sha256(bytes: Uint8Array): string {
	return createHash("sha256").update(bytes).digest("hex");
}

function describe(label: string, model: Model, bytes: Uint8Array): void {
	const facts = analyze(model);
	const ops = Object.entries(facts.histogram).map(([op, count]) => `${op} ${count}`).join(", ");
	const tensor = (t: { name: string; shape: number[]; type: string }) => `${t.name} [${t.shape}] ${t.type}`;
	console.log(`${label}
  ops        ${model.subgraph.operators.length}: ${ops}
  tensors    ${facts.tensors}
  input      ${facts.inputs.map(tensor).join("; ")}
  outputs    ${facts.outputs.map(tensor).join("; ")}
  weights    ${facts.weightBytes} bytes
  MACs       ${facts.macs} (plus ${facts.elementwise} element-wise operations)
  file       ${bytes.length} bytes
  sha256     ${sha256(bytes)}`);
}

/*
 * The output ranges the int8 model keeps (quantize.ts explains why outputs
 * are clipped):
 * - regressors: exactly -width/2 to +width, whatever calibration saw. A box's
 *   width and height reach the whole input for a face at the lens, and are
 *   never negative; centre and keypoint offsets from an anchor stay within
 *   half the input. Calibrated on faces that are rarely that close, a
 *   min/max range stopped at 111 of the full-range model's 192 pixels and
 *   reported close-up faces smaller than they are.
 * - logits within +-16 of what calibration saw (a score of 1e-7 to
 *   1 - 1e-7; MediaPipe itself clips logits at +-100 and keeps detections
 *   above 0.5).
 */
function outputClips(model: Model): RangeClip[] {
	const { tensors, inputs, outputs } = model.subgraph;
	const width = tensors[inputs[0]].shape[2];
	return outputs.map((tensor, output) => {
		const values = tensors[tensor].shape.at(-1);
		if (values === 16)
			return { output, min: -width / 2, max: width, fixed: true };
		if (values === 1)
			return { output, min: -16, max: 16 };
		throw new Error(`output ${tensors[tensor].name} is neither BlazeFace's regressors (16 values per anchor) nor its scores (1)`);
	});
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * How far the int8 model (simulated in float) strays from the float one:
 * the largest and mean score differences over all anchors, and the mean
 * offset difference at the anchors that matter (float score 0.5 or more).
 */
function drift(floatVersion: Model, int8Version: Model, images: CalibrationImage[], shape: number[]): string {
	const reference = new Evaluator(floatVersion);
	const quantized = new Evaluator(int8Version, { fakeQuantize: true });
	let largest = 0, scoreSum = 0, scoreCount = 0, offsetSum = 0, offsetCount = 0;
	for (const input of modelInputs(images, shape)) {
		const [regressorsF, scoresF] = reference.run(input);
		const [regressorsQ, scoresQ] = quantized.run(input);
		const values = regressorsF.length / scoresF.length;
		for (let anchor = 0; anchor < scoresF.length; anchor++) {
			const difference = Math.abs(sigmoid(scoresF[anchor]) - sigmoid(scoresQ[anchor]));
			largest = Math.max(largest, difference);
			scoreSum += difference;
			scoreCount++;
			if (sigmoid(scoresF[anchor]) < 0.5)
				continue;
			for (let i = anchor * values; i < (anchor + 1) * values; i++)
				offsetSum += Math.abs(regressorsF[i] - regressorsQ[i]);
			offsetCount += values;
		}
	}
	return `  drift      int8 (simulated in float) vs float on ${images.length} held-out images: score difference max ${largest.toFixed(3)}, mean ${(scoreSum / scoreCount).toFixed(4)}; offsets at ${offsetCount / 16} anchors scoring >= 0.5: mean difference ${(offsetSum / Math.max(1, offsetCount)).toFixed(2)} input pixels`;
}

/** The float and int8 models of one variant, from MediaPipe's file. */
export function buildVariant(variant: "short" | "full", calibration: CalibrationImage[] | undefined): { original: Uint8Array; floatVersion: Model; floatBytes: Uint8Array; int8Version?: Model; int8Bytes?: Uint8Array } {
	const file = join(mediapipeFolder, `face_detection_${variant}_range.tflite`);
	const original = new Uint8Array(readFileSync(file));
	const floatVersion = floatModel(readModel(original));
	const floatBytes = writeModel(floatVersion);
	if (!calibration)
		return { original, floatVersion, floatBytes };
	const shape = floatVersion.subgraph.tensors[floatVersion.subgraph.inputs[0]].shape;
	const int8Version = quantizeModel(floatVersion, modelInputs(calibration, shape), outputClips(floatVersion));
	return { original, floatVersion, floatBytes, int8Version, int8Bytes: writeModel(int8Version) };
}

export const mediapipeFolder = join(projectRoot, "node_modules", "@mediapipe", "face_detection");
export const defaultFaces = join(projectRoot, "..", "shared", "faces", "dev");

function main(): void {
	const only = option("--only");
	if (only !== undefined && !(variants as readonly string[]).includes(only))
		throw new Error(`--only takes short or full, not ${JSON.stringify(only)}`);
	const floatOnly = process.argv.includes("--float");
	const faces = option("--faces") ?? defaultFaces;
	const output = join(projectRoot, "models");
	if (!existsSync(mediapipeFolder))
		throw new Error(`${mediapipeFolder} is missing: run npm install (the package @mediapipe/face_detection is a dependency)`);
	let calibration: CalibrationImage[] | undefined;
	let heldOut: CalibrationImage[] = [];
	if (!floatOnly) {
		const set = faceImages(faces);
		console.log(`calibration: ${set.calibration.length} images with faces from ${faces} (sorted by name, every other one); drift measured on ${Math.min(heldOutChecks, set.heldOut.length)} of the ${set.heldOut.length} others`);
		calibration = set.calibration.map((file) => decodeImage(faces, file));
		heldOut = set.heldOut.slice(0, heldOutChecks).map((file) => decodeImage(faces, file));
	}
	mkdirSync(output, { recursive: true });

	for (const variant of variants.filter((name) => only === undefined || name === only)) {
		const built = buildVariant(variant, calibration);
		console.log(`\n${join(mediapipeFolder, `face_detection_${variant}_range.tflite`)}\n  sha256     ${sha256(built.original)}`);
		writeFileSync(join(output, `face_detection_${variant}_range_float.tflite`), built.floatBytes);
		describe(`models/face_detection_${variant}_range_float.tflite`, built.floatVersion, built.floatBytes);
		const { int8Version, int8Bytes } = built;
		if (!int8Version || !int8Bytes)
			continue;
		writeFileSync(join(output, `face_detection_${variant}_range_int8.tflite`), int8Bytes);
		describe(`models/face_detection_${variant}_range_int8.tflite`, int8Version, int8Bytes);
		const input = int8Version.subgraph.tensors[int8Version.subgraph.inputs[0]].quantization;
		console.log(`  input q    scale ${input?.scale[0]}, zero point ${input?.zeroPoint[0]}`);
		for (const index of int8Version.subgraph.outputs) {
			const tensor = int8Version.subgraph.tensors[index];
			console.log(`  output q   ${tensor.name}: scale ${tensor.quantization?.scale[0]}, zero point ${tensor.quantization?.zeroPoint[0]}`);
		}
		const shape = built.floatVersion.subgraph.tensors[built.floatVersion.subgraph.inputs[0]].shape;
		console.log(drift(built.floatVersion, int8Version, heldOut, shape));
	}
}

// Run as a program (npm run model), not when a test imports buildVariant.
if (process.argv[1]?.endsWith("build.js")) {
	try {
		main();
	}
	catch (error) {
		console.error(`npm run model: ${(error as Error).message}`);
		process.exitCode = 1;
	}
}
