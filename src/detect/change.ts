/*
 * Has the picture changed? A cheap test on decoded, downscaled luma, so the
 * detect stage runs the model (most of a second on the device) only on
 * frames that show something new, not on a still porch frame after frame.
 *
 * A frame's signature is its mean luma over a grid of cells (gridWidth x
 * gridHeight, whatever the frame's size). Two frames differ when more than a
 * small share of cells changed by more than a few levels, after taking out
 * the change of the mean (a cloud, the camera's exposure): sensor noise
 * averages out within a cell, and a change of light moves every cell alike,
 * while someone stepping into view changes the cells they cover.
 */
import type { Pixels } from "./input";

export const gridWidth = 32;
export const gridHeight = 24;
/** Levels (of 255) a cell must move by, beyond the frame's mean change, to count as changed. */
export const cellThreshold = 10;
/**
 * Share of cells that must change: 1 % is 8 cells of 768, about a 20x40 px
 * figure in a 320x240 frame (someone far off, whose face is below the
 * detector's reach anyway).
 */
export const changedShare = 0.01;

/** Mean luma (BT.601, 0..255) per cell, row by row. */
export function lumaSignature(pixels: Pixels): Float32Array {
	const { width, height, data } = pixels;
	if (!(width > 0) || !(height > 0) || (data.length < width * height * 3))
		throw new RangeError("lumaSignature: pixels must be width x height RGB888");
	const sums = new Float32Array(gridWidth * gridHeight);
	const counts = new Uint32Array(gridWidth * gridHeight);
	for (let y = 0; y < height; y++) {
		const row = Math.min(gridHeight - 1, Math.floor(y * gridHeight / height)) * gridWidth;
		for (let x = 0; x < width; x++) {
			const cell = row + Math.min(gridWidth - 1, Math.floor(x * gridWidth / width));
			const at = ((y * width) + x) * 3;
			sums[cell] += (77 * data[at]) + (150 * data[at + 1]) + (29 * data[at + 2]);
			counts[cell]++;
		}
	}
	for (let cell = 0; cell < sums.length; cell++)
		sums[cell] = counts[cell] ? sums[cell] / (256 * counts[cell]) : 0;
	return sums;
}

/** Share of cells (0..1) that changed between two signatures, the mean change taken out. */
export function changedCells(a: Float32Array, b: Float32Array): number {
	if (a.length !== b.length)
		throw new RangeError("changedCells: signatures of different sizes");
	let offset = 0;
	for (let cell = 0; cell < a.length; cell++)
		offset += b[cell] - a[cell];
	offset /= a.length;
	let changed = 0;
	for (let cell = 0; cell < a.length; cell++) {
		if (Math.abs(b[cell] - a[cell] - offset) > cellThreshold)
			changed++;
	}
	return changed / a.length;
}

/** True if the frame with signature `b` shows something the one with `a` did not. */
export function differs(a: Float32Array, b: Float32Array): boolean {
	return changedCells(a, b) > changedShare;
}
