/*
 * `npm run crosscheck:detect -- [DIR] [--model PATH]... [--limit N] [--per-op] [--json]`:
 * our interpreter (the firmware's, in the simulator host) against TFLite
 * itself (tools/detect/reference.ts) on the same input tensors: each image
 * of the face dev set (DIR/images, default ../shared/faces/dev), decoded
 * with jpeg-js and prepared by the firmware's own prepareInput.
 *
 * Per model and output tensor: the largest absolute difference (raw, and in
 * quantization steps for an int8 output) and the image it occurred on, the
 * mean absolute difference, and how many values differ by more than one
 * step. Without --model, every face_detection_*.tflite in models/. Then,
 * for int8 models (and float ones with --per-op), each op alone on the
 * first image, fed the same inputs in both runtimes (crosscheckOperators).
 *
 * What to expect: float models differ in the last bits (XNNPACK sums in a
 * different order, with SIMD and fused multiply-adds). int8 ops match bit
 * for bit or within one step (XNNPACK's requantization rounds its own way);
 * end to end, those one-step differences compound through the layers, so
 * the int8 end-to-end figures are reported, and the per-op ones are the
 * check.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import jpeg from "jpeg-js";
import { prepareInput } from "detect/input";
import type { Pixels } from "detect/input";
import { openReference, referenceRuntime } from "./reference.js";
import type { Reference, ReferenceTensorInfo } from "./reference.js";
import { runHostInterpreter } from "./host-interpreter.js";
import { projectRoot } from "../build/firmware.js";
import { readModel, writeModel } from "../model/tflite.js";
import type { Model, Tensor } from "../model/tflite.js";

export const defaultDevSet = resolve(projectRoot, "..", "shared", "faces", "dev");

export interface OutputComparison {
	readonly name: string;
	readonly shape: readonly number[];
	readonly type: "float32" | "int8";
	/** The output's quantization step (1 for float32). */
	readonly scale: number;
	readonly maxAbs: number;
	readonly maxAbsImage: string;
	readonly maxAbsIndex: number;
	/** maxAbs in quantization steps; undefined for float32. */
	readonly maxSteps?: number;
	readonly meanAbs: number;
	/** The largest |reference value| of this output over all images: what maxAbs is relative to. */
	readonly referenceMagnitude: number;
	/**
	 * int8 models whose float sibling (_int8 -> _float) is in the same folder:
	 * the mean |int8 output - float model's output| for TFLite's int8 run and
	 * for ours. Equal means our kernels lose no more to quantization than
	 * TFLite's, whatever the end-to-end difference between the two.
	 */
	readonly versusFloat?: { readonly reference: number; readonly ours: number };
	/** Values that differ by more than one quantization step (int8), counted over all images. */
	readonly beyondOneStep: number;
	readonly values: number;
}

export interface ModelComparison {
	readonly model: string;
	readonly inputType: "float32" | "int8";
	readonly images: number;
	readonly outputs: readonly OutputComparison[];
}

export class CrosscheckError extends Error {}
Object.freeze(CrosscheckError.prototype);

export function devSetImages(folder: string): string[] {
	const images = join(folder, "images");
	if (!existsSync(images))
		throw new CrosscheckError(`the face dev set is not there: ${images} does not exist (pass its folder, the one holding images/)`);
	return readdirSync(images).filter((file) => /\.jpe?g$/i.test(file)).sort().map((file) => join(images, file));
}

export function decodeImage(path: string): Pixels {
	const decoded = jpeg.decode(readFileSync(path), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512 });
	return { width: decoded.width, height: decoded.height, data: decoded.data };
}

/** The shipped models' names in models/, float and int8 of both ranges, those that exist. */
export function modelsFolderModels(): string[] {
	const folder = join(projectRoot, "models");
	if (!existsSync(folder))
		return [];
	return readdirSync(folder).filter((file) => /^face_detection_.*\.tflite$/.test(file)).sort().map((file) => join(folder, file));
}

function sameInfo(host: { shape: readonly number[]; type: string; scale: number; zeroPoint: number }, reference: ReferenceTensorInfo): boolean {
	return host.type === reference.type && host.shape.join() === reference.shape.join()
		&& Math.fround(host.scale) === Math.fround(reference.scale) && host.zeroPoint === reference.zeroPoint;
}

export async function crosscheckModel(modelPath: string, images: readonly string[], progress?: (line: string) => void): Promise<ModelComparison> {
	const reference = await openReference(readFileSync(modelPath));
	let floatReference: Reference | undefined;
	try {
		const inputInfo = reference.inputs[0];
		const floatPath = modelPath.replace(/_int8\.tflite$/, "_float.tflite");
		if (inputInfo.type === "int8" && floatPath !== modelPath && existsSync(floatPath))
			floatReference = await openReference(readFileSync(floatPath));
		const inputs: (Float32Array | Int8Array)[] = [];
		const floatInputs: (Float32Array | Int8Array)[] = [];
		for (const image of images) {
			const pixels = decodeImage(image);
			inputs.push(prepareInput(pixels, inputInfo).data);
			if (floatReference)
				floatInputs.push(prepareInput(pixels, floatReference.inputs[0]).data);
		}
		progress?.(`${basename(modelPath)}: ${images.length} images prepared; running the host interpreter`);
		const host = await runHostInterpreter({ path: modelPath }, inputs);
		if (!sameInfo(host.info.input, inputInfo))
			throw new CrosscheckError(`${basename(modelPath)}: the host reads the input as ${JSON.stringify(host.info.input)}, TFLite as ${JSON.stringify(inputInfo)}`);
		if (host.info.outputs.length !== reference.outputs.length || host.info.outputs.some((info, index) => !sameInfo(info, reference.outputs[index])))
			throw new CrosscheckError(`${basename(modelPath)}: the outputs differ: host ${JSON.stringify(host.info.outputs)}, TFLite ${JSON.stringify(reference.outputs)}`);
		progress?.(`${basename(modelPath)}: running the reference`);
		const stats = reference.outputs.map((info) => ({ info, maxAbs: -1, maxAbsImage: "", maxAbsIndex: -1, sum: 0, values: 0, beyondOneStep: 0, referenceMagnitude: 0, referenceToFloat: 0, oursToFloat: 0 }));
		for (let image = 0; image < images.length; image++) {
			const expected = await reference.run(inputs[image]);
			const float = floatReference ? await floatReference.run(floatInputs[image]) : undefined;
			expected.forEach((values, output) => {
				const got = host.outputs[image][output];
				const stat = stats[output];
				if (got.length !== values.length)
					throw new CrosscheckError(`${basename(modelPath)}: output ${output} has ${got.length} values in the host, ${values.length} in TFLite`);
				// Half a step of slack so float rounding in the dequantization cannot push a one-step difference over.
				const oneStep = stat.info.type === "int8" ? stat.info.scale * 1.5 : Infinity;
				for (let i = 0; i < values.length; i++) {
					const difference = Math.abs(got[i] - values[i]);
					// NaN on either side counts as the worst difference, not as none.
					const measured = Number.isNaN(difference) ? Infinity : difference;
					if (measured > stat.maxAbs) {
						stat.maxAbs = measured;
						stat.maxAbsImage = basename(images[image]);
						stat.maxAbsIndex = i;
					}
					if (measured > oneStep)
						stat.beyondOneStep++;
					stat.sum += measured;
					stat.referenceMagnitude = Math.max(stat.referenceMagnitude, Math.abs(values[i]));
				}
				stat.values += values.length;
				if (float) {
					for (let i = 0; i < values.length; i++) {
						stat.referenceToFloat += Math.abs(values[i] - float[output][i]);
						stat.oursToFloat += Math.abs(got[i] - float[output][i]);
					}
				}
			});
		}
		return {
			model: basename(modelPath),
			inputType: inputInfo.type,
			images: images.length,
			outputs: stats.map((stat) => ({
				name: stat.info.name,
				shape: stat.info.shape,
				type: stat.info.type,
				scale: stat.info.scale,
				maxAbs: stat.maxAbs,
				maxAbsImage: stat.maxAbsImage,
				maxAbsIndex: stat.maxAbsIndex,
				maxSteps: stat.info.type === "int8" ? stat.maxAbs / stat.info.scale : undefined,
				meanAbs: stat.sum / stat.values,
				referenceMagnitude: stat.referenceMagnitude,
				beyondOneStep: stat.beyondOneStep,
				versusFloat: floatReference ? { reference: stat.referenceToFloat / stat.values, ours: stat.oursToFloat / stat.values } : undefined,
				values: stat.values,
			})),
		};
	}
	finally {
		await reference.close();
		await floatReference?.close();
	}
}

export interface OperatorComparison {
	readonly index: number;
	readonly opcode: string;
	readonly output: string;
	readonly type: "float32" | "int8";
	readonly scale: number;
	readonly maxAbs: number;
	/** maxAbs in quantization steps; undefined for float32. */
	readonly maxSteps?: number;
	/** Values not bit-identical, and (int8) values more than one step apart. */
	readonly differing: number;
	readonly beyondOneStep: number;
	readonly values: number;
}

/**
 * Each op of the model alone, in both runtimes, fed the same inputs: the
 * values TFLite computed for them on `image`. End to end, int8 networks
 * amplify one-step rounding differences layer after layer (a value that
 * rounds the other way moves every value downstream of it), so only an op
 * on identical inputs shows whether our kernels compute what TFLite's do.
 * An op's second activation input (ADD, CONCATENATION) becomes a constant.
 */
export async function crosscheckOperators(modelPath: string, image: string, progress?: (line: string) => void): Promise<OperatorComparison[]> {
	const source = readModel(new Uint8Array(readFileSync(modelPath)));
	const { tensors, operators } = source.subgraph;
	// Every op's output made a model output, so TFLite hands back all intermediates.
	const exposed: Model = structuredClone(source);
	exposed.subgraph.outputs = operators.map((operator) => operator.outputs[0]);
	const all = await openReference(writeModel(exposed));
	const values = new Map<number, Float32Array | Int8Array>();
	try {
		const input = prepareInput(decodeImage(image), all.inputs[0]).data;
		values.set(source.subgraph.inputs[0], input);
		(await all.run(input)).forEach((real, index) => values.set(operators[index].outputs[0], stored(tensors[operators[index].outputs[0]], real)));
	}
	finally {
		await all.close();
	}
	const folder = mkdtempSync(join(tmpdir(), "doorward-crosscheck-"));
	try {
		const results: OperatorComparison[] = [];
		for (let index = 0; index < operators.length; index++) {
			const { model, input } = isolate(source, index, values);
			const file = join(folder, "op.tflite");
			writeFileSync(file, model);
			const reference = await openReference(model);
			let expected: Float32Array;
			try {
				[expected] = await reference.run(input);
			}
			finally {
				await reference.close();
			}
			const got = (await runHostInterpreter({ path: file }, [input])).outputs[0][0];
			const output = tensors[operators[index].outputs[0]];
			const type = output.type === "int8" ? "int8" : "float32";
			const scale = type === "int8" ? output.quantization!.scale[0] : 1;
			let maxAbs = 0, differing = 0, beyondOneStep = 0;
			for (let i = 0; i < expected.length; i++) {
				const difference = Math.abs(got[i] - expected[i]);
				const measured = Number.isNaN(difference) ? Infinity : difference;
				maxAbs = Math.max(maxAbs, measured);
				if (measured > 0)
					differing++;
				if (type === "int8" && measured > 1.5 * scale)
					beyondOneStep++;
			}
			results.push({ index, opcode: operators[index].opcode, output: output.name, type, scale, maxAbs, maxSteps: type === "int8" ? maxAbs / scale : undefined, differing, beyondOneStep, values: expected.length });
			if (index % 20 === 19)
				progress?.(`${basename(modelPath)}: ${index + 1} of ${operators.length} ops checked alone`);
		}
		return results;
	}
	finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

/** A tensor's values as the runtimes store them: int8 back from TFLite's dequantized copy (exact: q = real / scale + zeroPoint). */
function stored(tensor: Tensor, real: Float32Array): Float32Array | Int8Array {
	if (tensor.type !== "int8")
		return real;
	const { scale: [scale], zeroPoint: [zeroPoint] } = tensor.quantization!;
	return Int8Array.from(real, (value) => Math.round(value / scale + zeroPoint));
}

/** A one-op model: the op's first activation input is the model input, other activations become constants holding `values`. */
function isolate(source: Model, index: number, values: Map<number, Float32Array | Int8Array>): { model: Uint8Array; input: Float32Array | Int8Array } {
	const operator = source.subgraph.operators[index];
	const tensors: Tensor[] = [];
	const buffers: Uint8Array[] = [new Uint8Array(0)];
	const renumbered = new Map<number, number>();
	const activations = operator.inputs.filter((at) => at >= 0 && source.subgraph.tensors[at].buffer === 0);
	if (!activations.length)
		throw new CrosscheckError(`op ${index} (${operator.opcode}) has no activation input`);
	const take = (at: number, keepDynamic: boolean): number => {
		if (at < 0)
			return -1;
		const known = renumbered.get(at);
		if (known !== undefined)
			return known;
		const tensor: Tensor = structuredClone(source.subgraph.tensors[at]);
		if (tensor.buffer !== 0)
			tensor.buffer = buffers.push(source.buffers[tensor.buffer]) - 1;
		else if (!keepDynamic) {
			const data = values.get(at)!;
			tensor.buffer = buffers.push(new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))) - 1;
		}
		renumbered.set(at, tensors.push(tensor) - 1);
		return tensors.length - 1;
	};
	const input = take(activations[0], true);
	const inputs = operator.inputs.map((at) => take(at, at === activations[0]));
	const outputs = operator.outputs.map((at) => take(at, true));
	const model: Model = {
		version: source.version,
		description: `op ${index} of a cross-checked model`,
		buffers,
		subgraph: { name: "op", tensors, inputs: [input], outputs, operators: [{ ...operator, inputs, outputs }] },
	};
	return { model: writeModel(model), input: values.get(activations[0])! };
}

export function formatOperators(model: string, operators: readonly OperatorComparison[]): string[] {
	const quantized = operators.filter((op) => op.type === "int8");
	const values = operators.reduce((sum, op) => sum + op.values, 0);
	const differing = operators.reduce((sum, op) => sum + op.differing, 0);
	const worst = operators.reduce((a, b) => ((b.maxSteps ?? 0) > (a.maxSteps ?? 0) ? b : a));
	const lines = [`${model}, each op alone on the same inputs: ${operators.length} ops; ${differing} of ${values} values not bit-identical (${(100 * differing / values).toFixed(2)}%)`];
	if (quantized.length)
		lines.push(`  int8: worst ${worst.maxSteps!.toFixed(2)} steps (op ${worst.index} ${worst.opcode} ${worst.output}); ops beyond one step: ${quantized.filter((op) => op.beyondOneStep > 0).map((op) => `${op.index} ${op.opcode}`).join(", ") || "none"}`);
	const floats = operators.filter((op) => op.type === "float32");
	if (floats.length)
		lines.push(`  float32: largest |diff| ${Math.max(...floats.map((op) => op.maxAbs)).toExponential(2)}`);
	return lines;
}

export function formatComparison(comparison: ModelComparison): string[] {
	const lines = [`${comparison.model} (${comparison.inputType} input, ${comparison.images} images):`];
	for (const output of comparison.outputs) {
		const where = `on ${output.maxAbsImage} [${output.maxAbsIndex}]`;
		if (output.type === "int8")
			lines.push(`  ${output.name} [${output.shape.join("x")}] int8, step ${output.scale.toPrecision(4)}: max |diff| ${output.maxAbs.toPrecision(3)} = ${output.maxSteps!.toFixed(2)} steps ${where}; mean ${(output.meanAbs / output.scale).toFixed(4)} steps; ${output.beyondOneStep} of ${output.values} values beyond 1 step`
				+ (output.versusFloat ? `; mean |int8 - float model|: TFLite ${output.versusFloat.reference.toPrecision(4)}, ours ${output.versusFloat.ours.toPrecision(4)}` : ""));
		else
			lines.push(`  ${output.name} [${output.shape.join("x")}] float32: max |diff| ${output.maxAbs.toExponential(2)} ${where} (largest |value| ${output.referenceMagnitude.toPrecision(4)}, ratio ${(output.maxAbs / output.referenceMagnitude).toExponential(2)}); mean |diff| ${output.meanAbs.toExponential(2)}`);
	}
	return lines;
}

async function main(): Promise<number> {
	const { values, positionals } = parseArgs({
		allowPositionals: true,
		options: { model: { type: "string", multiple: true }, limit: { type: "string" }, json: { type: "boolean" }, "per-op": { type: "boolean" } },
	});
	const folder = resolve(positionals[0] ?? defaultDevSet);
	let images: string[];
	try {
		images = devSetImages(folder);
	}
	catch (error) {
		process.stderr.write(`crosscheck: ${(error as Error).message}\n`);
		return 2;
	}
	if (values.limit !== undefined)
		images = images.slice(0, Math.max(1, Number(values.limit)));
	const models = values.model?.map((path) => resolve(path)) ?? modelsFolderModels();
	if (!models.length) {
		process.stderr.write("crosscheck: no model: models/ has no face_detection_*.tflite (run `npm run model`) and no --model was given\n");
		return 2;
	}
	const runtime = referenceRuntime();
	process.stderr.write(`reference: ${runtime.package} ${runtime.version}, ${runtime.build}, XNNPACK ${runtime.xnnpack}\n`);
	const results: (ModelComparison & { operators?: OperatorComparison[] })[] = [];
	for (const model of models) {
		const progress = (line: string) => process.stderr.write(`${line}\n`);
		const comparison = await crosscheckModel(model, images, progress);
		if (!values.json)
			process.stdout.write(`${formatComparison(comparison).join("\n")}\n`);
		// int8 end to end cannot be held to one step (see crosscheckOperators), so its ops are checked alone by default.
		const operators = (values["per-op"] || comparison.inputType === "int8") ? await crosscheckOperators(model, images[0], progress) : undefined;
		if (operators && !values.json)
			process.stdout.write(`${formatOperators(basename(model), operators).join("\n")}\n`);
		results.push({ ...comparison, operators });
	}
	if (values.json)
		process.stdout.write(`${JSON.stringify({ reference: runtime, devSet: folder, models: results }, null, "\t")}\n`);
	return 0;
}

// Run as the script (npm run crosscheck:detect), not when a test imports it.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
	process.exitCode = await main();
