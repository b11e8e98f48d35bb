/*
 * The firmware's Interpreter (hardware/inference) driven directly on raw
 * tensors, inside the simulator host: the cross-check and the benchmark run
 * exactly the code the detector runs, without the detector around it.
 *
 *   host ... --main tools/infer -- (--resource NAME | --model PATH)
 *            [--inputs PATH] [--time ROUNDS] [--arena BYTES]
 *
 * --inputs: input tensors back to back, each exactly the model input's
 * bytes (little-endian float32, or int8). Each is run and every output is
 * printed, dequantized as Interpreter.output() gives it, as the hex of its
 * float32 bytes. --time: ROUNDS invokes on the first input (zeros without
 * --inputs), after one untimed invoke, timed here with Date.now() so
 * process start and printing stay out of the figure. Lines on stderr (trace), prefixed for the Node side
 * (tools/detect/host-interpreter.ts):
 *
 *   infer-info {"input": TensorInfo, "outputs": [TensorInfo...], "arenaUsed": n}
 *   infer-output INPUT OUTPUT HEX
 *   infer-time {"rounds": n, "totalMs": t, "msPerInvoke": t / n}
 *   infer-error MESSAGE       (then exit 1)
 */
import Interpreter from "hardware/inference";
import type { TensorInfo } from "hardware/inference";
import resource from "hardware/resource";

interface Options {
	resource?: string;
	model?: string;
	inputs?: string;
	rounds?: number;
	arenaSize?: number;
}

function parseOptions(argv: readonly string[]): Options {
	const options: Options = {};
	for (let at = 0; at < argv.length; at += 2) {
		const name = argv[at], value = argv[at + 1];
		if (value === undefined)
			throw new RangeError(`${name} needs a value`);
		switch (name) {
			case "--resource": options.resource = value; break;
			case "--model": options.model = value; break;
			case "--inputs": options.inputs = value; break;
			case "--time":
			case "--arena": {
				const number = Number(value);
				if (!Number.isInteger(number) || number < 1)
					throw new RangeError(`${name} needs a positive integer, not ${value}`);
				if (name === "--time")
					options.rounds = number;
				else
					options.arenaSize = number;
				break;
			}
			default:
				throw new RangeError(`unknown option ${name}`);
		}
	}
	if ((options.resource === undefined) === (options.model === undefined))
		throw new RangeError("give exactly one of --resource NAME and --model PATH");
	return options;
}

// Two hex digits per byte value, so encoding is one lookup per byte: outputs
// of the full-range model are 153 KiB, and XS is an interpreter.
const hexDigits: string[] = [];
for (let value = 0; value < 256; value++)
	hexDigits.push((value < 16 ? "0" : "") + value.toString(16));

function hex(bytes: Uint8Array): string {
	// push(), not `new Array(length)` filled by index: XS stores a
	// preallocated array sparsely, and filling it that way took 85 s for the
	// full-range model's outputs against 40 ms with push().
	const parts: string[] = [];
	for (let i = 0; i < bytes.length; i++)
		parts.push(hexDigits[bytes[i]]);
	return parts.join("");
}

function describe(info: TensorInfo): object {
	return { shape: [...info.shape], type: info.type, scale: info.scale, zeroPoint: info.zeroPoint };
}

function elementCount(info: TensorInfo): number {
	return info.shape.reduce((product, size) => product * size, 1);
}

function run(): number {
	const options = parseOptions(host.argv);
	const model = options.model !== undefined ? host.readFile(options.model) : resource(options.resource!);
	const interpreter = new Interpreter(model, options.arenaSize ? { arenaSize: options.arenaSize } : undefined);
	try {
		const info = interpreter.input;
		trace(`infer-info ${JSON.stringify({ input: describe(info), outputs: interpreter.outputs.map(describe), arenaUsed: interpreter.arenaUsed })}\n`);
		const count = elementCount(info);
		const bytesPerInput = count * (info.type === "int8" ? 1 : 4);
		const inputs: (Float32Array | Int8Array)[] = [];
		if (options.inputs !== undefined) {
			const file = host.readFile(options.inputs);
			if (file.byteLength === 0 || file.byteLength % bytesPerInput)
				throw new RangeError(`${options.inputs}: ${file.byteLength} bytes is not a whole number of ${bytesPerInput}-byte input tensors`);
			// Views, not copies: a batch of full-range float inputs is megabytes.
			for (let offset = 0; offset < file.byteLength; offset += bytesPerInput)
				inputs.push(info.type === "int8" ? new Int8Array(file, offset, count) : new Float32Array(file, offset, count));
		}
		if (options.rounds !== undefined) {
			interpreter.setInput(inputs[0] ?? (info.type === "int8" ? new Int8Array(count) : new Float32Array(count)));
			// One untimed invoke: the first may pay for lazy set-up and a cold cache.
			interpreter.invoke();
			const started = Date.now();
			for (let round = 0; round < options.rounds; round++)
				interpreter.invoke();
			const totalMs = Date.now() - started;
			trace(`infer-time ${JSON.stringify({ rounds: options.rounds, totalMs, msPerInvoke: totalMs / options.rounds })}\n`);
			return 0;
		}
		inputs.forEach((input, index) => {
			interpreter.setInput(input);
			interpreter.invoke();
			for (let output = 0; output < interpreter.outputs.length; output++) {
				const values = interpreter.output(output);
				trace(`infer-output ${index} ${output} ${hex(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))}\n`);
			}
		});
		return 0;
	}
	finally {
		interpreter.close();
	}
}

try {
	host.exit(run());
}
catch (error) {
	trace(`infer-error ${(error as Error).message}\n`);
	host.exit(1);
}
