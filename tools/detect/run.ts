/*
 * Runs the firmware's face detector inside the simulator host on image files
 * (tools/xs/detect.ts) and returns its results. Used by `doorward detect` and
 * by the evaluation; what it reports is what the device's code computes.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { simulatorBuild } from "../build/firmware.js";

export type ModelRange = "short" | "full";
export type ModelPrecision = "int8" | "float";

export interface DetectedFace {
	box: [number, number, number, number];
	score: number;
	keypoints: [number, number][];
}

export interface ImageResult {
	image: string;
	width?: number;
	height?: number;
	faces?: DetectedFace[];
	error?: string;
}

export class DetectError extends Error {}

/** The resource name of a model in models/ (the firmware image ships the int8 short-range one). */
export function modelResource(range: ModelRange, precision: ModelPrecision = "int8"): string {
	return `face_detection_${range}_range_${precision}.tflite`;
}

/** Images per host process: bounded so one bad image costs little and argv stays short. */
const batch = 200;

export interface CandidateResult {
	image: string;
	width?: number;
	height?: number;
	candidates?: { box: [number, number, number, number]; score: number; closeUp?: { box: [number, number, number, number]; score: number } }[];
	error?: string;
}

/**
 * Every first-pass candidate scoring `floor` or more in each image and, for
 * up to `looks` of those under the threshold, the close-up's best score
 * (FaceDetector.candidates): what tools/detect/sweep.ts tries settings on.
 */
export async function candidateImages(images: string[], range: ModelRange, precision: ModelPrecision, floor: number, looks: number): Promise<CandidateResult[]> {
	return await detectImages(images, range, precision, undefined, ["--candidates", String(floor), String(looks)]) as CandidateResult[];
}

export async function detectImages(images: string[], range: ModelRange, precision: ModelPrecision = "int8", onResult?: (result: ImageResult, index: number) => void, mode: string[] = []): Promise<ImageResult[]> {
	const build = simulatorBuild();
	if (!existsSync(build.host))
		throw new DetectError("the simulator host is not built: run `npm install` (or `npx doorward build`)");
	const model = modelResource(range, precision);
	if (!existsSync(join(build.resources, model)))
		throw new DetectError(`models/${model} is missing: run \`npm run model\` to generate it`);
	const results: ImageResult[] = [];
	for (let start = 0; start < images.length; start += batch)
		results.push(...await runBatch(build, [...mode, model], images.slice(start, start + batch).map((image) => resolve(image)), (result, index) => onResult?.(result, start + index)));
	return results;
}

async function runBatch(build: ReturnType<typeof simulatorBuild>, model: string[], images: string[], onResult: (result: ImageResult, index: number) => void): Promise<ImageResult[]> {
	// The host wants a flash file; the detector does not touch it.
	const scratch = mkdtempSync(join(tmpdir(), "doorward-detect-"));
	try {
		const child = spawn(build.host, [
			"--modules", build.testModuleMap, "--main", "tools/detect",
			"--flash", join(scratch, "flash.bin"), "--partitions", build.partitions,
			"--resources", build.resources, "--", ...model, ...images,
		], { stdio: ["ignore", "ignore", "pipe"] });
		const results: ImageResult[] = [];
		const other: string[] = [];
		let modelError: string | undefined;
		let pending = "";
		child.stderr.setEncoding("utf8");
		child.stderr.on("data", (text: string) => {
			pending += text;
			let newline: number;
			while ((newline = pending.indexOf("\n")) >= 0) {
				const line = pending.slice(0, newline);
				pending = pending.slice(newline + 1);
				if (!line.startsWith("detect-json ")) {
					if (line)
						other.push(line);
					continue;
				}
				const record = JSON.parse(line.slice(12));
				if (record.model !== undefined) {
					modelError = `the detector cannot load ${record.model}: ${record.error}`;
					continue;
				}
				results.push(record);
				onResult(record, results.length - 1);
			}
		});
		const status = await new Promise<number | null>((done, fail) => {
			child.on("error", fail);
			child.on("close", done);
		});
		if (modelError)
			throw new DetectError(modelError);
		if (((status !== 0) && (status !== 1)) || (results.length !== images.length))
			throw new DetectError(`the detector stopped after ${results.length} of ${images.length} images (exit ${status}):\n${other.join("\n")}`);
		return results;
	}
	finally {
		rmSync(scratch, { recursive: true, force: true });
	}
}
