/*
 * `doorward live` as issue 14's contract says: the decrypted frames in --out,
 * one --json line per frame and a summary line; a phone that is not paired
 * exits 1 with one line and gets no frame (that the device publishes none
 * then is live.test.ts's, at the broker); bad options are one line each.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../tools/build/firmware.js";
import { loadPhone, savePhone } from "../../tools/phone/identity.js";

const cli = join(projectRoot, "bin", "doorward.js");

function doorward(args: string[]): { status: number | null; stdout: string; stderr: string } {
	const result = spawnSync(process.execPath, [cli, ...args], { cwd: projectRoot, encoding: "utf8", timeout: 90000 });
	return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Exit 1 and one line on stderr, no stack trace. */
function oneLine(result: { status: number | null; stderr: string }, pattern: RegExp): void {
	assert.equal(result.status, 1, result.stderr);
	assert.equal(result.stderr.split("\n").filter((line) => line).length, 1, result.stderr);
	assert.match(result.stderr.trim(), pattern);
	assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

test("doorward live writes the frames and the --json lines; an unpaired phone exits 1 with one line and no frame", (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-cli-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const phone = join(folder, "phone.json");
	const stranger = join(folder, "stranger.json");
	const flash = join(folder, "device.bin");
	assert.equal(doorward(["phone", "keygen", "--out", phone, "--name", "owner"]).status, 0);
	assert.equal(doorward(["phone", "keygen", "--out", stranger, "--name", "stranger"]).status, 0);
	const label = JSON.parse(doorward(["label", "--flash", flash, "--json"]).stdout);
	assert.equal(doorward(["pair", "--phone", phone, "--flash", flash, "--code", label.setupCode]).status, 0);

	const out = join(folder, "frames");
	const watched = doorward(["live", "--phone", phone, "--flash", flash, "--seconds", "2", "--out", out, "--json"]);
	assert.equal(watched.status, 0, watched.stderr);
	const lines = watched.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
	const summary = lines.pop()!;
	assert.deepEqual(Object.keys(summary), ["frames", "fps", "firstFrameMs"]);
	assert.ok(lines.length >= 5, `${lines.length} frames in 2 s`);
	assert.equal(summary.frames, lines.length);
	assert.ok((typeof summary.fps === "number") && (summary.fps > 0));
	assert.ok((typeof summary.firstFrameMs === "number") && (summary.firstFrameMs > 0));
	let last = -1;
	for (const line of lines) {
		assert.deepEqual(Object.keys(line), ["frame", "counter", "bytes", "latencyMs"]);
		assert.ok((line.counter as number) > last, "counters rise");
		last = line.counter as number;
		const jpeg = readFileSync(line.frame as string);
		assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], "a JPEG, decrypted");
		assert.ok((line.bytes as number) > jpeg.length, "the message on the wire is the padded, sealed frame");
	}
	assert.equal(readdirSync(out).length, lines.length);

	// VGA on request: the sensor is asked for 640x480.
	const vga = doorward(["live", "--phone", phone, "--flash", flash, "--seconds", "1", "--size", "vga", "--out", join(folder, "vga"), "--json"]);
	assert.equal(vga.status, 0, vga.stderr);
	// The last frame: one or two already in the sensor's pipe at the switch may still be QVGA (a JPEG says its own size).
	const vgaLines = vga.stdout.trim().split("\n");
	const frame = readFileSync((JSON.parse(vgaLines[vgaLines.length - 2]) as { frame: string }).frame);
	const sof = frame.indexOf(Buffer.from([0xff, 0xc0]));
	assert.deepEqual([frame.readUInt16BE(sof + 7), frame.readUInt16BE(sof + 5)], [640, 480]);

	// A phone that never paired: it does not even have the device's keys.
	const nothing = join(folder, "nothing");
	oneLine(doorward(["live", "--phone", stranger, "--flash", flash, "--seconds", "2", "--out", nothing, "--json"]), /^doorward: the phone stranger is not paired with device [0-9a-f]{32}$/);
	assert.ok(!existsSync(nothing) || !readdirSync(nothing).length);
	// One that knows the device's public keys (from its label, or from before it was removed): the device answers nothing.
	const knowing = loadPhone(stranger);
	knowing.devices[label.deviceId] = loadPhone(phone).devices[label.deviceId];
	savePhone(stranger, knowing);
	const refused = doorward(["live", "--phone", stranger, "--flash", flash, "--seconds", "2", "--out", nothing, "--json"]);
	oneLine(refused, /^doorward: device [0-9a-f]{32} did not answer the live view request: its log says its signer is not a paired phone$/);
	assert.equal(refused.stdout, "", "no frame line");
	assert.ok(!existsSync(nothing) || !readdirSync(nothing).length, "no frame written");

	oneLine(doorward(["live", "--phone", phone, "--flash", flash, "--size", "hd"]), /^doorward: --size hd: qvga or vga$/);
	oneLine(doorward(["live", "--phone", phone, "--flash", flash, "--seconds", "301"]), /^doorward: --seconds 301: a whole number of seconds, 1 to 300$/);
	oneLine(doorward(["live", "--phone", phone]), /^doorward: live: --phone FILE and --flash FILE are required$/);
	oneLine(doorward(["live", "--phone", phone, "--flash", join(folder, "none.bin")]), /no such simulated device/);
});
