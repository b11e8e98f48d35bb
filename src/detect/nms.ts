/*
 * Weighted non-maximum suppression, as MediaPipe's NonMaxSuppressionCalculator
 * runs it for face detection (algorithm WEIGHTED, overlap INTERSECTION_OVER_UNION,
 * min_suppression_threshold 0.3; mediapipe/calculators/util/non_max_suppression_calculator.cc):
 * take the best-scoring remaining detection, gather every remaining one whose
 * IoU with it exceeds the threshold (itself included), and replace its box
 * corners and keypoints by their score-weighted means; its score stays the
 * best one. BlazeFace fires on several neighbouring anchors per face: the
 * mean is steadier than any one of them.
 */
import type { Detection } from "./decode";

/** Intersection over union of two [x, y, w, h] boxes; 0 when they do not overlap or are empty. */
export function iou(a: readonly number[], b: readonly number[]): number {
	const left = Math.max(a[0], b[0]), right = Math.min(a[0] + a[2], b[0] + b[2]);
	const top = Math.max(a[1], b[1]), bottom = Math.min(a[1] + a[3], b[1] + b[3]);
	if (!(right > left && bottom > top))
		return 0;
	const intersection = (right - left) * (bottom - top);
	const union = a[2] * a[3] + b[2] * b[3] - intersection;
	return union > 0 ? intersection / union : 0;
}

/**
 * The merged detections, best first. Ties in score keep the input order
 * (MediaPipe's sort leaves them unspecified), so the result is deterministic.
 * Unlike MediaPipe, a degenerate (zero-area) best detection is emitted alone
 * and the rest still processed, where MediaPipe would stop there.
 */
export function weightedNonMaxSuppression(detections: readonly Detection[], minSuppressionThreshold: number): Detection[] {
	let remaining = detections.map((_, index) => index);
	remaining.sort((a, b) => (detections[b].score - detections[a].score) || (a - b));
	const result: Detection[] = [];
	while (remaining.length) {
		const best = detections[remaining[0]];
		const rest: number[] = [];
		let total = 0, left = 0, top = 0, right = 0, bottom = 0;
		const keypoints = best.keypoints.map((): [number, number] => [0, 0]);
		for (let i = 0; i < remaining.length; i++) {
			const candidate = detections[remaining[i]];
			if (i > 0 && !(iou(candidate.box, best.box) > minSuppressionThreshold)) {
				rest.push(remaining[i]);
				continue;
			}
			const weight = candidate.score;
			const [x, y, w, h] = candidate.box;
			total += weight;
			left += x * weight;
			top += y * weight;
			right += (x + w) * weight;
			bottom += (y + h) * weight;
			for (let k = 0; k < keypoints.length; k++) {
				keypoints[k][0] += candidate.keypoints[k][0] * weight;
				keypoints[k][1] += candidate.keypoints[k][1] * weight;
			}
		}
		if (total > 0) {
			const x = left / total, y = top / total;
			for (const point of keypoints) {
				point[0] /= total;
				point[1] /= total;
			}
			result.push({ box: [x, y, right / total - x, bottom / total - y], score: best.score, keypoints });
		}
		else
			result.push({ box: [...best.box], score: best.score, keypoints: best.keypoints.map(([x, y]): [number, number] => [x, y]) });
		remaining = rest;
	}
	return result;
}
