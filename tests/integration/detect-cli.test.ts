/*
 * `doorward detect` as a person runs it: one JSON line per image in the
 * image's pixels, a clear per-image error for a corrupt file, one-line usage
 * errors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../tools/build/firmware.js";
import { sharedFolder } from "../../tools/protocol/oracle.js";
import { iou } from "../../tools/detect/metrics.js";
import type { Box } from "../../tools/detect/metrics.js";

const cli = join(projectRoot, "bin", "doorward.js");
const frame = join(projectRoot, "tools", "scenes", "default", "frames", "visitor-0.jpg");

function detect(args: string[]) {
	return spawnSync(process.execPath, [cli, "detect", ...args], { cwd: projectRoot, encoding: "utf8", timeout: 120000 });
}

test("--json: one line per image with its size and faces; a corrupt image is an error line and exit 1", () => {
	const corrupt = join(mkdtempSync(join(tmpdir(), "doorward-detect-")), "cut.jpg");
	writeFileSync(corrupt, readFileSync(frame).subarray(0, 600));
	const result = detect([frame, corrupt, "--json"]);
	assert.equal(result.status, 1, result.stderr);
	const [good, bad] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
	assert.deepEqual(Object.keys(good), ["image", "width", "height", "faces"]);
	assert.equal(good.image, frame);
	assert.deepEqual([good.width, good.height], [320, 240]);
	assert.ok(Array.isArray(good.faces));
	assert.equal(bad.image, corrupt);
	assert.match(bad.error, /corrupt JPEG/);
});

test("usage errors are one line", () => {
	for (const [args, pattern] of [[[], /name at least one JPEG image/], [[frame, "--model", "medium"], /--model medium: expected short or full/]] as const) {
		const result = detect([...args]);
		assert.notEqual(result.status, 0);
		assert.match(result.stderr.trim(), pattern);
		assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
	}
});

const shared = sharedFolder();
test("faces in a dev-set photo, in the photo's pixels, for both models", { skip: shared ? false : "../shared is absent: the face photos live there; not run" }, () => {
	const photo = "dlib_2008_001009.jpg";
	const truth = (JSON.parse(readFileSync(join(shared!, "faces", "dev", "boxes.json"), "utf8")) as Record<string, Box[]>)[photo];
	for (const model of ["full", "short"]) {
		const result = detect([join(shared!, "faces", "dev", "images", photo), "--model", model, "--json"]);
		assert.equal(result.status, 0, result.stderr);
		const { faces } = JSON.parse(result.stdout);
		for (const box of truth)
			assert.ok(faces.some((face: { box: Box }) => iou(face.box, box) >= 0.4), `${model}: a face at ${box} in ${result.stdout}`);
		for (const face of faces)
			assert.equal(face.keypoints.length, 6);
	}
});
