import { test } from "node:test";
import assert from "node:assert/strict";
import { anchors } from "detect/anchors";
import { decodeDetections } from "detect/decode";
import { shortRange } from "detect/variants";

const table = anchors(shortRange.anchors);

function outputs() {
	const regressors = new Float32Array(896 * 16);
	const logits = new Float32Array(896).fill(-500);
	return { regressors, logits };
}

test("a box and its keypoints are decoded relative to their anchor, x first", () => {
	const { regressors, logits } = outputs();
	// Anchor 0 is centred at (0.03125, 0.03125); the regressors are in input pixels (/128).
	regressors.set([16, -8, 32, 48, 0, 0, 64, 128, -4, 4, 0, 0, 0, 0, 0, 0], 0);
	logits[0] = 2;
	// Anchor 600: stride-16 grid, cell 14 (x 6, y 1), centre (0.8125, 0.1875).
	regressors.set([0, 0, 32, 32], 600 * 16);
	logits[600] = 1000;
	const detections = decodeDetections(regressors, logits, table, shortRange.decode);
	assert.equal(detections.length, 2);
	const [first, second] = detections;
	// Centre (0.125 + 0.03125, -0.0625 + 0.03125), size 0.25 x 0.375.
	assert.deepEqual(first.box, [0.03125, -0.21875, 0.25, 0.375]);
	assert.equal(first.score, 1 / (1 + Math.exp(-2)));
	assert.deepEqual(first.keypoints, [[0.03125, 0.03125], [0.53125, 1.03125], [0, 0.0625], [0.03125, 0.03125], [0.03125, 0.03125], [0.03125, 0.03125]]);
	assert.deepEqual(second.box, [0.6875, 0.0625, 0.25, 0.25]);
	// The logit is clipped to 100 first: the sigmoid is 1 to double precision.
	assert.equal(second.score, 1 / (1 + Math.exp(-100)));
	assert.equal(second.keypoints.length, 6);
});

test("the score threshold is inclusive, empty and negative sizes are dropped, and a caller's threshold wins", () => {
	const { regressors, logits } = outputs();
	for (const anchor of [3, 4, 5, 6, 7]) {
		regressors[anchor * 16 + 2] = 10;
		regressors[anchor * 16 + 3] = 10;
	}
	logits[7] = 5;
	regressors[7 * 16 + 3] = 0; // an empty box
	logits[3] = 0; // exactly 0.5
	logits[4] = -0.001;
	logits[5] = 3;
	regressors[5 * 16 + 2] = -1; // a negative width
	logits[6] = -1; // 0.2689
	const kept = decodeDetections(regressors, logits, table, shortRange.decode);
	assert.equal(kept.length, 1);
	assert.equal(kept[0].score, 0.5);
	assert.deepEqual(decodeDetections(regressors, logits, table, shortRange.decode, 0.25).map((d) => d.score), [0.5, 1 / (1 + Math.exp(-Math.fround(-0.001))), 1 / (1 + Math.exp(1))]);
});

test("outputs of the wrong size are refused", () => {
	assert.throws(() => decodeDetections(new Float32Array(10), new Float32Array(896), table, shortRange.decode), /expected 14336 regressors/);
	assert.throws(() => decodeDetections(new Float32Array(896 * 16), new Float32Array(895), table, shortRange.decode), /expected 896 scores/);
});
