/*
 * Runs the firmware tests (tests/xs/*.test.ts) inside the XS simulator host,
 * one host process per file, and reports each of their tests here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { runXsModule } from "../support/xs-run.js";

const build = simulatorBuild();
const modules = readFileSync(build.testModuleMap, "utf8").split("\n")
	.map((line) => line.split("\t")[0])
	.filter((specifier) => /^tests\/.+\.test$/.test(specifier));

test("the firmware test modules were built", () => {
	assert.ok(modules.length >= 5, `found ${modules.join(", ")}`);
});

for (const specifier of modules)
	test(`XS: ${specifier}`, (t) => runXsModule(t, specifier));
