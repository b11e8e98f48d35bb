/*
 * The int8 model, laid out as TFLite Micro's int8 kernels (and ESP-NN's)
 * expect, from the float model and calibration inputs:
 *
 * - input int8, the image normalized to [-1, 1] (pixel / 127.5 - 1), its
 *   parameters fixed by that range rather than calibrated;
 * - CONV_2D and DEPTHWISE_CONV_2D weights int8, symmetric per output channel
 *   (zero point 0; quantized dimension 0 for [O,H,W,I], 3 for [1,H,W,O]);
 *   biases int32 per channel with scale input scale x weight scale;
 * - every activation int8, asymmetric per tensor, from the min/max the float
 *   model reached on the calibration inputs (widened to contain 0);
 * - MAX_POOL_2D, PAD, RESHAPE and RESIZE_BILINEAR outputs share their
 *   input's parameters, and a CONCATENATION's inputs and output share one
 *   set: those kernels copy bytes without requantizing, so the ranges of all
 *   the tensors tied together are merged and applied to every one of them;
 * - a RELU whose producer (CONV_2D, DEPTHWISE_CONV_2D, ADD) feeds only it is
 *   fused into that producer: one op fewer, and the tensor it writes then
 *   spends all 256 levels on [0, max] instead of a signed range;
 * - outputs int8: the interpreter dequantizes them. A caller may clip an
 *   output's range (`clips`): BlazeFace's raw outputs reach values no
 *   detection uses (logits of -11000, offsets of 4600 pixels at anchors that
 *   never fire), which would otherwise cost the useful values their
 *   resolution; a clipped value saturates at the end of its range. A
 *   `fixed` clip is the range itself, whatever calibration saw: for values
 *   the calibration images may not reach (the box of a face at the lens).
 */
import { ModelError } from "./tflite.js";
import type { Model, Operator, Quantization, Tensor } from "./tflite.js";
import { bytesOf, compact, consumers, elementCount, floatData, isConstant } from "./graph.js";
import { Evaluator, roundHalfAway } from "./evaluate.js";

/** The model input's range: MediaPipe's normalization pixel / 127.5 - 1. */
export const inputRange = { min: -1, max: 1 };

const fusable = new Set(["CONV_2D", "DEPTHWISE_CONV_2D", "ADD"]);

/** The float model with each RELU folded into its producer where that producer feeds nothing else. */
export function fuseRelus(model: Model): Model {
	const operators = model.subgraph.operators.map((operator) => ({ ...operator, options: { ...operator.options } }));
	const dropped = new Set<Operator>();
	for (const relu of operators) {
		if (relu.opcode !== "RELU")
			continue;
		const tensor = relu.inputs[0];
		const producer = operators.find((operator) => operator.outputs[0] === tensor);
		if (!producer || !fusable.has(producer.opcode) || producer.options.fusedActivationFunction !== "NONE")
			continue;
		if (consumers(model, tensor).length !== 1 || model.subgraph.outputs.includes(tensor))
			continue;
		producer.options.fusedActivationFunction = "RELU";
		producer.outputs = [relu.outputs[0]];
		dropped.add(relu);
	}
	return compact({ ...model, subgraph: { ...model.subgraph, operators: operators.filter((operator) => !dropped.has(operator)) } });
}

/** Each tensor's [min, max] over the inputs, as [min0, max0, min1, max1, ...]. */
export function calibrate(model: Model, inputs: Iterable<Float32Array>): Float64Array {
	const evaluator = new Evaluator(model, { recordRanges: true });
	let count = 0;
	for (const input of inputs) {
		evaluator.run(input);
		count++;
	}
	if (count === 0)
		throw new ModelError("calibration needs at least one input");
	return evaluator.ranges;
}

/** Asymmetric int8 parameters for a range, widened to contain 0 so that 0 (padding, RELU's floor) is exact. */
export function activationParameters(min: number, max: number): { scale: number; zeroPoint: number } {
	if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
		throw new ModelError(`no usable range [${min}, ${max}]`);
	const low = Math.min(min, 0);
	let high = Math.max(max, 0);
	if (high - low < 1e-6)
		high = low + 1e-6;
	const scale = (high - low) / 255;
	const zeroPoint = Math.min(127, Math.max(-128, roundHalfAway(-128 - low / scale)));
	return { scale: Math.fround(scale), zeroPoint: zeroPoint + 0 };
}

/** Tensors whose quantization must be identical, as groups of a union-find over tensor indices. */
function sharedGroups(model: Model): (index: number) => number {
	const parent = model.subgraph.tensors.map((_, index) => index);
	const find = (index: number): number => {
		while (parent[index] !== index)
			index = parent[index] = parent[parent[index]];
		return index;
	};
	const join = (a: number, b: number) => { parent[find(a)] = find(b); };
	for (const operator of model.subgraph.operators) {
		switch (operator.opcode) {
			case "MAX_POOL_2D":
			case "PAD":
			case "RESHAPE":
			case "RESIZE_BILINEAR":
				join(operator.inputs[0], operator.outputs[0]);
				break;
			case "CONCATENATION":
				for (const input of operator.inputs)
					join(input, operator.outputs[0]);
				break;
		}
	}
	return find;
}

function quantizeWeights(values: Float32Array, shape: number[], axis: number): { data: Int8Array; scale: number[] } {
	const channels = shape[axis];
	const inner = elementCount(shape.slice(axis + 1));
	const largest = new Float64Array(channels);
	for (let i = 0; i < values.length; i++) {
		const channel = Math.floor(i / inner) % channels;
		largest[channel] = Math.max(largest[channel], Math.abs(values[i]));
	}
	// An all-zero channel still needs a positive scale; its weights are 0 whatever it is.
	const scale = Array.from(largest, (value) => Math.fround(value > 0 ? value / 127 : 1));
	const data = new Int8Array(values.length);
	for (let i = 0; i < values.length; i++) {
		const channel = Math.floor(i / inner) % channels;
		data[i] = Math.min(127, Math.max(-127, roundHalfAway(values[i] / scale[channel])));
	}
	return { data, scale };
}

function quantizeBias(values: Float32Array, scale: number[]): Int32Array {
	const data = new Int32Array(values.length);
	for (let i = 0; i < values.length; i++)
		data[i] = Math.min(2147483647, Math.max(-2147483648, roundHalfAway(values[i] / scale[i])));
	return data;
}

const perTensor = (scale: number, zeroPoint: number): Quantization => ({ scale: [scale], zeroPoint: [zeroPoint], quantizedDimension: 0 });

/** A range a model output's parameters must fit within (with the tensors tied to it), whatever calibration saw. */
export interface RangeClip {
	/** Position in the subgraph's outputs (stable across the rewrites, unlike tensor indices). */
	output: number;
	min: number;
	max: number;
	/** The range is exactly [min, max], not the calibrated range clipped to it. */
	fixed?: boolean;
}

/**
 * The int8 model from a float model (no DEQUANTIZE; see float.ts) whose
 * RELUs are already fused (fuseRelus), and its calibrated ranges.
 */
export function quantize(model: Model, ranges: Float64Array, clips: RangeClip[] = []): Model {
	const { subgraph } = model;
	const tensors: Tensor[] = subgraph.tensors.map((tensor) => ({ ...tensor, shape: [...tensor.shape] }));
	const buffers = [...model.buffers];
	if (ranges.length !== 2 * tensors.length)
		throw new ModelError(`ranges for ${ranges.length / 2} tensors, the model has ${tensors.length}`);
	if (subgraph.inputs.length !== 1)
		throw new ModelError(`expected one input, found ${subgraph.inputs.length}`);

	// Activations: merge the ranges of tensors that must share parameters.
	const group = sharedGroups(model);
	const groupRanges = new Map<number, { min: number; max: number }>();
	const widen = (index: number, min: number, max: number) => {
		const key = group(index);
		const range = groupRanges.get(key) ?? { min: Infinity, max: -Infinity };
		groupRanges.set(key, { min: Math.min(range.min, min), max: Math.max(range.max, max) });
	};
	tensors.forEach((tensor, index) => {
		if (isConstant(tensor) || tensor.type !== "float32")
			return;
		if (subgraph.inputs.includes(index))
			widen(index, inputRange.min, inputRange.max);
		else
			widen(index, ranges[2 * index], ranges[2 * index + 1]);
	});
	for (const clip of clips) {
		const tensor = subgraph.outputs[clip.output];
		const range = tensor === undefined ? undefined : groupRanges.get(group(tensor));
		if (!range || !(clip.min <= 0 && clip.max >= 0))
			throw new ModelError(`clip of output ${clip.output}: it must be a float output, and [${clip.min}, ${clip.max}] must contain 0`);
		groupRanges.set(group(tensor), clip.fixed ? { min: clip.min, max: clip.max } : { min: Math.max(range.min, clip.min), max: Math.min(range.max, clip.max) });
	}
	tensors.forEach((tensor, index) => {
		if (isConstant(tensor) || tensor.type !== "float32")
			return;
		const range = groupRanges.get(group(index)) as { min: number; max: number };
		if (!(range.min <= range.max))
			throw new ModelError(`tensor ${JSON.stringify(tensor.name)} was never computed during calibration`);
		const { scale, zeroPoint } = activationParameters(range.min, range.max);
		tensor.type = "int8";
		tensor.quantization = perTensor(scale, zeroPoint);
	});

	// Constants: weights per channel, biases from the input and weight scales.
	const done = new Map<number, string>();
	const claim = (index: number, owner: string) => {
		if (done.has(index))
			throw new ModelError(`constant ${JSON.stringify(tensors[index].name)} is used by ${done.get(index)} and ${owner}; shared constants are not supported`);
		done.set(index, owner);
	};
	subgraph.operators.forEach((operator, at) => {
		const owner = `operator ${at} (${operator.opcode})`;
		if (operator.opcode === "CONV_2D" || operator.opcode === "DEPTHWISE_CONV_2D") {
			const [input, filterIndex, biasIndex] = operator.inputs;
			const filter = tensors[filterIndex];
			if (!isConstant(filter) || filter.type !== "float32")
				throw new ModelError(`${owner}: the filter must be a float32 constant`);
			claim(filterIndex, owner);
			const axis = operator.opcode === "CONV_2D" ? 0 : 3;
			const weights = quantizeWeights(floatData(model, subgraph.tensors[filterIndex]), filter.shape, axis);
			filter.type = "int8";
			filter.buffer = buffers.push(bytesOf(weights.data)) - 1;
			filter.quantization = { scale: weights.scale, zeroPoint: weights.scale.map(() => 0), quantizedDimension: axis };
			if (biasIndex === undefined || biasIndex < 0)
				return;
			const bias = tensors[biasIndex];
			if (!isConstant(bias) || bias.type !== "float32" || elementCount(bias.shape) !== weights.scale.length)
				throw new ModelError(`${owner}: the bias must be a float32 constant with one value per output channel`);
			claim(biasIndex, owner);
			const inputScale = (tensors[input].quantization as Quantization).scale[0];
			const scale = weights.scale.map((weightScale) => Math.fround(inputScale * weightScale));
			bias.type = "int32";
			bias.buffer = buffers.push(bytesOf(quantizeBias(floatData(model, subgraph.tensors[biasIndex]), scale))) - 1;
			bias.quantization = { scale, zeroPoint: scale.map(() => 0), quantizedDimension: 0 };
			return;
		}
		for (const index of operator.inputs)
			if (index >= 0 && isConstant(tensors[index]) && tensors[index].type === "float32")
				throw new ModelError(`${owner}: float constant operand ${JSON.stringify(tensors[index].name)} is not supported by the quantizer`);
	});

	return compact({
		version: model.version,
		description: model.description,
		subgraph: { ...subgraph, tensors },
		buffers,
	});
}

/** Fuse, calibrate and quantize: the int8 model from the float one. */
export function quantizeModel(floatModel: Model, inputs: Iterable<Float32Array>, clips: RangeClip[] = []): Model {
	const fused = fuseRelus(floatModel);
	return quantize(fused, calibrate(fused, inputs), clips);
}
