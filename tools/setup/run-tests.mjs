// `npm test`: rebuild what changed (tools, firmware, host), then run every
// suite with node:test: unit tests on Node, firmware tests inside the XS
// simulator host, and integration tests against the simulated world.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
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
const result = spawnSync(process.execPath, [
	"--import", join(root, "tools", "setup", "register.mjs"),
	"--test", "--test-reporter=spec", "--test-concurrency=2",
	...suites,
], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
