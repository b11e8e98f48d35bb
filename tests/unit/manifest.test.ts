/*
 * The manifest resolver, on the real manifest.json and on broken ones.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { matchPlatform, resolveManifest } from "../../tools/build/manifest.js";
import { projectRoot } from "../../tools/build/firmware.js";

test("the simulator platform maps every hardware module to its sim implementation", () => {
	const resolution = resolveManifest(join(projectRoot, "manifest.json"), "doorward-sim");
	for (const name of ["button", "motion", "status", "provisioning"])
		assert.match(resolution.modules.get(`hardware/${name}`) ?? "", new RegExp(`hardware/${name}/sim/${name}\\.ts$`));
	// The camera is the device's own hardware/camera, over the simulator's stand-in for Moddable's camera.
	assert.match(resolution.modules.get("hardware/camera") ?? "", /hardware\/camera\/moddable\/camera\.ts$/);
	assert.match(resolution.modules.get("embedded:io/image/in/camera") ?? "", /hardware\/camera\/sim\/sensor\.ts$/);
	assert.ok(resolution.natives.some((file) => file.endsWith("hardware/camera/host/frames.c")));
	assert.match(resolution.modules.get("embedded:io/socket/tcp") ?? "", /hardware\/net\/sim\/tcp\.ts$/);
	assert.match(resolution.modules.get("pipeline/doorbell") ?? "", /src\/pipeline\/doorbell\.ts$/);
	assert.ok(resolution.natives.some((file) => file.endsWith("hardware/random/linux/random.c")));
	assert.ok(!resolution.natives.some((file) => file.includes("/esp32/")), "no device C in the simulator");
	assert.match(String(resolution.settings.partitions), /partitions\.csv$/);
});

test("platform keys match the way mcconfig matches them", () => {
	const platforms = { "esp32/*": { a: 1 }, lin: { b: 1 }, "...": { c: 1 } };
	assert.deepEqual(matchPlatform(platforms, "esp32/xiao_esp32s3_sense"), { a: 1 });
	assert.deepEqual(matchPlatform(platforms, "lin"), { b: 1 });
	assert.deepEqual(matchPlatform(platforms, "esp32"), { c: 1 }, "esp32/* needs a subplatform");
	// First match in JSON order wins: a prefix key listed first shadows an exact one.
	assert.deepEqual(matchPlatform({ "esp32/*": { a: 1 }, "esp32/s3": { d: 1 } }, "esp32/s3"), { a: 1 });
	assert.deepEqual(matchPlatform({ "esp32/s3": { d: 1 }, "esp32/*": { a: 1 } }, "esp32/s3"), { d: 1 });
});

function project(manifest: string, files: Record<string, string> = {}): string {
	const folder = mkdtempSync(join(tmpdir(), "doorward-manifest-"));
	writeFileSync(join(folder, "manifest.json"), manifest);
	for (const [name, text] of Object.entries(files)) {
		mkdirSync(join(folder, name, ".."), { recursive: true });
		writeFileSync(join(folder, name), text);
	}
	return join(folder, "manifest.json");
}

test("broken manifests are refused with the file and the reason", () => {
	const notJson = project("{ \"modules\": ");
	assert.throws(() => resolveManifest(notJson, "doorward-sim"), (error: Error) => error.message.startsWith(`${notJson}: not valid JSON`));
	const missing = project(JSON.stringify({ modules: { x: "./nowhere/x" } }));
	assert.throws(() => resolveManifest(missing, "doorward-sim"), /modules\["x"\]: no file \.\/nowhere\/x/);
	const twice = project(JSON.stringify({ modules: { x: "./a/x" } }), { "a/x.ts": "", "a/x.js": "" });
	assert.throws(() => resolveManifest(twice, "doorward-sim"), /both a\/x\.(ts|js) and a\/x\.(ts|js) implement x/);
	const refused = project(JSON.stringify({ platforms: { "...": { error: "unsupported" } } }));
	assert.throws(() => resolveManifest(refused, "doorward-sim"), /platform doorward-sim: unsupported/);
	const preload = project(JSON.stringify({ modules: {}, preload: ["ghost"] }));
	assert.throws(() => resolveManifest(preload, "doorward-sim"), /preload names ghost/);
});
