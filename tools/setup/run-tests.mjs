// `npm test`: rebuild what changed (tools, firmware, host), then run every
// suite with node:test: unit tests on Node, firmware tests inside the XS
// simulator host, and integration tests against the simulated world.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../..", import.meta.url));

function run(what, args) {
	const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
	if (result.status !== 0) {
		console.error(`npm test: ${what} failed`);
		process.exit(result.status || 1);
	}
}

if (!existsSync(join(root, "node_modules", "typescript")))
	run("checking dependencies", ["-e", "console.error('run npm install first'); process.exit(1)"]);
run("compiling the tools", [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tools", "tsconfig.json")]);
// The sanitized host runs the suites that feed the natives hostile input.
run("building the firmware", [join(root, "bin", "doorward.js"), "build", "--sanitized"]);

const suites = ["unit", "integration", "conformance"].map((suite) => join(root, "build", "node", "tests", suite));
// Every test's temporary folders (simulated flash images, phones, brokers' PKI) go under one folder
// for this run, removed at the end whatever the outcome: a run leaves nothing in the system's /tmp.
const scratch = mkdtempSync(join(tmpdir(), "doorward-test-run-"));
const result = spawnSync(process.execPath, [
	"--import", join(root, "tools", "setup", "register.mjs"),
	"--test", "--test-reporter=spec", "--test-concurrency=2",
	...suites,
], { cwd: root, stdio: "inherit", env: { ...process.env, TMPDIR: scratch } });
rmSync(scratch, { recursive: true, force: true });
process.exit(result.status ?? 1);
