/*
 * The scene that Moddable's lin simulator plays in front of the doorbell:
 * the same scene.json and JPEG frames the Doorward simulator uses (see
 * tools/sim/scene.ts for the format), built into the app as data resources
 * (manifest.json "lin" > "data"; point it at another scene folder there).
 * mcrez keeps only the last part of a resource's path, so frames are found
 * by file name and must have distinct ones. Checked on first use; an error
 * names what is wrong.
 */
import Resource from "Resource";

export type SceneEvent = "ring" | "motion";

export interface Scene {
	readonly fps: number;
	/** The frames in play order; Resources are host buffers, read in place. */
	readonly frames: readonly InstanceType<typeof Resource>[];
	readonly timeline: readonly { readonly at: number; readonly event: SceneEvent }[];
	/** The timeline repeats every `period` ms. */
	readonly period: number;
}

const sceneResource = "scene.json";

let scene: Scene | undefined;

function fail(reason: string): never {
	throw new Error(`scene: ${sceneResource}: ${reason}`);
}

function load(): Scene {
	const json = JSON.parse(String.fromArrayBuffer(new Resource(sceneResource).slice(0)));
	const fps = json.fps ?? 5;
	if ((typeof fps !== "number") || !(fps > 0) || (fps > 60))
		fail("fps must be a number from 1 to 60");
	if (!Array.isArray(json.frames) || !json.frames.length || !json.frames.every((name: unknown) => typeof name === "string"))
		fail("frames must be a non-empty list of JPEG file names");
	const frames: Scene["frames"] = json.frames.map((path: string) => {
		const name = path.slice(path.lastIndexOf("/") + 1);
		if (!Resource.exists(name))
			fail(`frame ${path} is not in the build`);
		return new Resource(name);
	});
	if (!Array.isArray(json.timeline))
		fail("timeline must be a list");
	const timeline: Scene["timeline"] = json.timeline.map((item: { at?: unknown; event?: unknown }, index: number) => {
		if ((typeof item?.at !== "number") || !(item.at >= 0) || ((item.event !== "ring") && (item.event !== "motion")))
			fail(`timeline[${index}] must be {"at": milliseconds, "event": "ring" | "motion"}`);
		return Object.freeze({ at: item.at, event: item.event as SceneEvent });
	});
	const latest = Math.max(0, ...timeline.map((item) => item.at));
	const period = json.period ?? latest + 1000;
	if ((typeof period !== "number") || !(period > latest))
		fail("period must be longer than the last timeline entry");
	return Object.freeze({ fps: fps as number, frames: Object.freeze(frames), timeline: Object.freeze(timeline), period: period as number });
}

export function getScene(): Scene {
	scene ??= load();
	return scene;
}
