/*
 * Reads manifest.json the way Moddable's mcconfig does, for one platform:
 * which file implements each module specifier, which C files are linked,
 * and the "config" the build compiles in (mc/config).
 *
 * Followed from mcconfig (tools/mcmanifest.js in the Moddable SDK):
 * - "include" manifests, then those of the matching platform block, merge
 *   depth first, before the manifest that includes them; paths that start
 *   with a variable ("$(MODDABLE)/...") are the SDK's own, which the
 *   simulator host replaces, so they are skipped here;
 * - "$(NAME)" in a path is PLATFORM, SUBPLATFORM, FULLPLATFORM, a "build"
 *   setting of a manifest read so far, or else the shell's variable; a
 *   "NAME ?=" build setting takes the shell's value when it has one
 *   (`environment` stands for the shell here);
 * - a `platforms` key matches exactly, or as "name/*" by prefix; the first
 *   match in JSON order wins, and "..." applies only when nothing matched;
 * - a module entry names files by path without extension: `.ts`/`.js` is the
 *   module, `.c` is compiled in, `.d.ts` is typings only; "*" and "dir/*"
 *   name every file of a folder by its base name;
 * - "config" objects merge member by member, later manifests winning. The
 *   SDK's manifests are not read, so their config is not in `config`, nor
 *   are mcconfig's command-line settings (ssid=...).
 * Our own setting, which mcconfig ignores: a platform block's "link" lists
 * the system libraries its C files need ("mbedcrypto" for -lmbedcrypto).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";

export class ManifestError extends Error {
	constructor(file: string, reason: string) {
		super(`${file}: ${reason}`);
		this.name = "ManifestError";
	}
}

export interface Resolution {
	/** specifier -> absolute path of the .ts or .js source */
	readonly modules: ReadonlyMap<string, string>;
	/** absolute paths of the C files to compile in */
	readonly natives: readonly string[];
	/** libraries to link the C files with, by name ("mbedcrypto"), in manifest order */
	readonly libraries: readonly string[];
	/** custom settings of the platform block (for the simulator: "partitions") */
	readonly settings: Readonly<Record<string, unknown>>;
	readonly preload: readonly string[];
	/** the merged "config" of our manifests: what mc/config holds, less the SDK's and the command line's */
	readonly config: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

interface Collected {
	modules: Map<string, string>;
	natives: Set<string>;
	libraries: Set<string>;
	settings: Record<string, unknown>;
	preload: string[];
	config: Json;
	/** mcconfig's environment: the platform variables and the "build" settings read so far */
	variables: Record<string, string>;
	/** the shell's variables, for "NAME ?=" settings and names nothing else sets */
	shell: Readonly<Record<string, string>>;
}

function readManifest(file: string): Json {
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	}
	catch (error) {
		throw new ManifestError(file, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
	}
	let json: unknown;
	try {
		json = JSON.parse(text);
	}
	catch (error) {
		throw new ManifestError(file, `not valid JSON: ${(error as Error).message}`);
	}
	if ((typeof json !== "object") || (json === null) || Array.isArray(json))
		throw new ManifestError(file, "not a JSON object");
	return json as Json;
}

/** The platform block mcconfig would merge for `platform`, or undefined. */
export function matchPlatform(platforms: Json, platform: string): Json | undefined {
	const [name, sub] = platform.split("/");
	for (const candidate of sub ? [platform, name] : [platform]) {
		for (const key of Object.keys(platforms)) {
			if (key === candidate)
				return platforms[key] as Json;
			if (key.endsWith("/*") && sub && (candidate === platform) && (key.slice(0, -2) === name))
				return platforms[key] as Json;
		}
	}
	return platforms["..."] as Json | undefined;
}

function asList(value: unknown, file: string, where: string): string[] {
	const list = Array.isArray(value) ? value : [value];
	for (const item of list) {
		if (typeof item !== "string")
			throw new ManifestError(file, `${where}: expected a path or a list of paths`);
	}
	return list as string[];
}

/** The files in `folder` whose name, less its extension, is `base` (".d.ts" counts as an extension). */
function filesNamed(folder: string, base: string): string[] {
	if (!existsSync(folder) || !statSync(folder).isDirectory())
		return [];
	return readdirSync(folder).filter((name) => stem(name) === base).map((name) => join(folder, name));
}

function stem(name: string): string {
	return name.endsWith(".d.ts") ? name.slice(0, -5) : name.slice(0, name.length - extname(name).length);
}

function addFiles(collected: Collected, file: string, where: string, specifier: string | ((base: string) => string), files: string[]): void {
	let moduleFile: string | undefined;
	for (const path of files) {
		if (path.endsWith(".d.ts"))
			continue;
		const extension = extname(path);
		if ((extension === ".c") || (extension === ".cc") || (extension === ".cpp"))
			collected.natives.add(path);
		else if ((extension === ".ts") || (extension === ".js")) {
			const name = (typeof specifier === "string") ? specifier : specifier(stem(basename(path)));
			if ((typeof specifier === "string") && moduleFile)
				throw new ManifestError(file, `${where}: both ${relative(dirname(file), moduleFile)} and ${relative(dirname(file), path)} implement ${name}`);
			moduleFile = path;
			collected.modules.set(name, path);
		}
	}
}

/** `path` with its "$(NAME)" variables replaced, as mcconfig's resolveVariable does. */
function expand(collected: Collected, file: string, where: string, path: string): string {
	return path.replace(/\$\(([^)]+)\)/g, (_match, name: string) => {
		const value = collected.variables[name] ?? collected.shell[name];
		if (value === undefined)
			throw new ManifestError(file, `${where}: "${path}": $(${name}) is not set`);
		return value;
	});
}

/** A "build" object's string settings into the variables; "NAME ?=" takes the shell's value if it has one. */
function collectBuild(collected: Collected, file: string, build: unknown, where: string): void {
	if (build === undefined)
		return;
	if ((typeof build !== "object") || (build === null) || Array.isArray(build))
		throw new ManifestError(file, `${where}: expected an object`);
	for (const [key, value] of Object.entries(build as Json)) {
		if (typeof value !== "string")
			continue;
		const name = key.endsWith(" ?=") ? key.slice(0, -3) : key;
		const shell = key.endsWith(" ?=") ? collected.shell[name] : undefined;
		collected.variables[name] = shell ?? (value.startsWith("$(") ? value : expand(collected, file, `${where}["${key}"]`, value));
	}
}

function mergeConfig(target: Json, source: unknown, file: string, where: string): void {
	if (source === undefined)
		return;
	if ((typeof source !== "object") || (source === null) || Array.isArray(source))
		throw new ManifestError(file, `${where}: expected an object`);
	for (const [name, value] of Object.entries(source as Json)) {
		const current = target[name];
		if ((typeof current === "object") && (current !== null) && !Array.isArray(current) && (typeof value === "object") && (value !== null) && !Array.isArray(value))
			mergeConfig(current as Json, value, file, `${where}.${name}`);
		else
			target[name] = ((typeof value === "object") && (value !== null)) ? structuredClone(value) : value;
	}
}

function collectModules(collected: Collected, file: string, modules: unknown, where: string): void {
	if (modules === undefined)
		return;
	if ((typeof modules !== "object") || (modules === null) || Array.isArray(modules))
		throw new ManifestError(file, `${where}: expected an object`);
	const folder = dirname(file);
	for (const [key, value] of Object.entries(modules as Json)) {
		if (key === "~")
			continue;
		for (const written of asList(value, file, `${where}["${key}"]`)) {
			if (written.startsWith("$("))
				continue; // the SDK's own modules: not part of the simulator host
			const path = expand(collected, file, `${where}["${key}"]`, written);
			const full = resolve(folder, path);
			if (path.endsWith("/*")) {
				const dir = full.slice(0, -2);
				if (!existsSync(dir))
					throw new ManifestError(file, `${where}["${key}"]: no folder ${path.slice(0, -2)}`);
				const prefix = (key === "*") ? "" : key.slice(0, -1);
				if ((key !== "*") && !key.endsWith("/*"))
					throw new ManifestError(file, `${where}["${key}"]: a folder ("${path}") needs a "*" or "name/*" key`);
				const files = readdirSync(dir).map((name) => join(dir, name)).filter((name) => statSync(name).isFile());
				addFiles(collected, file, `${where}["${key}"]`, (base) => prefix + base, files);
				continue;
			}
			const files = filesNamed(dirname(full), basename(full));
			if (!files.length)
				throw new ManifestError(file, `${where}["${key}"]: no file ${path}.ts, .js, .c or .d.ts`);
			addFiles(collected, file, `${where}["${key}"]`, (key === "*") ? (base) => base : key, files);
		}
	}
}

function collect(collected: Collected, file: string, platform: string, seen: Set<string>): void {
	if (seen.has(file))
		throw new ManifestError(file, "included twice");
	seen.add(file);
	const manifest = readManifest(file);
	if (typeof manifest.error === "string")
		throw new ManifestError(file, manifest.error);
	if ((manifest.platforms !== undefined) && ((typeof manifest.platforms !== "object") || (manifest.platforms === null)))
		throw new ManifestError(file, "platforms: expected an object");
	const block = (manifest.platforms === undefined) ? undefined : matchPlatform(manifest.platforms as Json, platform);
	const where = `platforms["${platform}"]`;
	if (block && (typeof block.error === "string"))
		throw new ManifestError(file, `platform ${platform}: ${block.error}`);

	// As mcconfig's parseManifest: the build settings, the manifest's own and
	// its platform's, then the includes (the platform's after the others).
	collectBuild(collected, file, manifest.build, "build");
	collectBuild(collected, file, block?.build, `${where}.build`);
	const includes = [
		...((manifest.include === undefined) ? [] : asList(manifest.include, file, "include").map((path) => ({ path, where: "include" }))),
		...((block?.include === undefined) ? [] : asList(block.include, file, `${where}.include`).map((path) => ({ path, where: `${where}.include` }))),
	];
	for (const include of includes) {
		if (!include.path.startsWith("$("))
			collect(collected, resolve(dirname(file), expand(collected, file, include.where, include.path)), platform, seen);
	}

	collectModules(collected, file, manifest.modules, "modules");
	if (manifest.preload !== undefined)
		collected.preload.push(...asList(manifest.preload, file, "preload"));
	mergeConfig(collected.config, manifest.config, file, "config");
	if (!block)
		return;
	collectModules(collected, file, block.modules, `${where}.modules`);
	if (block.preload !== undefined)
		collected.preload.push(...asList(block.preload, file, `${where}.preload`));
	mergeConfig(collected.config, block.config, file, `${where}.config`);
	if (block.link !== undefined) {
		for (const library of asList(block.link, file, `${where}.link`)) {
			if (!/^[A-Za-z0-9_+.-]+$/.test(library))
				throw new ManifestError(file, `${where}.link: "${library}" is not a library name`);
			collected.libraries.add(library);
		}
	}
	for (const [key, value] of Object.entries(block)) {
		if (!["modules", "preload", "include", "error", "warning", "link", "build", "config"].includes(key))
			collected.settings[key] = ((key === "partitions") && (typeof value === "string")) ? resolve(dirname(file), value) : value;
	}
}

/**
 * Resolves `file` for `platform` ("esp32/xiao_esp32s3_sense", "lin",
 * "doorward-sim"). `environment` stands for the shell's variables that
 * mcconfig would read, e.g. { DOORWARD_BUILD: "development" }.
 */
export function resolveManifest(file: string, platform: string, environment: Readonly<Record<string, string>> = {}): Resolution {
	const [name, sub] = platform.split("/");
	const variables: Record<string, string> = { PLATFORM: name, FULLPLATFORM: platform, ...(sub ? { SUBPLATFORM: sub } : {}) };
	const collected: Collected = { modules: new Map(), natives: new Set(), libraries: new Set(), settings: {}, preload: [], config: {}, variables, shell: environment };
	collect(collected, resolve(file), platform, new Set());
	for (const specifier of collected.preload) {
		if (!collected.modules.has(specifier) && !specifier.includes("*"))
			throw new ManifestError(file, `preload names ${specifier}, which no module entry provides for ${platform}`);
	}
	return { modules: collected.modules, natives: [...collected.natives], libraries: [...collected.libraries], settings: collected.settings, preload: collected.preload, config: collected.config };
}
