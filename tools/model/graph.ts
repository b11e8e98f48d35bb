/*
 * Small graph helpers the model rewrites share: element counts, typed views
 * of constant buffers, and dropping the tensors and buffers a rewrite left
 * unused (so the written file carries no dead weights).
 */
import { ModelError } from "./tflite.js";
import type { Model, Tensor } from "./tflite.js";

export function elementCount(shape: readonly number[]): number {
	return shape.reduce((product, size) => product * size, 1);
}

/** A float32 copy of a float32 constant tensor's data (copied, so alignment never matters). */
export function floatData(model: Model, tensor: Tensor): Float32Array {
	const bytes = model.buffers[tensor.buffer];
	if (tensor.type !== "float32" || bytes.length !== 4 * elementCount(tensor.shape))
		throw new ModelError(`tensor ${JSON.stringify(tensor.name)} is not a float32 constant of shape [${tensor.shape}]`);
	return new Float32Array(copy(bytes));
}

export function int32Data(model: Model, tensor: Tensor): Int32Array {
	const bytes = model.buffers[tensor.buffer];
	if (tensor.type !== "int32" || bytes.length !== 4 * elementCount(tensor.shape))
		throw new ModelError(`tensor ${JSON.stringify(tensor.name)} is not an int32 constant of shape [${tensor.shape}]`);
	return new Int32Array(copy(bytes));
}

/**
 * A fresh, aligned ArrayBuffer holding `bytes`. Not bytes.slice(): on a Node
 * Buffer (what readFileSync returns) slice is a view into a shared pool.
 */
function copy(bytes: Uint8Array): ArrayBuffer {
	return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}

export function bytesOf(values: Float32Array | Int32Array | Int8Array): Uint8Array {
	return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export function isConstant(tensor: Tensor): boolean {
	return tensor.buffer !== 0;
}

/** Indices of the operators that read tensor `index`. */
export function consumers(model: Model, index: number): number[] {
	const found: number[] = [];
	model.subgraph.operators.forEach((operator, at) => {
		if (operator.inputs.includes(index))
			found.push(at);
	});
	return found;
}

/**
 * Keeps only the tensors an operator or the subgraph's inputs/outputs use,
 * and the buffers those tensors use, renumbering both in their first-use
 * order, so a rewrite's output is the same bytes on every run.
 */
export function compact(model: Model): Model {
	const { subgraph } = model;
	const used = new Set<number>([...subgraph.inputs, ...subgraph.outputs]);
	for (const operator of subgraph.operators)
		for (const index of [...operator.inputs, ...operator.outputs])
			if (index >= 0)
				used.add(index);
	const tensorMap = new Map<number, number>();
	const bufferMap = new Map<number, number>([[0, 0]]);
	const tensors: Tensor[] = [];
	const buffers: Uint8Array[] = [new Uint8Array(0)];
	subgraph.tensors.forEach((tensor, index) => {
		if (!used.has(index))
			return;
		tensorMap.set(index, tensors.length);
		let buffer = bufferMap.get(tensor.buffer);
		if (buffer === undefined) {
			buffer = buffers.push(model.buffers[tensor.buffer]) - 1;
			bufferMap.set(tensor.buffer, buffer);
		}
		tensors.push({ ...tensor, buffer });
	});
	const remap = (index: number) => index < 0 ? index : tensorMap.get(index) as number;
	return {
		version: model.version,
		description: model.description,
		subgraph: {
			name: subgraph.name,
			tensors,
			inputs: subgraph.inputs.map(remap),
			outputs: subgraph.outputs.map(remap),
			operators: subgraph.operators.map((operator) => ({
				...operator,
				inputs: operator.inputs.map(remap),
				outputs: operator.outputs.map(remap),
			})),
		},
		buffers,
	};
}
