/*
 * Builds the firmware for the simulator host, as mcconfig builds it for a
 * device: compile the TypeScript, resolve the manifest for the simulator
 * platform into a module map, and link the host with the platform's C files
 * and the libraries its "link" setting names.
 *
 * Outputs, under build/:
 *   firmware/...            the compiled modules
 *   sim/modules.txt         "specifier<TAB>path" for the host
 *   sim/doorward-sim-host   the host, XS from @agoric/xsnap's sources
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveManifest } from "./manifest.js";
import { stampBuildTime } from "../release/sim-image.js";

export const simulatorPlatform = "doorward-sim";

// This file runs compiled, from build/node/tools/build/.
export const projectRoot = fileURLToPath(new URL("../../../..", import.meta.url));

export interface SimulatorBuild {
	readonly host: string;
	readonly moduleMap: string;
	/** The module map plus the firmware tests (tests/xs) and the firmware-side tools (tools/xs) */
	readonly testModuleMap: string;
	readonly partitions: string;
	/** The folder that stands in for the firmware image's resources: models/ */
	readonly resources: string;
}

export function simulatorBuild(root = projectRoot): SimulatorBuild {
	const partitions = resolveManifest(join(root, "manifest.json"), simulatorPlatform).settings.partitions;
	if (typeof partitions !== "string")
		throw new Error(`manifest.json: platforms["${simulatorPlatform}"].partitions must name the board's partitions.csv`);
	return {
		host: join(root, "build", "sim", "doorward-sim-host"),
		moduleMap: join(root, "build", "sim", "modules.txt"),
		testModuleMap: join(root, "build", "sim", "test-modules.txt"),
		partitions,
		resources: join(root, "models"),
	};
}

export class BuildError extends Error {}

function run(command: string, args: string[], cwd: string, what: string): void {
	const result = spawnSync(command, args, { cwd, stdio: "inherit" });
	if (result.error)
		throw new BuildError(`${what}: cannot run ${command}: ${result.error.message}`);
	if (result.status !== 0)
		throw new BuildError(`${what} failed (${command} exited with ${result.status ?? result.signal})`);
}

function xsSources(root: string): string {
	const require = createRequire(join(root, "package.json"));
	let xsnap: string;
	try {
		xsnap = dirname(require.resolve("@agoric/xsnap/package.json"));
	}
	catch {
		throw new BuildError("@agoric/xsnap is not installed: run `npm install`");
	}
	const xs = join(xsnap, "moddable", "xs");
	if (!existsSync(join(xs, "sources", "xsAll.c")))
		throw new BuildError(`${xs}: the XS engine sources are missing from @agoric/xsnap`);
	return xs;
}

/** The compiled .js path of a module source: .ts files compile into build/firmware. */
function compiledPath(root: string, source: string): string {
	if (!source.endsWith(".ts"))
		return source;
	return join(root, "build", "firmware", relative(root, source)).replace(/\.ts$/, ".js");
}

/** The manifest's preload list with "dir/*" expanded over the module specifiers, each once, in order. */
export function preloadList(preload: readonly string[], modules: ReadonlyMap<string, string>): string[] {
	const list: string[] = [];
	for (const entry of preload) {
		const matches = entry.endsWith("/*") ? [...modules.keys()].filter((specifier) => specifier.startsWith(entry.slice(0, -1))) : [entry];
		for (const specifier of matches) {
			if (!list.includes(specifier))
				list.push(specifier);
		}
	}
	return list;
}

export function buildFirmware(root = projectRoot, log: (line: string) => void = () => {}): SimulatorBuild {
	log("compiling the firmware (tsc)");
	run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], root, "compiling the firmware");
	// The firmware's time floor is its build time (src/device/version.ts): the build writes it.
	stampBuildTime(compiledPath(root, join(root, "src", "device", "version.ts")), Date.now());

	const resolution = resolveManifest(join(root, "manifest.json"), simulatorPlatform);
	const build = simulatorBuild(root);
	mkdirSync(dirname(build.moduleMap), { recursive: true });
	const lines = [...resolution.modules].map(([specifier, source]) => {
		const compiled = compiledPath(root, source);
		if (!existsSync(compiled))
			throw new BuildError(`module ${specifier}: ${relative(root, compiled)} was not produced by the compiler`);
		return `${specifier}\t${compiled}`;
	});
	// The host runs these first and then freezes, as mcconfig's linker does (hardware/sim/host/preload.c).
	lines.push(...preloadList(resolution.preload, resolution.modules).map((specifier) => `@preload\t${specifier}`));
	writeFileSync(build.moduleMap, `# generated from manifest.json for ${simulatorPlatform}; do not edit\n${lines.join("\n")}\n`);

	// The firmware tests and the tools that drive the firmware's code (the
	// detector, calibration) run in the same host, with the firmware's
	// modules plus tests/xs/* as "tests/<name>" and tools/xs/* as "tools/<name>".
	const extraLines = [["tests", join(root, "build", "firmware", "tests", "xs")], ["tools", join(root, "build", "firmware", "tools", "xs")]]
		.flatMap(([prefix, folder]) => existsSync(folder)
			? readdirSync(folder).filter((name) => name.endsWith(".js")).map((name) => `${prefix}/${name.slice(0, -3)}\t${join(folder, name)}`)
			: []);
	// tests/xs/preload-fixture is preloaded too, so the tests can show what freezing does to a preloaded module's state.
	if (extraLines.some((line) => line.startsWith("tests/preload-fixture\t")))
		extraLines.push("@preload\ttests/preload-fixture");
	writeFileSync(build.testModuleMap, `# generated: the firmware's modules, tests/xs and tools/xs; do not edit\n${[...lines, ...extraLines].join("\n")}\n`);

	log(`linking the simulator host (${resolution.natives.length} native modules)`);
	linkHost(root, dirname(build.host), false);
	return build;
}

function linkHost(root: string, folder: string, sanitize: boolean): void {
	const resolution = resolveManifest(join(root, "manifest.json"), simulatorPlatform);
	run("make", [
		"-s", "-j2", "-f", join(root, "hardware", "sim", "host", "Makefile"),
		`XS=${xsSources(root)}`,
		`BUILD=${folder}`,
		`NATIVES=${resolution.natives.join(" ")}`,
		`LIBRARIES=${resolution.libraries.map((library) => `-l${library}`).join(" ")}`,
		...(sanitize ? ["SANITIZE=1"] : []),
	], root, sanitize ? "building the sanitized simulator host" : "building the simulator host");
}

/**
 * The simulator host built with AddressSanitizer and UndefinedBehaviorSanitizer
 * (build/sim-sanitized), for the tests that feed natives hostile input. It
 * runs the same module map as the plain host; buildFirmware must have run.
 */
export function buildSanitizedHost(root = projectRoot): string {
	const host = sanitizedHost(root);
	linkHost(root, dirname(host), true);
	return host;
}

export function sanitizedHost(root = projectRoot): string {
	return join(root, "build", "sim-sanitized", "doorward-sim-host");
}
