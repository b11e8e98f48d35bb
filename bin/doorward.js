#!/usr/bin/env node
// The `doorward` command. The tools are TypeScript, compiled by `npm install`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import "../tools/setup/register.mjs";

const cli = fileURLToPath(new URL("../build/node/tools/cli.js", import.meta.url));
if (!existsSync(cli)) {
	console.error("doorward: the tools are not built; run `npm install` (or `npm run build`) first");
	process.exit(2);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv.slice(2));
