// `npm install` ends here: check the system packages the build and tests
// need, compile the tools, then build the firmware and the simulator host.
// Plain JavaScript, because it runs before anything is compiled.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../..", import.meta.url));

// What each Debian package provides that we look for, and why we need it.
const requirements = [
	{ package: "gcc (or another C compiler as cc)", found: () => onPath("cc"), why: "compiles the XS simulator host" },
	{ package: "make", found: () => onPath("make"), why: "builds the XS simulator host" },
	{ package: "libmbedtls-dev", found: () => existsSync("/usr/include/mbedtls/version.h") || existsSync("/usr/include/mbedtls/build_info.h"), why: "the native crypto binding (AES-GCM, SHA-2, HMAC) in the host" },
	{ package: "libsodium-dev", found: () => existsSync("/usr/include/sodium.h"), why: "X25519 and Ed25519 in the native crypto binding" },
	{ package: "libjpeg-dev", found: () => existsSync("/usr/include/jpeglib.h"), why: "JPEG decoding and encoding in the host (face detection, privacy zones, thumbnails)" },
	{ package: "mosquitto", found: () => onPath("mosquitto") || existsSync("/usr/sbin/mosquitto"), why: "the broker the integration tests run against" },
];
// Packages without which something is skipped, not broken: named, and the install goes on.
const optional = [
	{ package: "openssl", found: () => onPath("openssl"), why: "the TLS tests' throwaway certificates (they say so and skip without it) and doorward factory's CA" },
	{ package: "chromium", found: () => ["/usr/bin/chromium", "/usr/bin/chromium-browser"].some((path) => existsSync(path)) || Boolean(process.env.CHROMIUM), why: "the owner's app's browser tests (npm test skips them, saying so, without it)" },
];

function onPath(command) {
	return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

const missing = requirements.filter((requirement) => !requirement.found());
if (missing.length) {
	console.error("doorward: missing system packages:");
	for (const requirement of missing)
		console.error(`  ${requirement.package}: ${requirement.why}`);
	console.error(`install them, for example: sudo apt-get install ${missing.map((r) => r.package.split(" ")[0]).join(" ")}`);
	process.exit(1);
}

for (const requirement of optional.filter((candidate) => !candidate.found()))
	console.error(`doorward: ${requirement.package} is not installed: ${requirement.why}; sudo apt-get install ${requirement.package}`);

function step(what, command, args) {
	const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
	if (result.status !== 0) {
		console.error(`doorward: ${what} failed`);
		process.exit(result.status || 1);
	}
}

step("compiling the tools", process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tools", "tsconfig.json")]);
step("building the firmware and the simulator host", process.execPath, [join(root, "bin", "doorward.js"), "build"]);
// The float models (for the host's cross-checks and the evaluation) come from the npm package alone; the int8 ones are committed.
step("writing the float models", process.execPath, ["--import", join(root, "tools", "setup", "register.mjs"), join(root, "build", "node", "tools", "model", "build.js"), "--float"]);
