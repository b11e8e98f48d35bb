/*
 * The detect stage, between capture and clip: privacy zones first, then
 * faces. What it finds goes into the clip's metadata, and so only ever
 * leaves the device sealed for the paired phones (docs/threat-model.md).
 *
 * - Privacy zones are blanked in every frame before anything else sees it:
 *   the detector, and the clip (the frame is re-encoded). A frame that cannot
 *   be decoded cannot be masked, so it is dropped, never sent unmasked.
 * - A face found in any frame makes the event a face event and gives it a
 *   thumbnail: the best face, cropped from its (masked) frame.
 * - If the detector cannot run (no model, a corrupt model, a corrupt frame)
 *   the event is still recorded, marked "unavailable" with the reason.
 *
 * - The model runs only on the frames that matter: a frame that does not
 *   differ from the last one examined (detect/change: decoded at 1/8 scale,
 *   luma per cell) is skipped, since it shows nothing new; and once a face
 *   scores `confidentScore` or more the rest of the burst is not examined.
 *   The report counts the frames examined and the model runs.
 *
 * One frame's inference takes the device's CPU for most of a second (docs/
 * benchmarks.md). It runs off the XS thread (the detector's async forms:
 * the interpreter's invokeAsync, a task on the device's other core), so a
 * ring pressed meanwhile is handled at once, not when the inference ends;
 * the stage also hands the event loop back between frames, for the JPEG
 * decoding and masking that run here.
 */
import FaceDetector from "detect/detector";
import type { Face } from "detect/detector";
import { encodeZones, maskZones } from "detect/zones";
import { differs, lumaSignature } from "detect/change";
import type { PrivacyZone } from "detect/zones";
import { decodeJpeg, encodeJpeg } from "hardware/image";
import type { Pixels } from "hardware/image";
import { digest } from "hardware/crypto";
import { toHex } from "util/bytes";
import { thumbnailJpegLimit } from "./clip";
import { log } from "device/log";
import Timer from "timer";

/** What the phones learn about faces, inside the sealed clip. */
export interface FaceReport {
	/** "unavailable": the detector did not run on every frame; `reason` says why. */
	readonly status: "found" | "none" | "unavailable";
	readonly reason?: string;
	/** The model's resource name. */
	readonly model: string;
	/** SHA-256 (hex) of the privacy-zone configuration (detect/zones encodeZones), so the owner can tell which zones were applied. */
	readonly zones: string;
	/** Frames dropped because a zone could not be applied to them. */
	readonly droppedFrames?: number;
	/** Faces left out, the lowest-scoring, so the report fits its fixed-size record (clip.ts). */
	readonly facesOmitted?: number;
	/** Frames the model ran on; the others were unchanged from one it saw, or came after a confident face. */
	readonly examinedFrames?: number;
	/** Model runs (inferences), second looks included: what detection cost the device. */
	readonly modelRuns?: number;
	readonly faces: readonly FrameFace[];
}

export interface FrameFace extends Face {
	/** Index into the clip's frames. */
	readonly frame: number;
}

export interface DetectedBurst {
	readonly frames: readonly Uint8Array[];
	readonly report: FaceReport;
	/** JPEG of the best face, if any. */
	readonly thumbnail?: Uint8Array;
}

export interface DetectionOptions {
	/** The model's resource name in the firmware image. */
	readonly model: string;
	/** Loads a resource (hardware/resource); a function so that a missing model is an event mark, not a boot failure. */
	readonly load: (name: string) => ArrayBuffer | HostBuffer;
	readonly zones: readonly PrivacyZone[];
	readonly enabled: boolean;
}

/** A face scoring this or more ends the search: the event has its face, the rest of the burst is not examined. */
export const confidentScore = 0.75;

/** Quality of re-encoded (masked) frames. */
const jpegQuality = 85;
/** Thumbnail qualities to try, best first, until one fits the clip's fixed thumbnail record. */
const thumbnailQualities = Object.freeze([85, 70, 55, 40, 25]);
/** A thumbnail's longest side, at most. */
const thumbnailSide = 160;
/** The crop around a face box: enough margin to show hair and chin. */
const thumbnailMargin = 1.6;

export default class Detection {
	#options: DetectionOptions;
	#detector: FaceDetector | undefined;
	#unavailable: string | undefined;
	#zonesDigest: string;

	constructor(options: DetectionOptions) {
		this.#options = options;
		this.#zonesDigest = toHex(digest("SHA-256", encodeZones(options.zones)));
		if (!options.enabled)
			this.#unavailable = "face detection is turned off in the configuration";
	}

	async process(frames: readonly Uint8Array[]): Promise<DetectedBurst> {
		const detector = this.#loadDetector();
		const kept: Uint8Array[] = [];
		const faces: FrameFace[] = [];
		const problems: string[] = [];
		let dropped = 0;
		let undetected = 0;
		let examined = 0;
		let confident = false;
		let last: Float32Array | undefined;
		const runsBefore = detector?.runs ?? 0;
		const masking = this.#options.zones.length > 0;
		for (const frame of frames) {
			// Frames after a confident face only need masking; no turn to give back for those without zones.
			if (!confident || masking)
				await nextTurn();
			let pixels: Pixels | undefined;
			let bytes = frame;
			if (masking) {
				try {
					pixels = decodeJpeg(frame);
					maskZones(pixels, this.#options.zones);
					bytes = new Uint8Array(encodeJpeg(pixels, jpegQuality));
				}
				catch (error) {
					dropped++;
					problems.push(`frame dropped, privacy zones could not be applied: ${(error as Error).message}`);
					continue;
				}
			}
			const index = kept.length;
			kept.push(bytes);
			if (!detector || confident)
				continue;
			try {
				// The signature of what the detector would see (masked), at 1/8 scale: a few hundred pixels.
				const signature = lumaSignature(decodeJpeg(bytes, { scale: 8 }));
				const unchanged = last && !differs(last, signature);
				if (unchanged)
					continue;
				last = signature;
				examined++;
				const found = pixels ? await detector.detectPixelsAsync(pixels) : (await detector.detectJpegAsync(bytes)).faces;
				for (const face of found) {
					faces.push(rounded(face, index));
					confident ||= face.score >= confidentScore;
				}
			}
			catch (error) {
				undetected++;
				problems.push(`frame ${index}: ${(error as Error).message}`);
			}
		}
		if (this.#unavailable)
			problems.unshift(this.#unavailable);
		// "none" only if the detector looked at every frame the camera gave.
		const complete = detector && !undetected && !dropped && (kept.length > 0);
		const report: FaceReport = {
			status: faces.length ? "found" : (complete ? "none" : "unavailable"),
			...(problems.length ? { reason: problems.join("; ") } : {}),
			model: this.#options.model,
			zones: this.#zonesDigest,
			...(dropped ? { droppedFrames: dropped } : {}),
			...(detector ? { examinedFrames: examined, modelRuns: detector.runs - runsBefore } : {}),
			faces,
		};
		const thumbnail = faces.length ? this.#thumbnail(kept, faces) : undefined;
		return { frames: kept, report, ...(thumbnail ? { thumbnail } : {}) };
	}

	close(): void {
		this.#detector?.close();
		this.#detector = undefined;
	}

	#loadDetector(): FaceDetector | undefined {
		if (this.#detector || this.#unavailable)
			return this.#detector;
		try {
			this.#detector = new FaceDetector(this.#options.load(this.#options.model));
		}
		catch (error) {
			// The model is part of the firmware image: if it does not load now it never will.
			this.#unavailable = `the face detector cannot load ${this.#options.model}: ${(error as Error).message}`;
			log.error(this.#unavailable);
		}
		return this.#detector;
	}

	/** The best face, cropped from its frame with a margin, as a small JPEG; undefined if that fails. */
	#thumbnail(frames: readonly Uint8Array[], faces: readonly FrameFace[]): Uint8Array | undefined {
		const best = faces.reduce((a, b) => (b.score > a.score ? b : a));
		try {
			const [x, y, w, h] = best.box;
			const side = Math.max(w, h) * thumbnailMargin;
			let scale: 1 | 2 | 4 | 8 = 1;
			while ((scale < 8) && (side / scale > thumbnailSide))
				scale = (scale * 2) as 1 | 2 | 4 | 8;
			const pixels = decodeJpeg(frames[best.frame], { scale });
			const factor = 1 / scale;
			const centreX = (x + (w / 2)) * factor;
			const centreY = (y + (h / 2)) * factor;
			const crop = Math.min(Math.round(side * factor), pixels.width, pixels.height);
			const left = clamp(Math.round(centreX - (crop / 2)), 0, pixels.width - crop);
			const top = clamp(Math.round(centreY - (crop / 2)), 0, pixels.height - crop);
			const square = shrinkToFit(cropPixels(pixels, left, top, crop, crop), thumbnailSide);
			// The thumbnail record has a fixed size (clip.ts): lower the quality until it fits.
			for (const quality of thumbnailQualities) {
				const jpeg = new Uint8Array(encodeJpeg(square, quality));
				if (jpeg.length <= thumbnailJpegLimit)
					return jpeg;
			}
			log.warn(`face thumbnail skipped: no quality fits ${thumbnailJpegLimit} bytes`);
			return undefined;
		}
		catch (error) {
			log.warn(`face thumbnail skipped: ${(error as Error).message}`);
			return undefined;
		}
	}
}

Object.freeze(Detection.prototype);

/** Resolves after the event loop has run once: button, socket and timer callbacks waiting meanwhile get their turn. */
function nextTurn(): Promise<void> {
	return new Promise((resolve) => Timer.set(() => resolve(), 0));
}

/** A face as the report keeps it: tenths of a pixel and four decimals of score are plenty, and keep the metadata small. */
function rounded(face: Face, frame: number): FrameFace {
	const tenth = (value: number) => Math.round(value * 10) / 10;
	return {
		frame,
		box: face.box.map(tenth) as [number, number, number, number],
		score: Math.round(face.score * 10000) / 10000,
		keypoints: face.keypoints.map(([x, y]): [number, number] => [tenth(x), tenth(y)]),
	};
}

/** Shrinks a square image by whole-pixel box averaging until its side is at most `side`. */
function shrinkToFit(pixels: Pixels, side: number): Pixels {
	const factor = Math.ceil(pixels.width / side);
	if (factor <= 1)
		return pixels;
	const width = Math.floor(pixels.width / factor), height = Math.floor(pixels.height / factor);
	const data = new Uint8Array(width * height * 3);
	const area = factor * factor;
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			for (let channel = 0; channel < 3; channel++) {
				let sum = 0;
				for (let dy = 0; dy < factor; dy++) {
					const row = ((y * factor) + dy) * pixels.width;
					for (let dx = 0; dx < factor; dx++)
						sum += pixels.data[(((row + (x * factor) + dx) * 3) + channel)];
				}
				data[(((y * width) + x) * 3) + channel] = Math.round(sum / area);
			}
		}
	}
	return { width, height, data };
}

function clamp(value: number, low: number, high: number): number {
	return Math.min(Math.max(value, low), Math.max(low, high));
}

function cropPixels(pixels: Pixels, left: number, top: number, width: number, height: number): Pixels {
	const data = new Uint8Array(width * height * 3);
	for (let row = 0; row < height; row++) {
		const from = (((top + row) * pixels.width) + left) * 3;
		data.set(pixels.data.subarray(from, from + (width * 3)), row * width * 3);
	}
	return { width, height, data };
}
