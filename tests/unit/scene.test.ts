import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadScene } from "../../tools/sim/scene.js";
import { defaultScene } from "../../tools/sim/run.js";

test("the default scene loads: six 320x240 frames, a motion and a ring", () => {
	const scene = loadScene(defaultScene);
	assert.equal(scene.frames.length, 6);
	assert.deepEqual([scene.frames[0].width, scene.frames[0].height], [320, 240]);
	assert.deepEqual(scene.timeline.map((item) => item.event), ["motion", "ring"]);
});

function scene(json: unknown, frames: Record<string, Buffer> = {}): string {
	const folder = mkdtempSync(join(tmpdir(), "doorward-scene-"));
	mkdirSync(join(folder, "frames"));
	writeFileSync(join(folder, "scene.json"), typeof json === "string" ? json : JSON.stringify(json));
	for (const [name, bytes] of Object.entries(frames))
		writeFileSync(join(folder, name), bytes);
	return folder;
}

test("scene errors name the file and the problem", () => {
	const frame = readFileSync(join(defaultScene, "frames", "visitor-0.jpg"));
	assert.throws(() => loadScene(join(tmpdir(), "no-such-scene")), /no-such-scene\/scene\.json: cannot read scene \(ENOENT\)/);
	assert.throws(() => loadScene(scene("{")), /scene\.json: not valid JSON/);
	assert.throws(() => loadScene(scene({ frames: ["frames/a.jpg"], timeline: [] })), /frames\/a\.jpg: cannot read frame \(ENOENT\)/);
	assert.throws(() => loadScene(scene({ frames: ["frames/a.jpg"], timeline: [] }, { "frames/a.jpg": Buffer.from("not a jpeg") })), /frames\/a\.jpg: not a JPEG file/);
	const truncated = frame.subarray(0, 200);
	assert.throws(() => loadScene(scene({ frames: ["frames/a.jpg"], timeline: [] }, { "frames/a.jpg": truncated })), /frames\/a\.jpg: corrupt JPEG/);
	assert.throws(() => loadScene(scene({ frames: ["frames/a.jpg"], timeline: [{ at: 1, event: "knock" }] }, { "frames/a.jpg": frame })), /timeline\[0\]/);
	assert.throws(() => loadScene(scene({ frames: ["frames/a.jpg"], timeline: [{ at: 10, event: "ring" }], period: 5 }, { "frames/a.jpg": frame })), /period must be longer/);
});
