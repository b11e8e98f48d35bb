/*
 * `doorward sim` as a person runs it: events end to end with real bytes,
 * and one-line errors for what a person can get wrong.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../tools/build/firmware.js";
import { defaultScene } from "../../tools/sim/run.js";

const cli = join(projectRoot, "bin", "doorward.js");

function doorward(args: string[], cwd = projectRoot, timeout = 90000): Promise<{ code: number | null; stdout: string; stderr: string }> {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (chunk) => (stdout += chunk));
		child.stderr.on("data", (chunk) => (stderr += chunk));
		const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
		child.on("close", (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}

function assertOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
	assert.notEqual(result.code, 0);
	const lines = result.stderr.trim().split("\n").filter((line) => line.startsWith("doorward:"));
	assert.equal(lines.length, 1, result.stderr);
	assert.match(lines[0], pattern);
	assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

test("sim --events 3 --json: the ring's notification first, with a snapshot; the clips carry the scene's frames byte for byte, the ring's from before the press", { timeout: 240000 }, async () => {
	const out = mkdtempSync(join(tmpdir(), "doorward-sim-"));
	// The default scene, played once (its period is longer than the run): motion at 0.5 s, a ring at 3 s.
	const scene = join(out, "scene");
	cpSync(defaultScene, scene, { recursive: true });
	const json = JSON.parse(readFileSync(join(scene, "scene.json"), "utf8"));
	writeFileSync(join(scene, "scene.json"), JSON.stringify({ ...json, period: 600000 }));
	const result = await doorward(["sim", "--events", "3", "--json", "--out", out, "--scene", scene, "--timeout", "200"], projectRoot, 230000);
	assert.equal(result.code, 0, result.stderr);
	const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
	assert.equal(events.length, 3);
	const sceneFrames = readdirSync(join(defaultScene, "frames")).sort().map((name) => readFileSync(join(defaultScene, "frames", name)));
	const isSceneFrame = (bytes: Buffer) => sceneFrames.some((frame) => frame.equals(bytes));
	for (const event of events) {
		assert.match(event.topic, /^dw\/[0-9a-f]{32}\/ev$/);
		assert.match(event.eventId, /^[0-9a-f]{32}$/);
		assert.ok(readFileSync(event.envelope).length === event.bytes);
		assert.equal(typeof event.notification, "boolean");
		assert.ok(Number.isInteger(event.pressedAt) && Number.isInteger(event.openedAt) && (event.openedAt >= event.pressedAt), JSON.stringify(event));
	}
	// The scene: motion at 0.5 s, a ring at 3 s. The ring's notification comes first: it waits for no clip.
	const [notification, motion, ring] = events;
	assert.deepEqual([notification.kind, notification.notification, notification.frames.length], ["ring", true, 0]);
	assert.ok(isSceneFrame(readFileSync(notification.snapshot)), "the snapshot is a scene frame");
	assert.equal(notification.bytes, 93 + 88 + 64 + 15944, "a notification's one size");
	assert.ok(["motion", "face"].includes(motion.kind) && !motion.notification && (motion.follows === undefined));
	assert.deepEqual([ring.kind, ring.notification, ring.follows, ring.pressedAt], ["ring", false, notification.eventId, notification.pressedAt]);
	for (const clip of [motion, ring]) {
		// Every clip has the same frame count, 10 before and 20 after (more after when the pre-roll is short, as right after boot).
		assert.equal(clip.frames.length, 30, `${clip.frames.length} frames`);
		clip.frames.forEach((file: string) => assert.ok(isSceneFrame(readFileSync(file)), `${file} is a scene frame`));
		const { metadata } = JSON.parse(readFileSync(join(clip.envelope, "..", "event.json"), "utf8"));
		assert.equal(metadata.frameTimes.length, clip.frames.length);
		assert.deepEqual([...metadata.frameTimes].sort((a: number, b: number) => a - b), metadata.frameTimes, "in capture order");
	}
	// The ring's clip holds the pre-roll: frames captured before the press (2 s at 5 fps by default), then those after.
	const { metadata } = JSON.parse(readFileSync(join(ring.envelope, "..", "event.json"), "utf8"));
	// Frame times and the trigger's time are both the device's clock (a few ms behind the world's, which set it by SNTP).
	const before = metadata.frameTimes.filter((time: number) => time < metadata.triggeredAt).length;
	assert.ok((before >= 8) && (before <= 10), `${before} frames from before the press`);
	assert.ok(Math.abs(metadata.triggeredAt - ring.pressedAt) < 250, "the device's time of the press is the world's, to the clocks' skew");
	assert.equal(metadata.follows, notification.eventId);
});

test("a missing scene is a one-line error naming the file", async () => {
	const result = await doorward(["sim", "--events", "1", "--scene", "/nonexistent/scene"]);
	assertOneLineError(result, /\/nonexistent\/scene\/scene\.json: cannot read scene \(ENOENT\)/);
});

test("a corrupt frame in a scene is a one-line error naming the frame", async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-scene-"));
	cpSync(defaultScene, folder, { recursive: true });
	const frame = join(folder, "frames", "visitor-2.jpg");
	writeFileSync(frame, readFileSync(frame).subarray(0, 300));
	const result = await doorward(["sim", "--events", "1", "--scene", folder]);
	assertOneLineError(result, /visitor-2\.jpg: corrupt JPEG/);
});

test("an unreachable broker is a one-line error naming the address", async () => {
	// A port that was free a moment ago: nothing listens there.
	const port = await new Promise<number>((resolve) => {
		const server = createServer();
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
	const result = await doorward(["sim", "--events", "1", "--broker", `mqtt://127.0.0.1:${port}`], projectRoot, 30000);
	assertOneLineError(result, new RegExp(`cannot reach broker mqtt://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
});

test("bad arguments are one-line errors", async () => {
	assertOneLineError(await doorward(["sim", "--events", "zero"]), /--events zero: expected a whole number/);
	assertOneLineError(await doorward(["sim", "--broker", "http://x"]), /--broker http:\/\/x: expected mqtt:\/\/HOST:PORT/);
	assertOneLineError(await doorward(["sim", "--frobnicate"]), /Unknown option '--frobnicate'/);
});

test("a malformed manifest is a one-line error naming manifest.json", async () => {
	// A copy of the project whose manifest is broken, sharing the built tools.
	const copy = mkdtempSync(join(tmpdir(), "doorward-project-"));
	for (const part of ["bin", "tools/setup", "tools/scenes", "build/node", "build/sim"])
		cpSync(join(projectRoot, part), join(copy, part), { recursive: true });
	symlinkSync(join(projectRoot, "node_modules"), join(copy, "node_modules"));
	mkdirSync(join(copy, "hardware"));
	writeFileSync(join(copy, "manifest.json"), "{ \"modules\": { ");
	const result = spawnSync(process.execPath, [join(copy, "bin", "doorward.js"), "sim", "--events", "1"], { cwd: copy, encoding: "utf8", timeout: 30000 });
	assertOneLineError({ code: result.status, stderr: result.stderr }, new RegExp(`${copy}/manifest\\.json: not valid JSON`));
});
