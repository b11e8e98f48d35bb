import { test } from "node:test";
import assert from "node:assert/strict";
import { anchors, anchorStride } from "detect/anchors";
import { shortRange, fullRange, variantForInput } from "detect/variants";

function anchor(all: Float32Array, index: number): number[] {
	return Array.from(all.subarray(index * anchorStride, (index + 1) * anchorStride));
}

test("short range: 896 anchors, a 16x16 grid of 2 then an 8x8 grid of 6 (strides 16, 16, 16 merged)", () => {
	const all = anchors(shortRange.anchors);
	assert.equal(all.length / anchorStride, 896);
	// Cell (0, 0) of the stride-8 grid: centre 0.5 / 16, twice (aspect ratio 1 and the interpolated one).
	assert.deepEqual(anchor(all, 0), [0.03125, 0.03125, 1, 1]);
	assert.deepEqual(anchor(all, 1), [0.03125, 0.03125, 1, 1]);
	assert.deepEqual(anchor(all, 2), [0.09375, 0.03125, 1, 1]);
	// Row 1 starts after 16 cells of 2.
	assert.deepEqual(anchor(all, 32), [0.03125, 0.09375, 1, 1]);
	assert.deepEqual(anchor(all, 511), [0.96875, 0.96875, 1, 1]);
	// The stride-16 grid: 8x8 cells of 6 anchors, centre 0.5 / 8.
	assert.deepEqual(anchor(all, 512), [0.0625, 0.0625, 1, 1]);
	assert.deepEqual(anchor(all, 517), [0.0625, 0.0625, 1, 1]);
	assert.deepEqual(anchor(all, 518), [0.1875, 0.0625, 1, 1]);
	assert.deepEqual(anchor(all, 895), [0.9375, 0.9375, 1, 1]);
});

test("full range: 2304 anchors, one per cell of a 48x48 grid", () => {
	const all = anchors(fullRange.anchors);
	assert.equal(all.length / anchorStride, 2304);
	assert.deepEqual(anchor(all, 0), [Math.fround(0.5 / 48), Math.fround(0.5 / 48), 1, 1]);
	assert.deepEqual(anchor(all, 1), [Math.fround(1.5 / 48), Math.fround(0.5 / 48), 1, 1]);
	assert.deepEqual(anchor(all, 48), [Math.fround(0.5 / 48), Math.fround(1.5 / 48), 1, 1]);
	assert.deepEqual(anchor(all, 2303), [Math.fround(47.5 / 48), Math.fround(47.5 / 48), 1, 1]);
});

test("without a fixed size, anchors take their layer's scale and the interpolated one", () => {
	const all = anchors({ ...shortRange.anchors, fixedAnchorSize: false });
	const scale0 = 0.1484375, scale1 = 0.1484375 + (0.75 - 0.1484375) / 3;
	assert.equal(all[2], Math.fround(scale0));
	assert.equal(all[3], Math.fround(scale0));
	assert.equal(all[anchorStride + 2], Math.fround(Math.sqrt(scale0 * scale1)));
	// The last layer interpolates towards 1.
	assert.equal(all[895 * anchorStride + 2], Math.fround(Math.sqrt(0.75)));
	assert.equal(all[894 * anchorStride + 2], Math.fround(0.75));
});

test("the variant is recognised by its input size", () => {
	assert.equal(variantForInput(128, 128), shortRange);
	assert.equal(variantForInput(192, 192), fullRange);
	assert.equal(variantForInput(256, 256), undefined);
	assert.equal(shortRange.decode.minScore, 0.5);
	assert.equal(fullRange.decode.minScore, 0.6);
});
