/*
 * The model's raw outputs to candidate detections, as MediaPipe's
 * TensorsToDetectionsCalculator decodes BlazeFace
 * (mediapipe/calculators/tensor/tensors_to_detections_calculator.cc, with
 * face_detection.pbtxt's options): per anchor, 16 regressors in x-first order
 * (reverse_output_order) — box centre x, y, width, height, then 6 keypoints
 * as x, y — in input pixels relative to the anchor; one logit, clipped to
 * +-100 and squashed by a sigmoid. Coordinates come out normalized to the
 * model's input (0..1, letterbox padding included).
 */
import { anchorStride } from "./anchors";
import type { DecodeOptions } from "./variants";

export interface Detection {
	/** x, y of the top-left corner, width, height. */
	box: [number, number, number, number];
	score: number;
	keypoints: [number, number][];
}

function sigmoid(logit: number): number {
	return 1 / (1 + Math.exp(-logit));
}

/**
 * Candidates scoring at least `minScore` (the variant's by default), in anchor
 * order. Boxes with a negative or NaN size are dropped, as MediaPipe does.
 */
export function decodeDetections(regressors: Float32Array, logits: Float32Array, anchors: Float32Array, options: DecodeOptions, minScore = options.minScore): Detection[] {
	const { boxCount, coordinateCount, keypointCount } = options;
	if (regressors.length !== boxCount * coordinateCount)
		throw new RangeError(`decode: expected ${boxCount * coordinateCount} regressors, got ${regressors.length}`);
	if (logits.length !== boxCount)
		throw new RangeError(`decode: expected ${boxCount} scores, got ${logits.length}`);
	if (anchors.length !== boxCount * anchorStride)
		throw new RangeError(`decode: expected ${boxCount} anchors, got ${anchors.length / anchorStride}`);
	if (coordinateCount < 4 + 2 * keypointCount)
		throw new RangeError("decode: too few coordinates for the keypoints");

	// The sigmoid is monotonic: most anchors are rejected on their logit,
	// without an exp. The margin leaves the exact decision to the score.
	const clip = options.scoreClipping;
	const cutoff = minScore <= 0 ? -Infinity : minScore >= 1 ? Infinity : Math.log(minScore / (1 - minScore)) - 1e-3;
	const detections: Detection[] = [];
	for (let i = 0; i < boxCount; i++) {
		const logit = Math.min(clip, Math.max(-clip, logits[i]));
		if (!(logit >= cutoff))
			continue;
		const score = sigmoid(logit);
		if (score < minScore)
			continue;
		const r = i * coordinateCount, a = i * anchorStride;
		const anchorX = anchors[a], anchorY = anchors[a + 1], anchorW = anchors[a + 2], anchorH = anchors[a + 3];
		const centreX = regressors[r] / options.xScale * anchorW + anchorX;
		const centreY = regressors[r + 1] / options.yScale * anchorH + anchorY;
		const width = regressors[r + 2] / options.wScale * anchorW;
		const height = regressors[r + 3] / options.hScale * anchorH;
		// MediaPipe drops only negative sizes; an empty box is no face either,
		// and a close-up of it (detector.ts) would have no size.
		if (!(width > 0 && height > 0))
			continue;
		const keypoints: [number, number][] = [];
		for (let k = 0; k < keypointCount; k++) {
			const at = r + 4 + 2 * k;
			keypoints.push([regressors[at] / options.xScale * anchorW + anchorX, regressors[at + 1] / options.yScale * anchorH + anchorY]);
		}
		detections.push({ box: [centreX - width / 2, centreY - height / 2, width, height], score, keypoints });
	}
	return detections;
}
