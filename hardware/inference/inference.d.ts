/*
 * A TensorFlow Lite model interpreter, as the firmware sees it on every
 * platform. The device's is TFLite Micro with ESP-NN (esp32/); the simulator
 * host and Moddable's lin run our own C interpreter (interpreter/), which
 * follows TFLite Micro's reference kernels, so the same detector code runs
 * unchanged everywhere. Errors (a corrupt or truncated model, an op or a
 * tensor type that is not supported, a wrong input) are thrown, never a crash.
 */
declare module "hardware/inference" {
	import type { InterpreterOptions, TensorInfo } from "hardware/inference/tensor";
	export type { InterpreterOptions, TensorInfo, TensorType } from "hardware/inference/tensor";

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
