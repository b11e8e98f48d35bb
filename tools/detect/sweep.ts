/*
 * `npm run sweep:faces -- --choose DIR --report DIR [--budget LOOKS]`: picks
 * the detector's threshold and second-look settings on one face split and
 * reports them on another, so that the figure quoted was not fitted to the
 * images it is measured on.
 *
 * The firmware's own detector runs once per image (FaceDetector.candidates,
 * in the simulator host, the int8 full-range model the device runs): every
 * first-pass candidate down to a low floor and, for the best of those under
 * MediaPipe's threshold, what the close-up saw. Each setting is then applied
 * here, exactly as FaceDetector.detectPixels applies it (same order, same
 * replacement of a candidate by its close-up), so trying a hundred settings
 * costs one pass. The chosen setting is the one with the highest recall on
 * faces >= 40 px on the choosing split, among those with at most
 * --max-false-alarms per empty image there (default 0.03, half the target,
 * for the margin an unseen split needs) and at most --budget second looks
 * per image on average (default 1).
 *
 * Prints the grid's best few, and the choice's figures on both splits.
 * Results are cached per split in --cache (default build/sweep).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { candidateImages } from "./run.js";
import type { CandidateResult } from "./run.js";
import { falseDetectionsPerEmptyImage, summarize } from "./metrics.js";
import type { Box, ImageTruth } from "./metrics.js";
import { iouThreshold, loadTruth, targetRange } from "./eval.js";
import { projectRoot } from "../build/firmware.js";

/** The lowest first-pass score recorded, and how many close-ups per image: the grid below stays inside them. */
const recordFloor = 0.1;
const recordLooks = 8;

export interface Setting {
	minScore: number;
	secondLookFloor: number;
	maxSecondLooks: number;
}

interface Split {
	folder: string;
	truth: Map<string, Box[]>;
	results: CandidateResult[];
}

async function loadSplit(folder: string, cache: string): Promise<Split> {
	const truth = loadTruth(folder);
	const names = [...truth.keys()].sort();
	const file = join(cache, `${basename(resolve(folder))}-candidates.json`);
	let results: CandidateResult[];
	if (existsSync(file))
		results = JSON.parse(readFileSync(file, "utf8"));
	else {
		results = await candidateImages(names.map((name) => join(folder, "images", name)), "full", "int8", recordFloor, recordLooks);
		mkdirSync(cache, { recursive: true });
		writeFileSync(file, JSON.stringify(results));
	}
	if (results.length !== names.length)
		throw new Error(`${file}: ${results.length} results for ${names.length} images; delete it and run again`);
	return { folder, truth, results };
}

/** What FaceDetector.detectPixels reports under `setting`, from the recorded candidates; and the second looks it costs. */
export function apply(result: CandidateResult, setting: Setting, closeUpsRecorded: number): { faces: { box: Box; score: number }[]; looks: number; unrecorded: boolean } {
	const faces: { box: Box; score: number }[] = [];
	let looks = 0;
	let below = 0;
	for (const candidate of result.candidates ?? []) {
		// The recording's close-ups went to the first candidates under MediaPipe's 0.6 (tools/xs/detect.ts), in order.
		const recordedLook = (candidate.score < 0.6) && (below++ < closeUpsRecorded);
		if (candidate.score < setting.secondLookFloor)
			continue;
		if (candidate.score >= setting.minScore) {
			faces.push({ box: candidate.box, score: candidate.score });
			continue;
		}
		if (looks >= setting.maxSecondLooks)
			continue;
		if (!recordedLook)
			return { faces, looks, unrecorded: true };
		looks++;
		if (candidate.closeUp && (candidate.closeUp.score >= setting.minScore))
			faces.push({ box: candidate.closeUp.box, score: candidate.closeUp.score });
	}
	return { faces, looks, unrecorded: false };
}

export function measure(split: Split, setting: Setting) {
	const images: ImageTruth[] = [];
	let looks = 0;
	let unrecorded = false;
	split.results.forEach((result) => {
		const name = basename(result.image);
		const { faces, looks: spent, unrecorded: missing } = apply(result, setting, recordLooks);
		looks += spent;
		unrecorded ||= missing;
		images.push({ name, faces: split.truth.get(name)!, detections: faces });
	});
	const target = summarize(images, iouThreshold, targetRange);
	const falseAlarms = falseDetectionsPerEmptyImage(images);
	// unrecorded: the setting needs a close-up the recording did not make, so its figures would be wrong; it is left out.
	return { recall: target.recall, found: target.found, faces: target.faces, falseAlarms, looksPerImage: looks / images.length, unrecorded };
}

export function grid(): Setting[] {
	const settings: Setting[] = [];
	for (const minScore of [0.4, 0.45, 0.5, 0.55, 0.6])
		for (const secondLookFloor of [0.1, 0.15, 0.2, 0.25, 0.3, 0.4])
			for (const maxSecondLooks of [0, 1, 2, 3, 4, 6])
				if (secondLookFloor <= minScore)
					settings.push({ minScore, secondLookFloor, maxSecondLooks });
	return settings;
}

function describe(setting: Setting): string {
	return `threshold ${setting.minScore}, second look from ${setting.secondLookFloor}, at most ${setting.maxSecondLooks}`;
}

function line(name: string, figures: ReturnType<typeof measure>): string {
	return `${name}: recall >= 40 px ${(100 * figures.recall).toFixed(1)} % (${figures.found}/${figures.faces}), false alarms ${figures.falseAlarms.detections}/${figures.falseAlarms.images} = ${figures.falseAlarms.rate.toFixed(3)} per empty image, ${figures.looksPerImage.toFixed(2)} second looks per image`;
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			choose: { type: "string" },
			report: { type: "string" },
			budget: { type: "string", default: "1" },
			"max-false-alarms": { type: "string", default: "0.03" },
			cache: { type: "string", default: join(projectRoot, "build", "sweep") },
		},
	});
	if (!values.choose || !values.report)
		throw new Error("usage: npm run sweep:faces -- --choose DIR --report DIR [--budget LOOKS] [--max-false-alarms RATE]");
	const budget = Number(values.budget), maxFalseAlarms = Number(values["max-false-alarms"]);
	if (!(budget >= 0) || !(maxFalseAlarms >= 0))
		throw new Error("--budget and --max-false-alarms are numbers >= 0");
	const choose = await loadSplit(values.choose, values.cache!);
	const report = await loadSplit(values.report, values.cache!);
	const ranked = grid()
		.map((setting) => ({ setting, figures: measure(choose, setting) }))
		.filter(({ figures }) => !figures.unrecorded && (figures.falseAlarms.rate <= maxFalseAlarms) && (figures.looksPerImage <= budget))
		.sort((a, b) => (b.figures.recall - a.figures.recall) || (a.figures.falseAlarms.rate - b.figures.falseAlarms.rate) || (a.figures.looksPerImage - b.figures.looksPerImage));
	if (!ranked.length)
		throw new Error("no setting meets the false-alarm and budget limits on the choosing split");
	process.stdout.write(`chosen on ${values.choose} (false alarms <= ${maxFalseAlarms} per empty image, <= ${budget} second looks per image):\n`);
	for (const { setting, figures } of ranked.slice(0, 5))
		process.stdout.write(`  ${describe(setting)}: ${line("choosing split", figures)}\n`);
	const chosen = ranked[0].setting;
	process.stdout.write(`\nchoice: ${describe(chosen)}\n  ${line(values.choose, ranked[0].figures)}\n  ${line(values.report, measure(report, chosen))}\n`);
}

if (process.argv[1]?.endsWith("sweep.js")) {
	main().catch((error: Error) => {
		process.stderr.write(`sweep:faces: ${error.message}\n`);
		process.exit(1);
	});
}
