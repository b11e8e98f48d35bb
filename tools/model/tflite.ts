/*
 * TensorFlow Lite model files (.tflite, a FlatBuffer with the "TFL3"
 * identifier) read into plain objects and written back, so the model tools
 * can rewrite a graph (fold fp16 weights, quantize to int8) and tests can
 * build single-op models by hand.
 *
 * Only what the detector's models and their rewrites need is kept: one
 * subgraph, tensors of four types, builtin ops with the option tables listed
 * in `optionTables`. Metadata, signature defs, min/max and other optional
 * fields are dropped on write. The reader checks every offset against the
 * file, so a corrupt or truncated file throws `ModelError`, never reads out
 * of bounds.
 */

export type TensorType = "float32" | "float16" | "int8" | "int32";

export interface Quantization {
	scale: number[];
	zeroPoint: number[];
	quantizedDimension: number;
}

export interface Tensor {
	name: string;
	shape: number[];
	type: TensorType;
	/** Index into Model.buffers; 0 (the empty sentinel) for tensors computed at run time. */
	buffer: number;
	quantization?: Quantization;
}

export type OptionValue = number | string | boolean | number[];

export interface Operator {
	opcode: OpName;
	/** Tensor indices; -1 marks an omitted optional input. */
	inputs: number[];
	outputs: number[];
	options: Record<string, OptionValue>;
}

export interface Subgraph {
	name: string;
	tensors: Tensor[];
	inputs: number[];
	outputs: number[];
	operators: Operator[];
}

export interface Model {
	version: number;
	description: string;
	subgraph: Subgraph;
	/** Buffer 0 is the empty sentinel that run-time tensors point to. */
	buffers: Uint8Array[];
}

export class ModelError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ModelError";
	}
}
Object.freeze(ModelError.prototype);

// BuiltinOperator codes 0..126 of schema.fbs, in order; the index is the code.
const builtinOperators = [
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
	"EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
	"LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
	"RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
	"CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
	"UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
	"DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2",
	"SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX",
	"MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN",
	"TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
	"SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT",
	"LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL",
	"FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
	"SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
	"REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
	"NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
	"BATCH_MATMUL",
] as const;

export type OpName = (typeof builtinOperators)[number];

const tensorTypeCodes: Record<TensorType, number> = { float32: 0, float16: 1, int32: 2, int8: 9 };

// Field kinds of the option tables; "skip" holds the slot of a deprecated field.
type FieldKind = "padding" | "activation" | "int" | "byte" | "bool" | "float" | "ints" | "skip";
interface OptionField { name: string; kind: FieldKind; default?: number | boolean | string }
interface OptionTable { union: number; fields: OptionField[] }

const paddings = ["SAME", "VALID"];
const activations = ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"];

const fused: OptionField = { name: "fusedActivationFunction", kind: "activation", default: "NONE" };
const padding: OptionField = { name: "padding", kind: "padding", default: "SAME" };
const strides: OptionField[] = [{ name: "strideW", kind: "int", default: 0 }, { name: "strideH", kind: "int", default: 0 }];
const dilations: OptionField[] = [{ name: "dilationWFactor", kind: "int", default: 1 }, { name: "dilationHFactor", kind: "int", default: 1 }];
const resize: OptionField[] = [{ name: "alignCorners", kind: "bool", default: false }, { name: "halfPixelCenters", kind: "bool", default: false }];

// The BuiltinOptions union member (its 1-based index in schema.fbs) and
// fields, in slot order, of each supported table.
const tables = {
	conv: { union: 1, fields: [padding, ...strides, fused, ...dilations] },
	depthwise: { union: 2, fields: [padding, ...strides, { name: "depthMultiplier", kind: "int", default: 0 }, fused, ...dilations] },
	pool: { union: 5, fields: [padding, ...strides, { name: "filterWidth", kind: "int", default: 0 }, { name: "filterHeight", kind: "int", default: 0 }, fused] },
	fullyConnected: { union: 8, fields: [fused, { name: "weightsFormat", kind: "byte", default: 0 }, { name: "keepNumDims", kind: "bool", default: false }, { name: "asymmetricQuantizeInputs", kind: "bool", default: false }] },
	softmax: { union: 9, fields: [{ name: "beta", kind: "float", default: 0 }] },
	concatenation: { union: 10, fields: [{ name: "axis", kind: "int", default: 0 }, fused] },
	add: { union: 11, fields: [fused, { name: "potScaleInt16", kind: "bool", default: true }] },
	resizeBilinear: { union: 15, fields: [{ name: "newHeight", kind: "skip" }, { name: "newWidth", kind: "skip" }, ...resize] },
	reshape: { union: 17, fields: [{ name: "newShape", kind: "ints" }] },
	mul: { union: 21, fields: [fused] },
	pad: { union: 22, fields: [] },
	transpose: { union: 26, fields: [] },
	reducer: { union: 27, fields: [{ name: "keepDims", kind: "bool", default: false }] },
	sub: { union: 28, fields: [fused, { name: "potScaleInt16", kind: "bool", default: true }] },
	dequantize: { union: 38, fields: [] },
	maximumMinimum: { union: 39, fields: [] },
	padV2: { union: 43, fields: [] },
	resizeNearest: { union: 74, fields: resize },
	leakyRelu: { union: 75, fields: [{ name: "alpha", kind: "float", default: 0 }] },
	quantize: { union: 89, fields: [] },
} satisfies Record<string, OptionTable>;

const optionTables: Partial<Record<OpName, OptionTable>> = {
	CONV_2D: tables.conv, DEPTHWISE_CONV_2D: tables.depthwise, AVERAGE_POOL_2D: tables.pool, MAX_POOL_2D: tables.pool,
	FULLY_CONNECTED: tables.fullyConnected, SOFTMAX: tables.softmax, CONCATENATION: tables.concatenation, ADD: tables.add,
	RESIZE_BILINEAR: tables.resizeBilinear, RESHAPE: tables.reshape, MUL: tables.mul, PAD: tables.pad,
	TRANSPOSE: tables.transpose, MEAN: tables.reducer, SUM: tables.reducer, SUB: tables.sub, DEQUANTIZE: tables.dequantize,
	MAXIMUM: tables.maximumMinimum, MINIMUM: tables.maximumMinimum, PADV2: tables.padV2,
	RESIZE_NEAREST_NEIGHBOR: tables.resizeNearest, LEAKY_RELU: tables.leakyRelu, QUANTIZE: tables.quantize,
};

/** The builtin code of an op name, or a ModelError for a name outside the schema. */
export function opcodeOf(name: string): number {
	const code = (builtinOperators as readonly string[]).indexOf(name);
	if (code < 0)
		throw new ModelError(`unknown builtin operator ${JSON.stringify(name)}`);
	return code;
}

// ---------------------------------------------------------------- reading

class Reader {
	readonly view: DataView;
	constructor(readonly bytes: Uint8Array) {
		this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	}
	check(position: number, size: number, what: string): void {
		if (!Number.isInteger(position) || position < 0 || position + size > this.bytes.length)
			throw new ModelError(`truncated or corrupt model: ${what} at ${position} runs past the end (${this.bytes.length} bytes)`);
	}
	u8(position: number): number { this.check(position, 1, "byte"); return this.view.getUint8(position); }
	i8(position: number): number { this.check(position, 1, "byte"); return this.view.getInt8(position); }
	u16(position: number): number { this.check(position, 2, "u16"); return this.view.getUint16(position, true); }
	i32(position: number): number { this.check(position, 4, "i32"); return this.view.getInt32(position, true); }
	u32(position: number): number { this.check(position, 4, "u32"); return this.view.getUint32(position, true); }
	f32(position: number): number { this.check(position, 4, "f32"); return this.view.getFloat32(position, true); }
	i64(position: number): number {
		this.check(position, 8, "i64");
		return Number(this.view.getBigInt64(position, true));
	}
	/** Follows the uoffset stored at `position`. */
	indirect(position: number): number {
		return position + this.u32(position);
	}
}

/** A table: where it starts and its vtable, so fields can be looked up by slot. */
class Table {
	private readonly vtable: number;
	private readonly vtableSize: number;
	constructor(readonly reader: Reader, readonly position: number) {
		this.vtable = position - reader.i32(position);
		this.vtableSize = reader.u16(this.vtable);
		if (this.vtableSize < 4 || this.vtableSize % 2 !== 0)
			throw new ModelError(`corrupt model: table at ${position} has a vtable of ${this.vtableSize} bytes`);
		reader.check(this.vtable, this.vtableSize, "vtable");
	}
	/** Absolute position of field `slot`, or 0 when the field is absent. */
	field(slot: number): number {
		const entry = 4 + 2 * slot;
		if (entry >= this.vtableSize)
			return 0;
		const offset = this.reader.u16(this.vtable + entry);
		return offset === 0 ? 0 : this.position + offset;
	}
	u8(slot: number, fallback: number): number { const at = this.field(slot); return at ? this.reader.u8(at) : fallback; }
	i8(slot: number, fallback: number): number { const at = this.field(slot); return at ? this.reader.i8(at) : fallback; }
	i32(slot: number, fallback: number): number { const at = this.field(slot); return at ? this.reader.i32(at) : fallback; }
	u32(slot: number, fallback: number): number { const at = this.field(slot); return at ? this.reader.u32(at) : fallback; }
	f32(slot: number, fallback: number): number { const at = this.field(slot); return at ? this.reader.f32(at) : fallback; }
	bool(slot: number, fallback: boolean): boolean { const at = this.field(slot); return at ? this.reader.u8(at) !== 0 : fallback; }
	table(slot: number): Table | undefined {
		const at = this.field(slot);
		return at ? new Table(this.reader, this.reader.indirect(at)) : undefined;
	}
	/** Start and length of the vector in field `slot`, or undefined when absent. */
	vector(slot: number, elementSize: number): { start: number; length: number } | undefined {
		const at = this.field(slot);
		if (!at)
			return undefined;
		const header = this.reader.indirect(at);
		const length = this.reader.u32(header);
		this.reader.check(header + 4, length * elementSize, "vector");
		return { start: header + 4, length };
	}
	string(slot: number): string {
		const vector = this.vector(slot, 1);
		if (!vector)
			return "";
		return new TextDecoder().decode(this.reader.bytes.subarray(vector.start, vector.start + vector.length));
	}
	ints(slot: number): number[] | undefined {
		const vector = this.vector(slot, 4);
		return vector && Array.from({ length: vector.length }, (_, i) => this.reader.i32(vector.start + 4 * i));
	}
	floats(slot: number): number[] {
		const vector = this.vector(slot, 4);
		return vector ? Array.from({ length: vector.length }, (_, i) => this.reader.f32(vector.start + 4 * i)) : [];
	}
	longs(slot: number): number[] {
		const vector = this.vector(slot, 8);
		return vector ? Array.from({ length: vector.length }, (_, i) => this.reader.i64(vector.start + 8 * i)) : [];
	}
	tables(slot: number): Table[] {
		const vector = this.vector(slot, 4);
		return vector ? Array.from({ length: vector.length }, (_, i) => new Table(this.reader, this.reader.indirect(vector.start + 4 * i))) : [];
	}
}

function readOptions(table: Table | undefined, layout: OptionTable): Record<string, OptionValue> {
	const options: Record<string, OptionValue> = {};
	layout.fields.forEach((field, slot) => {
		switch (field.kind) {
			case "skip":
				break;
			case "padding":
			case "activation": {
				const names = field.kind === "padding" ? paddings : activations;
				const code = table ? table.i8(slot, 0) : 0;
				if (!(code in names))
					throw new ModelError(`corrupt model: ${field.name} ${code} is not a known value`);
				options[field.name] = names[code];
				break;
			}
			case "int":
				options[field.name] = table ? table.i32(slot, field.default as number) : field.default as number;
				break;
			case "byte":
				options[field.name] = table ? table.i8(slot, field.default as number) : field.default as number;
				break;
			case "float":
				options[field.name] = table ? table.f32(slot, field.default as number) : field.default as number;
				break;
			case "bool":
				options[field.name] = table ? table.bool(slot, field.default as boolean) : field.default as boolean;
				break;
			case "ints": {
				const values = table?.ints(slot);
				if (values)
					options[field.name] = values;
				break;
			}
		}
	});
	return options;
}

function readTensorType(code: number, name: string): TensorType {
	for (const [type, value] of Object.entries(tensorTypeCodes))
		if (value === code)
			return type as TensorType;
	throw new ModelError(`tensor ${JSON.stringify(name)} has type code ${code}, not one of float32, float16, int8, int32`);
}

export function readModel(bytes: Uint8Array): Model {
	if (bytes.length < 8)
		throw new ModelError(`not a TFLite model: ${bytes.length} bytes`);
	const identifier = String.fromCharCode(...bytes.subarray(4, 8));
	if (identifier !== "TFL3")
		throw new ModelError(`not a TFLite model: file identifier ${JSON.stringify(identifier)}, expected "TFL3"`);
	const reader = new Reader(bytes);
	const root = new Table(reader, reader.indirect(0));
	const version = root.u32(0, 0);
	const codes = root.tables(1).map((code) => {
		const builtin = Math.max(code.i8(0, 0), code.i32(3, 0));
		if (code.field(1) || builtin === 32)
			throw new ModelError(`custom operator ${JSON.stringify(code.string(1))} is not supported`);
		const name = builtinOperators[builtin];
		if (!name)
			throw new ModelError(`builtin operator code ${builtin} is not supported`);
		return name;
	});
	const subgraphs = root.tables(2);
	if (subgraphs.length !== 1)
		throw new ModelError(`expected one subgraph, found ${subgraphs.length}`);
	const description = root.string(3);
	const buffers = root.tables(4).map((buffer) => {
		if (buffer.field(1) && buffer.u32(1, 0) > 1)
			throw new ModelError("buffers stored outside the flatbuffer (models over 2 GB) are not supported");
		const data = buffer.vector(0, 1);
		return data ? bytes.slice(data.start, data.start + data.length) : new Uint8Array(0);
	});
	if (buffers.length === 0)
		buffers.push(new Uint8Array(0));

	const graph = subgraphs[0];
	const tensors = graph.tables(0).map((table, index): Tensor => {
		const name = table.string(3);
		const tensor: Tensor = {
			name,
			shape: table.ints(0) ?? [],
			type: readTensorType(table.i8(1, 0), name),
			buffer: table.u32(2, 0),
		};
		if (tensor.buffer >= buffers.length)
			throw new ModelError(`tensor ${index} refers to buffer ${tensor.buffer} of ${buffers.length}`);
		if (table.field(6))
			throw new ModelError(`tensor ${JSON.stringify(name)} is sparse, which is not supported`);
		const quantization = table.table(4);
		if (quantization) {
			if (quantization.field(4))
				throw new ModelError(`tensor ${JSON.stringify(name)} uses custom quantization, which is not supported`);
			const scale = quantization.floats(2);
			if (scale.length > 0)
				tensor.quantization = { scale, zeroPoint: quantization.longs(3), quantizedDimension: quantization.i32(6, 0) };
		}
		return tensor;
	});
	const checkIndices = (indices: number[], what: string, optional = false) => {
		for (const index of indices)
			if (!(Number.isInteger(index) && index < tensors.length && (index >= 0 || (optional && index === -1))))
				throw new ModelError(`${what} refers to tensor ${index} of ${tensors.length}`);
		return indices;
	};
	const operators = graph.tables(3).map((table, index): Operator => {
		const opcode = codes[table.u32(0, 0)];
		if (!opcode)
			throw new ModelError(`operator ${index} has opcode index ${table.u32(0, 0)} of ${codes.length}`);
		const layout = optionTables[opcode];
		const union = table.u8(3, 0);
		if (union !== 0 && union !== layout?.union)
			throw new ModelError(`operator ${index} (${opcode}) has builtin options of union type ${union}, which is not supported`);
		return {
			opcode,
			inputs: checkIndices(table.ints(1) ?? [], `operator ${index} (${opcode}) input`, true),
			outputs: checkIndices(table.ints(2) ?? [], `operator ${index} (${opcode}) output`),
			options: layout ? readOptions(union ? table.table(4) : undefined, layout) : {},
		};
	});
	return {
		version,
		description,
		subgraph: {
			name: graph.string(4),
			tensors,
			inputs: checkIndices(graph.ints(1) ?? [], "subgraph input"),
			outputs: checkIndices(graph.ints(2) ?? [], "subgraph output"),
			operators,
		},
		buffers,
	};
}

// ---------------------------------------------------------------- writing

/*
 * The writer lays the file out front to back: a table is written first with
 * placeholders for its offset fields, then each child after it, and the
 * placeholder patched with the (always forward, as uoffsets must be)
 * distance. Each table's vtable sits just before it.
 */

type Scalar = "u8" | "i8" | "i32" | "u32" | "f32";
type Field =
	| { slot: number; kind: Scalar; value: number }
	| { slot: number; kind: "offset"; write: () => number };

const scalarSizes: Record<Scalar, number> = { u8: 1, i8: 1, i32: 4, u32: 4, f32: 4 };

class Writer {
	private bytes = new Uint8Array(1 << 16);
	private view = new DataView(this.bytes.buffer);
	length = 0;

	private reserve(size: number): void {
		if (this.length + size <= this.bytes.length)
			return;
		let capacity = this.bytes.length;
		while (capacity < this.length + size)
			capacity *= 2;
		const grown = new Uint8Array(capacity);
		grown.set(this.bytes.subarray(0, this.length));
		this.bytes = grown;
		this.view = new DataView(grown.buffer);
	}
	/** Pads with zeros until `length + extra` is a multiple of `alignment`. */
	align(alignment: number, extra = 0): void {
		const padding = (alignment - ((this.length + extra) % alignment)) % alignment;
		this.reserve(padding);
		this.length += padding;
	}
	put(kind: Scalar, value: number): number {
		this.reserve(4);
		const at = this.length;
		switch (kind) {
			case "u8": this.view.setUint8(at, value); break;
			case "i8": this.view.setInt8(at, value); break;
			case "i32": this.view.setInt32(at, value, true); break;
			case "u32": this.view.setUint32(at, value, true); break;
			case "f32": this.view.setFloat32(at, value, true); break;
		}
		this.length += scalarSizes[kind];
		return at;
	}
	u16At(at: number, value: number): void { this.view.setUint16(at, value, true); }
	u32At(at: number, value: number): void { this.view.setUint32(at, value, true); }
	i32At(at: number, value: number): void { this.view.setInt32(at, value, true); }

	table(fields: Field[]): number {
		// Widest fields first keeps each aligned without padding between them.
		const size = (field: Field) => field.kind === "offset" ? 4 : scalarSizes[field.kind];
		const ordered = [...fields].sort((a, b) => size(b) - size(a) || a.slot - b.slot);
		const slots = fields.reduce((most, field) => Math.max(most, field.slot + 1), 0);
		const vtableSize = 4 + 2 * slots;
		this.align(4, vtableSize);
		const vtable = this.length;
		this.reserve(vtableSize);
		this.bytes.fill(0, vtable, vtable + vtableSize);
		this.length += vtableSize;
		const start = this.put("i32", 0);
		this.i32At(start, start - vtable);
		const pending: { at: number; write: () => number }[] = [];
		for (const field of ordered) {
			const at = field.kind === "offset" ? this.put("u32", 0) : this.put(field.kind, field.value);
			this.u16At(vtable + 4 + 2 * field.slot, at - start);
			if (field.kind === "offset")
				pending.push({ at, write: field.write });
		}
		this.align(4);
		this.u16At(vtable, vtableSize);
		this.u16At(vtable + 2, this.length - start);
		for (const { at, write } of pending)
			this.u32At(at, write() - at);
		return start;
	}
	/** A vector of scalars; `alignment` applies to its first element. */
	scalars(kind: Scalar, values: ArrayLike<number>, alignment = 4): number {
		this.align(Math.max(alignment, 4), 4);
		const start = this.put("u32", values.length);
		for (let i = 0; i < values.length; i++)
			this.put(kind, values[i]);
		this.align(4);
		return start;
	}
	rawBytes(data: Uint8Array, alignment: number): number {
		this.align(alignment, 4);
		const start = this.put("u32", data.length);
		this.reserve(data.length);
		this.bytes.set(data, this.length);
		this.length += data.length;
		this.align(4);
		return start;
	}
	longs(values: number[]): number {
		this.align(8, 4);
		const start = this.put("u32", values.length);
		for (const value of values) {
			this.reserve(8);
			this.view.setBigInt64(this.length, BigInt(value), true);
			this.length += 8;
		}
		return start;
	}
	string(text: string): number {
		const data = new TextEncoder().encode(text);
		const start = this.put("u32", data.length);
		this.reserve(data.length + 1);
		this.bytes.set(data, this.length);
		this.bytes[this.length + data.length] = 0;
		this.length += data.length + 1;
		this.align(4);
		return start;
	}
	tables(writers: (() => number)[]): number {
		const start = this.put("u32", writers.length);
		const slots = writers.map(() => this.put("u32", 0));
		writers.forEach((write, i) => this.u32At(slots[i], write() - slots[i]));
		return start;
	}
	finish(): Uint8Array {
		return this.bytes.slice(0, this.length);
	}
}

function typeOf(model: Model, index: number | undefined): TensorType | undefined {
	return index === undefined || index < 0 ? undefined : model.subgraph.tensors[index]?.type;
}

/**
 * The op version TFLite's converter would record (tensorflow/lite/tools/
 * versioning): TFLite Micro and ESP-NN register kernels by op, but other
 * runtimes refuse a version lower than the types need (int8 conv needs 3).
 */
export function opVersion(model: Model, operator: Operator): number {
	const input = typeOf(model, operator.inputs[0]);
	const weights = typeOf(model, operator.inputs[1]);
	const output = typeOf(model, operator.outputs[0]);
	const int8 = input === "int8";
	switch (operator.opcode) {
		case "CONV_2D":
			return int8 && weights === "int8" && output === "int8" ? 3 : input === "float32" && weights === "int8" ? 2 : 1;
		case "DEPTHWISE_CONV_2D":
			if (int8 && weights === "int8" && output === "int8")
				return 3;
			if (input === "float32" && weights === "int8")
				return 4;
			return operator.options.dilationWFactor !== 1 || operator.options.dilationHFactor !== 1 ? 2 : 1;
		case "DEQUANTIZE":
			return input === "float16" ? 3 : int8 ? 2 : 1;
		case "RESIZE_BILINEAR":
			return operator.options.halfPixelCenters ? 3 : int8 ? 2 : 1;
		case "RESIZE_NEAREST_NEIGHBOR":
			return operator.options.halfPixelCenters || operator.options.alignCorners ? 3 : int8 ? 2 : 1;
		case "FULLY_CONNECTED":
			return operator.inputs.length === 2 ? 6 : int8 && weights === "int8" ? 4 : 1;
		case "QUANTIZE":
			return 1;
		case "ADD": case "SUB": case "MUL": case "CONCATENATION": case "MAX_POOL_2D": case "AVERAGE_POOL_2D":
		case "PAD": case "PADV2": case "RELU": case "RELU6": case "LOGISTIC": case "TANH": case "SOFTMAX": case "MEAN":
		case "MAXIMUM": case "MINIMUM": case "TRANSPOSE":
			return int8 ? 2 : 1;
		default:
			return 1;
	}
}

function optionFields(out: Writer, operator: Operator, layout: OptionTable, where: string): Field[] {
	const known = new Set(layout.fields.filter((field) => field.kind !== "skip").map((field) => field.name));
	for (const key of Object.keys(operator.options))
		if (!known.has(key))
			throw new ModelError(`${where}: option ${JSON.stringify(key)} is not one of ${operator.opcode}'s (${[...known].join(", ") || "none"})`);
	const fields: Field[] = [];
	layout.fields.forEach((field, slot) => {
		const value = operator.options[field.name];
		if (field.kind === "skip" || value === undefined)
			return;
		const wrong = () => new ModelError(`${where}: option ${field.name} has the wrong type (${JSON.stringify(value)})`);
		switch (field.kind) {
			case "padding":
			case "activation": {
				const code = (field.kind === "padding" ? paddings : activations).indexOf(value as string);
				if (code < 0)
					throw wrong();
				if (code !== 0)
					fields.push({ slot, kind: "i8", value: code });
				break;
			}
			case "int":
			case "byte":
			case "float":
				if (typeof value !== "number" || (field.kind !== "float" && !Number.isInteger(value)))
					throw wrong();
				if (value !== field.default)
					fields.push({ slot, kind: field.kind === "int" ? "i32" : field.kind === "byte" ? "i8" : "f32", value });
				break;
			case "bool":
				if (typeof value !== "boolean")
					throw wrong();
				if (value !== field.default)
					fields.push({ slot, kind: "u8", value: value ? 1 : 0 });
				break;
			case "ints": {
				if (!Array.isArray(value) || !value.every(Number.isInteger))
					throw wrong();
				const values = value;
				fields.push({ slot, kind: "offset", write: () => out.scalars("i32", values) });
				break;
			}
		}
	});
	return fields;
}

function validate(model: Model): void {
	const { tensors } = model.subgraph;
	if (model.buffers.length === 0 || model.buffers[0].length !== 0)
		throw new ModelError("buffer 0 must be the empty sentinel");
	tensors.forEach((tensor, index) => {
		if (!(tensor.type in tensorTypeCodes))
			throw new ModelError(`tensor ${index} has unsupported type ${JSON.stringify(tensor.type)}`);
		if (!Number.isInteger(tensor.buffer) || tensor.buffer < 0 || tensor.buffer >= model.buffers.length)
			throw new ModelError(`tensor ${index} refers to buffer ${tensor.buffer} of ${model.buffers.length}`);
		if (!tensor.shape.every((size) => Number.isInteger(size) && size >= 0))
			throw new ModelError(`tensor ${index} has shape [${tensor.shape}]`);
		const q = tensor.quantization;
		if (q && (q.scale.length === 0 || q.scale.length !== q.zeroPoint.length))
			throw new ModelError(`tensor ${index}: quantization needs as many zero points as scales (at least one)`);
	});
	const check = (indices: number[], what: string, optional = false) => {
		for (const index of indices)
			if (!(Number.isInteger(index) && index < tensors.length && (index >= 0 || (optional && index === -1))))
				throw new ModelError(`${what} refers to tensor ${index} of ${tensors.length}`);
	};
	check(model.subgraph.inputs, "subgraph input");
	check(model.subgraph.outputs, "subgraph output");
	model.subgraph.operators.forEach((operator, index) => {
		opcodeOf(operator.opcode);
		check(operator.inputs, `operator ${index} (${operator.opcode}) input`, true);
		check(operator.outputs, `operator ${index} (${operator.opcode}) output`);
		if (!optionTables[operator.opcode] && Object.keys(operator.options).length > 0)
			throw new ModelError(`operator ${index} (${operator.opcode}): options for this op are not supported`);
	});
}

export function writeModel(model: Model): Uint8Array {
	validate(model);
	const { subgraph } = model;
	// Operator codes in order of first use, one per (op, version).
	const codes: { name: OpName; version: number }[] = [];
	const codeIndex = subgraph.operators.map((operator) => {
		const version = opVersion(model, operator);
		let index = codes.findIndex((code) => code.name === operator.opcode && code.version === version);
		if (index < 0)
			index = codes.push({ name: operator.opcode, version }) - 1;
		return index;
	});

	const out = new Writer();
	out.put("u32", 0);
	out.put("u8", "T".charCodeAt(0));
	out.put("u8", "F".charCodeAt(0));
	out.put("u8", "L".charCodeAt(0));
	out.put("u8", "3".charCodeAt(0));
	const tensorTable = (tensor: Tensor) => () => out.table([
		{ slot: 0, kind: "offset", write: () => out.scalars("i32", tensor.shape) },
		{ slot: 1, kind: "i8", value: tensorTypeCodes[tensor.type] },
		{ slot: 2, kind: "u32", value: tensor.buffer },
		{ slot: 3, kind: "offset", write: () => out.string(tensor.name) },
		...(tensor.quantization ? [{
			slot: 4, kind: "offset" as const, write: () => {
				const q = tensor.quantization as Quantization;
				return out.table([
					{ slot: 2, kind: "offset", write: () => out.scalars("f32", q.scale) },
					{ slot: 3, kind: "offset", write: () => out.longs(q.zeroPoint) },
					{ slot: 6, kind: "i32", value: q.quantizedDimension },
				]);
			},
		}] : []),
	]);
	const operatorTable = (operator: Operator, index: number) => () => {
		const layout = optionTables[operator.opcode];
		const where = `operator ${index} (${operator.opcode})`;
		const options: Field[] = layout ? [
			{ slot: 3, kind: "u8", value: layout.union },
			{ slot: 4, kind: "offset", write: () => out.table(optionFields(out, operator, layout, where)) },
		] : [];
		return out.table([
			{ slot: 0, kind: "u32", value: codeIndex[index] },
			{ slot: 1, kind: "offset", write: () => out.scalars("i32", operator.inputs) },
			{ slot: 2, kind: "offset", write: () => out.scalars("i32", operator.outputs) },
			...options,
		]);
	};
	const root = out.table([
		{ slot: 0, kind: "u32", value: model.version },
		{
			slot: 1, kind: "offset", write: () => out.tables(codes.map(({ name, version }) => () => out.table([
				{ slot: 0, kind: "i8", value: Math.min(opcodeOf(name), 127) },
				{ slot: 2, kind: "i32", value: version },
				{ slot: 3, kind: "i32", value: opcodeOf(name) },
			]))),
		},
		{
			slot: 2, kind: "offset", write: () => out.tables([() => out.table([
				{ slot: 0, kind: "offset", write: () => out.tables(subgraph.tensors.map(tensorTable)) },
				{ slot: 1, kind: "offset", write: () => out.scalars("i32", subgraph.inputs) },
				{ slot: 2, kind: "offset", write: () => out.scalars("i32", subgraph.outputs) },
				{ slot: 3, kind: "offset", write: () => out.tables(subgraph.operators.map(operatorTable)) },
				{ slot: 4, kind: "offset", write: () => out.string(subgraph.name) },
			])]),
		},
		{ slot: 3, kind: "offset", write: () => out.string(model.description) },
		// Weights last and 16-byte aligned (as the schema's force_align asks), so kernels can read them in place.
		{
			slot: 4, kind: "offset", write: () => out.tables(model.buffers.map((data) => () => out.table(
				data.length > 0 ? [{ slot: 0, kind: "offset", write: () => out.rawBytes(data, 16) }] : [],
			))),
		},
	]);
	out.u32At(0, root);
	return out.finish();
}
