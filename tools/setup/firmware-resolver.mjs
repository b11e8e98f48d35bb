// Node module-resolution hook: lets host-side code import the firmware's
// pure-logic modules by the specifiers the firmware itself uses
// ("util/bytes", "mqtt/packet"), resolved to their compiled form under
// build/node/src, as the manifest maps them for the device. Extensionless
// relative imports inside those modules get ".js", as XS does not need it.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("../..", import.meta.url));
const compiled = join(root, "build", "node", "src");
const firmwareFolders = ["device", "pipeline", "store", "mqtt", "util", "crypto", "update", "detect", "audit", "requests", "live"];

export async function resolve(specifier, context, nextResolve) {
	const folder = specifier.split("/")[0];
	if (firmwareFolders.includes(folder) && !specifier.startsWith(".")) {
		const file = join(compiled, `${specifier}.js`);
		if (existsSync(file))
			return { url: pathToFileURL(file).href, shortCircuit: true };
	}
	if (specifier.startsWith(".") && !/\.[cm]?js$/.test(specifier) && context.parentURL?.startsWith(pathToFileURL(compiled).href)) {
		return nextResolve(`${specifier}.js`, context);
	}
	return nextResolve(specifier, context);
}
