/*
 * `npm run bench:detect [-- --model PATH]... [--runs N]`: what face detection
 * costs, per model in models/ (or each --model):
 *
 * - multiply-accumulates per inference (tools/model/analyze.ts);
 * - the tensor arena our interpreter needs (Interpreter.arenaUsed);
 * - ms per inference of our interpreter in the simulator host (XS + our C
 *   kernels, timed inside the host) next to TFLite's own runtime on Node
 *   (tools/detect/reference.ts: TFLite's WebAssembly build with XNNPACK) in
 *   the same run, and their ratio: the machine is shared, so the ratio is
 *   the figure that carries over;
 * - a projected ESP32-S3 latency, scaled by MACs from the one published
 *   figure we have for TFLite Micro with ESP-NN on the S3 (person_detection).
 *
 * Medians of several runs. Ends with a markdown block for docs/benchmarks.md.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseArgs } from "node:util";
import { prepareInput } from "detect/input";
import type { Pixels } from "detect/input";
import { readModel } from "../model/tflite.js";
import type { Model } from "../model/tflite.js";
import { analyze } from "../model/analyze.js";
import { openReference, referenceRuntime } from "../detect/reference.js";
import { hostModelInfo, timeHostInterpreter } from "../detect/host-interpreter.js";
import { decodeImage, defaultDevSet, devSetImages, modelsFolderModels } from "../detect/crosscheck.js";

/**
 * TFLite Micro's person_detection example on the ESP32-S3 with ESP-NN:
 * 54 ms per inference (Espressif's published esp-tflite-micro figure) for
 * a model of about 7.2 M multiply-accumulates.
 */
const personDetection = { ms: 54, macs: 7.2e6 };

/** The model the firmware image ships (src/detect's default). */
const shippedModel = "face_detection_full_range_int8.tflite";

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

/**
 * MACs of the convolutions and fully connected layers from the shapes the
 * file records: the fallback when tools/model/analyze.ts rejects a model.
 */
function recordedMacs(model: Model): number {
	const { tensors, operators } = model.subgraph;
	const count = (shape: readonly number[]) => shape.reduce((product, size) => product * size, 1);
	let macs = 0;
	for (const operator of operators) {
		const output = count(tensors[operator.outputs[0]].shape);
		const filter = tensors[operator.inputs[1]]?.shape ?? [];
		if (operator.opcode === "CONV_2D")
			macs += output * filter[1] * filter[2] * filter[3];
		else if (operator.opcode === "DEPTHWISE_CONV_2D")
			macs += output * filter[1] * filter[2];
		else if (operator.opcode === "FULLY_CONNECTED")
			macs += output * filter[1];
	}
	return macs;
}

function macsOf(bytes: Uint8Array): { macs: number; source: string } {
	const model = readModel(new Uint8Array(bytes));
	try {
		return { macs: analyze(model).macs, source: "tools/model/analyze.ts" };
	}
	catch (error) {
		return { macs: recordedMacs(model), source: `the recorded shapes (analyze.ts: ${(error as Error).message})` };
	}
}

/** A real frame when the dev set is there (kernels do not care, but a real input keeps every path honest); else a gradient. */
function benchFrame(): { pixels: Pixels; what: string } {
	try {
		const image = devSetImages(defaultDevSet)[0];
		if (image)
			return { pixels: decodeImage(image), what: basename(image) };
	}
	catch {
		// No dev set: a synthetic frame times the same work.
	}
	const width = 640, height = 480;
	const data = new Uint8Array(width * height * 3);
	for (let i = 0; i < data.length; i++)
		data[i] = (i * 7 + Math.floor(i / (width * 3)) * 3) & 0xFF;
	return { pixels: { width, height, data }, what: "a synthetic 640x480 gradient" };
}

interface ModelFigures {
	model: string;
	shipped: boolean;
	macs: number;
	macsSource: string;
	arenaUsed: number;
	hostMs: number;
	referenceMs: number;
	/** Only for int8 models: ESP-NN has no float kernels, so the published figure says nothing about float. */
	projectedMs?: number;
}

async function benchModel(path: string, pixels: Pixels, runs: number, log: (line: string) => void): Promise<ModelFigures> {
	const bytes = readFileSync(path);
	const { macs, source } = macsOf(bytes);
	const info = await hostModelInfo({ path });
	const reference = await openReference(bytes);
	try {
		const input = prepareInput(pixels, reference.inputs[0]).data;
		// About a second of invokes per run on each side, from one probe each.
		const hostProbe = (await timeHostInterpreter({ path }, input, 1)).msPerInvoke;
		const hostRounds = Math.max(2, Math.min(50, Math.round(1000 / Math.max(hostProbe, 1))));
		await reference.time(input, 3);
		const referenceRounds = Math.max(5, Math.min(500, Math.round(1000 / Math.max(await reference.time(input, 3), 0.1))));
		const host: number[] = [], tflite: number[] = [];
		for (let run = 0; run < runs; run++) {
			host.push((await timeHostInterpreter({ path }, input, hostRounds)).msPerInvoke);
			tflite.push(await reference.time(input, referenceRounds));
		}
		log(`${basename(path)}: host ${host.map((ms) => ms.toFixed(1)).join(", ")} ms (${hostRounds} invokes a run); TFLite ${tflite.map((ms) => ms.toFixed(2)).join(", ")} ms (${referenceRounds} a run)`);
		return {
			model: basename(path),
			shipped: basename(path) === shippedModel,
			macs,
			macsSource: source,
			arenaUsed: info.arenaUsed,
			hostMs: median(host),
			referenceMs: median(tflite),
			projectedMs: reference.inputs[0].type === "int8" ? personDetection.ms * macs / personDetection.macs : undefined,
		};
	}
	finally {
		await reference.close();
	}
}

function projection(figure: ModelFigures): string {
	return figure.projectedMs === undefined ? "n/a (float model: ESP-NN is int8 only)" : `${figure.projectedMs.toFixed(0)} ms`;
}

function millions(value: number): string {
	return `${(value / 1e6).toFixed(1)} M`;
}

function kibibytes(value: number): string {
	return `${(value / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
	const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, runs: { type: "string", default: "5" } } });
	const runs = Number(values.runs);
	if (!Number.isInteger(runs) || runs < 1)
		throw new Error(`--runs needs a positive integer, not ${values.runs}`);
	const models = values.model?.map((path) => resolve(path)) ?? modelsFolderModels();
	if (!models.length)
		throw new Error("no model: models/ has no face_detection_*.tflite (run `npm run model`) and no --model was given");
	for (const path of models) {
		if (!existsSync(path))
			throw new Error(`${path}: no such model`);
	}
	const runtime = referenceRuntime();
	const frame = benchFrame();
	const log = (line: string) => process.stderr.write(`${line}\n`);
	log(`input: ${frame.what}; reference: ${runtime.package} ${runtime.version} (${runtime.build}, XNNPACK ${runtime.xnnpack}); ${runs} runs each`);
	const figures: ModelFigures[] = [];
	for (const path of models)
		figures.push(await benchModel(path, frame.pixels, runs, log));

	for (const figure of figures) {
		process.stdout.write(`${figure.model}${figure.shipped ? " (shipped)" : ""}: ${millions(figure.macs)} MACs; arena ${kibibytes(figure.arenaUsed)}; `
			+ `host (XS + our C interpreter) ${figure.hostMs.toFixed(1)} ms; TFLite WASM+XNNPACK on Node ${figure.referenceMs.toFixed(2)} ms; `
			+ `ratio host/TFLite ${(figure.hostMs / figure.referenceMs).toFixed(1)}x; projected ESP32-S3 ${projection(figure)}\n`);
	}
	const macsSources = [...new Set(figures.map((figure) => figure.macsSource))];
	const lines = [
		"```markdown",
		"### Face detection (`npm run bench:detect`)",
		"",
		`Medians of ${runs} runs on the development machine; input: ${frame.what}. "Host" is our C interpreter in the simulator host (reference kernels, no SIMD), timed inside the host; "TFLite" is ${runtime.package} ${runtime.version}'s WebAssembly build (${runtime.build}, XNNPACK on) on Node, in the same run. The machine is shared: the ratio carries over, the milliseconds less so.`,
		"",
		"| model | MACs | arena | host ms | TFLite ms | host / TFLite | projected ESP32-S3 ms |",
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
		...figures.map((figure) => `| ${figure.model}${figure.shipped ? " (shipped)" : ""} | ${millions(figure.macs)} | ${kibibytes(figure.arenaUsed)} | ${figure.hostMs.toFixed(1)} | ${figure.referenceMs.toFixed(2)} | ${(figure.hostMs / figure.referenceMs).toFixed(1)}x | ${figure.projectedMs === undefined ? "n/a (float)" : figure.projectedMs.toFixed(0)} |`),
		"",
		`Projection: TFLite Micro's person_detection runs in ${personDetection.ms} ms on the ESP32-S3 with ESP-NN for about ${millions(personDetection.macs)} MACs, so projected = ${personDetection.ms} ms x (model MACs / ${millions(personDetection.macs)})`
			+ `${figures.filter((figure) => figure.projectedMs !== undefined).map((figure) => `; ${figure.model}: ${personDetection.ms} x ${(figure.macs / 1e6).toFixed(2)} / ${(personDetection.macs / 1e6).toFixed(1)} = ${figure.projectedMs!.toFixed(0)} ms`).join("")}.`
			+ " A projection, not a measurement: ESP-NN speeds some ops more than others (int8 1x1 and depthwise convolutions most; the op mix of BlazeFace is not person_detection's), and where the arena and weights live (internal SRAM or PSRAM) changes it too. Float models get none: ESP-NN has int8 kernels only.",
		`MACs count convolutions only, from ${macsSources.join("; ")}.`,
		"```",
	];
	process.stdout.write(`\n${lines.join("\n")}\n`);
}

await main();
