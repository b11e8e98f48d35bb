/*
 * `doorward detect`, the part that runs inside the simulator host: the
 * firmware's own detector (src/detect) on image files, one JSON line per
 * image on stderr, prefixed so the Node side can tell them from logs.
 *
 *   host ... --main tools/detect -- MODEL_RESOURCE IMAGE...
 *
 * A bad image gives an {"image", "error"} line and the run goes on; a model
 * that cannot be loaded ends the run with exit code 3.
 *
 *   host ... --main tools/detect -- --candidates FLOOR LOOKS MODEL_RESOURCE IMAGE...
 *
 * prints instead every first-pass candidate scoring FLOOR or more and, for
 * up to LOOKS of those under the threshold, what the close-up saw
 * (FaceDetector.candidates), so that eval:faces can try settings offline.
 */
import FaceDetector from "detect/detector";
import type { Candidate } from "detect/detector";
import { decodeScale } from "detect/input";
import { decodeJpeg, jpegSize } from "hardware/image";
import resource from "hardware/resource";

const diagnose = host.argv[0] === "--candidates";
const [modelName, ...images] = diagnose ? host.argv.slice(3) : host.argv;
const floor = Number(host.argv[1]), looks = Number(host.argv[2]);
/** Close-ups for candidates under MediaPipe's full-range threshold (tools/detect/sweep.ts relies on it). */
const recordedBelow = 0.6;

function emit(record: object): void {
	trace(`detect-json ${JSON.stringify(record)}\n`);
}

function round(value: number): number {
	return Math.round(value * 100) / 100;
}

function run(): number {
	let detector: FaceDetector;
	try {
		detector = new FaceDetector(resource(modelName));
	}
	catch (error) {
		emit({ model: modelName, error: (error as Error).message });
		return 3;
	}
	let failed = 0;
	for (const image of images) {
		try {
			if (diagnose) {
				emit(candidates(detector, image));
				continue;
			}
			const result = detector.detectJpeg(host.readFile(image));
			emit({
				image,
				width: result.width,
				height: result.height,
				faces: result.faces.map((face) => ({
					box: face.box.map(round),
					score: Math.round(face.score * 10000) / 10000,
					keypoints: face.keypoints.map(([x, y]) => [round(x), round(y)]),
				})),
			});
		}
		catch (error) {
			failed++;
			emit({ image, error: (error as Error).message });
		}
	}
	detector.close();
	return failed ? 1 : 0;
}

/** The detector's candidates in one image, in its stored size's pixels (as detectJpeg scales them). */
function candidates(detector: FaceDetector, image: string): object {
	const jpeg = host.readFile(image);
	const size = jpegSize(jpeg);
	const side = detector.variant === "full-range" ? 192 : 128;
	const pixels = decodeJpeg(jpeg, { scale: decodeScale(size, { width: side, height: side }) });
	const sx = size.width / pixels.width, sy = size.height / pixels.height;
	const box = (detection: Candidate["detection"]) => [detection.box[0] * sx, detection.box[1] * sy, detection.box[2] * sx, detection.box[3] * sy].map(round);
	return {
		image,
		width: size.width,
		height: size.height,
		candidates: detector.candidates(pixels, floor, looks, recordedBelow).map(({ detection, closeUp }) => ({
			box: box(detection),
			score: Math.round(detection.score * 10000) / 10000,
			...(closeUp ? { closeUp: { box: box(closeUp), score: Math.round(closeUp.score * 10000) / 10000 } } : {}),
		})),
	};
}

host.exit(run());
