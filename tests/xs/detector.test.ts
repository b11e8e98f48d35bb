/*
 * The face detector end to end in the host: the C interpreter, libjpeg and
 * the models in models/, on photographs from the shared face set
 * (../shared/faces/dev, read-only, never copied here). Each clear face must
 * be found where its ground-truth box is (IoU >= 0.4). Without ../shared the
 * photograph tests are replaced by one that says so.
 */
import { test, equal, ok } from "tests/harness";
import FaceDetector, { DetectionError } from "detect/detector";
import type { Face } from "detect/detector";
import { iou } from "detect/nms";
import resource, { hasResource } from "hardware/resource";
import { decodeJpeg } from "hardware/image";
import { utf8Decode } from "util/bytes";

const shared = "../shared/faces/dev";
/** One clear, unmasked, frontal face each, of different sizes and places. */
const clearImages = ["fm_maksssksksss609.jpg", "fm_maksssksksss818.jpg", "fm_maksssksksss217.jpg"];
const models = ["face_detection_short_range_float.tflite", "face_detection_short_range_int8.tflite", "face_detection_full_range_float.tflite", "face_detection_full_range_int8.tflite"];

function readShared(name: string): ArrayBuffer | undefined {
	try {
		return host.readFile(`${shared}/${name}`);
	}
	catch {
		return undefined;
	}
}

function thrown(body: () => unknown): unknown {
	try {
		body();
	}
	catch (error) {
		return error;
	}
	return undefined;
}

function describe(faces: Face[]): string {
	return JSON.stringify(faces.map(({ box, score }) => ({ box: box.map(Math.round), score: Math.round(score * 1000) / 1000 })));
}

const boxesFile = readShared("boxes.json");
const groundTruth = boxesFile ? JSON.parse(utf8Decode(new Uint8Array(boxesFile))) as Record<string, [number, number, number, number][]> : undefined;
const available = models.filter((name) => hasResource(name));

test(`the models are in models/ (${available.length} of ${models.length})`, () => {
	ok(available.includes("face_detection_short_range_float.tflite"), `found ${available.join(", ")}`);
});

if (!groundTruth) {
	test(`SKIPPED: the photograph tests need the shared face set at ${shared}, which is absent`, () => {
		trace(`detector.test: ${shared} is absent; the photograph tests did not run\n`);
	});
}
else {
	for (const model of available) {
		test(`${model}: the clear faces are found where the ground truth puts them`, () => {
			const detector = new FaceDetector(resource(model));
			ok(detector.variant === (model.includes("full") ? "full-range" : "short-range"), `variant ${detector.variant}`);
			for (const image of clearImages) {
				const jpeg = readShared(`images/${image}`);
				ok(jpeg, `${image} is readable`);
				const result = detector.detectJpeg(jpeg!);
				const expected = groundTruth[image][0];
				const best = Math.max(0, ...result.faces.map((face) => iou(face.box, expected)));
				ok(best >= 0.4, `${image}: best IoU ${best.toFixed(3)} with ${JSON.stringify(expected)}; found ${describe(result.faces)}`);
				for (const face of result.faces) {
					ok(face.box[0] >= 0 && face.box[1] >= 0 && face.box[0] + face.box[2] <= result.width + 1e-9 && face.box[1] + face.box[3] <= result.height + 1e-9, `${image}: the box lies in the frame`);
					equal(face.keypoints.length, 6, "keypoints");
				}
			}
			detector.close();
		});
	}

	test("a second, close-up look confirms a masked face the whole frame scores under the threshold", () => {
		const image = "fm_maksssksksss109.jpg";
		const jpeg = readShared(`images/${image}`)!;
		const expected = groundTruth[image][0];
		const model = resource("face_detection_full_range_int8.tflite");
		// The settings this case was found with (2026-11-28): threshold 0.6, looks from 0.3, up to three.
		const once = new FaceDetector(model, { minScore: 0.6, secondLookFloor: 0.6 });
		const twice = new FaceDetector(model, { minScore: 0.6, secondLookFloor: 0.3, maxSecondLooks: 3 });
		const first = once.detectJpeg(jpeg).faces;
		ok(!first.some((face) => iou(face.box, expected) >= 0.4), `one look misses it: ${describe(first)}`);
		const second = twice.detectJpeg(jpeg).faces;
		ok(second.some((face) => (iou(face.box, expected) >= 0.4) && (face.score >= 0.6)), `the second look finds it: ${describe(second)}`);
		once.close();
		twice.close();
	});

	test("a privacy zone over a face hides it from the detector", () => {
		const image = clearImages[0];
		const jpeg = readShared(`images/${image}`)!;
		const { width, height } = decodeJpeg(jpeg);
		const [x, y, w, h] = groundTruth[image][0];
		const zone = { points: [[x / width, y / height], [(x + w) / width, y / height], [(x + w) / width, (y + h) / height], [x / width, (y + h) / height]] as [number, number][] };
		const open = new FaceDetector(resource(models[0]));
		const masked = new FaceDetector(resource(models[0]), { zones: [zone] });
		ok(open.detectJpeg(jpeg).faces.some((face) => iou(face.box, [x, y, w, h]) >= 0.4), "found without the zone");
		const hidden = masked.detectJpeg(jpeg).faces;
		ok(!hidden.some((face) => iou(face.box, [x, y, w, h]) > 0.1), `hidden by the zone: ${describe(hidden)}`);
		open.close();
		masked.close();
	});
}

test("a frame without a face: nothing found above the default threshold", () => {
	const detector = new FaceDetector(resource(models[0]));
	const grey = { width: 160, height: 120, data: new Uint8Array(160 * 120 * 3).fill(128) };
	equal(detector.detectPixels(grey).length, 0, "faces in a grey frame");
	detector.close();
});

test("a corrupt model, a corrupt JPEG and a closed detector throw DetectionError with a reason", () => {
	const model = thrown(() => new FaceDetector(new Uint8Array(256).fill(0x5A).buffer));
	ok(model instanceof DetectionError, `corrupt model: ${String(model)}`);
	equal((model as DetectionError).reason, "model", "corrupt model reason");
	const detector = new FaceDetector(resource(models[0]));
	const jpeg = thrown(() => detector.detectJpeg(Uint8Array.of(0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 1, 2, 3)));
	ok(jpeg instanceof DetectionError, `corrupt JPEG: ${String(jpeg)}`);
	equal((jpeg as DetectionError).reason, "jpeg", "corrupt JPEG reason");
	const image = thrown(() => detector.detectPixels({ width: 10, height: 10, data: new Uint8Array(5) }));
	equal((image as DetectionError).reason, "image", "short pixel data reason");
	detector.close();
	const closed = thrown(() => detector.detectPixels({ width: 1, height: 1, data: new Uint8Array(3) }));
	equal((closed as DetectionError).reason, "closed", "closed reason");
	const options = thrown(() => new FaceDetector(resource(models[0]), { zones: [{ points: [[0, 0], [1, 0]] }] }));
	ok(options instanceof RangeError, `bad zones: ${String(options)}`);
	const looks = thrown(() => new FaceDetector(resource(models[0]), { maxSecondLooks: 1.5 }));
	ok(looks instanceof RangeError, `bad maxSecondLooks: ${String(looks)}`);
	const floor = thrown(() => new FaceDetector(resource(models[0]), { secondLookFloor: 2 }));
	ok(floor instanceof RangeError, `bad secondLookFloor: ${String(floor)}`);
});
