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
 * - model runs per event, and the projected device inference per event, over
 *   the scenes in tools/scenes: each timeline event's burst goes through the
 *   pipeline's detect stage in the host (tools/xs/events.ts), which skips
 *   unchanged frames and stops at a confident face.
 *
 * Medians of several runs. Ends with a markdown block for docs/benchmarks.md.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { prepareInput } from "detect/input";
import { parseConfiguration } from "device/configuration";
import type { Pixels } from "detect/input";
import { readModel } from "../model/tflite.js";
import type { Model } from "../model/tflite.js";
import { analyze } from "../model/analyze.js";
import { openReference, referenceRuntime } from "../detect/reference.js";
import { hostModelInfo, timeHostInterpreter } from "../detect/host-interpreter.js";
import { decodeImage, defaultDevSet, devSetImages, modelsFolderModels } from "../detect/crosscheck.js";
import { projectRoot, simulatorBuild } from "../build/firmware.js";
import { loadScene } from "../sim/scene.js";

/** The clip of the device's default configuration (src/device/configuration.ts): the pre-roll, the frames after, the camera's rate. */
const clipSettings = parseConfiguration(new TextEncoder().encode(JSON.stringify({ broker: { address: "127.0.0.1", port: 1883 }, model: "bench" }))).burst;
const burstFrames = clipSettings.preRollFrames + clipSettings.frames;

interface SceneCost {
	scene: string;
	events: number;
	frames: number;
	examined: number;
	runs: number;
	found: number;
}

/**
 * Each scene's timeline events, a clip each, as the device records it: the
 * pre-roll's frames from before the event's time, then the frames after it,
 * one every 1/fps s (the scene's own frames loop at the scene's fps); an
 * event too early for a whole pre-roll has more frames after it instead, as
 * on the device (pipeline/capture.ts). Through the detect stage in the host.
 * One round of each timeline.
 */
async function sceneCosts(): Promise<SceneCost[]> {
	const build = simulatorBuild();
	const folder = join(projectRoot, "tools", "scenes");
	const costs: SceneCost[] = [];
	for (const name of readdirSync(folder).filter((entry) => existsSync(join(folder, entry, "scene.json"))).sort()) {
		const scene = loadScene(join(folder, name));
		const interval = 1000 / clipSettings.fps;
		const bursts = scene.timeline.map(({ at }) => {
			const start = Math.max(0, at - (clipSettings.preRollFrames * interval));
			return Array.from({ length: burstFrames }, (_, i) => scene.frames[Math.floor((start + (i * interval)) * scene.fps / 1000) % scene.frames.length].file);
		});
		const args = bursts.flatMap((burst, i) => (i ? ["--", ...burst] : burst));
		const scratch = mkdtempSync(join(tmpdir(), "doorward-bench-"));
		const lines: string[] = [];
		try {
			const child = spawn(build.host, ["--modules", build.testModuleMap, "--main", "tools/events", "--flash", join(scratch, "flash.bin"),
				"--partitions", build.partitions, "--resources", build.resources, "--", shippedModel, ...args], { stdio: ["ignore", "ignore", "pipe"] });
			let text = "";
			child.stderr.setEncoding("utf8");
			child.stderr.on("data", (chunk: string) => (text += chunk));
			const code = await new Promise<number | null>((done, fail) => {
				child.on("error", fail);
				child.on("close", done);
			});
			lines.push(...text.split("\n").filter((line) => line.startsWith("detect-json ")));
			if ((code !== 0) || (lines.length !== bursts.length))
				throw new Error(`scene ${name}: the detect stage stopped (exit ${code}): ${text.slice(-400)}`);
		}
		finally {
			rmSync(scratch, { recursive: true, force: true });
		}
		const records = lines.map((line) => JSON.parse(line.slice(12)) as { frames: number; examinedFrames: number; modelRuns: number; status: string });
		costs.push({
			scene: name,
			events: records.length,
			frames: records.reduce((sum, record) => sum + record.frames, 0),
			examined: records.reduce((sum, record) => sum + record.examinedFrames, 0),
			runs: records.reduce((sum, record) => sum + record.modelRuns, 0),
			found: records.filter((record) => record.status === "found").length,
		});
	}
	return costs;
}

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

function printCosts(costs: SceneCost[], shipped: number): { allEvents: number; allRuns: number } {
	const allEvents = costs.reduce((sum, cost) => sum + cost.events, 0);
	const allRuns = costs.reduce((sum, cost) => sum + cost.runs, 0);
	for (const cost of costs)
		process.stdout.write(`scene ${cost.scene}: ${cost.events} events, ${cost.frames} frames, ${cost.examined} examined, ${cost.runs} model runs (${(cost.runs / cost.events).toFixed(2)} per event), faces in ${cost.found}; projected device inference ${(shipped * cost.runs / cost.events).toFixed(0)} ms per event\n`);
	process.stdout.write(`model runs per event over the scenes: ${(allRuns / allEvents).toFixed(2)} (${allRuns} runs, ${allEvents} events); projected device inference ${(shipped * allRuns / allEvents).toFixed(0)} ms per event at ${shipped.toFixed(0)} ms a run (target <= 1000)\n`);
	return { allEvents, allRuns };
}

async function main(): Promise<void> {
	const { values } = parseArgs({ options: { model: { type: "string", multiple: true }, runs: { type: "string", default: "5" }, "scenes-only": { type: "boolean", default: false } } });
	if (values["scenes-only"]) {
		// Model runs per event alone: no timing, so it is quick and the machine's load does not matter.
		const costs = await sceneCosts();
		const projected = personDetection.ms * macsOf(readFileSync(join(projectRoot, "models", shippedModel))).macs / personDetection.macs;
		printCosts(costs, projected);
		return;
	}
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
	const costs = await sceneCosts();
	const shipped = figures.find((figure) => figure.shipped)?.projectedMs ?? (personDetection.ms * macsOf(readFileSync(join(projectRoot, "models", shippedModel))).macs / personDetection.macs);
	const { allEvents, allRuns } = printCosts(costs, shipped);
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
		"",
		`Model runs per event (the pipeline's detect stage on each timeline event's ${burstFrames}-frame clip of each scene in tools/scenes, ${clipSettings.preRollFrames} frames of pre-roll and ${clipSettings.frames} after at ${clipSettings.fps} fps; it skips a frame that does not differ from the last examined and stops at a face scoring 0.75 or more; second looks count as runs):`,
		"",
		"| scene | events | frames | examined | model runs | runs per event | events with a face | projected ms per event |",
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
		...costs.map((cost) => `| ${cost.scene} | ${cost.events} | ${cost.frames} | ${cost.examined} | ${cost.runs} | ${(cost.runs / cost.events).toFixed(2)} | ${cost.found} | ${(shipped * cost.runs / cost.events).toFixed(0)} |`),
		`| all | ${allEvents} | | | ${allRuns} | ${(allRuns / allEvents).toFixed(2)} | | ${(shipped * allRuns / allEvents).toFixed(0)} |`,
		"```",
	];
	process.stdout.write(`\n${lines.join("\n")}\n`);
}

await main();
