/*
 * The device's interpreter: TFLite Micro with ESP-NN (inference.cpp), behind
 * the contract every platform shares. Arguments are checked here and again
 * in C++. The model object is kept referenced for the interpreter's life,
 * because TFLM reads the flash-mapped resource in place.
 *
 * invokeAsync() hands the run to a FreeRTOS task on the other core
 * (inference.cpp) and settles on the XS task when that task is done; until
 * then every other call throws, naming itself, and so does close().
 */
import type { InterpreterOptions, TensorInfo } from "hardware/inference/tensor";

export type { InterpreterOptions, TensorInfo, TensorType } from "hardware/inference/tensor";

/** The same bound as kArenaLimit in inference.cpp: more than the PSRAM could hold next to the frames. */
const maxArenaSize = 8 * 1024 * 1024;

function describe(tensor: { shape: number[]; type: "float32" | "int8"; scale: number; zeroPoint: number }): TensorInfo {
	return Object.freeze({ shape: Object.freeze(tensor.shape), type: tensor.type, scale: tensor.scale, zeroPoint: tensor.zeroPoint });
}

function elementCount(info: TensorInfo): number {
	return info.shape.reduce((product, dimension) => product * dimension, 1);
}

/*
 * The same rule as the simulator's interpreter: an ArrayBuffer, or a host
 * buffer such as Moddable's Resource (modules/files/resource: a host object,
 * not an ArrayBuffer; XS has no HostBuffer global to test against). Views
 * are refused here although C could read byte views, so that a model the
 * simulator refuses is refused on the device too. xs_inference_open refuses
 * an object that holds no buffer.
 */
function isModelBuffer(model: unknown): model is ArrayBuffer | HostBuffer {
	if (model instanceof ArrayBuffer)
		return true;
	if ((typeof model !== "object") || (model === null) || ArrayBuffer.isView(model))
		return false;
	return typeof (model as { byteLength?: unknown }).byteLength === "number";
}

export default class Interpreter extends Native("xs_inference_destructor") {
	readonly input: TensorInfo;
	readonly outputs: readonly TensorInfo[];
	// eslint-disable-next-line no-unused-private-class-members -- only held: TFLM reads the model in place, so it must outlive the interpreter
	#model: ArrayBuffer | HostBuffer | undefined;
	#closed = false;
	#running = false;

	constructor(model: ArrayBuffer | HostBuffer, options?: InterpreterOptions) {
		if (!isModelBuffer(model))
			throw new TypeError("inference: model must be an ArrayBuffer or a HostBuffer (a Resource)");
		if ((options !== undefined) && ((typeof options !== "object") || (options === null)))
			throw new TypeError("inference: options must be an object");
		if (options?.recordRanges)
			throw new Error("inference: recordRanges is not supported on the device");
		const arenaSize = options?.arenaSize;
		if ((arenaSize !== undefined) && ((typeof arenaSize !== "number") || !Number.isInteger(arenaSize) || (arenaSize < 1) || (arenaSize > maxArenaSize)))
			throw new RangeError(`inference: arenaSize must be an integer from 1 to ${maxArenaSize} bytes (or absent: the measured plan)`);
		super();
		// 0 asks inference.cpp to size the arena from the model's measured plan.
		native("xs_inference_open").call(this, model, arenaSize ?? 0);
		this.#model = model;
		this.input = describe(native("xs_inference_describe").call(this, -1));
		const count: number = native("xs_inference_output_count").call(this);
		const outputs: TensorInfo[] = [];
		for (let index = 0; index < count; index++)
			outputs.push(describe(native("xs_inference_describe").call(this, index)));
		this.outputs = Object.freeze(outputs);
	}

	get arenaUsed(): number {
		this.#check("arenaUsed");
		return native("xs_inference_arena_used").call(this);
	}

	/** Device only, for bring-up: whether the arena is in PSRAM (false: internal RAM, no PSRAM free). */
	get arenaInPsram(): boolean {
		this.#check("arenaInPsram");
		return native("xs_inference_arena_in_psram").call(this);
	}

	setInput(data: Int8Array | Float32Array): void {
		this.#check("setInput");
		const type = (data instanceof Int8Array) ? "int8" : (data instanceof Float32Array) ? "float32" : undefined;
		if (type === undefined)
			throw new TypeError("inference: setInput needs an Int8Array or a Float32Array");
		if (type !== this.input.type)
			throw new TypeError(`inference: the input tensor is ${this.input.type}, not ${type}`);
		const count = elementCount(this.input);
		if (data.length !== count)
			throw new RangeError(`inference: the input needs ${count} elements, not ${data.length}`);
		native("xs_inference_set_input").call(this, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), type);
	}

	invoke(): void {
		this.#check("invoke");
		native("xs_inference_invoke").call(this);
	}

	invokeAsync(): Promise<void> {
		this.#check("invokeAsync");
		return new Promise((resolve, reject) => {
			native("xs_inference_start").call(this, (error?: string) => {
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
		this.#check("output");
		if (!Number.isInteger(index) || (index < 0) || (index >= this.outputs.length))
			throw new RangeError(`inference: output index must be an integer from 0 to ${this.outputs.length - 1}, not ${index}`);
		return new Float32Array(native("xs_inference_output").call(this, index) as ArrayBuffer);
	}

	ranges(): Float32Array {
		throw new Error("inference: ranges() is not supported on the device");
	}

	close(): void {
		if (this.#closed)
			return;
		if (this.#running)
			throw new Error("inference: close() while the model runs (invokeAsync): wait for its promise");
		this.#closed = true;
		native("xs_inference_close").call(this);
		this.#model = undefined;
	}

	#check(what = "the interpreter"): void {
		if (this.#closed)
			throw new Error("inference: the interpreter is closed");
		if (this.#running)
			throw new Error(`inference: ${what} while the model runs (invokeAsync): wait for its promise`);
	}
}
Object.freeze(Interpreter.prototype);

/** The simulator's test gate (inference.d.ts); the device has none. */
export function hold(on: boolean): void {
	void on;
	throw new Error("inference: hold() is simulator only");
}

export function release(): void {
	throw new Error("inference: release() is simulator only");
}

export function pending(): number {
	throw new Error("inference: pending() is simulator only");
}
