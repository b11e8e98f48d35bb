/*
 * A scene: what the simulated camera sees and what happens in front of it.
 *
 *   scene.json = {
 *     "description": "...",
 *     "fps": 5,                                  camera frame rate
 *     "frames": ["frames/000.jpg", ...],         JPEG files, shown in a loop
 *     "timeline": [{"at": 1500, "event": "ring" | "motion"}, ...],
 *     "period": 8000,                            the timeline repeats every period ms
 *     "device": {"privacyZones": [...]}          optional: configuration for the
 *                                                device in this scene (the
 *                                                device validates it)
 *   }
 *
 * Everything is checked on load; an error names the file and what is wrong.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import jpeg from "jpeg-js";

export class SceneError extends Error {}

export interface SceneFrame {
	readonly file: string;
	readonly bytes: Buffer;
	readonly width: number;
	readonly height: number;
}

export interface Scene {
	readonly file: string;
	readonly fps: number;
	readonly frames: readonly SceneFrame[];
	readonly timeline: readonly { at: number; event: "ring" | "motion" }[];
	readonly period: number;
	/** Configuration fields the factory gives the device in this scene. */
	readonly device: Readonly<Record<string, unknown>>;
}

function fail(file: string, reason: string): never {
	throw new SceneError(`${file}: ${reason}`);
}

function readFrame(file: string): SceneFrame {
	let bytes: Buffer;
	try {
		bytes = readFileSync(file);
	}
	catch (error) {
		fail(file, `cannot read frame (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
	}
	if ((bytes.length < 4) || (bytes[0] !== 0xFF) || (bytes[1] !== 0xD8))
		fail(file, "not a JPEG file");
	try {
		const { width, height } = jpeg.decode(bytes, { useTArray: true, maxMemoryUsageInMB: 64 });
		return { file, bytes, width, height };
	}
	catch (error) {
		fail(file, `corrupt JPEG (${(error as Error).message})`);
	}
}

export function loadScene(folderOrFile: string): Scene {
	const file = folderOrFile.endsWith(".json") ? resolve(folderOrFile) : join(resolve(folderOrFile), "scene.json");
	let json: Record<string, unknown>;
	try {
		json = JSON.parse(readFileSync(file, "utf8"));
	}
	catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		fail(file, code ? `cannot read scene (${code})` : `not valid JSON (${(error as Error).message})`);
	}
	if ((typeof json !== "object") || (json === null) || Array.isArray(json))
		fail(file, "not a JSON object");
	const fps = json.fps ?? 5;
	if ((typeof fps !== "number") || !(fps > 0) || (fps > 60))
		fail(file, "fps must be a number from 1 to 60");
	if (!Array.isArray(json.frames) || !json.frames.length || !json.frames.every((name) => typeof name === "string"))
		fail(file, "frames must be a non-empty list of JPEG file names");
	const frames = (json.frames as string[]).map((name) => readFrame(join(dirname(file), name)));
	const first = frames[0];
	for (const frame of frames) {
		if ((frame.width !== first.width) || (frame.height !== first.height))
			fail(frame.file, `is ${frame.width}x${frame.height}, the scene's first frame ${first.width}x${first.height}`);
	}
	if (!Array.isArray(json.timeline))
		fail(file, "timeline must be a list");
	const timeline = (json.timeline as unknown[]).map((entry, index) => {
		const item = entry as Record<string, unknown>;
		if ((typeof item !== "object") || (item === null) || (typeof item.at !== "number") || !(item.at >= 0) || ((item.event !== "ring") && (item.event !== "motion")))
			fail(file, `timeline[${index}] must be {"at": milliseconds, "event": "ring" | "motion"}`);
		return { at: item.at, event: item.event as "ring" | "motion" };
	});
	const latest = Math.max(0, ...timeline.map((item) => item.at));
	const period = json.period ?? latest + 1000;
	if ((typeof period !== "number") || !(period > latest))
		fail(file, "period must be longer than the last timeline entry");
	const device = json.device ?? {};
	if ((typeof device !== "object") || (device === null) || Array.isArray(device))
		fail(file, "device must be an object of configuration fields");
	for (const key of ["broker", "model", "hardwareRevision"]) {
		if (key in device)
			fail(file, `device.${key} is the simulator's to set, not the scene's`);
	}
	return { file, fps, frames, timeline, period, device: device as Record<string, unknown> };
}
