/*
 * Faces in the simulator, end to end: a scene made from a development-set
 * photo goes through the firmware's detect stage, and the phone finds the
 * face results and the thumbnail inside the sealed event, nowhere else.
 * Privacy zones blank what they cover before the detector or the clip sees it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { projectRoot } from "../../tools/build/firmware.js";
import { sharedFolder } from "../../tools/protocol/oracle.js";
import { iou } from "../../tools/detect/metrics.js";
import type { Box } from "../../tools/detect/metrics.js";

const shared = sharedFolder();
const faces = shared ? join(shared, "faces", "dev") : undefined;
const skip = faces && existsSync(join(faces, "boxes.json")) ? false : "../shared/faces/dev is absent: the face photos live there (see shared/README.md); not run";

/** Two clear frontal faces, 76 and 90 px tall in the 360x480 photo. */
const photo = "dlib_2008_001009.jpg";
/** The photo is halved to a doorbell-sized frame (a 64 KiB outbox slot holds an event of four). */
const shrink = 2;

/** The photo at half size (2x2 means), as a camera-quality JPEG. */
function halved(file: string): Buffer {
	const source = jpeg.decode(readFileSync(file), { useTArray: true });
	const width = Math.floor(source.width / shrink), height = Math.floor(source.height / shrink);
	const data = Buffer.alloc(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			for (let channel = 0; channel < 3; channel++) {
				let sum = 0;
				for (let dy = 0; dy < shrink; dy++) {
					for (let dx = 0; dx < shrink; dx++)
						sum += source.data[((((y * shrink) + dy) * source.width) + (x * shrink) + dx) * 4 + channel];
				}
				data[(((y * width) + x) * 4) + channel] = Math.round(sum / (shrink * shrink));
			}
			data[(((y * width) + x) * 4) + 3] = 255;
		}
	}
	return jpeg.encode({ width, height, data }, 85).data;
}

function scene(device: Record<string, unknown> = {}): string {
	const folder = mkdtempSync(join(tmpdir(), "doorward-faces-"));
	// The scene is built in a temporary folder: the photo is never copied into the repository.
	writeFileSync(join(folder, "visitor.jpg"), halved(join(faces!, "images", photo)));
	writeFileSync(join(folder, "scene.json"), JSON.stringify({
		description: "a visitor at the door, from the face development set",
		fps: 5,
		frames: ["visitor.jpg"],
		timeline: [{ at: 300, event: "motion" }],
		period: 8000,
		device,
	}));
	return folder;
}

function sim(sceneFolder: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
	const out = mkdtempSync(join(tmpdir(), "doorward-faces-out-"));
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [join(projectRoot, "bin", "doorward.js"), "sim", "--scene", sceneFolder, "--events", "1", "--json", "--out", out, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (chunk) => (stdout += chunk));
		child.stderr.on("data", (chunk) => (stderr += chunk));
		const timer = setTimeout(() => child.kill("SIGKILL"), 120000);
		child.on("close", (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}

/** The zone configuration's digest, from docs/protocol/events.md, computed independently of src/detect. */
function zonesDigest(zones: [number, number][][]): string {
	const bytes = [0x44, 0x57, 0x5A, 0x31, zones.length];
	for (const zone of zones) {
		bytes.push(zone.length);
		for (const [x, y] of zone) {
			for (const value of [x, y]) {
				const unit = Math.round(value * 65535);
				bytes.push(unit >> 8, unit & 0xFF);
			}
		}
	}
	return createHash("sha256").update(Uint8Array.from(bytes)).digest("hex");
}

test("a face in front of the camera makes a face event, with its results and thumbnail sealed inside", { skip }, async () => {
	const result = await sim(scene());
	assert.equal(result.code, 0, result.stderr);
	const [event] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
	assert.equal(event.kind, "face", result.stderr);
	assert.equal(event.faces.status, "found");
	assert.equal(event.faces.model, "face_detection_full_range_int8.tflite");
	assert.equal(event.faces.zones, zonesDigest([]));
	const truth = (JSON.parse(readFileSync(join(faces!, "boxes.json"), "utf8")) as Record<string, Box[]>)[photo];
	for (const original of truth) {
		const box = original.map((value) => value / shrink) as unknown as Box;
		const best = Math.max(...event.faces.faces.map((face: { box: Box }) => iou(face.box, box)));
		assert.ok(best >= 0.4, `a detection overlaps the face at ${box} with IoU >= 0.4 (best ${best.toFixed(2)})`);
	}
	for (const face of event.faces.faces) {
		assert.equal(face.keypoints.length, 6);
		assert.ok((face.score >= 0.5) && (face.score <= 1));
		assert.ok((face.frame >= 0) && (face.frame < event.frames.length));
	}
	// The thumbnail is a small JPEG of the best face, and it came out of the sealed clip.
	const thumbnail = jpeg.decode(readFileSync(event.thumbnail), { useTArray: true });
	assert.ok((thumbnail.width <= 160) && (thumbnail.height <= 160) && (thumbnail.width >= 16), `${thumbnail.width}x${thumbnail.height}`);
});

test("whether a face was seen does not show in the sealed event's length", { skip }, async () => {
	// The same frames, detection on (a face found, a thumbnail) and off (no face data).
	const [seen, unseen] = await Promise.all([sim(scene()), sim(scene({ faceDetection: false }))]);
	assert.equal(seen.code, 0, seen.stderr);
	assert.equal(unseen.code, 0, unseen.stderr);
	const [a] = seen.stdout.trim().split("\n").map((line) => JSON.parse(line));
	const [b] = unseen.stdout.trim().split("\n").map((line) => JSON.parse(line));
	assert.equal(a.kind, "face");
	assert.equal(b.faces.status, "unavailable");
	assert.equal(b.thumbnail, undefined);
	assert.equal(readFileSync(a.envelope).length, readFileSync(b.envelope).length, `envelope lengths (${a.frames.length} and ${b.frames.length} frames)`);
});

test("a privacy zone over the whole frame blanks it before detection and before the clip", { skip }, async () => {
	const zone: [number, number][] = [[0, 0], [1, 0], [1, 1], [0, 1]];
	const result = await sim(scene({ privacyZones: [{ points: zone }] }));
	assert.equal(result.code, 0, result.stderr);
	const [event] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
	assert.equal(event.kind, "motion", "no face is seen through the zone");
	assert.equal(event.faces.status, "none");
	assert.equal(event.faces.zones, zonesDigest([zone]));
	assert.equal(event.thumbnail, undefined);
	for (const file of event.frames) {
		const frame = jpeg.decode(readFileSync(file), { useTArray: true });
		let sum = 0;
		for (let i = 0; i < frame.data.length; i += 4)
			sum += frame.data[i] + frame.data[i + 1] + frame.data[i + 2];
		assert.ok(sum / (frame.width * frame.height * 3) < 2, `${file} is black`);
	}
});

test("a configuration with a malformed privacy zone is refused, naming the field", { skip }, async () => {
	const result = await sim(scene({ privacyZones: [{ points: [[0, 0], [2, 0], [1, 1]] }] }), ["--timeout", "10"]);
	assert.notEqual(result.code, 0, "no event: the device waits for a valid configuration");
	assert.match(result.stderr, /provisioning refused: .*privacyZones/);
});
