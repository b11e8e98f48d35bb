/*
 * `npm run bench:detect`'s part inside the simulator host: the pipeline's
 * detect stage (src/pipeline/detection.ts, as the device runs it) on bursts
 * of JPEG frames, one JSON line per burst on stderr:
 *
 *   host ... --main tools/events -- MODEL_RESOURCE FRAME... [-- FRAME...]...
 *
 *   detect-json {"frames": n, "examinedFrames": n, "modelRuns": n, "status": "...", "faces": n}
 *
 * Bursts are separated by "--"; what it counts is what an event costs the
 * device's CPU in model runs.
 */
import Detection from "pipeline/detection";
import resource from "hardware/resource";

const [model, ...rest] = host.argv;

async function run(): Promise<number> {
	const bursts: string[][] = [[]];
	for (const argument of rest) {
		if (argument === "--")
			bursts.push([]);
		else
			bursts[bursts.length - 1].push(argument);
	}
	const stage = new Detection({ model, load: resource, zones: [], enabled: true });
	for (const files of bursts.filter((burst) => burst.length)) {
		const result = await stage.process(files.map((file) => new Uint8Array(host.readFile(file))));
		const { status, examinedFrames, modelRuns, faces, reason } = result.report;
		trace(`detect-json ${JSON.stringify({ frames: files.length, examinedFrames, modelRuns, status, faces: faces.length, ...(reason ? { reason } : {}) })}\n`);
	}
	stage.close();
	return 0;
}

run().then((code) => host.exit(code), (error: Error) => {
	trace(`detect-json ${JSON.stringify({ error: error.message })}\n`);
	host.exit(1);
});
