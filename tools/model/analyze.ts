/*
 * What a model costs: each tensor's shape (inferred op by op and checked
 * against the shape the file records, so a rewrite that broke the graph is
 * caught here), multiply-accumulates per op, the op histogram and weight
 * bytes. The bench and the model card print these.
 */
import { ModelError } from "./tflite.js";
import type { Model, Operator } from "./tflite.js";
import { elementCount, int32Data, isConstant } from "./graph.js";

export interface OperatorCost {
	index: number;
	opcode: string;
	outputShape: number[];
	/** Multiply-accumulates: convolutions only. */
	macs: number;
	/** Other arithmetic (adds, comparisons, interpolations): counted apart from MACs. */
	elementwise: number;
}

export interface Analysis {
	shapes: number[][];
	operators: OperatorCost[];
	macs: number;
	elementwise: number;
	histogram: Record<string, number>;
	/** Bytes of constant tensors (weights, biases, shape and padding operands). */
	weightBytes: number;
	tensors: number;
	inputs: { name: string; shape: number[]; type: string }[];
	outputs: { name: string; shape: number[]; type: string }[];
}

const typeSizes = { float32: 4, float16: 2, int8: 1, int32: 4 };

function windowOutput(size: number, kernel: number, stride: number, dilation: number, padding: unknown): number {
	const effective = (kernel - 1) * dilation + 1;
	return padding === "VALID" ? Math.floor((size - effective) / stride) + 1 : Math.ceil(size / stride);
}

function broadcast(a: number[], b: number[]): number[] {
	const rank = Math.max(a.length, b.length);
	const shape: number[] = [];
	for (let i = 0; i < rank; i++) {
		const x = a[a.length - rank + i] ?? 1;
		const y = b[b.length - rank + i] ?? 1;
		if (x !== y && x !== 1 && y !== 1)
			throw new ModelError(`shapes [${a}] and [${b}] do not broadcast`);
		shape.push(Math.max(x, y));
	}
	return shape;
}

function inferShape(model: Model, operator: Operator, shapes: number[][]): number[] {
	const { tensors } = model.subgraph;
	const input = shapes[operator.inputs[0]];
	const options = operator.options;
	const number = (name: string) => options[name] as number;
	switch (operator.opcode) {
		case "CONV_2D":
		case "DEPTHWISE_CONV_2D": {
			const filter = shapes[operator.inputs[1]];
			const channels = operator.opcode === "CONV_2D" ? filter[0] : filter[3];
			return [input[0],
				windowOutput(input[1], filter[1], number("strideH"), number("dilationHFactor"), options.padding),
				windowOutput(input[2], filter[2], number("strideW"), number("dilationWFactor"), options.padding),
				channels];
		}
		case "MAX_POOL_2D":
		case "AVERAGE_POOL_2D":
			return [input[0],
				windowOutput(input[1], number("filterHeight"), number("strideH"), 1, options.padding),
				windowOutput(input[2], number("filterWidth"), number("strideW"), 1, options.padding),
				input[3]];
		case "ADD":
		case "SUB":
		case "MUL":
			return broadcast(input, shapes[operator.inputs[1]]);
		case "PAD": {
			const paddings = int32Data(model, tensors[operator.inputs[1]]);
			return input.map((size, axis) => size + paddings[2 * axis] + paddings[2 * axis + 1]);
		}
		case "RESHAPE": {
			const operand = operator.inputs[1];
			const target = operand !== undefined && operand >= 0 && isConstant(tensors[operand])
				? Array.from(int32Data(model, tensors[operand]))
				: options.newShape as number[] | undefined;
			if (!target)
				return tensors[operator.outputs[0]].shape;
			const known = target.reduce((product, size) => size === -1 ? product : product * size, 1);
			return target.map((size) => size === -1 ? elementCount(input) / known : size);
		}
		case "CONCATENATION": {
			const rank = input.length;
			const axis = (number("axis") + rank) % rank;
			const shape = [...input];
			shape[axis] = operator.inputs.reduce((sum, index) => sum + shapes[index][axis], 0);
			return shape;
		}
		case "RESIZE_BILINEAR":
		case "RESIZE_NEAREST_NEIGHBOR": {
			const size = int32Data(model, tensors[operator.inputs[1]]);
			return [input[0], size[0], size[1], input[3]];
		}
		case "RELU": case "RELU6": case "LOGISTIC": case "TANH": case "DEQUANTIZE": case "QUANTIZE":
			return [...input];
		default:
			return tensors[operator.outputs[0]].shape;
	}
}

function cost(operator: Operator, shapes: number[][]): { macs: number; elementwise: number } {
	const output = shapes[operator.outputs[0]];
	const outputs = elementCount(output);
	switch (operator.opcode) {
		case "CONV_2D": {
			const filter = shapes[operator.inputs[1]];
			return { macs: outputs * filter[1] * filter[2] * filter[3], elementwise: 0 };
		}
		case "DEPTHWISE_CONV_2D": {
			const filter = shapes[operator.inputs[1]];
			return { macs: outputs * filter[1] * filter[2], elementwise: 0 };
		}
		case "MAX_POOL_2D":
		case "AVERAGE_POOL_2D":
			return { macs: 0, elementwise: outputs * (operator.options.filterWidth as number) * (operator.options.filterHeight as number) };
		case "RESIZE_BILINEAR":
			return { macs: 0, elementwise: outputs * 4 };
		case "ADD": case "SUB": case "MUL": case "RELU": case "RELU6": case "LOGISTIC": case "TANH":
		case "DEQUANTIZE": case "QUANTIZE":
			return { macs: 0, elementwise: outputs };
		default:
			// Data movement (PAD, RESHAPE, CONCATENATION): no arithmetic.
			return { macs: 0, elementwise: 0 };
	}
}

export function analyze(model: Model): Analysis {
	const { tensors } = model.subgraph;
	const shapes = tensors.map((tensor) => [...tensor.shape]);
	const operators: OperatorCost[] = [];
	const histogram: Record<string, number> = {};
	model.subgraph.operators.forEach((operator, index) => {
		const inferred = inferShape(model, operator, shapes);
		const output = operator.outputs[0];
		if (inferred.join() !== tensors[output].shape.join())
			throw new ModelError(`operator ${index} (${operator.opcode}): output ${JSON.stringify(tensors[output].name)} is recorded as [${tensors[output].shape}] but computes to [${inferred}]`);
		shapes[output] = inferred;
		histogram[operator.opcode] = (histogram[operator.opcode] ?? 0) + 1;
		operators.push({ index, opcode: operator.opcode, outputShape: inferred, ...cost(operator, shapes) });
	});
	const weightBytes = tensors.reduce((sum, tensor) => sum + (isConstant(tensor) ? elementCount(tensor.shape) * typeSizes[tensor.type] : 0), 0);
	const describe = (index: number) => ({ name: tensors[index].name, shape: shapes[index], type: tensors[index].type });
	return {
		shapes,
		operators,
		macs: operators.reduce((sum, op) => sum + op.macs, 0),
		elementwise: operators.reduce((sum, op) => sum + op.elementwise, 0),
		histogram,
		weightBytes,
		tensors: tensors.length,
		inputs: model.subgraph.inputs.map(describe),
		outputs: model.subgraph.outputs.map(describe),
	};
}
