/*
 * `doorward detect IMAGE... [--model short|full] [--precision int8|float] [--json]`:
 * the firmware's detector, run in the simulator host, on image files. With
 * --json, one line per image in the image's pixel coordinates:
 *   {"image": PATH, "width": W, "height": H, "faces": [{"box": [x, y, w, h], "score": S, "keypoints": [[x, y], ...]}]}
 */
import { parseArgs } from "node:util";
import { detectImages } from "./run.js";
import type { ImageResult, ModelPrecision, ModelRange } from "./run.js";

export const detectUsage = `  detect IMAGE... [--model short|full] [--precision int8|float] [--json]
                 find faces in JPEG files with the firmware's detector, in the
                 simulator host (by default the device's model: full range, int8)
`;

export class DetectUsageError extends Error {}

function describe(result: ImageResult): string {
	if (result.error !== undefined)
		return `${result.image}: error: ${result.error}`;
	const faces = result.faces!;
	const list = faces.map((face) => `  face ${face.box.map(Math.round).join(",")} (x,y,w,h) score ${face.score.toFixed(3)}`);
	return [`${result.image}: ${result.width}x${result.height}, ${faces.length} face${faces.length === 1 ? "" : "s"}`, ...list].join("\n");
}

export async function detectCommand(args: string[], print: (line: string) => void): Promise<number> {
	const { values, positionals } = parseArgs({
		args,
		options: {
			model: { type: "string", default: "full" },
			precision: { type: "string", default: "int8" },
			json: { type: "boolean", default: false },
		},
		strict: true,
		allowPositionals: true,
	});
	if (!positionals.length)
		throw new DetectUsageError("detect: name at least one JPEG image");
	if ((values.model !== "short") && (values.model !== "full"))
		throw new DetectUsageError(`detect: --model ${values.model}: expected short or full`);
	if ((values.precision !== "int8") && (values.precision !== "float"))
		throw new DetectUsageError(`detect: --precision ${values.precision}: expected int8 or float`);
	const results = await detectImages(positionals, values.model as ModelRange, values.precision as ModelPrecision, (result, index) => {
		// The path as given, not as resolved for the host.
		const image = positionals[index];
		print(values.json ? JSON.stringify({ ...result, image }) : describe({ ...result, image }));
	});
	return results.some((result) => result.error !== undefined) ? 1 : 0;
}
