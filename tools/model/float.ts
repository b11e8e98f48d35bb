/*
 * The float32 model: MediaPipe ships its weights as float16 constants, each
 * expanded at load time by a DEQUANTIZE op. Doing that expansion once here
 * gives a model with no DEQUANTIZE, whose constants are plain float32, which
 * every runtime (and the quantizer) reads directly. The computation is
 * unchanged: a float16 value converts to float32 exactly.
 */
import { ModelError } from "./tflite.js";
import type { Model, Operator, Tensor } from "./tflite.js";
import { bytesOf, compact, elementCount } from "./graph.js";

/** IEEE 754 binary16 to a number (exact: every half is a float32). */
export function halfToFloat(bits: number): number {
	const sign = bits & 0x8000 ? -1 : 1;
	const exponent = (bits >> 10) & 0x1f;
	const fraction = bits & 0x3ff;
	if (exponent === 0)
		return sign * fraction * 2 ** -24;
	if (exponent === 0x1f)
		return fraction ? NaN : sign * Infinity;
	return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function expandHalves(model: Model, tensor: Tensor): Float32Array {
	const bytes = model.buffers[tensor.buffer];
	const count = elementCount(tensor.shape);
	if (bytes.length !== 2 * count)
		throw new ModelError(`float16 constant ${JSON.stringify(tensor.name)} has ${bytes.length} bytes, expected ${2 * count}`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const values = new Float32Array(count);
	for (let i = 0; i < count; i++)
		values[i] = halfToFloat(view.getUint16(2 * i, true));
	return values;
}

export function floatModel(source: Model): Model {
	const tensors = source.subgraph.tensors.map((tensor) => ({ ...tensor }));
	const buffers = [...source.buffers];
	const operators: Operator[] = [];
	for (const operator of source.subgraph.operators) {
		const input = tensors[operator.inputs[0]];
		if (operator.opcode === "DEQUANTIZE" && input?.type === "float16" && input.buffer !== 0) {
			// The op's output keeps its name and index, so every consumer is untouched; it just becomes a constant.
			const output = tensors[operator.outputs[0]];
			output.buffer = buffers.push(bytesOf(expandHalves(source, input))) - 1;
			output.type = "float32";
			delete output.quantization;
			continue;
		}
		operators.push(operator);
	}
	return compact({ ...source, subgraph: { ...source.subgraph, tensors, operators }, buffers });
}
