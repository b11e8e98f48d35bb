/*
 * The pipeline's detect stage (src/pipeline/detection.ts) in the host, on
 * the repository's scene frames: privacy zones are applied before anything
 * else, a frame that cannot be masked is dropped, and every way detection
 * can fail leaves the event recorded and marked, with the frames intact.
 * The model runs only on frames that matter: not on one that does not
 * differ from the last examined, and not after a confident face.
 */
import { test, equal, ok } from "tests/harness";
import Detection from "pipeline/detection";
import resource from "hardware/resource";
import { decodeJpeg } from "hardware/image";

const model = "face_detection_full_range_int8.tflite";
/** The default scene's visitor: one clear face (tools/scenes/default). */
const frame = new Uint8Array(host.readFile("tools/scenes/default/frames/visitor-0.jpg"));
const visitor = [0, 1, 2, 3].map((index) => new Uint8Array(host.readFile(`tools/scenes/default/frames/visitor-${index}.jpg`)));
/** The empty porch: no face, frames that differ only by sensor noise and light (tools/scenes/empty). */
const porch = [0, 1, 2, 3].map((index) => new Uint8Array(host.readFile(`tools/scenes/empty/frames/porch-${index}.jpg`)));
const corrupt = frame.slice(0, 200);
/** SHA-256 of "DWZ1" 00, the empty zone configuration (docs/protocol/events.md). */
const noZones = "5c5424f4ed5f64f54c4ded73ea5145c4c5981669132cbb7ac13f5f7987e6bfd7";
/** The left half of the frame. */
const leftHalf = [{ points: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]] as [number, number][] }];

function same(a: Uint8Array, b: Uint8Array): boolean {
	return (a.length === b.length) && a.every((byte, i) => byte === b[i]);
}

test("with the shipped model, the report names model and zones", async () => {
	const stage = new Detection({ model, load: resource, zones: [], enabled: true });
	const result = await stage.process([frame, frame]);
	ok((result.report.status === "none") || (result.report.status === "found"), `status ${result.report.status}: ${result.report.reason}`);
	equal(result.report.reason, undefined, "no problem reported");
	equal(result.report.model, model, "model");
	equal(result.report.zones, noZones, "digest of no zones");
	equal(result.frames.length, 2, "both frames kept");
	ok(same(result.frames[0], frame), "without zones a frame passes through byte for byte");
	stage.close();
});

test("a corrupt model: the event keeps its frames and says why it has no face data", async () => {
	const stage = new Detection({ model, load: () => new Uint8Array(64).fill(7).buffer, zones: [], enabled: true });
	const result = await stage.process([frame]);
	equal(result.report.status, "unavailable", "status");
	ok(/cannot load/.test(result.report.reason ?? ""), `reason: ${result.report.reason}`);
	ok(same(result.frames[0], frame), "frame intact");
	equal(result.report.faces.length, 0, "no faces");
});

test("a missing model is reported the same way", async () => {
	const stage = new Detection({ model: "no-such-model.tflite", load: resource, zones: [], enabled: true });
	const result = await stage.process([frame]);
	equal(result.report.status, "unavailable", "status");
	ok(/no-such-model/.test(result.report.reason ?? ""), `reason: ${result.report.reason}`);
});

test("detection turned off in the configuration", async () => {
	const stage = new Detection({ model, load: resource, zones: [], enabled: false });
	const result = await stage.process([frame]);
	equal(result.report.status, "unavailable", "status");
	ok(/turned off/.test(result.report.reason ?? ""), `reason: ${result.report.reason}`);
});

test("a corrupt frame without zones is kept as it is and marked", async () => {
	const stage = new Detection({ model, load: resource, zones: [], enabled: true });
	const result = await stage.process([corrupt, porch[0]]);
	equal(result.frames.length, 2, "both frames kept");
	ok(same(result.frames[0], corrupt), "the corrupt frame is passed on untouched");
	equal(result.report.status, "unavailable", "not every frame was examined");
	ok(/^frame 0: /.test(result.report.reason ?? ""), `reason: ${result.report.reason}`);
	stage.close();
});

test("privacy zones: masked before the clip; a frame that cannot be masked is dropped", async () => {
	const stage = new Detection({ model, load: resource, zones: leftHalf, enabled: true });
	const result = await stage.process([corrupt, frame]);
	equal(result.frames.length, 1, "the corrupt frame is dropped");
	equal(result.report.droppedFrames, 1, "and counted");
	ok(/privacy zones could not be applied/.test(result.report.reason ?? ""), `reason: ${result.report.reason}`);
	ok(result.report.zones !== noZones, "the digest is the zones'");
	const masked = decodeJpeg(result.frames[0]);
	const original = decodeJpeg(frame);
	let leftSum = 0;
	let rightDifference = 0;
	for (let y = 0; y < masked.height; y++) {
		for (let x = 0; x < masked.width; x++) {
			const i = ((y * masked.width) + x) * 3;
			const value = masked.data[i] + masked.data[i + 1] + masked.data[i + 2];
			// Away from the zone's edge, where JPEG blurs across it.
			if (x < (masked.width / 2) - 8)
				leftSum += value;
			else if (x > (masked.width / 2) + 8)
				rightDifference += Math.abs(value - (original.data[i] + original.data[i + 1] + original.data[i + 2]));
		}
	}
	ok(leftSum / ((masked.width / 2) * masked.height * 3) < 3, "the zone is black");
	ok(rightDifference / ((masked.width / 2) * masked.height * 3) < 6, "outside the zone the picture is kept (re-encoded)");
	stage.close();
});

test("a still scene: the model runs on the first frame only, and the report is still complete", async () => {
	const stage = new Detection({ model, load: resource, zones: [], enabled: true });
	const result = await stage.process(porch);
	equal(result.report.status, "none", `status: ${result.report.reason}`);
	equal(result.report.examinedFrames, 1, "frames examined");
	ok((result.report.modelRuns ?? 0) >= 1, `model runs ${result.report.modelRuns}`);
	equal(result.frames.length, 4, "every frame kept in the clip");
	stage.close();
});

test("a confident face ends the search; a frame that changed is examined", async () => {
	const stage = new Detection({ model, load: resource, zones: [], enabled: true });
	const result = await stage.process(visitor);
	equal(result.report.status, "found", "status");
	equal(result.report.examinedFrames, 1, "frames examined");
	ok(result.report.faces.every((face) => face.frame === 0), "faces from the first frame only");
	ok(result.thumbnail !== undefined, "a thumbnail");
	equal(result.frames.length, 4, "every frame kept in the clip");
	const changed = await stage.process([porch[0], porch[1], frame]);
	equal(changed.report.examinedFrames, 2, "the porch once, then the visitor who stepped in");
	equal(changed.report.status, "found", "status");
	ok(changed.report.faces.every((face) => face.frame === 2), "the face is in the third frame");
	stage.close();
});
