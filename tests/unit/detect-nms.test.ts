import { test } from "node:test";
import assert from "node:assert/strict";
import { iou, weightedNonMaxSuppression } from "detect/nms";
import type { Detection } from "detect/decode";

function detection(box: [number, number, number, number], score: number, keypoint: [number, number] = [0, 0]): Detection {
	return { box, score, keypoints: [keypoint, [keypoint[0] + 1, keypoint[1]]] };
}

function close(actual: readonly number[], expected: readonly number[], what: string) {
	assert.equal(actual.length, expected.length, what);
	actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-12, `${what}[${i}]: expected ${expected[i]}, got ${value}`));
}

test("IoU of overlapping, touching and empty boxes", () => {
	assert.equal(iou([0, 0, 1, 1], [0, 0, 1, 1]), 1);
	close([iou([0, 0, 1, 1], [0.1, 0, 1, 1])], [0.9 / 1.1], "iou");
	assert.equal(iou([0, 0, 1, 1], [1, 0, 1, 1]), 0);
	assert.equal(iou([0, 0, 0, 0], [0, 0, 0, 0]), 0);
});

test("overlapping detections merge into their score-weighted mean; the best score stays", () => {
	const far = detection([5, 5, 1, 1], 0.8, [5.5, 5.5]);
	const best = detection([0, 0, 1, 1], 0.9, [0.5, 0.5]);
	const neighbour = detection([0.1, 0, 1, 1], 0.6, [0.6, 0.5]);
	const merged = weightedNonMaxSuppression([far, neighbour, best], 0.3);
	assert.equal(merged.length, 2);
	// x: (0 * 0.9 + 0.1 * 0.6) / 1.5 = 0.04; right: (1 * 0.9 + 1.1 * 0.6) / 1.5 = 1.04.
	close(merged[0].box, [0.04, 0, 1, 1], "merged box");
	assert.equal(merged[0].score, 0.9);
	// Keypoint x: (0.5 * 0.9 + 0.6 * 0.6) / 1.5 = 0.54.
	close(merged[0].keypoints.flat(), [0.54, 0.5, 1.54, 0.5], "merged keypoints");
	close(merged[1].box, [5, 5, 1, 1], "far box");
	assert.equal(merged[1].score, 0.8);
	// The inputs are not modified.
	assert.deepEqual(best.box, [0, 0, 1, 1]);
});

test("only overlap with the best counts, and an IoU equal to the threshold does not merge", () => {
	const a = detection([0, 0, 1, 1], 0.9);
	const b = detection([0.5, 0, 1, 1], 0.8); // IoU with a: 0.5 / 1.5 = 1/3
	const c = detection([1, 0, 1, 1], 0.7); // overlaps b, not a
	const loose = weightedNonMaxSuppression([a, b, c], 0.3);
	assert.deepEqual(loose.map((d) => d.score), [0.9, 0.7]);
	close(loose[0].box, [0.8 * 0.5 / 1.7, 0, 1, 1], "a with b");
	close(loose[1].box, [1, 0, 1, 1], "c alone");
	const strict = weightedNonMaxSuppression([a, b, c], 1 / 3);
	// At 1/3, b does not merge into a, nor c (IoU 1/3 too) into b.
	assert.deepEqual(strict.map((d) => d.score), [0.9, 0.8, 0.7]);
	close(strict[0].box, [0, 0, 1, 1], "a alone");
	close(strict[1].box, [0.5, 0, 1, 1], "b alone");
});

test("output is ordered by score, ties in input order, and empty input gives nothing", () => {
	const boxes = [detection([0, 0, 1, 1], 0.6), detection([3, 0, 1, 1], 0.9), detection([6, 0, 1, 1], 0.6), detection([9, 0, 1, 1], 0.7)];
	assert.deepEqual(weightedNonMaxSuppression(boxes, 0.3).map((d) => d.box[0]), [3, 9, 0, 6]);
	assert.deepEqual(weightedNonMaxSuppression([], 0.3), []);
});
