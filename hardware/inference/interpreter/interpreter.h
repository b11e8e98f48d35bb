/*
 * The C TFLite interpreter shared by the simulator host and Moddable's lin:
 * a bounds-checked reader for the .tflite flatbuffer (model.c), the kernels
 * (kernels.c, arithmetic after TFLite Micro's reference kernels) and the XS
 * binding with the arena planner (inference.c).
 *
 * The model's bytes are never kept as a pointer: XS may move an ArrayBuffer's
 * data during garbage collection, so everything that points into the model
 * is stored as an offset and resolved at each call (TflMemory).
 */
#ifndef DOORWARD_INTERPRETER_H
#define DOORWARD_INTERPRETER_H

#include <stddef.h>
#include <stdint.h>

#define TFL_MAX_RANK 6
#define TFL_MESSAGE_BYTES 240

/* TensorType values of the schema. */
enum {
	TFL_FLOAT32 = 0,
	TFL_FLOAT16 = 1,
	TFL_INT32 = 2,
	TFL_UINT8 = 3,
	TFL_INT64 = 4,
	TFL_INT8 = 9,
};

/* BuiltinOperator values of the schema (the ones this interpreter knows). */
enum {
	TFL_OP_ADD = 0,
	TFL_OP_CONCATENATION = 2,
	TFL_OP_CONV_2D = 3,
	TFL_OP_DEPTHWISE_CONV_2D = 4,
	TFL_OP_DEQUANTIZE = 6,
	TFL_OP_MAX_POOL_2D = 17,
	TFL_OP_RELU = 19,
	TFL_OP_RELU_N1_TO_1 = 20,
	TFL_OP_RELU6 = 21,
	TFL_OP_RESHAPE = 22,
	TFL_OP_RESIZE_BILINEAR = 23,
	TFL_OP_PAD = 34,
	TFL_OP_PADV2 = 60,
	TFL_OP_QUANTIZE = 114,
};

/* ActivationFunctionType and Padding values of the schema. */
enum { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU_N1_TO_1 = 2, TFL_ACT_RELU6 = 3 };
enum { TFL_PADDING_SAME = 0, TFL_PADDING_VALID = 1 };

/* Where a tensor's bytes are. */
enum {
	TFL_STORAGE_NONE = 0,	/* never read or written by an op that runs */
	TFL_STORAGE_MODEL,		/* constant data in the model's bytes */
	TFL_STORAGE_PERSISTENT,	/* the arena's persistent part: constants made at construction */
	TFL_STORAGE_PLANNED,	/* the arena's planned part: activations, by lifetime */
};

typedef struct {
	char message[TFL_MESSAGE_BYTES];
} TflError;

typedef struct {
	int rank;
	int32_t dims[TFL_MAX_RANK];
	int type;
	size_t count;
	size_t bytes;
	uint32_t buffer;
	/* Constant data in the model: offset from the model's first byte. */
	int hasData;
	size_t dataOffset;
	size_t dataLength;
	/* Quantization; scale 1 and zero point 0 when there is none. */
	int quantCount;
	float *scales;
	int32_t *zeroPoints;
	int quantDimension;
	float scale;
	int32_t zeroPoint;
	/* Placement. */
	int storage;
	size_t offset;
	int firstUse;
	int lastUse;
	int written;
} TflTensor;

typedef struct {
	int32_t code;
	int inputCount;
	int32_t *inputs;
	int outputCount;
	int32_t *outputs;
	/* Builtin options, defaults filled in. */
	int padding;
	int32_t strideW, strideH, dilationW, dilationH, depthMultiplier, filterW, filterH, axis;
	int activation;
	int alignCorners, halfPixelCenters;
	/* Prepared at construction. */
	int active;
	int channels;
	int32_t *multipliers;
	int32_t *shifts;
	int32_t activationMin, activationMax;
	float activationMinF, activationMaxF;
	int32_t input1Multiplier, input2Multiplier, outputMultiplier;
	int input1Shift, input2Shift, outputShift, leftShift;
	int32_t padBefore[4], padAfter[4];
} TflOperator;

typedef struct {
	uint32_t version;
	size_t modelLength;
	int tensorCount;
	TflTensor *tensors;
	int operatorCount;
	TflOperator *operators;
	int inputCount;
	int32_t *inputs;
	int outputCount;
	int32_t *outputs;
} TflModel;

/* The memory a call works on: resolved at each call, never kept. */
typedef struct {
	const uint8_t *model;
	uint8_t *arena;
	size_t persistentBytes;
} TflMemory;

/* model.c */
int tflParseModel(const uint8_t *bytes, size_t length, TflModel *model, TflError *error);
void tflFreeModel(TflModel *model);
int tflFail(TflError *error, const char *format, ...);
const char *tflOpName(int32_t code);
const char *tflTypeName(int type);

/* kernels.c */
int tflPrepare(TflModel *model, TflOperator *op, const uint8_t *bytes, TflError *error);
void tflEval(const TflModel *model, const TflOperator *op, const TflMemory *memory);
void *tflData(const TflTensor *tensor, const TflMemory *memory);
float tflHalfToFloat(uint16_t half);

#endif
