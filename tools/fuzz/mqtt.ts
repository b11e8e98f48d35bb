/*
 * `npm run fuzz:mqtt [-- ROUNDS]`: the MQTT decoder fuzz test, longer than
 * the bounded run in `npm test` (default 200,000 rounds), inside the XS host.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../build/firmware.js";

const rounds = process.argv[2] ?? "200000";
if (!/^\d+$/.test(rounds)) {
	process.stderr.write(`fuzz:mqtt: ${rounds} is not a number of rounds\n`);
	process.exit(2);
}
const build = simulatorBuild();
const flash = join(mkdtempSync(join(tmpdir(), "doorward-fuzz-")), "flash.bin");
const started = Date.now();
const run = spawnSync(build.host, ["--modules", build.testModuleMap, "--main", "tests/mqtt-fuzz.test", "--flash", flash, "--partitions", build.partitions, "--", rounds], { encoding: "utf8" });
process.stdout.write(run.stderr);
process.stdout.write(`fuzz:mqtt: ${rounds} rounds in ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${run.status}\n`);
process.exit(run.status ?? 1);
