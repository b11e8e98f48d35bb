/*
 * A reader for the .tflite flatbuffer, written from the schema
 * (tensorflow/lite/schema/schema.fbs), that trusts nothing in the file:
 * every offset, vtable, vector length and field is checked against the
 * buffer's bounds before it is read, and every read goes through memcpy so
 * that no unaligned access is made. A corrupt file ends in a TflError naming
 * what was wrong, never an out-of-bounds read.
 *
 * Only what the interpreter needs is read: the version, the operator codes,
 * the one subgraph (tensors, inputs, outputs, operators and their builtin
 * options) and the buffers (as offsets into the file).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interpreter.h"

#define TFL_SCHEMA_VERSION 3
/* Far beyond any model of ours; bounds the allocations a corrupt count could ask for. */
#define TFL_MAX_TENSORS 100000
#define TFL_MAX_OPERATORS 100000
#define TFL_MAX_OP_IO 64

int tflFail(TflError *error, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(error->message, sizeof(error->message), format, arguments);
	va_end(arguments);
	return -1;
}

const char *tflOpName(int32_t code)
{
	switch (code) {
	case TFL_OP_ADD: return "ADD";
	case 1: return "AVERAGE_POOL_2D";
	case TFL_OP_CONCATENATION: return "CONCATENATION";
	case TFL_OP_CONV_2D: return "CONV_2D";
	case TFL_OP_DEPTHWISE_CONV_2D: return "DEPTHWISE_CONV_2D";
	case TFL_OP_DEQUANTIZE: return "DEQUANTIZE";
	case 9: return "FULLY_CONNECTED";
	case 14: return "LOGISTIC";
	case TFL_OP_MAX_POOL_2D: return "MAX_POOL_2D";
	case 18: return "MUL";
	case TFL_OP_RELU: return "RELU";
	case TFL_OP_RELU_N1_TO_1: return "RELU_N1_TO_1";
	case TFL_OP_RELU6: return "RELU6";
	case TFL_OP_RESHAPE: return "RESHAPE";
	case TFL_OP_RESIZE_BILINEAR: return "RESIZE_BILINEAR";
	case 25: return "SOFTMAX";
	case 28: return "TANH";
	case 32: return "CUSTOM";
	case TFL_OP_PAD: return "PAD";
	case 41: return "SUB";
	case TFL_OP_PADV2: return "PADV2";
	case 97: return "RESIZE_NEAREST_NEIGHBOR";
	case TFL_OP_QUANTIZE: return "QUANTIZE";
	case 117: return "HARD_SWISH";
	default: return NULL;
	}
}

const char *tflTypeName(int type)
{
	static const char *names[] = {
		"float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16", "complex64", "int8",
		"float64", "complex128", "uint64", "resource", "variant", "uint32", "uint16", "int4",
	};
	if ((type >= 0) && (type < (int)(sizeof(names) / sizeof(names[0]))))
		return names[type];
	return "unknown";
}

/* ---- the flatbuffer primitives ---- */

typedef struct {
	const uint8_t *bytes;
	size_t length;
	TflError *error;
} Reader;

typedef struct {
	size_t position;
	size_t size;
	size_t vtable;
	size_t vtableSize;
	const char *what;
} Table;

static int inBounds(const Reader *reader, size_t position, size_t size)
{
	return (position <= reader->length) && (size <= reader->length - position);
}

static uint32_t readU32(const Reader *reader, size_t position)
{
	uint32_t value;
	memcpy(&value, reader->bytes + position, 4);
	return value;
}

static uint16_t readU16(const Reader *reader, size_t position)
{
	uint16_t value;
	memcpy(&value, reader->bytes + position, 2);
	return value;
}

static int openTable(Reader *reader, size_t position, const char *what, Table *table)
{
	int32_t back;
	int64_t vtable;
	table->what = what;
	table->position = position;
	if (!inBounds(reader, position, 4))
		return tflFail(reader->error, "model: %s table at %zu is outside the file (%zu bytes)", what, position, reader->length);
	back = (int32_t)readU32(reader, position);
	vtable = (int64_t)position - (int64_t)back;
	if ((vtable < 0) || !inBounds(reader, (size_t)vtable, 4))
		return tflFail(reader->error, "model: %s table's vtable is outside the file", what);
	table->vtable = (size_t)vtable;
	table->vtableSize = readU16(reader, table->vtable);
	table->size = readU16(reader, table->vtable + 2);
	if ((table->vtableSize < 4) || (table->vtableSize & 1) || !inBounds(reader, table->vtable, table->vtableSize))
		return tflFail(reader->error, "model: %s table's vtable is corrupt", what);
	if ((table->size < 4) || !inBounds(reader, position, table->size))
		return tflFail(reader->error, "model: %s table is truncated", what);
	return 0;
}

/* 1 and the field's position if present, 0 if absent, -1 if it lies outside its table. */
static int field(Reader *reader, const Table *table, int index, size_t size, size_t *position)
{
	size_t slot = 4 + 2 * (size_t)index;
	uint16_t offset;
	*position = 0;
	if (slot + 2 > table->vtableSize)
		return 0;
	offset = readU16(reader, table->vtable + slot);
	if (!offset)
		return 0;
	if ((offset < 4) || (offset + size > table->size))
		return tflFail(reader->error, "model: %s table's field %d is outside the table", table->what, index);
	*position = table->position + offset;
	return 1;
}

static int scalarU32(Reader *reader, const Table *table, int index, uint32_t fallback, uint32_t *value)
{
	size_t position;
	int found = field(reader, table, index, 4, &position);
	if (found < 0)
		return -1;
	*value = found ? readU32(reader, position) : fallback;
	return 0;
}

static int scalarI32(Reader *reader, const Table *table, int index, int32_t fallback, int32_t *value)
{
	uint32_t raw;
	if (scalarU32(reader, table, index, (uint32_t)fallback, &raw) < 0)
		return -1;
	*value = (int32_t)raw;
	return 0;
}

static int scalarU8(Reader *reader, const Table *table, int index, uint8_t fallback, uint8_t *value)
{
	size_t position;
	int found = field(reader, table, index, 1, &position);
	if (found < 0)
		return -1;
	*value = found ? reader->bytes[position] : fallback;
	return 0;
}

static int scalarU64(Reader *reader, const Table *table, int index, uint64_t *value)
{
	size_t position;
	int found = field(reader, table, index, 8, &position);
	if (found < 0)
		return -1;
	*value = 0;
	if (found)
		memcpy(value, reader->bytes + position, 8);
	return 0;
}

/* The target of the uoffset field `index`: 1 if present, 0 if absent, -1 on error. */
static int reference(Reader *reader, const Table *table, int index, size_t *target, const char *what)
{
	size_t position;
	uint64_t destination;
	int found = field(reader, table, index, 4, &position);
	if (found <= 0)
		return found;
	destination = (uint64_t)position + readU32(reader, position);
	if (destination > reader->length)
		return tflFail(reader->error, "model: %s points outside the file", what);
	*target = (size_t)destination;
	return 1;
}

/* The vector in field `index`: its elements' position and count (0 when absent). */
static int vector(Reader *reader, const Table *table, int index, size_t elementSize, size_t *elements, size_t *count, const char *what)
{
	size_t start;
	uint32_t length;
	int found = reference(reader, table, index, &start, what);
	*count = 0;
	*elements = 0;
	if (found <= 0)
		return found;
	if (!inBounds(reader, start, 4))
		return tflFail(reader->error, "model: %s's length is outside the file", what);
	length = readU32(reader, start);
	if ((uint64_t)length * elementSize > (uint64_t)(reader->length - start - 4))
		return tflFail(reader->error, "model: %s (%u elements) runs past the end of the file", what, (unsigned)length);
	*elements = start + 4;
	*count = length;
	return 1;
}

/* The table that element `i` of a vector of tables points to. */
static int vectorTable(Reader *reader, size_t elements, size_t i, const char *what, Table *table)
{
	size_t slot = elements + 4 * i;
	uint64_t destination = (uint64_t)slot + readU32(reader, slot);
	if (destination > reader->length)
		return tflFail(reader->error, "model: %s %zu points outside the file", what, i);
	return openTable(reader, (size_t)destination, what, table);
}

static int int32Vector(Reader *reader, const Table *table, int index, size_t limit, int32_t **values, int *count, const char *what)
{
	size_t elements, length, i;
	if (vector(reader, table, index, 4, &elements, &length, what) < 0)
		return -1;
	if (length > limit)
		return tflFail(reader->error, "model: %s has %zu entries, more than %zu", what, length, limit);
	*values = calloc(length ? length : 1, sizeof(int32_t));
	if (!*values)
		return tflFail(reader->error, "model: out of memory");
	for (i = 0; i < length; i++)
		(*values)[i] = (int32_t)readU32(reader, elements + 4 * i);
	*count = (int)length;
	return 0;
}

/* ---- the model ---- */

static int readQuantization(Reader *reader, const Table *tensorTable, TflTensor *tensor, int index)
{
	Table table;
	size_t position, scales, scaleCount, zeros, zeroCount, i;
	uint8_t detailsType;
	int found = reference(reader, tensorTable, 4, &position, "a tensor's quantization");
	tensor->scale = 1;
	tensor->zeroPoint = 0;
	if (found <= 0)
		return found;
	if (openTable(reader, position, "quantization", &table) < 0)
		return -1;
	if ((vector(reader, &table, 2, 4, &scales, &scaleCount, "a quantization's scales") < 0)
			|| (vector(reader, &table, 3, 8, &zeros, &zeroCount, "a quantization's zero points") < 0)
			|| (scalarU8(reader, &table, 4, 0, &detailsType) < 0)
			|| (scalarI32(reader, &table, 6, 0, &tensor->quantDimension) < 0))
		return -1;
	if (detailsType)
		return tflFail(reader->error, "model: tensor %d uses custom quantization, which is not supported", index);
	if (!scaleCount)
		return 0;
	if ((zeroCount != scaleCount) && (zeroCount != 0))
		return tflFail(reader->error, "model: tensor %d has %zu scales but %zu zero points", index, scaleCount, zeroCount);
	if (scaleCount > (size_t)TFL_MAX_TENSORS)
		return tflFail(reader->error, "model: tensor %d has too many scales", index);
	tensor->scales = calloc(scaleCount, sizeof(float));
	tensor->zeroPoints = calloc(scaleCount, sizeof(int32_t));
	if (!tensor->scales || !tensor->zeroPoints)
		return tflFail(reader->error, "model: out of memory");
	for (i = 0; i < scaleCount; i++) {
		int64_t zero = 0;
		memcpy(&tensor->scales[i], reader->bytes + scales + 4 * i, 4);
		if (zeroCount)
			memcpy(&zero, reader->bytes + zeros + 8 * i, 8);
		if ((zero < INT32_MIN) || (zero > INT32_MAX))
			return tflFail(reader->error, "model: tensor %d has a zero point out of range", index);
		tensor->zeroPoints[i] = (int32_t)zero;
	}
	tensor->quantCount = (int)scaleCount;
	tensor->scale = tensor->scales[0];
	tensor->zeroPoint = tensor->zeroPoints[0];
	return 0;
}

static size_t typeSize(int type)
{
	switch (type) {
	case TFL_FLOAT32: case TFL_INT32: return 4;
	case TFL_FLOAT16: return 2;
	case TFL_INT8: case TFL_UINT8: return 1;
	case TFL_INT64: return 8;
	default: return 0;
	}
}

static int readTensor(Reader *reader, const Table *table, TflTensor *tensor, int index, size_t bufferCount, const size_t *bufferOffsets, const size_t *bufferLengths)
{
	size_t shape, rank, i, sparsity;
	uint8_t type, variable;
	uint64_t count = 1;
	if (vector(reader, table, 0, 4, &shape, &rank, "a tensor's shape") < 0)
		return -1;
	if (rank > TFL_MAX_RANK)
		return tflFail(reader->error, "model: tensor %d has %zu dimensions, more than %d", index, rank, TFL_MAX_RANK);
	tensor->rank = (int)rank;
	for (i = 0; i < rank; i++) {
		int32_t dim = (int32_t)readU32(reader, shape + 4 * i);
		if (dim < 1)
			return tflFail(reader->error, "model: tensor %d has a dimension of %d (dynamic shapes are not supported)", index, (int)dim);
		tensor->dims[i] = dim;
		count *= (uint64_t)dim;
		if (count > (1u << 28))
			return tflFail(reader->error, "model: tensor %d is too large", index);
	}
	tensor->count = (size_t)count;
	if ((scalarU8(reader, table, 1, 0, &type) < 0) || (scalarU32(reader, table, 2, 0, &tensor->buffer) < 0)
			|| (scalarU8(reader, table, 5, 0, &variable) < 0))
		return -1;
	tensor->type = type;
	if (!typeSize(type))
		return tflFail(reader->error, "model: tensor %d has type %s, which is not supported", index, tflTypeName(type));
	tensor->bytes = tensor->count * typeSize(type);
	if (variable)
		return tflFail(reader->error, "model: tensor %d is a variable tensor, which is not supported", index);
	if (reference(reader, table, 6, &sparsity, "a tensor's sparsity") != 0)
		return (reader->error->message[0]) ? -1 : tflFail(reader->error, "model: tensor %d is sparse, which is not supported", index);
	if (tensor->buffer >= bufferCount)
		return tflFail(reader->error, "model: tensor %d names buffer %u of %zu", index, (unsigned)tensor->buffer, bufferCount);
	if (bufferLengths[tensor->buffer]) {
		if (bufferLengths[tensor->buffer] != tensor->bytes)
			return tflFail(reader->error, "model: tensor %d has %zu bytes of data, its shape needs %zu", index, bufferLengths[tensor->buffer], tensor->bytes);
		tensor->hasData = 1;
		tensor->dataOffset = bufferOffsets[tensor->buffer];
		tensor->dataLength = bufferLengths[tensor->buffer];
	}
	return readQuantization(reader, table, tensor, index);
}

static int readOptions(Reader *reader, const Table *operatorTable, TflOperator *op, int index)
{
	Table table;
	size_t position;
	uint8_t padding = 0, activation = 0, align = 0, halfPixel = 0;
	int found;
	op->strideW = op->strideH = 0;
	op->dilationW = op->dilationH = 1;
	op->depthMultiplier = 0;
	op->filterW = op->filterH = 0;
	op->axis = 0;
	found = reference(reader, operatorTable, 4, &position, "an operator's options");
	if (found < 0)
		return -1;
	if (!found)
		return 0;
	if (openTable(reader, position, "operator options", &table) < 0)
		return -1;
	switch (op->code) {
	case TFL_OP_CONV_2D:
		if ((scalarU8(reader, &table, 0, 0, &padding) < 0) || (scalarI32(reader, &table, 1, 0, &op->strideW) < 0)
				|| (scalarI32(reader, &table, 2, 0, &op->strideH) < 0) || (scalarU8(reader, &table, 3, 0, &activation) < 0)
				|| (scalarI32(reader, &table, 4, 1, &op->dilationW) < 0) || (scalarI32(reader, &table, 5, 1, &op->dilationH) < 0))
			return -1;
		break;
	case TFL_OP_DEPTHWISE_CONV_2D:
		if ((scalarU8(reader, &table, 0, 0, &padding) < 0) || (scalarI32(reader, &table, 1, 0, &op->strideW) < 0)
				|| (scalarI32(reader, &table, 2, 0, &op->strideH) < 0) || (scalarI32(reader, &table, 3, 0, &op->depthMultiplier) < 0)
				|| (scalarU8(reader, &table, 4, 0, &activation) < 0)
				|| (scalarI32(reader, &table, 5, 1, &op->dilationW) < 0) || (scalarI32(reader, &table, 6, 1, &op->dilationH) < 0))
			return -1;
		break;
	case TFL_OP_MAX_POOL_2D:
		if ((scalarU8(reader, &table, 0, 0, &padding) < 0) || (scalarI32(reader, &table, 1, 0, &op->strideW) < 0)
				|| (scalarI32(reader, &table, 2, 0, &op->strideH) < 0) || (scalarI32(reader, &table, 3, 0, &op->filterW) < 0)
				|| (scalarI32(reader, &table, 4, 0, &op->filterH) < 0) || (scalarU8(reader, &table, 5, 0, &activation) < 0))
			return -1;
		break;
	case TFL_OP_CONCATENATION:
		if ((scalarI32(reader, &table, 0, 0, &op->axis) < 0) || (scalarU8(reader, &table, 1, 0, &activation) < 0))
			return -1;
		break;
	case TFL_OP_ADD:
		if (scalarU8(reader, &table, 0, 0, &activation) < 0)
			return -1;
		break;
	case TFL_OP_RESIZE_BILINEAR:
		if ((scalarU8(reader, &table, 2, 0, &align) < 0) || (scalarU8(reader, &table, 3, 0, &halfPixel) < 0))
			return -1;
		break;
	default:
		/* RESHAPE's new_shape repeats its output tensor's shape, which is what is used. */
		break;
	}
	op->padding = padding;
	op->activation = activation;
	op->alignCorners = align != 0;
	op->halfPixelCenters = halfPixel != 0;
	(void)index;
	return 0;
}

static int checkIndices(Reader *reader, const int32_t *indices, int count, int tensorCount, int allowOptional, const char *what, int index)
{
	int i;
	for (i = 0; i < count; i++) {
		if ((indices[i] == -1) && allowOptional)
			continue;
		if ((indices[i] < 0) || (indices[i] >= tensorCount))
			return tflFail(reader->error, "model: %s %d names tensor %d of %d", what, index, (int)indices[i], tensorCount);
	}
	return 0;
}

static int readModel(Reader *reader, TflModel *model, size_t **bufferOffsetsOut, size_t **bufferLengthsOut, int32_t **codesOut)
{
	Table root, subgraph, table;
	size_t codes, codeCount, subgraphs, subgraphCount, buffers, bufferCount, tensors, tensorCount, operators, operatorCount, i;
	size_t *bufferOffsets, *bufferLengths;
	int32_t *opcodes;

	if (reader->length < 8)
		return tflFail(reader->error, "model: %zu bytes is too short for a .tflite file", reader->length);
	if (openTable(reader, readU32(reader, 0), "model", &root) < 0)
		return -1;
	if (scalarU32(reader, &root, 0, 0, &model->version) < 0)
		return -1;
	if (model->version != TFL_SCHEMA_VERSION)
		return tflFail(reader->error, "model: schema version %u, expected %d", (unsigned)model->version, TFL_SCHEMA_VERSION);

	if (vector(reader, &root, 4, 4, &buffers, &bufferCount, "the buffers") < 0)
		return -1;
	if (bufferCount > (size_t)TFL_MAX_TENSORS + 1)
		return tflFail(reader->error, "model: %zu buffers is too many", bufferCount);
	*bufferOffsetsOut = bufferOffsets = calloc(bufferCount + 1, sizeof(size_t));
	*bufferLengthsOut = bufferLengths = calloc(bufferCount + 1, sizeof(size_t));
	if (!bufferOffsets || !bufferLengths)
		return tflFail(reader->error, "model: out of memory");
	for (i = 0; i < bufferCount; i++) {
		size_t data, length;
		uint64_t external;
		if (vectorTable(reader, buffers, i, "buffer", &table) < 0)
			return -1;
		if ((vector(reader, &table, 0, 1, &data, &length, "a buffer's data") < 0) || (scalarU64(reader, &table, 1, &external) < 0))
			return -1;
		if (external > 1)
			return tflFail(reader->error, "model: buffer %zu is stored outside the flatbuffer, which is not supported", i);
		bufferOffsets[i] = data;
		bufferLengths[i] = length;
	}

	if (vector(reader, &root, 1, 4, &codes, &codeCount, "the operator codes") < 0)
		return -1;
	if (codeCount > 10000)
		return tflFail(reader->error, "model: %zu operator codes is too many", codeCount);
	*codesOut = opcodes = calloc(codeCount + 1, sizeof(int32_t));
	if (!opcodes)
		return tflFail(reader->error, "model: out of memory");
	for (i = 0; i < codeCount; i++) {
		uint8_t deprecated;
		int32_t builtin;
		if (vectorTable(reader, codes, i, "operator code", &table) < 0)
			return -1;
		if ((scalarU8(reader, &table, 0, 0, &deprecated) < 0) || (scalarI32(reader, &table, 3, 0, &builtin) < 0))
			return -1;
		/* Codes above 127 are only in builtin_code; older files only fill the deprecated byte. */
		opcodes[i] = ((int32_t)(int8_t)deprecated > builtin) ? (int32_t)(int8_t)deprecated : builtin;
	}

	if (vector(reader, &root, 2, 4, &subgraphs, &subgraphCount, "the subgraphs") < 0)
		return -1;
	if (subgraphCount != 1)
		return tflFail(reader->error, "model: %zu subgraphs; exactly one is supported", subgraphCount);
	if (vectorTable(reader, subgraphs, 0, "subgraph", &subgraph) < 0)
		return -1;

	if (vector(reader, &subgraph, 0, 4, &tensors, &tensorCount, "the tensors") < 0)
		return -1;
	if (tensorCount > TFL_MAX_TENSORS)
		return tflFail(reader->error, "model: %zu tensors is too many", tensorCount);
	model->tensors = calloc(tensorCount + 1, sizeof(TflTensor));
	if (!model->tensors)
		return tflFail(reader->error, "model: out of memory");
	model->tensorCount = (int)tensorCount;
	for (i = 0; i < tensorCount; i++) {
		if (vectorTable(reader, tensors, i, "tensor", &table) < 0)
			return -1;
		if (readTensor(reader, &table, &model->tensors[i], (int)i, bufferCount, bufferOffsets, bufferLengths) < 0)
			return -1;
	}

	if ((int32Vector(reader, &subgraph, 1, TFL_MAX_OP_IO, &model->inputs, &model->inputCount, "the subgraph's inputs") < 0)
			|| (int32Vector(reader, &subgraph, 2, TFL_MAX_OP_IO, &model->outputs, &model->outputCount, "the subgraph's outputs") < 0))
		return -1;
	if ((checkIndices(reader, model->inputs, model->inputCount, model->tensorCount, 0, "subgraph input", 0) < 0)
			|| (checkIndices(reader, model->outputs, model->outputCount, model->tensorCount, 0, "subgraph output", 0) < 0))
		return -1;

	if (vector(reader, &subgraph, 3, 4, &operators, &operatorCount, "the operators") < 0)
		return -1;
	if (operatorCount > TFL_MAX_OPERATORS)
		return tflFail(reader->error, "model: %zu operators is too many", operatorCount);
	model->operators = calloc(operatorCount + 1, sizeof(TflOperator));
	if (!model->operators)
		return tflFail(reader->error, "model: out of memory");
	model->operatorCount = (int)operatorCount;
	for (i = 0; i < operatorCount; i++) {
		TflOperator *op = &model->operators[i];
		uint32_t opcodeIndex;
		if (vectorTable(reader, operators, i, "operator", &table) < 0)
			return -1;
		if (scalarU32(reader, &table, 0, 0, &opcodeIndex) < 0)
			return -1;
		if (opcodeIndex >= codeCount)
			return tflFail(reader->error, "model: operator %zu names operator code %u of %zu", i, (unsigned)opcodeIndex, codeCount);
		op->code = opcodes[opcodeIndex];
		if ((int32Vector(reader, &table, 1, TFL_MAX_OP_IO, &op->inputs, &op->inputCount, "an operator's inputs") < 0)
				|| (int32Vector(reader, &table, 2, TFL_MAX_OP_IO, &op->outputs, &op->outputCount, "an operator's outputs") < 0))
			return -1;
		if ((checkIndices(reader, op->inputs, op->inputCount, model->tensorCount, 1, "operator", (int)i) < 0)
				|| (checkIndices(reader, op->outputs, op->outputCount, model->tensorCount, 0, "operator", (int)i) < 0))
			return -1;
		if (readOptions(reader, &table, op, (int)i) < 0)
			return -1;
	}
	return 0;
}

int tflParseModel(const uint8_t *bytes, size_t length, TflModel *model, TflError *error)
{
	Reader reader = { bytes, length, error };
	size_t *bufferOffsets = NULL, *bufferLengths = NULL;
	int32_t *codes = NULL;
	int result;
	memset(model, 0, sizeof(*model));
	error->message[0] = 0;
	model->modelLength = length;
	result = readModel(&reader, model, &bufferOffsets, &bufferLengths, &codes);
	free(bufferOffsets);
	free(bufferLengths);
	free(codes);
	if (result < 0)
		tflFreeModel(model);
	return result;
}

void tflFreeModel(TflModel *model)
{
	int i;
	if (model->tensors) {
		for (i = 0; i < model->tensorCount; i++) {
			free(model->tensors[i].scales);
			free(model->tensors[i].zeroPoints);
		}
	}
	if (model->operators) {
		for (i = 0; i < model->operatorCount; i++) {
			free(model->operators[i].inputs);
			free(model->operators[i].outputs);
			free(model->operators[i].multipliers);
			free(model->operators[i].shifts);
		}
	}
	free(model->tensors);
	free(model->operators);
	free(model->inputs);
	free(model->outputs);
	memset(model, 0, sizeof(*model));
}
