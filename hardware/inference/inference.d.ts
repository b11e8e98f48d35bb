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
		/** Runs the model on the calling (XS) thread, which waits for it. */
		invoke(): void;
		/**
		 * Runs the model off the XS thread (a worker thread in the simulator
		 * and on lin, a FreeRTOS task on the device's other core), so that
		 * presses, sockets and timers are served meanwhile; settles on the XS
		 * thread. Until it settles the input and the arena are the model's:
		 * setInput, invoke, invokeAsync, output, ranges and close() throw.
		 */
		invokeAsync(): Promise<void>;
		/** Output `index`, dequantized to float32 (a copy the caller owns). */
		output(index: number): Float32Array;
		/** Simulator only, with recordRanges: [min0, max0, min1, max1, ...] per tensor index of the model's subgraph. */
		ranges(): Float32Array;
		/** Frees the arena; throws while invokeAsync runs. Idempotent. */
		close(): void;
	}

	/**
	 * Simulator only (the device throws), for tests that order events against
	 * a running model: while held, each invokeAsync's run waits, off the XS
	 * thread, until release() lets one start; hold(false) lets all go.
	 */
	export function hold(on: boolean): void;
	export function release(): void;
	/** Simulator only: invokeAsync runs started and not settled yet, every interpreter's (a held run is one). */
	export function pending(): number;
}
