/*
 * Node's side of tools/xs/infer.ts: runs the firmware's Interpreter in the
 * simulator host on raw input tensors, for the cross-check against the
 * reference runtime and for the benchmark.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { simulatorBuild } from "../build/firmware.js";

export interface HostTensorInfo {
	readonly shape: readonly number[];
	readonly type: "float32" | "int8";
	readonly scale: number;
	readonly zeroPoint: number;
}

export interface HostModelInfo {
	readonly input: HostTensorInfo;
	readonly outputs: readonly HostTensorInfo[];
	readonly arenaUsed: number;
}

/** A model file anywhere, or a resource of the firmware image (a file in models/). */
export type HostModel = { readonly path: string } | { readonly resource: string };

export class HostInterpreterError extends Error {}
Object.freeze(HostInterpreterError.prototype);

/** Inputs per host process: a batch of full-range float inputs is 432 KiB each, read whole by the host. */
const batchSize = 16;

interface HostRun {
	info?: HostModelInfo;
	outputs: Map<number, Float32Array[]>;
	time?: { rounds: number; totalMs: number; msPerInvoke: number };
}

async function runHost(model: HostModel, args: string[]): Promise<HostRun> {
	const build = simulatorBuild();
	if (!existsSync(build.host))
		throw new HostInterpreterError("the simulator host is not built: run `npm run build`");
	const modelArgs = "path" in model ? ["--model", resolve(model.path)] : ["--resource", model.resource];
	const child = spawn(build.host, ["--modules", build.testModuleMap, "--main", "tools/infer", "--resources", build.resources, "--", ...modelArgs, ...args], { stdio: ["ignore", "ignore", "pipe"] });
	const result: HostRun = { outputs: new Map() };
	const other: string[] = [];
	let error: string | undefined;
	let pending = "";
	const take = (line: string) => {
		const space = line.indexOf(" ");
		const tag = space < 0 ? line : line.slice(0, space);
		const rest = line.slice(space + 1);
		switch (tag) {
			case "infer-info": result.info = JSON.parse(rest); break;
			case "infer-time": result.time = JSON.parse(rest); break;
			case "infer-error": error = rest; break;
			case "infer-output": {
				const [input, output, hex] = rest.split(" ");
				const bytes = Buffer.from(hex, "hex");
				// Copied into its own buffer: Buffer.from may hand out a slice of a shared pool.
				const values = new Float32Array(bytes.length / 4);
				new Uint8Array(values.buffer).set(bytes);
				const list = result.outputs.get(Number(input)) ?? [];
				list[Number(output)] = values;
				result.outputs.set(Number(input), list);
				break;
			}
			default:
				if (line)
					other.push(line);
		}
	};
	child.stderr.setEncoding("utf8");
	child.stderr.on("data", (text: string) => {
		pending += text;
		let newline: number;
		while ((newline = pending.indexOf("\n")) >= 0) {
			take(pending.slice(0, newline));
			pending = pending.slice(newline + 1);
		}
	});
	const status = await new Promise<number | null>((done, fail) => {
		child.on("error", fail);
		child.on("close", done);
	});
	take(pending);
	if (error !== undefined)
		throw new HostInterpreterError(`the interpreter in the host: ${error}`);
	if (status !== 0 || !result.info)
		throw new HostInterpreterError(`the host exited with ${status}:\n${other.join("\n")}`);
	return result;
}

function bytesOf(input: Float32Array | Int8Array): Uint8Array {
	return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

/** The model's tensors and arena, as the host's Interpreter reports them. */
export async function hostModelInfo(model: HostModel): Promise<HostModelInfo> {
	return (await runHost(model, [])).info!;
}

/** Runs each input through the host's Interpreter: per input, every output dequantized to float32. */
export async function runHostInterpreter(model: HostModel, inputs: readonly (Float32Array | Int8Array)[]): Promise<{ info: HostModelInfo; outputs: Float32Array[][] }> {
	const folder = mkdtempSync(join(tmpdir(), "doorward-infer-"));
	try {
		let info: HostModelInfo | undefined;
		const outputs: Float32Array[][] = [];
		for (let start = 0; start < inputs.length; start += batchSize) {
			const batch = inputs.slice(start, start + batchSize);
			const file = join(folder, "inputs.bin");
			writeFileSync(file, Buffer.concat(batch.map(bytesOf)));
			const run = await runHost(model, ["--inputs", file]);
			info = run.info;
			for (let index = 0; index < batch.length; index++) {
				const got = run.outputs.get(index);
				if (!got || got.length !== info!.outputs.length)
					throw new HostInterpreterError(`the host gave no complete outputs for input ${start + index}`);
				outputs.push(got);
			}
		}
		return { info: info ?? await hostModelInfo(model), outputs };
	}
	finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

/** Milliseconds per invoke over `rounds` invokes, measured inside the host. */
export async function timeHostInterpreter(model: HostModel, input: Float32Array | Int8Array | undefined, rounds: number): Promise<{ info: HostModelInfo; msPerInvoke: number }> {
	const folder = mkdtempSync(join(tmpdir(), "doorward-infer-"));
	try {
		const args = ["--time", String(rounds)];
		if (input) {
			const file = join(folder, "input.bin");
			writeFileSync(file, bytesOf(input));
			args.push("--inputs", file);
		}
		const run = await runHost(model, args);
		if (!run.time)
			throw new HostInterpreterError("the host did not report its timing");
		return { info: run.info!, msPerInvoke: run.time.msPerInvoke };
	}
	finally {
		rmSync(folder, { recursive: true, force: true });
	}
}
