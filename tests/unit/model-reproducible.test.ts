/*
 * The committed int8 models are what `npm run model` makes: regenerated from
 * the npm package and the calibration images, byte for byte. (They are
 * committed because the calibration images, in ../shared, are not.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../tools/build/firmware.js";
import { buildVariant, defaultFaces, mediapipeFolder } from "../../tools/model/build.js";
import { decodeImage, faceImages } from "../../tools/model/calibration.js";

const skip = !existsSync(join(defaultFaces, "boxes.json"))
	? "../shared/faces/dev is absent: the calibration images live there (see shared/README.md); not run"
	: !existsSync(mediapipeFolder) ? "node_modules/@mediapipe/face_detection is missing: run npm install" : false;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

test("npm run model reproduces both committed int8 models byte for byte", { skip }, () => {
	const calibration = faceImages(defaultFaces).calibration.map((file) => decodeImage(defaultFaces, file));
	for (const variant of ["full", "short"] as const) {
		const committed = readFileSync(join(projectRoot, "models", `face_detection_${variant}_range_int8.tflite`));
		const { int8Bytes } = buildVariant(variant, calibration);
		assert.equal(sha256(int8Bytes!), sha256(committed), `models/face_detection_${variant}_range_int8.tflite`);
	}
});
