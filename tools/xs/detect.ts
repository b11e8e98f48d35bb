/*
 * `doorward detect`, the part that runs inside the simulator host: the
 * firmware's own detector (src/detect) on image files, one JSON line per
 * image on stderr, prefixed so the Node side can tell them from logs.
 *
 *   host ... --main tools/detect -- MODEL_RESOURCE IMAGE...
 *
 * A bad image gives an {"image", "error"} line and the run goes on; a model
 * that cannot be loaded ends the run with exit code 3.
 */
import FaceDetector from "detect/detector";
import resource from "hardware/resource";

const [modelName, ...images] = host.argv;

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

host.exit(run());
