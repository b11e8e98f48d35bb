/*
 * Detection metrics for the face evaluation: greedy matching at an IoU
 * threshold (highest score first, as PASCAL VOC and COCO do), precision,
 * recall, false detections on images with no face, and all-point
 * interpolated average precision, optionally for one range of face sizes.
 */
export type Box = readonly [number, number, number, number];

export interface ScoredBox {
	readonly box: Box;
	readonly score: number;
}

export interface ImageTruth {
	readonly name: string;
	readonly faces: readonly Box[];
	readonly detections: readonly ScoredBox[];
}

/** Face heights in pixels, [low, high). */
export interface SizeRange {
	readonly label: string;
	readonly low: number;
	readonly high: number;
}

export function iou(a: Box, b: Box): number {
	const x0 = Math.max(a[0], b[0]);
	const y0 = Math.max(a[1], b[1]);
	const x1 = Math.min(a[0] + a[2], b[0] + b[2]);
	const y1 = Math.min(a[1] + a[3], b[1] + b[3]);
	const overlap = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
	const union = (a[2] * a[3]) + (b[2] * b[3]) - overlap;
	return union > 0 ? overlap / union : 0;
}

interface Outcome {
	score: number;
	/** true: matched a face in range; false: a false detection; undefined: ignored (matched, or sized, out of range). */
	hit: boolean | undefined;
}

const inRange = (box: Box, range?: SizeRange) => !range || ((box[3] >= range.low) && (box[3] < range.high));

/**
 * Matches one image's detections to its faces. Faces outside `range` are
 * "ignored" (COCO's convention): a detection that matches one counts neither
 * way, and an unmatched detection outside the range is ignored too.
 */
function matchImage(image: ImageTruth, threshold: number, range?: SizeRange): { outcomes: Outcome[]; faces: number; found: number } {
	const taken = new Array<boolean>(image.faces.length).fill(false);
	const order = [...image.detections].sort((a, b) => b.score - a.score);
	const outcomes: Outcome[] = [];
	let found = 0;
	for (const detection of order) {
		let best = -1;
		let bestIou = threshold;
		// Prefer a face in range; fall back to an ignored one.
		for (const preferInRange of [true, false]) {
			for (let i = 0; i < image.faces.length; i++) {
				if (taken[i] || (inRange(image.faces[i], range) !== preferInRange))
					continue;
				const overlap = iou(detection.box, image.faces[i]);
				if (overlap >= bestIou) {
					best = i;
					bestIou = overlap;
				}
			}
			if (best >= 0)
				break;
		}
		if (best >= 0) {
			taken[best] = true;
			const counted = inRange(image.faces[best], range);
			outcomes.push({ score: detection.score, hit: counted ? true : undefined });
			if (counted)
				found++;
		}
		else
			outcomes.push({ score: detection.score, hit: inRange(detection.box, range) ? false : undefined });
	}
	return { outcomes, faces: image.faces.filter((face) => inRange(face, range)).length, found };
}

export interface Summary {
	readonly faces: number;
	readonly found: number;
	readonly falseDetections: number;
	readonly precision: number;
	readonly recall: number;
	readonly averagePrecision: number;
}

export function summarize(images: readonly ImageTruth[], threshold: number, range?: SizeRange): Summary {
	const outcomes: Outcome[] = [];
	let faces = 0;
	let found = 0;
	for (const image of images) {
		const matched = matchImage(image, threshold, range);
		outcomes.push(...matched.outcomes);
		faces += matched.faces;
		found += matched.found;
	}
	const counted = outcomes.filter((outcome) => outcome.hit !== undefined).sort((a, b) => b.score - a.score);
	const falseDetections = counted.filter((outcome) => outcome.hit === false).length;
	return {
		faces,
		found,
		falseDetections,
		precision: counted.length ? found / counted.length : 1,
		recall: faces ? found / faces : 1,
		averagePrecision: averagePrecision(counted.map((outcome) => outcome.hit === true), faces),
	};
}

/** All-point interpolated AP (PASCAL VOC 2010 onwards) of hits sorted by falling score. */
export function averagePrecision(hits: readonly boolean[], faces: number): number {
	if (!faces)
		return Number.NaN;
	const precision: number[] = [];
	const recall: number[] = [];
	let tp = 0;
	hits.forEach((hit, i) => {
		if (hit)
			tp++;
		precision.push(tp / (i + 1));
		recall.push(tp / faces);
	});
	// The precision envelope: the best precision at any recall at least this high.
	for (let i = precision.length - 2; i >= 0; i--)
		precision[i] = Math.max(precision[i], precision[i + 1]);
	let area = 0;
	let previousRecall = 0;
	for (let i = 0; i < recall.length; i++) {
		area += (recall[i] - previousRecall) * precision[i];
		previousRecall = recall[i];
	}
	return area;
}

/** False detections per image that has no face (the doorbell's false alarms). */
export function falseDetectionsPerEmptyImage(images: readonly ImageTruth[]): { images: number; detections: number; rate: number } {
	const empty = images.filter((image) => image.faces.length === 0);
	const detections = empty.reduce((sum, image) => sum + image.detections.length, 0);
	return { images: empty.length, detections, rate: empty.length ? detections / empty.length : 0 };
}
