/*
 * The types of hardware/inference's API, as one module that every
 * platform's implementation imports and re-exports: under mcconfig the
 * specifier "hardware/inference" names the implementation itself, so it
 * cannot take its own types from there (hardware/conformance.ts checks them
 * against the contract, inference.d.ts).
 */
export type TensorType = "float32" | "int8";

export interface TensorInfo {
	readonly shape: readonly number[];
	readonly type: TensorType;
	readonly scale: number;
	readonly zeroPoint: number;
}

export interface InterpreterOptions {
	arenaSize?: number;
	recordRanges?: boolean;
}
