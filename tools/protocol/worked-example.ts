/*
 * A specification's worked example stands between two markers in its
 * Markdown. A tool renders it from fixed inputs; `--write` puts it in the
 * specification, and a test checks that the two still agree.
 */
import { readFileSync, writeFileSync } from "node:fs";

const begin = "<!-- worked-example:begin -->";
const end = "<!-- worked-example:end -->";

/** The worked example section as it stands in the specification. */
export function readWorkedExample(specification: string): string {
	const text = readFileSync(specification, "utf8");
	return text.slice(text.indexOf(begin) + begin.length, text.indexOf(end)).trim();
}

/** With `--write`, replaces the section in the specification; otherwise prints it. */
export function publishWorkedExample(specification: string, rendered: string, argv: readonly string[] = process.argv): void {
	if (argv.includes("--write")) {
		const text = readFileSync(specification, "utf8");
		writeFileSync(specification, `${text.slice(0, text.indexOf(begin) + begin.length)}\n${rendered}\n${text.slice(text.indexOf(end))}`);
	}
	else
		process.stdout.write(`${rendered}\n`);
}
