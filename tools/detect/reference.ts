/*
 * An independent TensorFlow Lite runtime on Node, to check our C interpreter
 * (hardware/inference/interpreter) against and to time it next to: the
 * TFLite C++ interpreter compiled to WebAssembly that @tensorflow/tfjs-tflite
 * ships (wasm/tflite_web_api_cc_simd.wasm, TFLite's own "web API" build).
 *
 * The package is written for browsers: its loader adds <script> tags and
 * fetches the .wasm by URL. The Emscripten module inside it also runs on
 * Node, so we load that module ourselves and hand it the .wasm bytes, and use
 * its embind class TFLiteWebModelRunner directly. That gives raw output
 * tensors, which tfjs's own TFLiteModel wraps into tfjs tensors.
 *
 * That build always applies the XNNPACK delegate to the ops it supports (it
 * prints "Created TensorFlow Lite XNNPACK delegate for CPU"); there is no
 * option to turn it off. XNNPACK sums convolutions in its own order with
 * SIMD and requantizes int8 with its own rounding, so it is expected to
 * differ from TFLite Micro's reference kernels in the last float bits and by
 * up to one quantization step: that is the tolerance the cross-check uses.
 *
 * The runner does not report quantization parameters, so they are read from
 * the model file itself (tools/model/tflite.ts).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readModel } from "../model/tflite.js";

export interface ReferenceTensorInfo {
	readonly name: string;
	readonly shape: readonly number[];
	readonly type: "float32" | "int8";
	/** real = scale * (q - zeroPoint); 1 and 0 for float32. */
	readonly scale: number;
	readonly zeroPoint: number;
}

export interface Reference {
	readonly inputs: readonly ReferenceTensorInfo[];
	readonly outputs: readonly ReferenceTensorInfo[];
	/** What the runtime has printed since it was loaded (it announces the XNNPACK delegate once per process). */
	readonly log: readonly string[];
	/** Runs the model on one input tensor; outputs dequantized to float32, as Interpreter.output() gives them. */
	run(input: Float32Array | Int8Array): Promise<Float32Array[]>;
	/** Milliseconds per invoke over `rounds` invokes on `input` (input copied once, outputs not read). */
	time(input: Float32Array | Int8Array, rounds: number): Promise<number>;
	close(): Promise<void>;
}

export class ReferenceError extends Error {}
Object.freeze(ReferenceError.prototype);

// The slice of the Emscripten module and its embind classes that we call.
interface RunnerTensor {
	readonly id: number;
	readonly name: string;
	readonly dataType: string;
	readonly shape: string;
	data(): Float32Array | Int8Array | Uint8Array | Int32Array;
	delete(): void;
}
interface RunnerTensorVector {
	size(): number;
	get(index: number): RunnerTensor;
	delete(): void;
}
interface ProfileItem {
	readonly nodeType: string;
	readonly nodeName: string;
}
interface Runner {
	GetInputs(): RunnerTensorVector;
	GetProfilingResults(): { size(): number; get(index: number): ProfileItem; delete(): void };
	GetOutputs(): RunnerTensorVector;
	Infer(): boolean;
	delete(): void;
}
interface WasmModule {
	HEAPU8: Uint8Array;
	_malloc(size: number): number;
	_free(pointer: number): void;
	TFLiteWebModelRunner: {
		CreateFromBufferAndOptions(pointer: number, size: number, options: { numThreads: number; enableProfiling: boolean; maxProfilingBufferEntries: number }): {
			ok(): boolean;
			errorMessage(): string;
			value(): Runner;
		};
	};
}
type ModuleFactory = (options: { wasmBinary: Uint8Array; print: (text: string) => void; printErr: (text: string) => void }) => Promise<WasmModule>;

const packageName = "@tensorflow/tfjs-tflite";
/** The SIMD, single-threaded build: Node 20 has WebAssembly SIMD; threads would need workers. */
const buildName = "tflite_web_api_cc_simd";

function packageFolder(): string {
	const require = createRequire(import.meta.url);
	try {
		return dirname(require.resolve(`${packageName}/package.json`));
	}
	catch {
		throw new ReferenceError(`${packageName} is not installed: run \`npm install\` (it is a devDependency)`);
	}
}

/** Where the runtime comes from, for reports. */
export function referenceRuntime(): { package: string; version: string; build: string; xnnpack: string } {
	const folder = packageFolder();
	const version = (JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as { version: string }).version;
	return { package: packageName, version, build: `wasm/${buildName}.wasm`, xnnpack: "always on for the ops it supports (no option to turn it off in this build)" };
}

// One WebAssembly instance serves every model: each runner has its own
// interpreter and arena in the instance's heap, and compiling 3.6 MB of
// WebAssembly per model would dominate a cross-check.
let loading: Promise<{ module: WasmModule; log: string[] }> | undefined;

function loadModule(): Promise<{ module: WasmModule; log: string[] }> {
	loading ??= (async () => {
		const folder = packageFolder();
		const require = createRequire(import.meta.url);
		const factory = require(join(folder, "wasm", `${buildName}.js`)) as ModuleFactory;
		const log: string[] = [];
		const module = await factory({
			wasmBinary: readFileSync(join(folder, "wasm", `${buildName}.wasm`)),
			print: (text) => log.push(text),
			printErr: (text) => log.push(text),
		});
		return { module, log };
	})();
	return loading;
}

function tensorsOf(vector: RunnerTensorVector): RunnerTensor[] {
	const tensors: RunnerTensor[] = [];
	for (let i = 0; i < vector.size(); i++)
		tensors.push(vector.get(i));
	vector.delete();
	return tensors;
}

function createRunner(module: WasmModule, modelBytes: Uint8Array, enableProfiling: boolean): { runner: Runner; pointer: number } {
	const pointer = module._malloc(modelBytes.length);
	if (!pointer)
		throw new ReferenceError(`reference: cannot allocate ${modelBytes.length} bytes for the model`);
	// The runner keeps pointing at the model's bytes (FlatBuffers are used in
	// place), so they stay allocated until the runner is deleted.
	module.HEAPU8.set(modelBytes, pointer);
	const created = module.TFLiteWebModelRunner.CreateFromBufferAndOptions(pointer, modelBytes.length, { numThreads: 1, enableProfiling, maxProfilingBufferEntries: 1024 });
	if (!created.ok()) {
		module._free(pointer);
		throw new ReferenceError(`reference: TFLite cannot load the model: ${created.errorMessage()}`);
	}
	return { runner: created.value(), pointer };
}

/**
 * Which kernels run the model, from one profiled invoke on zeros: node type
 * -> count. "TfLiteXNNPackDelegate" is a partition handed to XNNPACK; any
 * other name is a TFLite builtin kernel (the reference kernels' rounding).
 */
export async function referenceNodeTypes(modelBytes: Uint8Array): Promise<Record<string, number>> {
	readModel(new Uint8Array(modelBytes));
	const { module } = await loadModule();
	const { runner, pointer } = createRunner(module, modelBytes, true);
	try {
		if (!runner.Infer())
			throw new ReferenceError("reference: TFLite failed to run the model");
		const items = runner.GetProfilingResults();
		const counts: Record<string, number> = {};
		for (let i = 0; i < items.size(); i++) {
			const type = items.get(i).nodeType;
			counts[type] = (counts[type] ?? 0) + 1;
		}
		items.delete();
		return counts;
	}
	finally {
		runner.delete();
		module._free(pointer);
	}
}

export async function openReference(modelBytes: Uint8Array): Promise<Reference> {
	// Parsed first: a corrupt file is reported by our reader, with a clear
	// message. A plain copy, as the reader's slices of a Node Buffer would be
	// views into Buffer's shared pool, not copies.
	const model = readModel(new Uint8Array(modelBytes));
	const { module, log } = await loadModule();
	const { runner, pointer } = createRunner(module, modelBytes, false);
	const inputTensors = tensorsOf(runner.GetInputs());
	const outputTensors = tensorsOf(runner.GetOutputs());

	const describe = (tensor: RunnerTensor): ReferenceTensorInfo => {
		const type = tensor.dataType;
		if (type !== "float32" && type !== "int8")
			throw new ReferenceError(`reference: tensor ${tensor.name} is ${type}; only float32 and int8 are compared`);
		const quantization = model.subgraph.tensors[tensor.id]?.quantization;
		const quantized = type === "int8";
		if (quantized && (!quantization || quantization.scale.length !== 1))
			throw new ReferenceError(`reference: int8 tensor ${tensor.name} needs one scale and zero point in the model`);
		return Object.freeze({
			name: tensor.name,
			shape: Object.freeze(tensor.shape.split(",").map(Number)),
			type,
			scale: quantized ? quantization!.scale[0] : 1,
			zeroPoint: quantized ? quantization!.zeroPoint[0] : 0,
		});
	};
	let inputs: ReferenceTensorInfo[], outputs: ReferenceTensorInfo[];
	try {
		inputs = inputTensors.map(describe);
		outputs = outputTensors.map(describe);
		if (inputs.length !== 1)
			throw new ReferenceError(`reference: the model has ${inputs.length} inputs; the detector's models have one`);
	}
	catch (error) {
		for (const tensor of [...inputTensors, ...outputTensors])
			tensor.delete();
		runner.delete();
		module._free(pointer);
		throw error;
	}
	let closed = false;

	const setInput = (input: Float32Array | Int8Array) => {
		if (closed)
			throw new ReferenceError("reference: the model is closed");
		const info = inputs[0];
		const wanted = info.type === "int8" ? Int8Array : Float32Array;
		const count = info.shape.reduce((product, size) => product * size, 1);
		if (!(input instanceof wanted) || input.length !== count)
			throw new ReferenceError(`reference: the input must be ${info.type === "int8" ? "an Int8Array" : "a Float32Array"} of ${count} elements`);
		// A fresh view each time: the heap's views go stale when its memory grows.
		(inputTensors[0].data() as Float32Array | Int8Array).set(input);
	};
	const invoke = () => {
		if (!runner.Infer())
			throw new ReferenceError("reference: TFLite failed to run the model");
	};

	return Object.freeze({
		inputs: Object.freeze(inputs),
		outputs: Object.freeze(outputs),
		log: Object.freeze([...log]),
		async run(input: Float32Array | Int8Array): Promise<Float32Array[]> {
			setInput(input);
			invoke();
			return outputTensors.map((tensor, index) => {
				const data = tensor.data();
				const { scale, zeroPoint, type } = outputs[index];
				if (type === "float32")
					return Float32Array.from(data);
				const real = new Float32Array(data.length);
				for (let i = 0; i < data.length; i++)
					real[i] = scale * (data[i] - zeroPoint);
				return real;
			});
		},
		async time(input: Float32Array | Int8Array, rounds: number): Promise<number> {
			if (!Number.isInteger(rounds) || rounds < 1)
				throw new ReferenceError(`reference: rounds must be a positive integer, not ${rounds}`);
			setInput(input);
			const started = performance.now();
			for (let round = 0; round < rounds; round++)
				invoke();
			return (performance.now() - started) / rounds;
		},
		async close(): Promise<void> {
			if (closed)
				return;
			closed = true;
			for (const tensor of [...inputTensors, ...outputTensors])
				tensor.delete();
			runner.delete();
			module._free(pointer);
		},
	});
}
