/*
 * The owner's commands end to end: make a phone, pair it with a simulated
 * device (refusing a label that does not match), run the device, and open
 * a captured event with `doorward open`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../tools/build/firmware.js";
import { defaultScene } from "../../tools/sim/run.js";

const cli = join(projectRoot, "bin", "doorward.js");

function doorward(args: string[]): { status: number | null; stdout: string; stderr: string } {
	const result = spawnSync(process.execPath, [cli, ...args], { cwd: projectRoot, encoding: "utf8", timeout: 90000 });
	return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("phone keygen, pair, sim and open: the frames come back, and nothing else opens them", () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-owner-"));
	const phone = join(folder, "phone.json");
	const stranger = join(folder, "stranger.json");
	const flash = join(folder, "device.bin");
	assert.equal(doorward(["phone", "keygen", "--out", phone, "--name", "owner"]).status, 0);
	assert.equal(statSync(phone).mode & 0o777, 0o600, "the phone's private key is not world-readable");
	assert.doesNotMatch(doorward(["phone", "keygen", "--out", phone]).stderr, /^$/, "refuses to overwrite");
	assert.equal(doorward(["phone", "keygen", "--out", stranger, "--name", "stranger"]).status, 0);

	const wrongLabel = doorward(["pair", "--phone", phone, "--flash", flash, "--fingerprint", "0000-0000-0000-0000-0000-0000-0000-0000"]);
	assert.notEqual(wrongLabel.status, 0);
	assert.match(wrongLabel.stderr, /is not the label's 0000-0000/);
	const paired = doorward(["pair", "--phone", phone, "--flash", flash]);
	assert.equal(paired.status, 0, paired.stderr);
	const fingerprint = /fingerprint ([0-9a-f-]{39})/.exec(paired.stderr)![1];
	assert.equal(doorward(["pair", "--phone", phone, "--flash", flash, "--fingerprint", fingerprint]).status, 0, "the label's fingerprint matches");

	const out = join(folder, "out");
	const run = doorward(["sim", "--events", "1", "--json", "--flash", flash, "--phone", phone, "--out", out]);
	assert.equal(run.status, 0, run.stderr);
	const event = JSON.parse(run.stdout.trim().split("\n")[0]);

	const opened = doorward(["open", "--phone", phone, event.envelope, "--out", join(folder, "opened")]);
	assert.equal(opened.status, 0, opened.stderr);
	const result = JSON.parse(opened.stdout);
	assert.equal(result.eventId, event.eventId);
	const sceneFrames = readdirSync(join(defaultScene, "frames")).sort().map((name) => readFileSync(join(defaultScene, "frames", name)));
	result.frames.forEach((file: string, index: number) => assert.ok(readFileSync(file).equals(sceneFrames[index])));

	const refused = doorward(["open", "--phone", stranger, event.envelope]);
	assert.notEqual(refused.status, 0);
	assert.match(refused.stderr, /has not paired with/);
	assert.doesNotMatch(refused.stderr, /\n\s+at /, "no stack trace");
});
