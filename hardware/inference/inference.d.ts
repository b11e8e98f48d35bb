/*
 * A TensorFlow Lite model interpreter, as the firmware sees it on every
 * platform. The device's is TFLite Micro with ESP-NN (esp32/); the simulator
 * host and Moddable's lin run our own C interpreter (interpreter/), which
 * follows TFLite Micro's reference kernels, so the same detector code runs
 * unchanged everywhere. Errors (a corrupt or truncated model, an op or a
 * tensor type that is not supported, a wrong input) are thrown, never a crash.
 */
declare module "hardware/inference" {
	export type TensorType = "float32" | "int8";

	export interface TensorInfo {
		/** Dimensions, outermost first (for an image input: [1, height, width, channels]). */
		readonly shape: readonly number[];
		readonly type: TensorType;
		/** Quantization: real = scale * (q - zeroPoint). 1 and 0 for float32. */
		readonly scale: number;
		readonly zeroPoint: number;
	}

	export interface InterpreterOptions {
		/** Bytes for the tensor arena; the default fits the models in models/. */
		arenaSize?: number;
		/** Simulator only: record each tensor's min and max over every invoke (for int8 calibration). */
		recordRanges?: boolean;
	}

	export default class Interpreter {
		/**
		 * `model` is the .tflite file. It is referenced, not copied, for the
		 * interpreter's life: on the device it is a flash-mapped resource.
		 */
		constructor(model: ArrayBuffer | HostBuffer, options?: InterpreterOptions);
		readonly input: TensorInfo;
		readonly outputs: readonly TensorInfo[];
		/** Bytes of the arena that the model's tensors use. */
		readonly arenaUsed: number;
		/** Sets the input tensor: an Int8Array for int8, a Float32Array for float32, of exactly its element count. */
		setInput(data: Int8Array | Float32Array): void;
		invoke(): void;
		/** Output `index`, dequantized to float32 (a copy the caller owns). */
		output(index: number): Float32Array;
		/** Simulator only, with recordRanges: [min0, max0, min1, max1, ...] per tensor index of the model's subgraph. */
		ranges(): Float32Array;
		close(): void;
	}
}
