/*
 * The evaluation's arithmetic (tools/detect/metrics.ts), on cases worked by
 * hand, so the figures in docs/benchmarks.md mean what they say.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { averagePrecision, falseDetectionsPerEmptyImage, iou, summarize } from "../../tools/detect/metrics.js";
import type { ImageTruth } from "../../tools/detect/metrics.js";

test("IoU of boxes given as [x, y, w, h]", () => {
	assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
	assert.equal(iou([0, 0, 10, 10], [10, 0, 10, 10]), 0, "touching edges do not overlap");
	// 5x10 overlap = 50; union 100 + 100 - 50 = 150.
	assert.equal(iou([0, 0, 10, 10], [5, 0, 10, 10]), 50 / 150);
});

test("average precision: the all-point interpolated area under the precision envelope", () => {
	// Hits by falling score: T F T, 3 faces. Precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3.
	// Envelope: 1, 2/3, 2/3. Area: 1/3 * 1 + 0 + 1/3 * 2/3 = 5/9.
	assert.ok(Math.abs(averagePrecision([true, false, true], 3) - 5 / 9) < 1e-12);
	assert.equal(averagePrecision([], 2), 0);
	assert.ok(Number.isNaN(averagePrecision([false], 0)));
});

const images: ImageTruth[] = [
	{
		name: "two faces",
		faces: [[0, 0, 50, 50], [100, 100, 20, 20]],
		detections: [
			{ box: [2, 2, 50, 50], score: 0.9 }, // matches the 50 px face
			{ box: [1, 1, 50, 50], score: 0.8 }, // a duplicate: a false detection
			{ box: [101, 101, 20, 20], score: 0.7 }, // matches the 20 px face
		],
	},
	{ name: "no face", faces: [], detections: [{ box: [0, 0, 30, 30], score: 0.6 }] },
	{ name: "missed", faces: [[10, 10, 60, 60]], detections: [] },
];

test("precision and recall at an IoU threshold, each face matched once, highest score first", () => {
	const all = summarize(images, 0.4);
	assert.deepEqual({ faces: all.faces, found: all.found, falseDetections: all.falseDetections }, { faces: 3, found: 2, falseDetections: 2 });
	assert.equal(all.precision, 2 / 4);
	assert.equal(all.recall, 2 / 3);
	// Hits by score: T(0.9) F(0.8) T(0.7) F(0.6); 3 faces: 1/3 * 1 + 1/3 * 2/3 = 5/9.
	assert.ok(Math.abs(all.averagePrecision - 5 / 9) < 1e-12);
});

test("a size range ignores faces outside it and detections that match them", () => {
	const large = summarize(images, 0.4, { label: ">= 40", low: 40, high: Infinity });
	// Faces 50 and 60 px count; the 20 px face's match is ignored; the 30 px
	// false detection is outside the range and ignored; the duplicate counts.
	assert.deepEqual({ faces: large.faces, found: large.found, falseDetections: large.falseDetections }, { faces: 2, found: 1, falseDetections: 1 });
	const small = summarize(images, 0.4, { label: "< 40", low: 0, high: 40 });
	assert.deepEqual({ faces: small.faces, found: small.found, falseDetections: small.falseDetections }, { faces: 1, found: 1, falseDetections: 1 });
});

test("false detections per image with no face", () => {
	assert.deepEqual(falseDetectionsPerEmptyImage(images), { images: 1, detections: 1, rate: 1 });
});
