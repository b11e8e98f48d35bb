/*
 * The TFLite interpreter of the simulator host and of lin: our own C
 * interpreter (inference.c, model.c, kernels.c), which follows TFLite
 * Micro's reference kernels so that the detector computes here what it
 * computes on the device.
 *
 * The model's buffer is kept on the instance and handed to every native
 * call: the C side keeps no pointer into it, because XS may move an
 * ArrayBuffer's bytes when it collects garbage.
 *
 * ranges() (with recordRanges) reports, per tensor index of the subgraph,
 * the real values' min and max over every invoke so far: int8 tensors are
 * dequantized first (per channel for per-channel constants), constants are
 * included (measured once, at construction), and a tensor that no invoke has
 * written yet, or that no op that runs uses, is NaN, NaN.
 *
 * invokeAsync() runs the model on a worker thread (inference.c) and settles
 * its promise on the XS thread. Until then the arena is the worker's: every
 * other call throws, naming itself, and so does close().
 */
import type { InterpreterOptions, TensorInfo, TensorType } from "hardware/inference/tensor";

export type { InterpreterOptions, TensorInfo, TensorType } from "hardware/inference/tensor";

const float32Code = 0;
const int8Code = 9;

function typeName(code: number): TensorType {
	return (code === int8Code) ? "int8" : "float32";
}

/** [type, scale, zeroPoint, ...dims] from C, as the contract's frozen TensorInfo. */
function tensorInfo(description: number[]): TensorInfo {
	const [type, scale, zeroPoint, ...shape] = description;
	return Object.freeze({ shape: Object.freeze(shape), type: typeName(type), scale, zeroPoint });
}

/*
 * A model is an ArrayBuffer or a host buffer. XS has no HostBuffer global
 * (it is a name in Moddable's typings only): a host buffer is a host object,
 * such as Moddable's Resource on the device and on lin
 * (modules/files/resource) or hardware/resource/sim's, whose bytes C reads
 * with xsmcGetBufferReadable. So anything that is not an ArrayBuffer passes
 * here if it is an object with a byteLength and not a view, and
 * xs_inference_create then refuses (a TypeError) an object that holds no
 * buffer.
 */
function isModelBuffer(model: unknown): model is ArrayBuffer | HostBuffer {
	if (model instanceof ArrayBuffer)
		return true;
	if ((typeof model !== "object") || (model === null) || ArrayBuffer.isView(model))
		return false;
	return typeof (model as { byteLength?: unknown }).byteLength === "number";
}

export default class Interpreter extends Native("xs_inference_destructor") {
	readonly #model: ArrayBuffer | HostBuffer;
	#closed = false;
	#running = false;
	readonly input: TensorInfo;
	readonly outputs: readonly TensorInfo[];
	readonly arenaUsed: number;

	constructor(model: ArrayBuffer | HostBuffer, options: InterpreterOptions = {}) {
		if (!isModelBuffer(model))
			throw new TypeError("inference: model must be an ArrayBuffer or a HostBuffer");
		if ((typeof options !== "object") || (options === null))
			throw new TypeError("inference: options must be an object");
		const arenaSize = options.arenaSize ?? 0;
		if (!Number.isSafeInteger(arenaSize) || (arenaSize < 0))
			throw new RangeError(`inference: arenaSize must be a whole number of bytes, not ${String(options.arenaSize)}`);
		super();
		this.#model = model;
		try {
			native("xs_inference_create").call(this, model, arenaSize, options.recordRanges === true);
		}
		catch (error) {
			// The only TypeError create raises is XS's own for an object that holds no buffer: say it in our words.
			if (error instanceof TypeError)
				throw new TypeError("inference: model must be an ArrayBuffer or a HostBuffer");
			throw error;
		}
		const [outputCount, arenaUsed] = native("xs_inference_counts").call(this) as number[];
		this.input = tensorInfo(native("xs_inference_tensor").call(this, 0, 0));
		const outputs: TensorInfo[] = [];
		for (let index = 0; index < outputCount; index++)
			outputs.push(tensorInfo(native("xs_inference_tensor").call(this, 1, index)));
		this.outputs = Object.freeze(outputs);
		this.arenaUsed = arenaUsed;
	}

	#open(what: string): void {
		if (this.#closed)
			throw new Error(`inference: ${what} after close()`);
		if (this.#running)
			throw new Error(`inference: ${what} while the model runs (invokeAsync): wait for its promise`);
	}

	setInput(data: Int8Array | Float32Array): void {
		this.#open("setInput");
		let code: number;
		if (data instanceof Float32Array)
			code = float32Code;
		else if (data instanceof Int8Array)
			code = int8Code;
		else
			throw new TypeError("inference: setInput takes an Int8Array or a Float32Array");
		if (typeName(code) !== this.input.type)
			throw new RangeError(`inference: the input is ${this.input.type}, not ${typeName(code)}`);
		const count = this.input.shape.reduce((product, dimension) => product * dimension, 1);
		if (data.length !== count)
			throw new RangeError(`inference: the input takes ${count} values, not ${data.length}`);
		// XS's C API reads byte-sized views only.
		const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
		native("xs_inference_set_input").call(this, this.#model, bytes, code);
	}

	invoke(): void {
		this.#open("invoke");
		native("xs_inference_invoke").call(this, this.#model);
	}

	invokeAsync(): Promise<void> {
		this.#open("invokeAsync");
		return new Promise((resolve, reject) => {
			native("xs_inference_start").call(this, this.#model, (error?: string) => {
				this.#running = false;
				if (error === undefined)
					resolve();
				else
					reject(new Error(`inference: ${error}`));
			});
			this.#running = true;
		});
	}

	output(index: number): Float32Array {
		this.#open("output");
		if (!Number.isInteger(index) || (index < 0) || (index >= this.outputs.length))
			throw new RangeError(`inference: output ${String(index)} does not exist (the model has ${this.outputs.length})`);
		return new Float32Array(native("xs_inference_output").call(this, this.#model, index) as ArrayBuffer);
	}

	ranges(): Float32Array {
		this.#open("ranges");
		const ranges = native("xs_inference_ranges").call(this) as ArrayBuffer | undefined;
		if (ranges === undefined)
			throw new Error("inference: ranges() needs the recordRanges option");
		return new Float32Array(ranges);
	}

	close(): void {
		if (this.#closed)
			return;
		if (this.#running)
			throw new Error("inference: close() while the model runs (invokeAsync): wait for its promise");
		this.#closed = true;
		native("xs_inference_close").call(this);
	}
}
Object.freeze(Interpreter.prototype);

/**
 * Simulator only, for tests that order events against a running model: while
 * held, each invokeAsync's run waits on its worker thread until release()
 * lets one start. hold(false) lets every waiting run go.
 */
export function hold(on: boolean): void {
	native("xs_inference_hold")(on);
}

export function release(): void {
	native("xs_inference_release")();
}

/** Simulator only: invokeAsync runs started and not settled yet, every interpreter's (a held run is one). */
export function pending(): number {
	return native("xs_inference_pending")();
}
