/*
 * The two BlazeFace models MediaPipe publishes, with the options its graphs
 * give them (google-ai-edge/mediapipe, mediapipe/modules/face_detection/:
 * face_detection.pbtxt holds the options both share, face_detection_short_range.pbtxt
 * and face_detection_full_range.pbtxt the ones that differ). The detector
 * recognises the variant by the model's input size.
 */

export interface AnchorOptions {
	readonly inputWidth: number;
	readonly inputHeight: number;
	readonly minScale: number;
	readonly maxScale: number;
	readonly offsetX: number;
	readonly offsetY: number;
	/** One per layer; consecutive layers with the same stride share one grid. */
	readonly strides: readonly number[];
	readonly aspectRatios: readonly number[];
	/** 0: none; otherwise one more anchor per layer, between this layer's scale and the next's. */
	readonly interpolatedScaleAspectRatio: number;
	/** Every anchor 1 x 1, so the model's regressors are in input pixels, divided by the scales below. */
	readonly fixedAnchorSize: boolean;
}

export interface DecodeOptions {
	readonly boxCount: number;
	/** Values per box: 4 for the box, 2 per keypoint. */
	readonly coordinateCount: number;
	readonly keypointCount: number;
	readonly xScale: number;
	readonly yScale: number;
	readonly wScale: number;
	readonly hScale: number;
	/** Logits are clamped to +-this before the sigmoid. */
	readonly scoreClipping: number;
	readonly minScore: number;
}

export interface Variant {
	readonly name: "short-range" | "full-range";
	readonly anchors: AnchorOptions;
	readonly decode: DecodeOptions;
	/**
	 * Ours: the lowest score the detector reports. MediaPipe's graph uses
	 * decode.minScore; for the full-range int8 model we report from a little
	 * lower, chosen on one face split and checked on the other (models/README.md).
	 */
	readonly threshold: number;
	/** Weighted NMS merges candidates whose IoU with the best remaining one exceeds this. */
	readonly minSuppressionThreshold: number;
	/**
	 * Ours, not MediaPipe's: candidates scoring from this up to minScore get
	 * a second, close-up look (detector.ts). On the face dev set it lifts
	 * the full-range model's recall with no false alarm; the short-range
	 * model gains recall but also false alarms, so it is off there (equal to
	 * minScore).
	 */
	readonly secondLookFloor: number;
	/** Second looks per frame, at most: each is one more inference. */
	readonly maxSecondLooks: number;
}

const shared = {
	minScale: 0.1484375,
	maxScale: 0.75,
	offsetX: 0.5,
	offsetY: 0.5,
	aspectRatios: Object.freeze([1.0]),
	fixedAnchorSize: true,
} as const;

const sharedDecode = {
	coordinateCount: 16,
	keypointCount: 6,
	scoreClipping: 100,
} as const;

export const shortRange: Variant = Object.freeze({
	name: "short-range",
	anchors: Object.freeze({ ...shared, inputWidth: 128, inputHeight: 128, strides: Object.freeze([8, 16, 16, 16]), interpolatedScaleAspectRatio: 1.0 }),
	decode: Object.freeze({ ...sharedDecode, boxCount: 896, xScale: 128, yScale: 128, wScale: 128, hScale: 128, minScore: 0.5 }),
	threshold: 0.5,
	minSuppressionThreshold: 0.3,
	secondLookFloor: 0.5,
	maxSecondLooks: 3,
});

export const fullRange: Variant = Object.freeze({
	name: "full-range",
	anchors: Object.freeze({ ...shared, inputWidth: 192, inputHeight: 192, strides: Object.freeze([4]), interpolatedScaleAspectRatio: 0.0 }),
	decode: Object.freeze({ ...sharedDecode, boxCount: 2304, xScale: 192, yScale: 192, wScale: 192, hScale: 192, minScore: 0.6 }),
	threshold: 0.55,
	minSuppressionThreshold: 0.3,
	secondLookFloor: 0.3,
	maxSecondLooks: 2,
});

/** The variant whose input is `width` x `height`, or undefined. */
export function variantForInput(width: number, height: number): Variant | undefined {
	for (const variant of [shortRange, fullRange]) {
		if (variant.anchors.inputWidth === width && variant.anchors.inputHeight === height)
			return variant;
	}
	return undefined;
}
