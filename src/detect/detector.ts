/*
 * The firmware's face detector: MediaPipe's BlazeFace (short or full range,
 * told apart by the model's input size) run on a frame, with the privacy
 * zones blanked first, faces returned in the frame's pixels. Detection is an
 * extra: every failure is a DetectionError, and the caller carries on
 * without face data.
 *
 * Each way in has two forms: detectPixels/detectJpeg run the model on the
 * calling thread (the tools, which have nothing else to do), and
 * detectPixelsAsync/detectJpegAsync run it off the XS thread (the
 * interpreter's invokeAsync), so that the firmware takes presses, sockets
 * and timers while a model runs. One algorithm serves both: it is written
 * as a generator that yields wherever the model must run, and a driver
 * either invokes or awaits there. One detection at a time per detector:
 * another while an asynchronous one is out is refused ("busy"), and close()
 * meanwhile takes effect when its model run is back.
 */
import Interpreter from "hardware/inference";
import type { TensorInfo } from "hardware/inference";
import { decodeJpeg, jpegSize } from "hardware/image";
import Timer from "timer";
import { anchors } from "./anchors";
import { decodeDetections } from "./decode";
import type { Detection } from "./decode";
import { checkPixels, decodeScale, inputSize, prepareInputInBands } from "./input";
import type { Letterbox, Pixels, Region } from "./input";
import { iou, weightedNonMaxSuppression } from "./nms";
import { variantForInput } from "./variants";
import type { Variant } from "./variants";
import { maskZones, validateZones } from "./zones";
import type { PrivacyZone } from "./zones";

export interface Face {
	/** x, y of the top-left corner, width, height, in frame pixels. */
	box: [number, number, number, number];
	score: number;
	/** Right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion (the subject's right and left). */
	keypoints: [number, number][];
}

export interface DetectorOptions {
	/** The lowest score reported, 0..1; the variant's threshold by default (variants.ts: 0.5 short range, 0.55 full range). */
	minScore?: number;

	zones?: PrivacyZone[];
	/** Candidates scoring from this up to minScore are looked at again close up; the variant's choice by default (variants.ts); minScore or more turns it off. */
	secondLookFloor?: number;
	/** Second looks per frame, at most (each is one more inference); the variant's choice by default. */
	maxSecondLooks?: number;
}

/** A first-pass candidate and what its close-up saw (for the evaluation tools). */
export interface Candidate {
	readonly detection: Detection;
	/** The best close-up detection overlapping it, whatever its score; undefined if none. */
	readonly closeUp?: Detection;
}

/** The candidate's side times this is the close-up's side: the face fills about a quarter of the input. */
const closeUpFactor = 4;
/** How much a close-up's face must overlap the candidate to be the same face. */
const closeUpOverlap = 0.3;

export type DetectionFailure = "model" | "image" | "jpeg" | "inference" | "closed" | "busy";

export class DetectionError extends Error {
	// A field, defined on each instance: on a preloaded XS image Error.prototype is frozen,
	// so assigning `this.name` would throw "set name: not writable" (the override mistake).
	override readonly name = "DetectionError";
	readonly reason: DetectionFailure;

	constructor(reason: DetectionFailure, message: string) {
		super(`face detection: ${message}`);
		this.reason = reason;
	}
}
Object.freeze(DetectionError.prototype);

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** An error from the interpreter as a DetectionError; one of ours passes as it is. */
function failure(reason: DetectionFailure, error: unknown): DetectionError {
	return (error instanceof DetectionError) ? error : new DetectionError(reason, describe(error));
}

/**
 * A detection's steps: yields "model" where the model must run (its input is
 * set), and resumes once it has; yields undefined between two bands of the
 * input's preparation, where the asynchronous form hands the event loop back.
 */
type Steps<T> = Generator<"model" | undefined, T, undefined>;

/** Model rows prepared between two hand-backs: 16 of the full-range model's 192 take about 3 ms in the simulator host. */
const bandRows = 16;

/** Resolves after the event loop has run once: presses, sockets and timers waiting meanwhile get their turn. */
function nextTurn(): Promise<void> {
	return new Promise((resolve) => Timer.set(() => resolve(), 0));
}

/** The output whose shape ends with `last` values per anchor. */
function findOutput(outputs: readonly TensorInfo[], boxCount: number, last: number): number {
	const index = outputs.findIndex(({ shape }) => shape.length >= 2 && shape[shape.length - 1] === last && shape[shape.length - 2] === boxCount);
	if (index < 0)
		throw new DetectionError("model", `the model has no [..., ${boxCount}, ${last}] output`);
	return index;
}

export default class FaceDetector {
	#interpreter: Interpreter | undefined;
	#variant: Variant;
	#anchors: Float32Array;
	#input: Float32Array | Int8Array;
	#regressorsOutput: number;
	#scoresOutput: number;
	#minScore: number;
	/** Candidates scoring from here up to minScore get a second look; minScore itself turns it off. */
	#secondLookFloor: number;
	#maxSecondLooks: number;
	#zones: PrivacyZone[];
	#runs = 0;
	/** An asynchronous detection is out: its model run holds the interpreter. */
	#busy = false;
	/** close() came while busy: the interpreter is closed when the run is back. */
	#closing = false;

	/** `model` is a BlazeFace .tflite (float32 or int8), referenced, not copied. */
	constructor(model: ArrayBuffer | HostBuffer, options: DetectorOptions = {}) {
		const minScore = options.minScore;
		if (minScore !== undefined && !(typeof minScore === "number" && minScore >= 0 && minScore <= 1))
			throw new RangeError("FaceDetector: minScore must be a number from 0 to 1");
		this.#zones = validateZones(options.zones ?? []);
		let interpreter: Interpreter;
		try {
			interpreter = new Interpreter(model);
		}
		catch (error) {
			throw new DetectionError("model", `the model cannot be loaded: ${describe(error)}`);
		}
		try {
			let size: { width: number; height: number };
			try {
				size = inputSize(interpreter.input);
			}
			catch (error) {
				throw new DetectionError("model", describe(error));
			}
			const variant = variantForInput(size.width, size.height);
			if (!variant)
				throw new DetectionError("model", `a ${size.width}x${size.height} input is neither BlazeFace short range (128x128) nor full range (192x192)`);
			this.#variant = variant;
			this.#regressorsOutput = findOutput(interpreter.outputs, variant.decode.boxCount, variant.decode.coordinateCount);
			this.#scoresOutput = findOutput(interpreter.outputs, variant.decode.boxCount, 1);
			this.#anchors = anchors(variant.anchors);
			this.#minScore = minScore ?? variant.threshold;
			const secondLookFloor = options.secondLookFloor ?? variant.secondLookFloor;
			if (!(typeof secondLookFloor === "number" && secondLookFloor >= 0 && secondLookFloor <= 1))
				throw new RangeError("FaceDetector: secondLookFloor must be a number from 0 to 1");
			this.#secondLookFloor = secondLookFloor;
			const maxSecondLooks = options.maxSecondLooks ?? variant.maxSecondLooks;
			if (!(Number.isInteger(maxSecondLooks) && maxSecondLooks >= 0 && maxSecondLooks <= 16))
				throw new RangeError("FaceDetector: maxSecondLooks must be an integer from 0 to 16");
			this.#maxSecondLooks = maxSecondLooks;
			// One input buffer for the detector's life: frames come often and the heap is small.
			this.#input = interpreter.input.type === "int8" ? new Int8Array(size.width * size.height * 3) : new Float32Array(size.width * size.height * 3);
		}
		catch (error) {
			interpreter.close();
			throw error;
		}
		this.#interpreter = interpreter;
	}

	/** "short-range" or "full-range". */
	get variant(): string {
		return this.#variant.name;
	}

	/** Model runs (inferences) since the detector was made, second looks included: what detection costs the device. */
	get runs(): number {
		return this.#runs;
	}

	/**
	 * Faces in `pixels`, best first. The zones are blanked in `pixels`
	 * themselves (no copy of the frame), which the caller may reuse masked.
	 * The model runs on this thread.
	 */
	detectPixels(pixels: Pixels): Face[] {
		return this.#runHere(this.#faces(pixels));
	}

	/** detectPixels with the model run off the XS thread: presses, sockets and timers are served meanwhile. */
	detectPixelsAsync(pixels: Pixels): Promise<Face[]> {
		return this.#runAway(this.#faces(pixels));
	}

	/**
	 * Faces in a JPEG frame, in its stored size's pixels. It is decoded at
	 * the smallest DCT scale that still covers the model's input on its long
	 * side: at most 2x larger, so bilinear sampling sees every pixel, and up
	 * to 64 times fewer pixels to decode and mask than at full size.
	 */
	detectJpeg(jpeg: ArrayBuffer | Uint8Array): { width: number; height: number; faces: Face[] } {
		return this.#runHere(this.#jpegFaces(jpeg));
	}

	/** detectJpeg with the model run off the XS thread. */
	detectJpegAsync(jpeg: ArrayBuffer | Uint8Array): Promise<{ width: number; height: number; faces: Face[] }> {
		return this.#runAway(this.#jpegFaces(jpeg));
	}

	/**
	 * For the evaluation tools, not the device: every first-pass candidate
	 * scoring at least `floor`, in frame pixels, best first, and for those
	 * under `below` (at most `looks` of them) the close-up's best
	 * overlapping detection at any score, so settings can be tried offline.
	 */
	candidates(pixels: Pixels, floor: number, looks: number, below: number): Candidate[] {
		return this.#runHere(this.#candidates(pixels, floor, looks, below));
	}

	/** Steps to the end, the model run on this thread. */
	#runHere<T>(steps: Steps<T>): T {
		this.#idle();
		let step = steps.next();
		while (!step.done) {
			if (step.value !== "model") {
				step = steps.next();
				continue;
			}
			let error: unknown, failed = false;
			try {
				this.#open().invoke();
			}
			catch (caught) {
				failed = true;
				error = caught;
			}
			step = failed ? steps.throw(error) : steps.next();
		}
		return step.value;
	}

	/** Steps to the end, each model run off the XS thread, awaited. */
	async #runAway<T>(steps: Steps<T>): Promise<T> {
		this.#idle();
		this.#busy = true;
		try {
			let step = steps.next();
			while (!step.done) {
				if (step.value !== "model") {
					await nextTurn();
					step = steps.next();
					continue;
				}
				let error: unknown, failed = false;
				try {
					await this.#open().invokeAsync();
				}
				catch (caught) {
					failed = true;
					error = caught;
				}
				step = failed ? steps.throw(error) : steps.next();
			}
			return step.value;
		}
		finally {
			this.#busy = false;
			if (this.#closing)
				this.close();
		}
	}

	#idle(): void {
		if (this.#busy)
			throw new DetectionError("busy", "a detection is already running on this detector (detectPixelsAsync or detectJpegAsync): wait for it");
	}

	*#faces(pixels: Pixels): Steps<Face[]> {
		const interpreter = this.#open();
		try {
			checkPixels(pixels, "detectPixels");
		}
		catch (error) {
			throw new DetectionError("image", describe(error));
		}
		if (this.#zones.length)
			maskZones(pixels, this.#zones);
		const floor = Math.min(this.#minScore, this.#secondLookFloor);
		const faces: Face[] = [];
		let secondLooks = 0;
		// Best first (NMS order), so the looks go to the likeliest candidates.
		for (const candidate of yield* this.#run(interpreter, pixels, undefined, floor)) {
			let found: Detection | undefined = candidate;
			if (candidate.score < this.#minScore) {
				const closeUp = (secondLooks++ < this.#maxSecondLooks) ? yield* this.#closeUp(interpreter, pixels, candidate, floor) : undefined;
				found = (closeUp && (closeUp.score >= this.#minScore)) ? closeUp : undefined;
			}
			const face = found && clampToFrame(found, pixels.width, pixels.height);
			if (face)
				faces.push(face);
		}
		return faces.sort((a, b) => b.score - a.score);
	}

	*#candidates(pixels: Pixels, floor: number, looks: number, below: number): Steps<Candidate[]> {
		const interpreter = this.#open();
		try {
			checkPixels(pixels, "candidates");
		}
		catch (error) {
			throw new DetectionError("image", describe(error));
		}
		let looked = 0;
		const candidates: Candidate[] = [];
		for (const detection of yield* this.#run(interpreter, pixels, undefined, floor)) {
			if ((detection.score >= below) || (looked++ >= looks)) {
				candidates.push({ detection });
				continue;
			}
			const closeUp = yield* this.#closeUp(interpreter, pixels, detection, Math.min(floor, 0.05));
			candidates.push(closeUp ? { detection, closeUp } : { detection });
		}
		return candidates;
	}

	/** The model on the frame (or a part of it): merged detections scoring at least `floor`, in frame pixels, best first. */
	*#run(interpreter: Interpreter, pixels: Pixels, part: Region | undefined, floor: number): Steps<Detection[]> {
		let letterbox: Letterbox;
		let detections: Detection[];
		try {
			letterbox = (yield* prepareInputInBands(pixels, interpreter.input, this.#input, part, bandRows)).letterbox;
			interpreter.setInput(this.#input);
			this.#runs++;
		}
		catch (error) {
			throw failure("inference", error);
		}
		try {
			yield "model";
		}
		catch (error) {
			throw failure("inference", error);
		}
		try {
			const regressors = interpreter.output(this.#regressorsOutput);
			const logits = interpreter.output(this.#scoresOutput);
			detections = decodeDetections(regressors, logits, this.#anchors, this.#variant.decode, floor);
		}
		catch (error) {
			throw failure("inference", error);
		}
		return weightedNonMaxSuppression(detections, this.#variant.minSuppressionThreshold).map((detection) => toFramePixels(detection, letterbox));
	}

	/**
	 * A candidate scoring just under the threshold, seen again close up: the
	 * model on a square part of the frame where the candidate fills about a
	 * quarter of the input (a scale the model is sure of). A face scores
	 * higher there; a door knocker or a pattern does not. The close-up's best
	 * detection overlapping the candidate; the caller keeps it only if it
	 * clears the threshold.
	 */
	*#closeUp(interpreter: Interpreter, pixels: Pixels, candidate: Detection, floor: number): Steps<Detection | undefined> {
		const [x, y, w, h] = candidate.box;
		const side = Math.max(w, h) * closeUpFactor;
		if (!(side > 0))
			return undefined;
		const part = { x: x + (w / 2) - (side / 2), y: y + (h / 2) - (side / 2), width: side, height: side };
		let best: Detection | undefined;
		for (const detection of yield* this.#run(interpreter, pixels, part, floor)) {
			if ((iou(detection.box, candidate.box) >= closeUpOverlap) && (!best || (detection.score > best.score)))
				best = detection;
		}
		return best;
	}

	*#jpegFaces(jpeg: ArrayBuffer | Uint8Array): Steps<{ width: number; height: number; faces: Face[] }> {
		const interpreter = this.#open();
		let size: { width: number; height: number }, pixels: Pixels;
		try {
			size = jpegSize(jpeg);
			pixels = decodeJpeg(jpeg, { scale: decodeScale(size, inputSize(interpreter.input)) });
		}
		catch (error) {
			throw new DetectionError("jpeg", `the JPEG cannot be decoded: ${describe(error)}`);
		}
		const faces = yield* this.#faces(pixels);
		const scaleX = size.width / pixels.width, scaleY = size.height / pixels.height;
		if (scaleX !== 1 || scaleY !== 1) {
			for (const face of faces) {
				const [x, y, w, h] = face.box;
				face.box = [x * scaleX, y * scaleY, w * scaleX, h * scaleY];
				for (const point of face.keypoints) {
					point[0] *= scaleX;
					point[1] *= scaleY;
				}
			}
		}
		return { width: size.width, height: size.height, faces };
	}

	/** Frees the model's memory; while an asynchronous detection is out, once its model run is back (that detection then fails "closed"). */
	close(): void {
		if (this.#busy) {
			this.#closing = true;
			return;
		}
		this.#closing = false;
		this.#interpreter?.close();
		this.#interpreter = undefined;
	}

	#open(): Interpreter {
		if (!this.#interpreter || this.#closing)
			throw new DetectionError("closed", "the detector is closed");
		return this.#interpreter;
	}
}
Object.freeze(FaceDetector.prototype);

/** A detection in frame pixels (unclamped: a close-up's part may extend past the frame). */
function toFramePixels(detection: Detection, letterbox: Letterbox): Detection {
	const [x, y, w, h] = detection.box;
	return {
		box: [letterbox.toFrameX(x), letterbox.toFrameY(y), letterbox.toFrameWidth(w), letterbox.toFrameHeight(h)],
		score: detection.score,
		keypoints: detection.keypoints.map(([px, py]): [number, number] => [letterbox.toFrameX(px), letterbox.toFrameY(py)]),
	};
}

/** A detection clamped to the frame; undefined if it lies wholly outside it (in the letterbox padding). */
function clampToFrame(detection: Detection, frameWidth: number, frameHeight: number): Face | undefined {
	const [x, y, w, h] = detection.box;
	const left = clamp(x, frameWidth), right = clamp(x + w, frameWidth);
	const top = clamp(y, frameHeight), bottom = clamp(y + h, frameHeight);
	if (!(right > left && bottom > top))
		return undefined;
	return {
		box: [left, top, right - left, bottom - top],
		score: detection.score,
		keypoints: detection.keypoints.map(([px, py]): [number, number] => [clamp(px, frameWidth), clamp(py, frameHeight)]),
	};
}

function clamp(value: number, limit: number): number {
	return Math.min(limit, Math.max(0, value));
}
