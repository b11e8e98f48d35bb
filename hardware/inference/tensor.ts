/*
 * The types of hardware/inference's API, as one module that every
 * platform's implementation imports and re-exports: under mcconfig the
 * specifier "hardware/inference" names the implementation itself, so it
 * cannot take its own types from there. The contract (inference.d.ts)
 * re-exports them too.
 */
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
	/** Bytes for the tensor arena; by default what the model's plan needs. */
	arenaSize?: number;
	/** Simulator only: record each tensor's min and max over every invoke (for int8 calibration). */
	recordRanges?: boolean;
}
