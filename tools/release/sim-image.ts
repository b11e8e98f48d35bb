/*
 * The simulator's firmware image: an archive of the compiled modules of the
 * module map (build/sim/modules.txt), which the host's boot stage
 * (hardware/sim/host/boot.c) loads from an OTA slot instead of the files.
 * `doorward release sign` signs it like any image: it is just bytes.
 *
 *   "DWI1" | u32 count | count x (u16 specifier length | specifier | u32 source length | source)
 *
 * Big-endian. Source maps are left out (the host names modules "image:<specifier>.js").
 */
import { readFileSync, writeFileSync } from "node:fs";

export interface SimImageOptions {
	/** The firmware version the image reports (replaces device/version). */
	version?: { major: number; minor: number; patch: number };
	/** When the image was built, milliseconds since the epoch (default: now): the time floor of a device that runs it (src/device/time.ts). */
	buildTime?: number;
	/** Modules to replace or add, by specifier: their JavaScript source. */
	replace?: Record<string, string>;
}

/** src/device/version.ts, as a release build writes it. */
export function versionModule(version: { major: number; minor: number; patch: number }, buildTime: number): string {
	if (!Number.isSafeInteger(buildTime) || (buildTime <= 0))
		throw new RangeError(`build time ${buildTime}: milliseconds since the epoch`);
	return `export const firmwareVersion = Object.freeze({ major: ${version.major}, minor: ${version.minor}, patch: ${version.patch} });\n`
		+ `export const buildTime = ${buildTime};\n`;
}

/**
 * Writes the time of the build into the compiled src/device/version.ts (its
 * `buildTime` literal), as the simulator's build does for the factory image.
 */
export function stampBuildTime(compiledVersionModule: string, buildTime: number): void {
	const source = readFileSync(compiledVersionModule, "utf8");
	const literal = /^export const buildTime = \d+;$/m;
	if (!literal.test(source))
		throw new Error(`${compiledVersionModule}: no "export const buildTime = <number>;" line to write the build time into`);
	writeFileSync(compiledVersionModule, source.replace(literal, `export const buildTime = ${buildTime};`));
}

export function packSimImage(moduleMap: string, options: SimImageOptions = {}): Uint8Array {
	const modules = new Map<string, Buffer>();
	for (const line of readFileSync(moduleMap, "utf8").split("\n")) {
		if (!line || line.startsWith("#") || !line.includes("\t"))
			continue;
		const [specifier, path] = line.split("\t");
		if (!path.endsWith(".js"))
			continue;
		const source = readFileSync(path, "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
		modules.set(specifier, Buffer.from(source, "utf8"));
	}
	// A release build: its own version and build time.
	if (options.version)
		modules.set("device/version", Buffer.from(versionModule(options.version, options.buildTime ?? Date.now()), "utf8"));
	for (const [specifier, source] of Object.entries(options.replace ?? {}))
		modules.set(specifier, Buffer.from(source, "utf8"));
	const parts: Buffer[] = [Buffer.from("DWI1", "ascii"), u32(modules.size)];
	for (const [specifier, source] of modules) {
		const name = Buffer.from(specifier, "utf8");
		const length = Buffer.alloc(2);
		length.writeUInt16BE(name.length);
		parts.push(length, name, u32(source.length), source);
	}
	return new Uint8Array(Buffer.concat(parts));
}

function u32(value: number): Buffer {
	const bytes = Buffer.alloc(4);
	bytes.writeUInt32BE(value);
	return bytes;
}
