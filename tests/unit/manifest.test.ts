/*
 * The manifest resolver, on the real manifest.json and on broken ones; and
 * the device's release build: what its module list holds, and what not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { matchPlatform, resolveManifest } from "../../tools/build/manifest.js";
import { projectRoot } from "../../tools/build/firmware.js";

const manifest = join(projectRoot, "manifest.json");
const device = "esp32/xiao_esp32s3_sense";
const fromRoot = (path: string) => relative(projectRoot, path);

test("the simulator platform maps every hardware module to its sim implementation", () => {
	const resolution = resolveManifest(manifest, "doorward-sim");
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

/** The development builds' modules: the interim configuration path, which takes a TLS key from outside. */
const developmentOnly = [/^src\/device\/interim\/development\.ts$/, /^hardware\/provisioning\/esp32\/development\.ts$/];

test("the device's release build, the default, contains no development module and no Wi-Fi credentials", () => {
	const byDefault = resolveManifest(manifest, device);
	const release = resolveManifest(manifest, device, { DOORWARD_BUILD: "release" });
	assert.deepEqual([...byDefault.modules], [...release.modules], "DOORWARD_BUILD defaults to release");
	const files = [...release.modules.values()].map(fromRoot);
	for (const pattern of developmentOnly)
		assert.ok(!files.some((file) => pattern.test(file)), `no ${pattern} in ${files.join(" ")}`);
	assert.ok(!files.some((file) => /\/(lin|sim)\//.test(file)), "no module of lin or of the simulator host");
	// The production modules, each from its device implementation.
	const expected: Record<string, string> = {
		"main": "src/main.ts",
		"device/interim": "src/device/interim/release.ts",
		"device/tls-identity": "src/device/tls-identity.ts",
		"device/configuration": "src/device/configuration.ts",
		"hardware/provisioning": "hardware/provisioning/esp32/provisioning.ts",
		"hardware/provisioning/serial": "hardware/provisioning/esp32/serial.ts",
		"hardware/csr": "hardware/crypto/csr.ts",
		"hardware/keystore": "hardware/keystore/preference/keystore.ts",
		"hardware/camera": "hardware/camera/moddable/camera.ts",
		"hardware/ota": "hardware/ota/esp32/ota.ts",
		"update/ota": "src/update/ota.ts",
	};
	for (const [specifier, file] of Object.entries(expected))
		assert.equal(fromRoot(release.modules.get(specifier) ?? ""), file, specifier);
	// Nothing in the image calls the interim path by another name.
	for (const file of release.modules.values()) {
		const text = readFileSync(file, "utf8");
		assert.ok(!/import\s*\{[^}]*\b(requestConfiguration|parseClientCredentials)\b[^}]*\}/.test(text), `${fromRoot(file)} imports the interim path`);
	}
	for (const name of ["ssid", "password"])
		assert.ok(!(name in release.config), `config.${name} is compiled in: ${JSON.stringify(release.config)}`);
	assert.deepEqual(release.config, { buttonPin: 1, motionPin: 2, statusLedPin: 21 });
});

test("DOORWARD_BUILD=development gives the device the interim configuration path", () => {
	const development = resolveManifest(manifest, device, { DOORWARD_BUILD: "development" });
	assert.equal(fromRoot(development.modules.get("device/interim") ?? ""), "src/device/interim/development.ts");
	assert.equal(fromRoot(development.modules.get("hardware/provisioning") ?? ""), "hardware/provisioning/esp32/development.ts");
	assert.equal(fromRoot(development.modules.get("hardware/provisioning/serial") ?? ""), "hardware/provisioning/esp32/serial.ts");
	const release = resolveManifest(manifest, device);
	const differ = [...development.modules.keys()].filter((specifier) => development.modules.get(specifier) !== release.modules.get(specifier));
	assert.deepEqual(differ.sort(), ["device/interim", "hardware/provisioning"], "the variants differ in these modules only");
	assert.throws(() => resolveManifest(manifest, device, { DOORWARD_BUILD: "production" }), /variants\/production\/manifest\.json: cannot read/);
});

test("lin and the simulator host are development builds, whatever DOORWARD_BUILD says", () => {
	for (const platform of ["lin", "doorward-sim"]) {
		for (const environment of [{}, { DOORWARD_BUILD: "release" }] as Record<string, string>[]) {
			const resolution = resolveManifest(manifest, platform, environment);
			assert.equal(fromRoot(resolution.modules.get("device/interim") ?? ""), "src/device/interim/development.ts", platform);
		}
	}
});

/** The lines of README.md, docs/ and the board and variant READMEs that run mcconfig for the device. */
function deviceBuildCommands(): { file: string; line: string }[] {
	const files = ["README.md", "variants/README.md"];
	const walk = (folder: string): void => {
		for (const name of readdirSync(join(projectRoot, folder), { withFileTypes: true })) {
			if (name.isDirectory())
				walk(join(folder, name.name));
			else if (name.name.endsWith(".md"))
				files.push(join(folder, name.name));
		}
	};
	walk("docs");
	for (const board of readdirSync(join(projectRoot, "hardware", "boards")))
		if (existsSync(join(projectRoot, "hardware", "boards", board, "README.md")))
			files.push(join("hardware", "boards", board, "README.md"));
	return files.flatMap((file) => readFileSync(join(projectRoot, file), "utf8").split("\n")
		.filter((line) => /\bmcconfig\b.*-p esp32\//.test(line))
		.map((line) => ({ file, line: line.trim() })));
}

test("every device build command in the documentation is the release one, or says it is the development build", () => {
	const commands = deviceBuildCommands();
	assert.ok(commands.length > 0);
	for (const { file, line } of commands) {
		const debug = /\s-d[nxl]?\b|\s-i\b|\bssid=|\bpassword=/.test(line);
		if (debug)
			assert.match(line, /DOORWARD_BUILD=development/, `${file}: a debug build must be named the development build: ${line}`);
		else if (!/DOORWARD_BUILD=development/.test(line))
			assert.doesNotMatch(line, /DOORWARD_BUILD=/, `${file}: the release build needs no DOORWARD_BUILD: ${line}`);
	}
	const release = "mcconfig -m -p esp32/xiao_esp32s3_sense -t build";
	for (const file of ["README.md", "docs/porting.md"])
		assert.ok(commands.some((command) => (command.file === file) && command.line.startsWith(release)), `${file} gives the release command: ${release}`);
});

test("build settings, platform includes and config merge as mcconfig merges them", () => {
	const root = project(JSON.stringify({
		build: { "VARIANT ?=": "plain" },
		config: { a: 1, nested: { x: 1, y: 1 } },
		platforms: { "dev/*": { include: ["./$(SUBPLATFORM)/$(VARIANT).json"], config: { nested: { y: 2 } } } },
	}), {
		"board/plain.json": JSON.stringify({ modules: { m: "./plain" }, config: { a: 2, nested: { x: 3 } } }),
		"board/fancy.json": JSON.stringify({ modules: { m: "./fancy" } }),
		"board/plain.ts": "", "board/fancy.ts": "",
	});
	const plain = resolveManifest(root, "dev/board");
	assert.match(plain.modules.get("m") ?? "", /board\/plain\.ts$/);
	// The included manifest merges first, then the including one, then its platform block.
	assert.deepEqual(plain.config, { a: 1, nested: { x: 1, y: 2 } });
	assert.match(resolveManifest(root, "dev/board", { VARIANT: "fancy" }).modules.get("m") ?? "", /board\/fancy\.ts$/, "a ?= setting takes the shell's value");
	const unset = project(JSON.stringify({ include: "./$(NOWHERE)/manifest.json" }));
	assert.throws(() => resolveManifest(unset, "doorward-sim"), /include: "\.\/\$\(NOWHERE\)\/manifest\.json": \$\(NOWHERE\) is not set/);
});
