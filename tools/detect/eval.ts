/*
 * `npm run eval:faces -- DIR`: the firmware's detector, run in the simulator
 * host, scored against DIR/boxes.json ({"file.jpg": [[x, y, w, h], ...]},
 * images in DIR/images). Prints precision, recall at IoU >= 0.4, false
 * detections per image with no face, and average precision, overall and by
 * face height, for each model asked for.
 *
 *   npm run eval:faces -- ../shared/faces/dev [--model full|short|all] [--precision int8|float|all] [--json]
 *
 * By default the device's model: full range, int8.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { detectImages, DetectError, modelResource } from "./run.js";
import type { ModelPrecision, ModelRange } from "./run.js";
import { falseDetectionsPerEmptyImage, summarize } from "./metrics.js";
import type { Box, ImageTruth, SizeRange, Summary } from "./metrics.js";

/** Boxes are tight (brows to chin): the dev set's own advice is IoU >= 0.4. */
export const iouThreshold = 0.4;

export const sizeRanges: readonly SizeRange[] = [
	{ label: "< 40 px", low: 0, high: 40 },
	{ label: "40-99 px", low: 40, high: 100 },
	{ label: ">= 100 px", low: 100, high: Infinity },
];
/** The target range: faces at least 40 px tall. */
export const targetRange: SizeRange = { label: ">= 40 px", low: 40, high: Infinity };

export interface ModelEvaluation {
	model: string;
	images: number;
	errors: { image: string; error: string }[];
	overall: Summary;
	target: Summary;
	bySize: { range: string; summary: Summary }[];
	falseAlarms: { images: number; detections: number; rate: number };
}

export function loadTruth(folder: string): Map<string, Box[]> {
	const file = join(folder, "boxes.json");
	if (!existsSync(file))
		throw new DetectError(`${file} is missing: expected a face set with boxes.json and images/ (the dev set is ../shared/faces/dev)`);
	const boxes = JSON.parse(readFileSync(file, "utf8")) as Record<string, Box[]>;
	return new Map(Object.entries(boxes));
}

export async function evaluate(folder: string, range: ModelRange, precision: ModelPrecision, progress?: (done: number, total: number) => void): Promise<ModelEvaluation> {
	const truth = loadTruth(folder);
	const names = [...truth.keys()].sort();
	const paths = names.map((name) => join(folder, "images", name));
	const missing = paths.filter((path) => !existsSync(path));
	if (missing.length)
		throw new DetectError(`${missing.length} images listed in boxes.json are missing, e.g. ${missing[0]}`);
	let done = 0;
	const results = await detectImages(paths, range, precision, () => progress?.(++done, paths.length));
	const images: ImageTruth[] = [];
	const errors: { image: string; error: string }[] = [];
	results.forEach((result, i) => {
		if (result.error !== undefined)
			errors.push({ image: names[i], error: result.error });
		images.push({ name: names[i], faces: truth.get(names[i])!, detections: (result.faces ?? []).map((face) => ({ box: face.box, score: face.score })) });
	});
	return {
		model: modelResource(range, precision),
		images: images.length,
		errors,
		overall: summarize(images, iouThreshold),
		target: summarize(images, iouThreshold, targetRange),
		bySize: sizeRanges.map((size) => ({ range: size.label, summary: summarize(images, iouThreshold, size) })),
		falseAlarms: falseDetectionsPerEmptyImage(images),
	};
}

const percent = (value: number) => Number.isNaN(value) ? "  n/a" : `${(100 * value).toFixed(1).padStart(5)}`;

function row(label: string, summary: Summary): string {
	return `| ${label.padEnd(10)} | ${String(summary.faces).padStart(5)} | ${String(summary.found).padStart(5)} | ${percent(summary.recall)} | ${percent(summary.precision)} | ${percent(summary.averagePrecision)} |`;
}

export function report(evaluation: ModelEvaluation): string {
	const lines = [
		`${evaluation.model}: ${evaluation.images} images, IoU >= ${iouThreshold}`,
		"| faces      | count | found | recall % | precision % | AP % |",
		"|------------|------:|------:|---------:|------------:|-----:|",
		row("all", evaluation.overall),
		row(">= 40 px", evaluation.target),
		...evaluation.bySize.map(({ range, summary }) => row(range, summary)),
		`false detections on images with no face: ${evaluation.falseAlarms.detections} on ${evaluation.falseAlarms.images} images (${evaluation.falseAlarms.rate.toFixed(3)} per image; target <= 0.050)`,
		`recall on faces >= 40 px: ${percent(evaluation.target.recall).trim()} % (target >= 90 %)`,
	];
	if (evaluation.errors.length)
		lines.push(`errors: ${evaluation.errors.map(({ image, error }) => `${image}: ${error}`).join("; ")}`);
	return lines.join("\n");
}

async function main(): Promise<number> {
	const { values, positionals } = parseArgs({
		options: {
			model: { type: "string", default: "full" },
			precision: { type: "string", default: "int8" },
			json: { type: "boolean", default: false },
		},
		allowPositionals: true,
		strict: true,
	});
	if (positionals.length !== 1) {
		process.stderr.write("usage: npm run eval:faces -- DIR [--model short|full|all] [--precision int8|float|all] [--json]\n");
		return 2;
	}
	const ranges = (values.model === "all" ? ["short", "full"] : [values.model]) as ModelRange[];
	const precisions = (values.precision === "all" ? ["float", "int8"] : [values.precision]) as ModelPrecision[];
	if (ranges.some((range) => (range !== "short") && (range !== "full")) || precisions.some((precision) => (precision !== "int8") && (precision !== "float"))) {
		process.stderr.write("eval:faces: --model is short, full or all; --precision is int8, float or all\n");
		return 2;
	}
	const folder = positionals[0];
	if (!existsSync(folder)) {
		process.stderr.write(`eval:faces: ${folder} does not exist (the development set is ../shared/faces/dev, beside the repository)\n`);
		return 2;
	}
	const evaluations: ModelEvaluation[] = [];
	for (const range of ranges) {
		for (const precision of precisions) {
			const evaluation = await evaluate(folder, range, precision, (done, total) => {
				if (!values.json && process.stderr.isTTY)
					process.stderr.write(`\r${modelResource(range, precision)}: ${done}/${total}`);
			});
			if (!values.json && process.stderr.isTTY)
				process.stderr.write("\n");
			evaluations.push(evaluation);
			if (!values.json)
				process.stdout.write(`${report(evaluation)}\n\n`);
		}
	}
	if (values.json)
		process.stdout.write(`${JSON.stringify(evaluations)}\n`);
	return 0;
}

// Run only as the command: sweep.ts imports the loaders above.
if (process.argv[1]?.endsWith("eval.js")) {
	main().then((code) => process.exit(code), (error: Error) => {
		process.stderr.write(`eval:faces: ${error instanceof DetectError ? error.message : error.stack}\n`);
		process.exit(1);
	});
}
