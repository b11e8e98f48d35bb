/*
 * Small models built by hand, for tests: kernel tests (one op, known
 * numbers) and the model tools' own. Each tensor may carry its constant data
 * inline; tinyModel moves it into the buffers.
 */
import { bytesOf } from "./graph.js";
import type { Model, Operator, Quantization, TensorType } from "./tflite.js";

export interface TinyTensor {
	name?: string;
	shape: number[];
	type?: TensorType;
	data?: Float32Array | Int8Array | Int32Array | Uint8Array;
	quantization?: Quantization;
}

export interface TinyGraph {
	tensors: TinyTensor[];
	inputs: number[];
	outputs: number[];
	operators: Operator[];
}

export function tinyModel(graph: TinyGraph): Model {
	const buffers: Uint8Array[] = [new Uint8Array(0)];
	const tensors = graph.tensors.map((tensor, index) => {
		const type: TensorType = tensor.type ?? (tensor.data instanceof Int8Array ? "int8" : tensor.data instanceof Int32Array ? "int32" : "float32");
		const data = tensor.data instanceof Uint8Array ? tensor.data.slice() : tensor.data && bytesOf(tensor.data);
		return {
			name: tensor.name ?? `t${index}`,
			shape: tensor.shape,
			type,
			buffer: data ? buffers.push(data) - 1 : 0,
			...(tensor.quantization ? { quantization: tensor.quantization } : {}),
		};
	});
	return {
		version: 3,
		description: "tiny",
		subgraph: { name: "main", tensors, inputs: graph.inputs, outputs: graph.outputs, operators: graph.operators },
		buffers,
	};
}
