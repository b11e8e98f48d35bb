/*
 * The `doorward` command: one entry point for the host-side tools.
 * Errors a person can act on are one line on stderr with a non-zero exit;
 * a stack trace means a bug.
 */
import { parseArgs } from "node:util";
import { buildFirmware } from "./build/firmware.js";
import { ManifestError } from "./build/manifest.js";
import { BuildError } from "./build/firmware.js";
import { SceneError } from "./sim/scene.js";
import { runSim, defaultScene, UsageError } from "./sim/run.js";

const usage = `usage: doorward <command> [options]

commands:
  sim [--scene DIR] [--events N] [--broker mqtt://HOST:PORT] [--json]
      [--out DIR] [--flash FILE] [--timeout SECONDS]
                 run the firmware in the simulator host with a scripted scene
  build          compile the firmware and link the simulator host
`;

function say(line: string): void {
	process.stderr.write(`${line}\n`);
}

async function sim(args: string[]): Promise<number> {
	const { values } = parseArgs({
		args,
		options: {
			scene: { type: "string" },
			events: { type: "string" },
			broker: { type: "string" },
			json: { type: "boolean", default: false },
			out: { type: "string", default: "out/sim" },
			flash: { type: "string" },
			timeout: { type: "string", default: "120" },
		},
		strict: true,
		allowPositionals: false,
	});
	const events = values.events === undefined ? undefined : Number(values.events);
	if ((events !== undefined) && (!Number.isInteger(events) || (events < 1)))
		throw new UsageError(`--events ${values.events}: expected a whole number of events, at least 1`);
	const timeoutSeconds = Number(values.timeout);
	if (!(timeoutSeconds > 0))
		throw new UsageError(`--timeout ${values.timeout}: expected a number of seconds`);
	return runSim({
		scene: values.scene ?? defaultScene,
		...(events !== undefined ? { events } : {}),
		...(values.broker !== undefined ? { broker: values.broker } : {}),
		json: values.json!,
		out: values.out!,
		...(values.flash !== undefined ? { flash: values.flash } : {}),
		timeoutSeconds,
		say,
		print: (line) => process.stdout.write(`${line}\n`),
	});
}

export async function main(argv: string[]): Promise<number> {
	const [command, ...args] = argv;
	try {
		switch (command) {
		case "sim":
			return await sim(args);
		case "build":
			buildFirmware(undefined, (line) => say(`build: ${line}`));
			return 0;
		case undefined:
		case "help":
		case "--help":
			process.stdout.write(usage);
			return command ? 0 : 2;
		default:
			say(`doorward: unknown command ${command}\n${usage}`);
			return 2;
		}
	}
	catch (error) {
		if ((error instanceof UsageError) || (error instanceof SceneError) || (error instanceof ManifestError) || (error instanceof BuildError)) {
			say(`doorward: ${error.message}`);
			return 1;
		}
		if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
			say(`doorward: ${(error as Error).message}`);
			return 2;
		}
		throw error;
	}
}
