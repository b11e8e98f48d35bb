/*
 * The firmware tests that feed native code hostile input (corrupt JPEGs,
 * corrupt models, privacy masks, the detector on real photos), run again in
 * the simulator host built with AddressSanitizer and UndefinedBehaviorSanitizer,
 * every report fatal: an out-of-bounds read that happens to land in mapped
 * memory passes in the plain host, not here. (The interpreter's kernel and
 * corruption suites do the same in inference.test.ts.) inference-async runs
 * the model on a worker thread while the XS thread collects garbage.
 */
import { test } from "node:test";
import { existsSync } from "node:fs";
import { sanitizedHost } from "../../tools/build/firmware.js";
import { runXsModule } from "../support/xs-run.js";

const host = sanitizedHost();
const skip = existsSync(host) ? false : `${host} is missing: npm test builds it (npx doorward build --sanitized)`;

for (const specifier of ["tests/image.test", "tests/detection.test", "tests/detector.test", "tests/detect.test", "tests/inference-async.test"])
	test(`XS, sanitized host: ${specifier}`, { skip }, (t) => runXsModule(t, specifier, [], 300000, undefined, host));
