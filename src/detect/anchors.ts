/*
 * SSD anchors as MediaPipe's SsdAnchorsCalculator lays them out
 * (mediapipe/calculators/tflite/ssd_anchors_calculator.cc): one grid per run
 * of layers with the same stride, cells row by row, and in each cell one
 * anchor per aspect ratio of every layer in the run (plus the interpolated
 * one). The model's i-th prediction is relative to the i-th anchor, so the
 * order matters as much as the values.
 */
import type { AnchorOptions } from "./variants";

/** Values per anchor in the array anchors() returns: x centre, y centre, width, height (normalized). */
export const anchorStride = 4;

function layerScale(options: AnchorOptions, layer: number): number {
	const count = options.strides.length;
	if (count === 1)
		return (options.minScale + options.maxScale) / 2;
	return options.minScale + (options.maxScale - options.minScale) * layer / (count - 1);
}

/** The anchors, 4 numbers each (see anchorStride), as Float32 like MediaPipe's. */
export function anchors(options: AnchorOptions): Float32Array {
	const { strides, aspectRatios, interpolatedScaleAspectRatio: interpolated } = options;
	if (!strides.length || !aspectRatios.length)
		throw new RangeError("anchors: strides and aspect ratios must not be empty");

	// First pass: the count, so the result is one allocation.
	let total = 0;
	for (let layer = 0; layer < strides.length;) {
		let perCell = 0, last = layer;
		for (; last < strides.length && strides[last] === strides[layer]; last++)
			perCell += aspectRatios.length + (interpolated > 0 ? 1 : 0);
		total += Math.ceil(options.inputHeight / strides[layer]) * Math.ceil(options.inputWidth / strides[layer]) * perCell;
		layer = last;
	}

	const result = new Float32Array(total * anchorStride);
	let at = 0;
	for (let layer = 0; layer < strides.length;) {
		const widths: number[] = [], heights: number[] = [];
		let last = layer;
		for (; last < strides.length && strides[last] === strides[layer]; last++) {
			const scale = layerScale(options, last);
			for (const ratio of aspectRatios) {
				widths.push(scale * Math.sqrt(ratio));
				heights.push(scale / Math.sqrt(ratio));
			}
			if (interpolated > 0) {
				// Between this layer's scale and the next's; the last layer reaches to 1.
				const next = last === strides.length - 1 ? 1 : layerScale(options, last + 1);
				const scale2 = Math.sqrt(scale * next);
				widths.push(scale2 * Math.sqrt(interpolated));
				heights.push(scale2 / Math.sqrt(interpolated));
			}
		}
		const rows = Math.ceil(options.inputHeight / strides[layer]);
		const columns = Math.ceil(options.inputWidth / strides[layer]);
		for (let y = 0; y < rows; y++) {
			for (let x = 0; x < columns; x++) {
				for (let k = 0; k < widths.length; k++, at += anchorStride) {
					result[at] = (x + options.offsetX) / columns;
					result[at + 1] = (y + options.offsetY) / rows;
					result[at + 2] = options.fixedAnchorSize ? 1 : widths[k];
					result[at + 3] = options.fixedAnchorSize ? 1 : heights[k];
				}
			}
		}
		layer = last;
	}
	return result;
}
