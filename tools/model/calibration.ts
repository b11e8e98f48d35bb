/*
 * The calibration set: the face dev set's images that have faces (boxes.json),
 * sorted by name, every other one (the 1st, 3rd, ...), so the rest stay
 * unseen by the quantizer and can measure its drift. Each is decoded with
 * jpeg-js and prepared by the firmware's own prepareInput (letterbox,
 * bilinear, pixel / 127.5 - 1), so the ranges are those the device will see.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { prepareInput } from "detect/input";
import type { Pixels } from "detect/input";

export interface CalibrationImage {
	file: string;
	pixels: Pixels;
}

/** The dev set's images with at least one face, sorted by name, split into the calibration half and the held-out half. */
export function faceImages(folder: string): { calibration: string[]; heldOut: string[] } {
	const boxesFile = join(folder, "boxes.json");
	if (!existsSync(boxesFile) || !existsSync(join(folder, "images")))
		throw new Error(`the face dev set is missing: ${folder} needs boxes.json and images/ (the calibration images; see models/README.md)`);
	const boxes = JSON.parse(readFileSync(boxesFile, "utf8")) as Record<string, unknown[]>;
	const withFaces = Object.keys(boxes).filter((file) => Array.isArray(boxes[file]) && boxes[file].length > 0).sort();
	return {
		calibration: withFaces.filter((_, index) => index % 2 === 0),
		heldOut: withFaces.filter((_, index) => index % 2 === 1),
	};
}

export function decodeImage(folder: string, file: string): CalibrationImage {
	const decoded = jpeg.decode(readFileSync(join(folder, "images", file)), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512 });
	return { file, pixels: { width: decoded.width, height: decoded.height, data: decoded.data } };
}

/** The float model input for each image (shape [1, size, size, 3]). */
export function* modelInputs(images: Iterable<CalibrationImage>, shape: number[]): Generator<Float32Array> {
	for (const image of images)
		yield prepareInput(image.pixels, { shape, type: "float32", scale: 1, zeroPoint: 0 }).data as Float32Array;
}
