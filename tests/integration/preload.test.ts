/*
 * The simulator host preloads and freezes as mcconfig's linker does
 * (hardware/sim/host/preload.c). The module map it is given says which
 * modules are preloaded; these tests give it small maps of their own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { resolveManifest } from "../../tools/build/manifest.js";

const build = simulatorBuild();

function runHost(modules: Record<string, string>, preload: string[], builtAt?: Date): { status: number | null; stderr: string } {
	const folder = mkdtempSync(join(tmpdir(), "doorward-preload-"));
	const lines = Object.entries(modules).map(([specifier, source]) => {
		const path = join(folder, `${specifier}.js`);
		writeFileSync(path, source);
		return `${specifier}\t${path}`;
	});
	lines.push(...preload.map((specifier) => `@preload\t${specifier}`));
	const map = join(folder, "modules.txt");
	writeFileSync(map, `${lines.join("\n")}\n`);
	if (builtAt)
		utimesSync(map, builtAt, builtAt);
	const result = spawnSync(build.host, ["--modules", map, "--main", "main"], { encoding: "utf8", timeout: 30000 });
	return { status: result.status, stderr: result.stderr };
}

test("the firmware's module map preloads what the manifest lists, for the simulator platform", () => {
	const resolution = resolveManifest(join(process.cwd(), "manifest.json"), "doorward-sim");
	const preloaded = readFileSync(build.moduleMap, "utf8").split("\n")
		.filter((line) => line.startsWith("@preload\t")).map((line) => line.slice("@preload\t".length));
	assert.deepEqual(preloaded, [...new Set(resolution.preload)]);
	for (const specifier of ["pipeline/doorbell", "mqtt/packet", "hardware/keystore", "hardware/camera", "flash"])
		assert.ok(preloaded.includes(specifier), `${specifier} is preloaded`);
});

test("a preloaded module runs before main, and main sees it frozen", () => {
	const { status, stderr } = runHost({
		state: "export const table = new Map(); export let order = []; order.push('state');",
		main: `import { table, order } from "state";
			order.push("main");
			let refused = "";
			try { table.set(1, 1); } catch (error) { refused = String(error); }
			trace(order.join(",") + " | " + refused + " | " + Object.isFrozen(Object.prototype) + "\\n");`,
	}, ["state"]);
	assert.equal(status, 0, stderr);
	assert.match(stderr, /^state,main \| TypeError: .*read-only \| true$/m);
});

test("without a preload list nothing is frozen (the map decides, as the manifest does)", () => {
	const { status, stderr } = runHost({
		main: "trace(Object.isFrozen(Object.prototype) + '\\n');",
	}, []);
	assert.equal(status, 0, stderr);
	assert.match(stderr, /^false$/m);
});

test("calling a native while preloading fails the build, as it does for mcconfig's linker", () => {
	const { status, stderr } = runHost({
		early: "const at = native('xs_clock_ticks').call(undefined); export default at;",
		main: "import at from 'early'; trace('main ran\\n');",
	}, ["early"]);
	assert.equal(status, 70);
	assert.match(stderr, /preload failed: .*xs_clock_ticks called while preloading/);
	assert.doesNotMatch(stderr, /main ran/);
});

test("defining a native while preloading is allowed; calling it at run time works", () => {
	const { status, stderr } = runHost({
		early: "export function ticks() { return native('xs_clock_ticks').call(undefined); }",
		main: "import { ticks } from 'early'; trace('ticks ' + (typeof ticks()) + '\\n');",
	}, ["early"]);
	assert.equal(status, 0, stderr);
	assert.match(stderr, /^ticks number$/m);
});

test("while preloading the clock reads the build time, as on the build machine", () => {
	const builtAt = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
	const startedAt = Date.now();
	const { status, stderr } = runHost({
		early: "export const loadedAt = Date.now();",
		main: "import { loadedAt } from 'early'; trace('loaded ' + loadedAt + ' now ' + Date.now() + '\\n');",
	}, ["early"], builtAt);
	assert.equal(status, 0, stderr);
	const [, loaded, now] = /loaded (\d+) now (\d+)/.exec(stderr) ?? [];
	assert.equal(Number(loaded), builtAt.getTime(), "a module that keeps Date.now() at load gets the build time");
	assert.ok(Number(now) >= startedAt, "at run time the clock is the host's");
});
