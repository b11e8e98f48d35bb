/*
 * Runs the firmware tests (tests/xs/*.test.ts) inside the XS simulator host,
 * one host process per file, and reports each of their tests here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";

const build = simulatorBuild();
const modules = readFileSync(build.testModuleMap, "utf8").split("\n")
	.map((line) => line.split("\t")[0])
	.filter((specifier) => /^tests\/.+\.test$/.test(specifier));

test("the firmware test modules were built", () => {
	assert.ok(modules.length >= 5, `found ${modules.join(", ")}`);
});

for (const specifier of modules) {
	test(`XS: ${specifier}`, async (t) => {
		const flash = join(mkdtempSync(join(tmpdir(), "doorward-xs-")), "flash.bin");
		const run = spawnSync(build.host, ["--modules", build.testModuleMap, "--main", specifier, "--flash", flash, "--partitions", build.partitions], { encoding: "utf8", timeout: 60000 });
		const lines = run.stderr.split("\n");
		const results = lines.filter((line) => line.startsWith("xs-test "));
		assert.ok(results.length > 0, `no test ran in ${specifier}:\n${run.stderr}`);
		for (const line of results) {
			const passed = line.startsWith("xs-test ok ");
			const [name, reason] = line.replace(/^xs-test (not )?ok /, "").split(" :: ");
			await t.test(name, () => assert.ok(passed, reason));
		}
		const other = lines.filter((line) => line && !line.startsWith("xs-"));
		assert.equal(run.status, results.every((line) => line.startsWith("xs-test ok ")) ? 0 : 1, `exit status; host said:\n${other.join("\n")}`);
	});
}
