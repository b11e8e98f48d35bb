/*
 * The kernels, float32 and int8, written after the arithmetic of TFLite
 * Micro's reference kernels (tensorflow/lite/kernels/internal/reference and
 * reference/integer_ops, micro/kernels) so that the simulator computes what
 * the device computes:
 *
 * - int8 rescaling uses QuantizeMultiplier (from a double, at prepare) and
 *   MultiplyByQuantizedMultiplier with the reference's double rounding
 *   (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT);
 * - CONV_2D and DEPTHWISE_CONV_2D are per-channel, with symmetric weights;
 * - ADD rescales both inputs with a left shift of 20, as TFLM's Prepare does.
 *
 * tflPrepare checks everything a kernel relies on (types, ranks, shapes
 * against the op's parameters, quantization) so that tflEval can index
 * without checks: a model whose shapes disagree is refused at construction.
 *
 * Ops that move int8 values without rescaling them (RESHAPE, CONCATENATION,
 * PAD, MAX_POOL_2D, RESIZE_BILINEAR, RELU6) require their input and output
 * quantization to be equal: TFLM would silently reinterpret the values.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interpreter.h"

/* ---- fixed-point helpers (the reference's definitions, restated) ---- */

static int32_t saturatingRoundingDoublingHighMul(int32_t a, int32_t b)
{
	int64_t product;
	int32_t nudge;
	if ((a == b) && (a == INT32_MIN))
		return INT32_MAX;
	product = (int64_t)a * (int64_t)b;
	nudge = (product >= 0) ? (1 << 30) : (1 - (1 << 30));
	return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

static int32_t roundingDivideByPowerOfTwo(int32_t x, int exponent)
{
	const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + ((x < 0) ? 1 : 0);
	return (x >> exponent) + ((remainder > threshold) ? 1 : 0);
}

static int32_t multiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift)
{
	const int left = (shift > 0) ? shift : 0;
	const int right = (shift > 0) ? 0 : -shift;
	/* Wraps like the reference's int32 multiply would on every target we build for. */
	const int32_t shifted = (int32_t)(uint32_t)((uint32_t)x << left);
	return roundingDivideByPowerOfTwo(saturatingRoundingDoublingHighMul(shifted, multiplier), right);
}

static void quantizeMultiplier(double real, int32_t *multiplier, int *shift)
{
	double fraction;
	int64_t fixed;
	if (real == 0.0) {
		*multiplier = 0;
		*shift = 0;
		return;
	}
	fraction = frexp(real, shift);
	fixed = (int64_t)round(fraction * (double)((int64_t)1 << 31));
	if (fixed == ((int64_t)1 << 31)) {
		fixed /= 2;
		++*shift;
	}
	if (*shift < -31) {
		*shift = 0;
		fixed = 0;
	}
	*multiplier = (int32_t)fixed;
}

/* quantizeMultiplier for a rescale factor from the model: one of 2^30 or
 * more (absurd scales, a corrupt model) would shift past 32 bits. */
static int rescale(double real, int32_t *multiplier, int *shift, const char *name, TflError *error)
{
	quantizeMultiplier(real, multiplier, shift);
	if (*shift > 30)
		return tflFail(error, "inference: %s: the quantization scales give a rescale factor of %g, out of range", name, real);
	return 0;
}

static int32_t saturate32(int64_t value)
{
	return (value > INT32_MAX) ? INT32_MAX : (value < INT32_MIN) ? INT32_MIN : (int32_t)value;
}

static int32_t clamp32(int32_t value, int32_t low, int32_t high)
{
	return (value < low) ? low : (value > high) ? high : value;
}

static float clampF(float value, float low, float high)
{
	return (value < low) ? low : (value > high) ? high : value;
}

float tflHalfToFloat(uint16_t half)
{
	const uint32_t sign = (uint32_t)(half >> 15) << 31;
	const uint32_t exponent = (half >> 10) & 0x1F;
	uint32_t mantissa = half & 0x3FF;
	uint32_t bits;
	float value;
	if (exponent == 0x1F)
		bits = sign | 0x7F800000u | (mantissa << 13);
	else if (exponent)
		bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
	else if (!mantissa)
		bits = sign;
	else {
		/* Subnormal: normalize into a float32, which has the range for it. */
		int shift = 0;
		while (!(mantissa & 0x400)) {
			mantissa <<= 1;
			shift++;
		}
		bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
	}
	memcpy(&value, &bits, 4);
	return value;
}

void *tflData(const TflTensor *tensor, const TflMemory *memory)
{
	switch (tensor->storage) {
	case TFL_STORAGE_MODEL: return (void *)(memory->model + tensor->dataOffset);
	case TFL_STORAGE_PERSISTENT: return memory->arena + tensor->offset;
	case TFL_STORAGE_PLANNED: return memory->arena + memory->persistentBytes + tensor->offset;
	default: return NULL;
	}
}

/* ---- prepare ---- */

#define FAIL(...) return tflFail(error, __VA_ARGS__)

static const TflTensor *inputTensor(const TflModel *model, const TflOperator *op, int i)
{
	if ((i >= op->inputCount) || (op->inputs[i] < 0))
		return NULL;
	return &model->tensors[op->inputs[i]];
}

static const TflTensor *outputTensor(const TflModel *model, const TflOperator *op, int i)
{
	return (i < op->outputCount) ? &model->tensors[op->outputs[i]] : NULL;
}

static int validScale(float scale)
{
	return isfinite(scale) && (scale > 0);
}

static int checkQuantized(const TflTensor *tensor, const char *name, const char *role, TflError *error)
{
	if (tensor->type != TFL_INT8)
		return 0;
	if (!tensor->quantCount || !validScale(tensor->scale))
		FAIL("inference: %s: the int8 %s has no valid quantization scale", name, role);
	if ((tensor->zeroPoint < -128) || (tensor->zeroPoint > 127))
		FAIL("inference: %s: the int8 %s's zero point %d is out of range", name, role, (int)tensor->zeroPoint);
	return 0;
}

static int sameQuantization(const TflTensor *a, const TflTensor *b)
{
	return (a->scale == b->scale) && (a->zeroPoint == b->zeroPoint);
}

static int requireSameQuantization(const TflTensor *input, const TflTensor *output, const char *name, TflError *error)
{
	if ((input->type == TFL_INT8) && !sameQuantization(input, output))
		FAIL("inference: %s: int8 input and output must share quantization, it does not rescale (scales %g, %g; zero points %d, %d)",
				name, (double)input->scale, (double)output->scale, (int)input->zeroPoint, (int)output->zeroPoint);
	return 0;
}

static int prepareActivation(TflOperator *op, const TflTensor *output, const char *name, TflError *error)
{
	switch (op->activation) {
	case TFL_ACT_NONE: op->activationMinF = -FLT_MAX; op->activationMaxF = FLT_MAX; break;
	case TFL_ACT_RELU: op->activationMinF = 0; op->activationMaxF = FLT_MAX; break;
	case TFL_ACT_RELU_N1_TO_1: op->activationMinF = -1; op->activationMaxF = 1; break;
	case TFL_ACT_RELU6: op->activationMinF = 0; op->activationMaxF = 6; break;
	default: FAIL("inference: %s: fused activation %d is not supported (NONE, RELU, RELU_N1_TO_1 and RELU6 are)", name, op->activation);
	}
	op->activationMin = -128;
	op->activationMax = 127;
	if (output->type == TFL_INT8) {
		const float scale = output->scale;
		const int32_t zero = output->zeroPoint;
		int32_t low = -128, high = 127;
		if (op->activation != TFL_ACT_NONE) {
			int32_t quantizedMin = zero + (int32_t)roundf(op->activationMinF / scale);
			low = (quantizedMin > low) ? quantizedMin : low;
			if (op->activation != TFL_ACT_RELU) {
				int32_t quantizedMax = zero + (int32_t)roundf(op->activationMaxF / scale);
				high = (quantizedMax < high) ? quantizedMax : high;
			}
		}
		if (low > high)
			FAIL("inference: %s: the fused activation's range is empty at the output's quantization", name);
		op->activationMin = low;
		op->activationMax = high;
	}
	return 0;
}

static int checkCounts(const TflOperator *op, int minInputs, int maxInputs, const char *name, TflError *error)
{
	int i;
	if ((op->inputCount < minInputs) || (op->inputCount > maxInputs))
		FAIL("inference: %s has %d inputs, expected %d to %d", name, op->inputCount, minInputs, maxInputs);
	if (op->outputCount != 1)
		FAIL("inference: %s has %d outputs, expected 1", name, op->outputCount);
	for (i = 0; i < minInputs; i++)
		if (op->inputs[i] < 0)
			FAIL("inference: %s's input %d is missing", name, i);
	return 0;
}

static int checkType(const TflTensor *tensor, int type, const char *name, const char *role, TflError *error)
{
	if (tensor->type != type)
		FAIL("inference: %s: the %s is %s, expected %s", name, role, tflTypeName(tensor->type), tflTypeName(type));
	return 0;
}

static int checkActivationType(const TflTensor *tensor, const char *name, const char *role, TflError *error)
{
	if ((tensor->type != TFL_FLOAT32) && (tensor->type != TFL_INT8))
		FAIL("inference: %s: the %s is %s; float32 and int8 are supported", name, role, tflTypeName(tensor->type));
	return checkQuantized(tensor, name, role, error);
}

static int checkRank(const TflTensor *tensor, int rank, const char *name, const char *role, TflError *error)
{
	if (tensor->rank != rank)
		FAIL("inference: %s: the %s has %d dimensions, expected %d", name, role, tensor->rank, rank);
	return 0;
}

static int32_t outputSize(int padding, int32_t size, int32_t filter, int32_t stride, int32_t dilation)
{
	const int32_t effective = (filter - 1) * dilation + 1;
	if (padding == TFL_PADDING_SAME)
		return (size + stride - 1) / stride;
	return (size + stride - effective) / stride;
}

static int32_t paddingBefore(int32_t stride, int32_t dilation, int32_t size, int32_t filter, int32_t out)
{
	const int32_t effective = (filter - 1) * dilation + 1;
	int32_t total = (out - 1) * stride + effective - size;
	return (total > 0) ? total / 2 : 0;
}

/* Strides, dilations, padding and the output's spatial size; the padding goes to padBefore[1] (height) and [2] (width). */
static int prepareWindow(TflOperator *op, const TflTensor *input, const TflTensor *output, int32_t filterH, int32_t filterW, const char *name, TflError *error)
{
	int32_t expectedH, expectedW;
	if ((op->strideW < 1) || (op->strideH < 1) || (op->strideW > 1024) || (op->strideH > 1024))
		FAIL("inference: %s: strides %dx%d are not supported (at least 1)", name, (int)op->strideH, (int)op->strideW);
	if ((op->dilationW < 1) || (op->dilationH < 1) || (op->dilationW > 1024) || (op->dilationH > 1024))
		FAIL("inference: %s: dilations %dx%d are not supported (at least 1)", name, (int)op->dilationH, (int)op->dilationW);
	if ((op->padding != TFL_PADDING_SAME) && (op->padding != TFL_PADDING_VALID))
		FAIL("inference: %s: padding %d is not supported (SAME or VALID)", name, op->padding);
	if ((filterH < 1) || (filterW < 1) || (filterH > 4096) || (filterW > 4096))
		FAIL("inference: %s: a %dx%d window is not supported", name, (int)filterH, (int)filterW);
	expectedH = outputSize(op->padding, input->dims[1], filterH, op->strideH, op->dilationH);
	expectedW = outputSize(op->padding, input->dims[2], filterW, op->strideW, op->dilationW);
	if ((output->dims[0] != input->dims[0]) || (output->dims[1] != expectedH) || (output->dims[2] != expectedW))
		FAIL("inference: %s: the output is [%d,%d,%d,...], the input and parameters make [%d,%d,%d,...]", name,
				(int)output->dims[0], (int)output->dims[1], (int)output->dims[2], (int)input->dims[0], (int)expectedH, (int)expectedW);
	op->padBefore[1] = paddingBefore(op->strideH, op->dilationH, input->dims[1], filterH, expectedH);
	op->padBefore[2] = paddingBefore(op->strideW, op->dilationW, input->dims[2], filterW, expectedW);
	return 0;
}

static int prepareConvolution(const TflModel *model, TflOperator *op, int depthwise, const char *name, TflError *error)
{
	const TflTensor *input, *filter, *bias, *output;
	int32_t channels, c;
	if (checkCounts(op, 2, 3, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	filter = inputTensor(model, op, 1);
	bias = inputTensor(model, op, 2);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(input, name, "input", error) < 0) || (checkType(output, input->type, name, "output", error) < 0)
			|| (checkQuantized(output, name, "output", error) < 0)
			|| (checkRank(input, 4, name, "input", error) < 0) || (checkRank(filter, 4, name, "filter", error) < 0)
			|| (checkRank(output, 4, name, "output", error) < 0))
		return -1;
	channels = output->dims[3];
	if (depthwise) {
		if (filter->dims[0] != 1)
			FAIL("inference: %s: the filter's first dimension is %d, expected 1", name, (int)filter->dims[0]);
		if (filter->dims[3] != channels)
			FAIL("inference: %s: the filter has %d channels, the output %d", name, (int)filter->dims[3], (int)channels);
		if ((op->depthMultiplier < 1) || ((int64_t)input->dims[3] * op->depthMultiplier != channels))
			FAIL("inference: %s: %d input channels with depth multiplier %d do not make %d output channels", name,
					(int)input->dims[3], (int)op->depthMultiplier, (int)channels);
	}
	else {
		if (filter->dims[0] != channels)
			FAIL("inference: %s: the filter has %d output channels, the output %d", name, (int)filter->dims[0], (int)channels);
		if (filter->dims[3] != input->dims[3])
			FAIL("inference: %s: the filter has %d input channels, the input %d (grouped convolutions are not supported)", name,
					(int)filter->dims[3], (int)input->dims[3]);
	}
	if (prepareWindow(op, input, output, filter->dims[1], filter->dims[2], name, error) < 0)
		return -1;
	if (bias && (bias->count != (size_t)channels))
		FAIL("inference: %s: the bias has %zu values for %d channels", name, bias->count, (int)channels);
	op->channels = channels;
	if (input->type == TFL_FLOAT32) {
		if ((checkType(filter, TFL_FLOAT32, name, "filter", error) < 0) || (bias && (checkType(bias, TFL_FLOAT32, name, "bias", error) < 0)))
			return -1;
		return prepareActivation(op, output, name, error);
	}
	if ((checkType(filter, TFL_INT8, name, "filter", error) < 0) || (bias && (checkType(bias, TFL_INT32, name, "bias", error) < 0)))
		return -1;
	if ((filter->quantCount != 1) && (filter->quantCount != channels))
		FAIL("inference: %s: the filter has %d scales for %d channels", name, filter->quantCount, (int)channels);
	if ((filter->quantCount > 1) && (filter->quantDimension != (depthwise ? 3 : 0)))
		FAIL("inference: %s: the filter is quantized along dimension %d, expected %d", name, (int)filter->quantDimension, depthwise ? 3 : 0);
	op->multipliers = calloc((size_t)channels, sizeof(int32_t));
	op->shifts = calloc((size_t)channels, sizeof(int32_t));
	if (!op->multipliers || !op->shifts)
		FAIL("inference: out of memory");
	for (c = 0; c < channels; c++) {
		const int which = (filter->quantCount > 1) ? c : 0;
		int shift;
		if (!validScale(filter->scales[which]))
			FAIL("inference: %s: the filter's scale for channel %d is not positive", name, (int)c);
		if (filter->zeroPoints[which] != 0)
			FAIL("inference: %s: the filter's zero point for channel %d is %d; int8 weights must be symmetric", name, (int)c, (int)filter->zeroPoints[which]);
		if (rescale((double)input->scale * (double)filter->scales[which] / (double)output->scale, &op->multipliers[c], &shift, name, error) < 0)
			return -1;
		op->shifts[c] = shift;
	}
	return prepareActivation(op, output, name, error);
}

static int prepareAdd(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *a, *b, *output;
	int i;
	if (checkCounts(op, 2, 2, name, error) < 0)
		return -1;
	a = inputTensor(model, op, 0);
	b = inputTensor(model, op, 1);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(a, name, "first input", error) < 0) || (checkType(b, a->type, name, "second input", error) < 0)
			|| (checkQuantized(b, name, "second input", error) < 0)
			|| (checkType(output, a->type, name, "output", error) < 0) || (checkQuantized(output, name, "output", error) < 0))
		return -1;
	if ((a->rank > 4) || (b->rank > 4) || (output->rank > 4))
		FAIL("inference: %s: more than 4 dimensions are not supported", name);
	/* Broadcasting as numpy: dimensions aligned from the last, each 1 or equal to the output's. */
	for (i = 0; i < 4; i++) {
		const int32_t da = (i < 4 - a->rank) ? 1 : a->dims[i - (4 - a->rank)];
		const int32_t db = (i < 4 - b->rank) ? 1 : b->dims[i - (4 - b->rank)];
		const int32_t dout = (i < 4 - output->rank) ? 1 : output->dims[i - (4 - output->rank)];
		const int32_t expected = (da > db) ? da : db;
		if (((da != 1) && (da != expected)) || ((db != 1) && (db != expected)) || (dout != expected))
			FAIL("inference: %s: the inputs' shapes do not broadcast to the output's", name);
	}
	if (a->type == TFL_INT8) {
		const double twiceMaxScale = 2.0 * (double)((a->scale > b->scale) ? a->scale : b->scale);
		op->leftShift = 20;
		quantizeMultiplier((double)a->scale / twiceMaxScale, &op->input1Multiplier, &op->input1Shift);
		quantizeMultiplier((double)b->scale / twiceMaxScale, &op->input2Multiplier, &op->input2Shift);
		quantizeMultiplier(twiceMaxScale / ((double)(1 << op->leftShift) * (double)output->scale), &op->outputMultiplier, &op->outputShift);
		if ((op->input1Shift > 0) || (op->input2Shift > 0) || (op->outputShift > 0))
			FAIL("inference: %s: the output's scale is too small for the inputs' (the rescaling multiplier must be below 1)", name);
	}
	return prepareActivation(op, output, name, error);
}

static int prepareMaxPool(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *input, *output;
	if (checkCounts(op, 1, 1, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(input, name, "input", error) < 0) || (checkType(output, input->type, name, "output", error) < 0)
			|| (checkQuantized(output, name, "output", error) < 0)
			|| (checkRank(input, 4, name, "input", error) < 0) || (checkRank(output, 4, name, "output", error) < 0)
			|| (requireSameQuantization(input, output, name, error) < 0))
		return -1;
	if (output->dims[3] != input->dims[3])
		FAIL("inference: %s: the output has %d channels, the input %d", name, (int)output->dims[3], (int)input->dims[3]);
	op->dilationW = op->dilationH = 1;
	if (prepareWindow(op, input, output, op->filterH, op->filterW, name, error) < 0)
		return -1;
	return prepareActivation(op, output, name, error);
}

/* An int32 constant's values, read at prepare from the model's bytes. */
static int constantInt32(const TflTensor *tensor, const uint8_t *bytes, int32_t *values, size_t count, const char *name, const char *role, TflError *error)
{
	if (tensor->type != TFL_INT32)
		FAIL("inference: %s: the %s is %s, expected int32", name, role, tflTypeName(tensor->type));
	if (!tensor->hasData)
		FAIL("inference: %s: the %s must be a constant", name, role);
	if (tensor->count != count)
		FAIL("inference: %s: the %s has %zu values, expected %zu", name, role, tensor->count, count);
	memcpy(values, bytes + tensor->dataOffset, count * 4);
	return 0;
}

static int preparePad(const TflModel *model, TflOperator *op, const uint8_t *bytes, const char *name, TflError *error)
{
	const TflTensor *input, *paddings, *value, *output;
	int32_t pads[8];
	int i, shift;
	if (checkCounts(op, 2, 3, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	paddings = inputTensor(model, op, 1);
	value = inputTensor(model, op, 2);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(input, name, "input", error) < 0) || (checkType(output, input->type, name, "output", error) < 0)
			|| (checkQuantized(output, name, "output", error) < 0) || (requireSameQuantization(input, output, name, error) < 0))
		return -1;
	if ((input->rank > 4) || (input->rank < 1) || (output->rank != input->rank))
		FAIL("inference: %s: the input and output must have the same number of dimensions, 1 to 4", name);
	if (constantInt32(paddings, bytes, pads, (size_t)input->rank * 2, name, "paddings", error) < 0)
		return -1;
	if (value) {
		if (checkType(value, input->type, name, "pad value", error) < 0)
			return -1;
		if (value->count != 1)
			FAIL("inference: %s: the pad value must be one value, not %zu", name, value->count);
		if ((input->type == TFL_INT8) && !sameQuantization(value, output))
			FAIL("inference: %s: the pad value's quantization differs from the output's", name);
	}
	shift = 4 - input->rank;
	for (i = 0; i < 4; i++) {
		op->padBefore[i] = op->padAfter[i] = 0;
	}
	for (i = 0; i < input->rank; i++) {
		if ((pads[2 * i] < 0) || (pads[2 * i + 1] < 0))
			FAIL("inference: %s: negative paddings are not supported", name);
		if ((int64_t)input->dims[i] + pads[2 * i] + pads[2 * i + 1] != output->dims[i])
			FAIL("inference: %s: dimension %d is %d, padded %d+%d, but the output's is %d", name, i, (int)input->dims[i],
					(int)pads[2 * i], (int)pads[2 * i + 1], (int)output->dims[i]);
		op->padBefore[i + shift] = pads[2 * i];
		op->padAfter[i + shift] = pads[2 * i + 1];
	}
	return 0;
}

static int prepareReshape(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *input, *output;
	if (checkCounts(op, 1, 2, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(input, name, "input", error) < 0) || (checkType(output, input->type, name, "output", error) < 0)
			|| (checkQuantized(output, name, "output", error) < 0) || (requireSameQuantization(input, output, name, error) < 0))
		return -1;
	if (input->count != output->count)
		FAIL("inference: %s: %zu values cannot be reshaped into %zu", name, input->count, output->count);
	return 0;
}

static int prepareConcatenation(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *output;
	int64_t total = 0;
	int i, d;
	if (checkCounts(op, 1, 64, name, error) < 0)
		return -1;
	output = outputTensor(model, op, 0);
	if ((checkActivationType(output, name, "output", error) < 0))
		return -1;
	if (op->activation != TFL_ACT_NONE)
		FAIL("inference: %s: a fused activation is not supported", name);
	if (op->axis < 0)
		op->axis += output->rank;
	if ((op->axis < 0) || (op->axis >= output->rank))
		FAIL("inference: %s: axis %d is outside the output's %d dimensions", name, (int)op->axis, output->rank);
	for (i = 0; i < op->inputCount; i++) {
		const TflTensor *input = inputTensor(model, op, i);
		if (!input)
			FAIL("inference: %s's input %d is missing", name, i);
		if ((checkType(input, output->type, name, "input", error) < 0) || (checkQuantized(input, name, "input", error) < 0)
				|| (requireSameQuantization(input, output, name, error) < 0))
			return -1;
		if (input->rank != output->rank)
			FAIL("inference: %s: input %d has %d dimensions, the output %d", name, i, input->rank, output->rank);
		for (d = 0; d < output->rank; d++)
			if ((d != op->axis) && (input->dims[d] != output->dims[d]))
				FAIL("inference: %s: input %d's dimension %d is %d, the output's %d", name, i, d, (int)input->dims[d], (int)output->dims[d]);
		total += input->dims[op->axis];
	}
	if (total != output->dims[op->axis])
		FAIL("inference: %s: the inputs make %d along axis %d, the output has %d", name, (int)total, (int)op->axis, (int)output->dims[op->axis]);
	return 0;
}

static int prepareDequantize(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *input, *output;
	if (checkCounts(op, 1, 1, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	output = outputTensor(model, op, 0);
	if (checkType(output, TFL_FLOAT32, name, "output", error) < 0)
		return -1;
	if ((input->type != TFL_FLOAT16) && (input->type != TFL_INT8))
		FAIL("inference: %s: the input is %s; float16 and int8 are supported", name, tflTypeName(input->type));
	if ((input->type == TFL_INT8) && ((checkQuantized(input, name, "input", error) < 0)))
		return -1;
	if ((input->type == TFL_INT8) && (input->quantCount > 1))
		FAIL("inference: %s: per-channel dequantization is not supported", name);
	if (input->count != output->count)
		FAIL("inference: %s: the input has %zu values, the output %zu", name, input->count, output->count);
	return 0;
}

static int prepareQuantize(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *input, *output;
	if (checkCounts(op, 1, 1, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	output = outputTensor(model, op, 0);
	if ((checkType(output, TFL_INT8, name, "output", error) < 0) || (checkQuantized(output, name, "output", error) < 0)
			|| (checkActivationType(input, name, "input", error) < 0))
		return -1;
	if (output->quantCount > 1)
		FAIL("inference: %s: per-channel quantization of activations is not supported", name);
	if (input->count != output->count)
		FAIL("inference: %s: the input has %zu values, the output %zu", name, input->count, output->count);
	if ((input->type == TFL_INT8) && (rescale((double)input->scale / (double)output->scale, &op->outputMultiplier, &op->outputShift, name, error) < 0))
		return -1;
	return 0;
}

static int prepareActivationOp(const TflModel *model, TflOperator *op, const char *name, TflError *error)
{
	const TflTensor *input, *output;
	if (checkCounts(op, 1, 1, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(input, name, "input", error) < 0) || (checkType(output, input->type, name, "output", error) < 0)
			|| (checkQuantized(output, name, "output", error) < 0))
		return -1;
	if (input->count != output->count)
		FAIL("inference: %s: the input has %zu values, the output %zu", name, input->count, output->count);
	op->activation = (op->code == TFL_OP_RELU) ? TFL_ACT_RELU : (op->code == TFL_OP_RELU6) ? TFL_ACT_RELU6 : TFL_ACT_RELU_N1_TO_1;
	if (input->type != TFL_INT8)
		return prepareActivation(op, output, name, error);
	if (op->code == TFL_OP_RELU) {
		/* TFLM's ReluQuantized rescales from the input's quantization to the output's. */
		int shift;
		if (rescale((double)input->scale / (double)output->scale, &op->outputMultiplier, &shift, name, error) < 0)
			return -1;
		op->outputShift = shift;
		op->activationMin = output->zeroPoint + (int32_t)roundf(0.0f / output->scale);
		op->activationMin = (op->activationMin > -128) ? op->activationMin : -128;
		op->activationMax = 127;
		return 0;
	}
	if (op->code == TFL_OP_RELU6) {
		/* TFLM's Relu6 clamps to the input's quantized 0 and 6 and does not rescale. */
		float six = roundf(6.0f / input->scale) + (float)input->zeroPoint;
		if (requireSameQuantization(input, output, name, error) < 0)
			return -1;
		op->activationMin = input->zeroPoint;
		op->activationMax = (six > 127.0f) ? 127 : (int32_t)six;
		if (op->activationMax < op->activationMin)
			FAIL("inference: %s: the quantized range of 0 to 6 is empty", name);
		return 0;
	}
	FAIL("inference: %s on int8 is not supported", name);
}

static int prepareResize(const TflModel *model, TflOperator *op, const uint8_t *bytes, const char *name, TflError *error)
{
	const TflTensor *input, *size, *output;
	int32_t sizes[2];
	if (checkCounts(op, 2, 2, name, error) < 0)
		return -1;
	input = inputTensor(model, op, 0);
	size = inputTensor(model, op, 1);
	output = outputTensor(model, op, 0);
	if ((checkActivationType(input, name, "input", error) < 0) || (checkType(output, input->type, name, "output", error) < 0)
			|| (checkQuantized(output, name, "output", error) < 0) || (requireSameQuantization(input, output, name, error) < 0)
			|| (checkRank(input, 4, name, "input", error) < 0) || (checkRank(output, 4, name, "output", error) < 0)
			|| (constantInt32(size, bytes, sizes, 2, name, "size", error) < 0))
		return -1;
	if (op->alignCorners && op->halfPixelCenters)
		FAIL("inference: %s: align_corners and half_pixel_centers cannot both be set", name);
	if ((output->dims[0] != input->dims[0]) || (output->dims[1] != sizes[0]) || (output->dims[2] != sizes[1]) || (output->dims[3] != input->dims[3]))
		FAIL("inference: %s: the output's shape does not match the size %dx%d", name, (int)sizes[0], (int)sizes[1]);
	if ((input->dims[1] > 65535) || (input->dims[2] > 65535) || (sizes[0] > 65535) || (sizes[1] > 65535))
		FAIL("inference: %s: sizes above 65535 are not supported", name);
	return 0;
}

int tflPrepare(TflModel *model, TflOperator *op, const uint8_t *bytes, TflError *error)
{
	const char *name = tflOpName(op->code);
	switch (op->code) {
	case TFL_OP_CONV_2D: return prepareConvolution(model, op, 0, name, error);
	case TFL_OP_DEPTHWISE_CONV_2D: return prepareConvolution(model, op, 1, name, error);
	case TFL_OP_ADD: return prepareAdd(model, op, name, error);
	case TFL_OP_MAX_POOL_2D: return prepareMaxPool(model, op, name, error);
	case TFL_OP_PAD: case TFL_OP_PADV2: return preparePad(model, op, bytes, name, error);
	case TFL_OP_RESHAPE: return prepareReshape(model, op, name, error);
	case TFL_OP_CONCATENATION: return prepareConcatenation(model, op, name, error);
	case TFL_OP_DEQUANTIZE: return prepareDequantize(model, op, name, error);
	case TFL_OP_QUANTIZE: return prepareQuantize(model, op, name, error);
	case TFL_OP_RELU: case TFL_OP_RELU6: case TFL_OP_RELU_N1_TO_1: return prepareActivationOp(model, op, name, error);
	case TFL_OP_RESIZE_BILINEAR: return prepareResize(model, op, bytes, name, error);
	default:
		if (name)
			FAIL("inference: op %s (builtin code %d) is not supported", name, (int)op->code);
		FAIL("inference: op with builtin code %d is not supported", (int)op->code);
	}
}

/* ---- eval ---- */

static void evalConvolutionFloat(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *filter = inputTensor(model, op, 1), *bias = inputTensor(model, op, 2);
	const TflTensor *output = outputTensor(model, op, 0);
	const float *in = tflData(input, memory), *weights = tflData(filter, memory), *biases = bias ? tflData(bias, memory) : NULL;
	float *out = tflData(output, memory);
	const int32_t batches = input->dims[0], height = input->dims[1], width = input->dims[2], depth = input->dims[3];
	const int32_t filterH = filter->dims[1], filterW = filter->dims[2];
	const int32_t outH = output->dims[1], outW = output->dims[2], channels = output->dims[3];
	int32_t b, y, x, c, fy, fx, i;
	for (b = 0; b < batches; b++)
		for (y = 0; y < outH; y++)
			for (x = 0; x < outW; x++)
				for (c = 0; c < channels; c++) {
					const int32_t originY = y * op->strideH - op->padBefore[1], originX = x * op->strideW - op->padBefore[2];
					float total = 0;
					for (fy = 0; fy < filterH; fy++) {
						const int32_t inY = originY + op->dilationH * fy;
						if ((inY < 0) || (inY >= height))
							continue;
						for (fx = 0; fx < filterW; fx++) {
							const int32_t inX = originX + op->dilationW * fx;
							const float *pixel, *taps;
							if ((inX < 0) || (inX >= width))
								continue;
							pixel = in + (((size_t)b * height + inY) * width + inX) * depth;
							taps = weights + (((size_t)c * filterH + fy) * filterW + fx) * depth;
							for (i = 0; i < depth; i++)
								total += pixel[i] * taps[i];
						}
					}
					out[(((size_t)b * outH + y) * outW + x) * channels + c] = clampF(total + (biases ? biases[c] : 0.0f), op->activationMinF, op->activationMaxF);
				}
}

static void evalConvolutionInt8(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *filter = inputTensor(model, op, 1), *bias = inputTensor(model, op, 2);
	const TflTensor *output = outputTensor(model, op, 0);
	const int8_t *in = tflData(input, memory), *weights = tflData(filter, memory);
	const int32_t *biases = bias ? tflData(bias, memory) : NULL;
	int8_t *out = tflData(output, memory);
	const int32_t inputOffset = -input->zeroPoint, outputOffset = output->zeroPoint;
	const int32_t batches = input->dims[0], height = input->dims[1], width = input->dims[2], depth = input->dims[3];
	const int32_t filterH = filter->dims[1], filterW = filter->dims[2];
	const int32_t outH = output->dims[1], outW = output->dims[2], channels = output->dims[3];
	int32_t b, y, x, c, fy, fx, i;
	for (b = 0; b < batches; b++)
		for (y = 0; y < outH; y++)
			for (x = 0; x < outW; x++)
				for (c = 0; c < channels; c++) {
					const int32_t originY = y * op->strideH - op->padBefore[1], originX = x * op->strideW - op->padBefore[2];
					/* 64 bits, saturated to 32 before requantizing: TFLite Micro's
					 * int32 sum cannot overflow for a sane model, and a hostile one
					 * must not reach undefined behaviour here. */
					int64_t accumulator = 0;
					for (fy = 0; fy < filterH; fy++) {
						const int32_t inY = originY + op->dilationH * fy;
						if ((inY < 0) || (inY >= height))
							continue;
						for (fx = 0; fx < filterW; fx++) {
							const int32_t inX = originX + op->dilationW * fx;
							const int8_t *pixel, *taps;
							if ((inX < 0) || (inX >= width))
								continue;
							pixel = in + (((size_t)b * height + inY) * width + inX) * depth;
							taps = weights + (((size_t)c * filterH + fy) * filterW + fx) * depth;
							for (i = 0; i < depth; i++)
								accumulator += (int64_t)taps[i] * ((int32_t)pixel[i] + inputOffset);
						}
					}
					if (biases)
						accumulator += biases[c];
					{
						const int32_t scaled = multiplyByQuantizedMultiplier(saturate32(accumulator), op->multipliers[c], op->shifts[c]) + outputOffset;
						out[(((size_t)b * outH + y) * outW + x) * channels + c] = (int8_t)clamp32(scaled, op->activationMin, op->activationMax);
					}
				}
}

static void evalDepthwiseFloat(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *filter = inputTensor(model, op, 1), *bias = inputTensor(model, op, 2);
	const TflTensor *output = outputTensor(model, op, 0);
	const float *in = tflData(input, memory), *weights = tflData(filter, memory), *biases = bias ? tflData(bias, memory) : NULL;
	float *out = tflData(output, memory);
	const int32_t batches = input->dims[0], height = input->dims[1], width = input->dims[2], depth = input->dims[3];
	const int32_t filterH = filter->dims[1], filterW = filter->dims[2];
	const int32_t outH = output->dims[1], outW = output->dims[2], channels = output->dims[3], multiplier = op->depthMultiplier;
	int32_t b, y, x, ic, m, fy, fx;
	for (b = 0; b < batches; b++)
		for (y = 0; y < outH; y++)
			for (x = 0; x < outW; x++)
				for (ic = 0; ic < depth; ic++)
					for (m = 0; m < multiplier; m++) {
						const int32_t oc = m + ic * multiplier;
						const int32_t originY = y * op->strideH - op->padBefore[1], originX = x * op->strideW - op->padBefore[2];
						float total = 0;
						for (fy = 0; fy < filterH; fy++) {
							const int32_t inY = originY + op->dilationH * fy;
							if ((inY < 0) || (inY >= height))
								continue;
							for (fx = 0; fx < filterW; fx++) {
								const int32_t inX = originX + op->dilationW * fx;
								if ((inX < 0) || (inX >= width))
									continue;
								total += in[(((size_t)b * height + inY) * width + inX) * depth + ic]
										* weights[((size_t)fy * filterW + fx) * channels + oc];
							}
						}
						out[(((size_t)b * outH + y) * outW + x) * channels + oc] = clampF(total + (biases ? biases[oc] : 0.0f), op->activationMinF, op->activationMaxF);
					}
}

static void evalDepthwiseInt8(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *filter = inputTensor(model, op, 1), *bias = inputTensor(model, op, 2);
	const TflTensor *output = outputTensor(model, op, 0);
	const int8_t *in = tflData(input, memory), *weights = tflData(filter, memory);
	const int32_t *biases = bias ? tflData(bias, memory) : NULL;
	int8_t *out = tflData(output, memory);
	const int32_t inputOffset = -input->zeroPoint, outputOffset = output->zeroPoint;
	const int32_t batches = input->dims[0], height = input->dims[1], width = input->dims[2], depth = input->dims[3];
	const int32_t filterH = filter->dims[1], filterW = filter->dims[2];
	const int32_t outH = output->dims[1], outW = output->dims[2], channels = output->dims[3], multiplier = op->depthMultiplier;
	int32_t b, y, x, ic, m, fy, fx;
	for (b = 0; b < batches; b++)
		for (y = 0; y < outH; y++)
			for (x = 0; x < outW; x++)
				for (ic = 0; ic < depth; ic++)
					for (m = 0; m < multiplier; m++) {
						const int32_t oc = m + ic * multiplier;
						const int32_t originY = y * op->strideH - op->padBefore[1], originX = x * op->strideW - op->padBefore[2];
						int64_t accumulator = 0; /* as in the convolution above */
						for (fy = 0; fy < filterH; fy++) {
							const int32_t inY = originY + op->dilationH * fy;
							if ((inY < 0) || (inY >= height))
								continue;
							for (fx = 0; fx < filterW; fx++) {
								const int32_t inX = originX + op->dilationW * fx;
								if ((inX < 0) || (inX >= width))
									continue;
								accumulator += (int64_t)weights[((size_t)fy * filterW + fx) * channels + oc]
										* ((int32_t)in[(((size_t)b * height + inY) * width + inX) * depth + ic] + inputOffset);
							}
						}
						if (biases)
							accumulator += biases[oc];
						{
							const int32_t scaled = multiplyByQuantizedMultiplier(saturate32(accumulator), op->multipliers[oc], op->shifts[oc]) + outputOffset;
							out[(((size_t)b * outH + y) * outW + x) * channels + oc] = (int8_t)clamp32(scaled, op->activationMin, op->activationMax);
						}
					}
}

/* A tensor's shape as 4 dimensions and the strides to step through it as broadcast into `output`. */
static void broadcastStrides(const TflTensor *tensor, size_t strides[4])
{
	int32_t dims[4];
	size_t stride = 1;
	int i;
	for (i = 0; i < 4; i++)
		dims[i] = (i < 4 - tensor->rank) ? 1 : tensor->dims[i - (4 - tensor->rank)];
	for (i = 3; i >= 0; i--) {
		strides[i] = (dims[i] == 1) ? 0 : stride;
		stride *= (size_t)dims[i];
	}
}

static void evalAdd(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *a = inputTensor(model, op, 0), *b = inputTensor(model, op, 1), *output = outputTensor(model, op, 0);
	size_t strideA[4], strideB[4];
	int32_t dims[4];
	size_t index = 0;
	int32_t i0, i1, i2, i3;
	int i;
	broadcastStrides(a, strideA);
	broadcastStrides(b, strideB);
	for (i = 0; i < 4; i++)
		dims[i] = (i < 4 - output->rank) ? 1 : output->dims[i - (4 - output->rank)];
	for (i0 = 0; i0 < dims[0]; i0++)
		for (i1 = 0; i1 < dims[1]; i1++)
			for (i2 = 0; i2 < dims[2]; i2++)
				for (i3 = 0; i3 < dims[3]; i3++, index++) {
					const size_t ia = i0 * strideA[0] + i1 * strideA[1] + i2 * strideA[2] + i3 * strideA[3];
					const size_t ib = i0 * strideB[0] + i1 * strideB[1] + i2 * strideB[2] + i3 * strideB[3];
					if (output->type == TFL_FLOAT32) {
						const float *x = tflData(a, memory), *y = tflData(b, memory);
						((float *)tflData(output, memory))[index] = clampF(x[ia] + y[ib], op->activationMinF, op->activationMaxF);
					}
					else {
						const int8_t *x = tflData(a, memory), *y = tflData(b, memory);
						const int32_t shiftedA = ((int32_t)x[ia] - a->zeroPoint) * (1 << op->leftShift);
						const int32_t shiftedB = ((int32_t)y[ib] - b->zeroPoint) * (1 << op->leftShift);
						const int32_t scaledA = multiplyByQuantizedMultiplier(shiftedA, op->input1Multiplier, op->input1Shift);
						const int32_t scaledB = multiplyByQuantizedMultiplier(shiftedB, op->input2Multiplier, op->input2Shift);
						const int32_t sum = multiplyByQuantizedMultiplier(scaledA + scaledB, op->outputMultiplier, op->outputShift) + output->zeroPoint;
						((int8_t *)tflData(output, memory))[index] = (int8_t)clamp32(sum, op->activationMin, op->activationMax);
					}
				}
}

static void evalMaxPool(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *output = outputTensor(model, op, 0);
	const int32_t batches = input->dims[0], height = input->dims[1], width = input->dims[2], depth = input->dims[3];
	const int32_t outH = output->dims[1], outW = output->dims[2];
	int32_t b, y, x, c, fy, fx;
	for (b = 0; b < batches; b++)
		for (y = 0; y < outH; y++)
			for (x = 0; x < outW; x++)
				for (c = 0; c < depth; c++) {
					const int32_t originY = y * op->strideH - op->padBefore[1], originX = x * op->strideW - op->padBefore[2];
					const int32_t startY = (originY < 0) ? -originY : 0, startX = (originX < 0) ? -originX : 0;
					const int32_t endY = (op->filterH < height - originY) ? op->filterH : height - originY;
					const int32_t endX = (op->filterW < width - originX) ? op->filterW : width - originX;
					const size_t at = (((size_t)b * outH + y) * outW + x) * depth + c;
					if (input->type == TFL_FLOAT32) {
						const float *in = tflData(input, memory);
						float best = -FLT_MAX;
						for (fy = startY; fy < endY; fy++)
							for (fx = startX; fx < endX; fx++) {
								const float value = in[(((size_t)b * height + originY + fy) * width + originX + fx) * depth + c];
								best = (value > best) ? value : best;
							}
						((float *)tflData(output, memory))[at] = clampF(best, op->activationMinF, op->activationMaxF);
					}
					else {
						const int8_t *in = tflData(input, memory);
						int32_t best = -128;
						for (fy = startY; fy < endY; fy++)
							for (fx = startX; fx < endX; fx++) {
								const int32_t value = in[(((size_t)b * height + originY + fy) * width + originX + fx) * depth + c];
								best = (value > best) ? value : best;
							}
						((int8_t *)tflData(output, memory))[at] = (int8_t)clamp32(best, op->activationMin, op->activationMax);
					}
				}
}

static void evalPad(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *value = inputTensor(model, op, 2), *output = outputTensor(model, op, 0);
	const size_t size = (input->type == TFL_FLOAT32) ? 4 : 1;
	const uint8_t *in = tflData(input, memory);
	uint8_t *out = tflData(output, memory);
	uint8_t pad[4] = { 0, 0, 0, 0 };
	int32_t inDims[4], outDims[4];
	int32_t i0, i1, i2, i3;
	size_t index = 0;
	int i;
	if (value)
		memcpy(pad, tflData(value, memory), size);
	else if (input->type == TFL_INT8)
		pad[0] = (uint8_t)(int8_t)output->zeroPoint;
	for (i = 0; i < 4; i++) {
		inDims[i] = (i < 4 - input->rank) ? 1 : input->dims[i - (4 - input->rank)];
		outDims[i] = inDims[i] + op->padBefore[i] + op->padAfter[i];
	}
	for (i0 = 0; i0 < outDims[0]; i0++)
		for (i1 = 0; i1 < outDims[1]; i1++)
			for (i2 = 0; i2 < outDims[2]; i2++)
				for (i3 = 0; i3 < outDims[3]; i3++, index++) {
					const int32_t j0 = i0 - op->padBefore[0], j1 = i1 - op->padBefore[1], j2 = i2 - op->padBefore[2], j3 = i3 - op->padBefore[3];
					if ((j0 < 0) || (j0 >= inDims[0]) || (j1 < 0) || (j1 >= inDims[1]) || (j2 < 0) || (j2 >= inDims[2]) || (j3 < 0) || (j3 >= inDims[3]))
						memcpy(out + index * size, pad, size);
					else
						memcpy(out + index * size, in + ((((size_t)j0 * inDims[1] + j1) * inDims[2] + j2) * inDims[3] + j3) * size, size);
				}
}

static void evalConcatenation(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *output = outputTensor(model, op, 0);
	const size_t size = (output->type == TFL_FLOAT32) ? 4 : 1;
	uint8_t *out = tflData(output, memory);
	size_t outer = 1, inner = 1, o;
	int i, d;
	for (d = 0; d < op->axis; d++)
		outer *= (size_t)output->dims[d];
	for (d = op->axis + 1; d < output->rank; d++)
		inner *= (size_t)output->dims[d];
	for (o = 0; o < outer; o++)
		for (i = 0; i < op->inputCount; i++) {
			const TflTensor *input = inputTensor(model, op, i);
			const size_t chunk = (size_t)input->dims[op->axis] * inner * size;
			memcpy(out, (const uint8_t *)tflData(input, memory) + o * chunk, chunk);
			out += chunk;
		}
}

static void evalDequantize(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *output = outputTensor(model, op, 0);
	float *out = tflData(output, memory);
	size_t i;
	if (input->type == TFL_FLOAT16) {
		const uint8_t *in = tflData(input, memory);
		for (i = 0; i < input->count; i++) {
			uint16_t half;
			memcpy(&half, in + 2 * i, 2);
			out[i] = tflHalfToFloat(half);
		}
	}
	else {
		const int8_t *in = tflData(input, memory);
		const double scale = input->scale;
		for (i = 0; i < input->count; i++)
			out[i] = (float)(scale * (double)((int32_t)in[i] - input->zeroPoint));
	}
}

static void evalQuantize(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *output = outputTensor(model, op, 0);
	int8_t *out = tflData(output, memory);
	size_t i;
	if (input->type == TFL_FLOAT32) {
		const float *in = tflData(input, memory);
		const float scale = (float)(double)output->scale;
		for (i = 0; i < input->count; i++) {
			const float rounded = roundf(in[i] / scale);
			/* Out-of-range and NaN inputs saturate instead of being undefined. */
			int32_t value = (rounded >= 2147483520.0f) ? INT32_MAX : (rounded <= -2147483648.0f) ? INT32_MIN : isnan(rounded) ? 0 : (int32_t)rounded;
			value = (value > INT32_MAX - 256) ? INT32_MAX - 256 : (value < INT32_MIN + 256) ? INT32_MIN + 256 : value;
			out[i] = (int8_t)clamp32(value + output->zeroPoint, -128, 127);
		}
	}
	else {
		const int8_t *in = tflData(input, memory);
		for (i = 0; i < input->count; i++) {
			const int32_t value = multiplyByQuantizedMultiplier((int32_t)in[i] - input->zeroPoint, op->outputMultiplier, op->outputShift) + output->zeroPoint;
			out[i] = (int8_t)clamp32(value, -128, 127);
		}
	}
}

static void evalActivation(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *output = outputTensor(model, op, 0);
	size_t i;
	if (input->type == TFL_FLOAT32) {
		const float *in = tflData(input, memory);
		float *out = tflData(output, memory);
		for (i = 0; i < input->count; i++)
			out[i] = clampF(in[i], op->activationMinF, op->activationMaxF);
	}
	else if (op->code == TFL_OP_RELU) {
		const int8_t *in = tflData(input, memory);
		int8_t *out = tflData(output, memory);
		for (i = 0; i < input->count; i++) {
			const int32_t value = output->zeroPoint + multiplyByQuantizedMultiplier((int32_t)in[i] - input->zeroPoint, op->outputMultiplier, op->outputShift);
			out[i] = (int8_t)clamp32(value, op->activationMin, op->activationMax);
		}
	}
	else {
		const int8_t *in = tflData(input, memory);
		int8_t *out = tflData(output, memory);
		for (i = 0; i < input->count; i++)
			out[i] = (int8_t)clamp32(in[i], op->activationMin, op->activationMax);
	}
}

static void interpolationFloat(int32_t value, float scale, int halfPixel, int32_t size, float *scaled, int32_t *lower, int32_t *upper)
{
	float floorValue;
	int32_t ceiling;
	*scaled = halfPixel ? ((float)value + 0.5f) * scale - 0.5f : (float)value * scale;
	floorValue = floorf(*scaled);
	*lower = ((int32_t)floorValue > 0) ? (int32_t)floorValue : 0;
	ceiling = (int32_t)ceilf(*scaled);
	*upper = (ceiling < size - 1) ? ceiling : size - 1;
}

static void interpolationInteger(int32_t value, int32_t scale10, int halfPixel, int32_t size, int32_t *scaled, int32_t *lower, int32_t *upper)
{
	int32_t low, high;
	*scaled = halfPixel ? value * scale10 + scale10 / 2 - (1 << 9) : value * scale10;
	low = *scaled / (1 << 10);
	/* TFLite Micro clamps only the upper index; with a rounded scale the lower
	 * one can reach `size` on a large upscale, so it is clamped too (the
	 * same results wherever TFLite Micro stays in bounds). */
	*lower = (low > 0) ? ((low < size - 1) ? low : size - 1) : 0;
	high = (*scaled + (1 << 10) - 1) / (1 << 10);
	*upper = (high < size - 1) ? high : size - 1;
}

static void evalResize(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const TflTensor *input = inputTensor(model, op, 0), *output = outputTensor(model, op, 0);
	const int32_t batches = input->dims[0], height = input->dims[1], width = input->dims[2], depth = input->dims[3];
	const int32_t outH = output->dims[1], outW = output->dims[2];
	int32_t b, y, x, c;
#define AT(b, y, x, c) ((((size_t)(b) * height + (y)) * width + (x)) * depth + (c))
	if (input->type == TFL_FLOAT32) {
		const float *in = tflData(input, memory);
		float *out = tflData(output, memory);
		float scaleH = (float)height / (float)outH, scaleW = (float)width / (float)outW;
		if (op->alignCorners && (outH > 1))
			scaleH = (float)(height - 1) / (float)(outH - 1);
		if (op->alignCorners && (outW > 1))
			scaleW = (float)(width - 1) / (float)(outW - 1);
		for (b = 0; b < batches; b++)
			for (y = 0; y < outH; y++) {
				float inY;
				int32_t y0, y1;
				interpolationFloat(y, scaleH, op->halfPixelCenters, height, &inY, &y0, &y1);
				for (x = 0; x < outW; x++) {
					float inX;
					int32_t x0, x1;
					interpolationFloat(x, scaleW, op->halfPixelCenters, width, &inX, &x0, &x1);
					for (c = 0; c < depth; c++) {
						const float dy = inY - (float)y0, dx = inX - (float)x0;
						*out++ = in[AT(b, y0, x0, c)] * (1 - dy) * (1 - dx) + in[AT(b, y1, x0, c)] * dy * (1 - dx)
								+ in[AT(b, y0, x1, c)] * (1 - dy) * dx + in[AT(b, y1, x1, c)] * dy * dx;
					}
				}
			}
	}
	else {
		const int8_t *in = tflData(input, memory);
		int8_t *out = tflData(output, memory);
		int32_t scaleH = ((1 << 10) * height + outH / 2) / outH, scaleW = ((1 << 10) * width + outW / 2) / outW;
		if (op->alignCorners && (outH > 1))
			scaleH = ((1 << 10) * (height - 1) + (outH - 1) / 2) / (outH - 1);
		if (op->alignCorners && (outW > 1))
			scaleW = ((1 << 10) * (width - 1) + (outW - 1) / 2) / (outW - 1);
		for (b = 0; b < batches; b++)
			for (y = 0; y < outH; y++) {
				int32_t inY, y0, y1;
				interpolationInteger(y, scaleH, op->halfPixelCenters, height, &inY, &y0, &y1);
				for (x = 0; x < outW; x++) {
					int32_t inX, x0, x1;
					interpolationInteger(x, scaleW, op->halfPixelCenters, width, &inX, &x0, &x1);
					for (c = 0; c < depth; c++) {
						const int64_t dy = inY - (1 << 10) * y0, dx = inX - (1 << 10) * x0;
						const int64_t sum = (int64_t)in[AT(b, y0, x0, c)] * ((1 << 10) - dy) * ((1 << 10) - dx)
								+ (int64_t)in[AT(b, y1, x0, c)] * dy * ((1 << 10) - dx)
								+ (int64_t)in[AT(b, y0, x1, c)] * ((1 << 10) - dy) * dx
								+ (int64_t)in[AT(b, y1, x1, c)] * dy * dx;
						const int64_t rounding = (sum > 0) ? (1 << 19) : -(1 << 19);
						*out++ = (int8_t)((sum + rounding) / (1 << 20));
					}
				}
			}
	}
#undef AT
}

void tflEval(const TflModel *model, const TflOperator *op, const TflMemory *memory)
{
	const int isFloat = model->tensors[op->outputs[0]].type == TFL_FLOAT32;
	switch (op->code) {
	case TFL_OP_CONV_2D:
		if (isFloat)
			evalConvolutionFloat(model, op, memory);
		else
			evalConvolutionInt8(model, op, memory);
		break;
	case TFL_OP_DEPTHWISE_CONV_2D:
		if (isFloat)
			evalDepthwiseFloat(model, op, memory);
		else
			evalDepthwiseInt8(model, op, memory);
		break;
	case TFL_OP_ADD: evalAdd(model, op, memory); break;
	case TFL_OP_MAX_POOL_2D: evalMaxPool(model, op, memory); break;
	case TFL_OP_PAD: case TFL_OP_PADV2: evalPad(model, op, memory); break;
	case TFL_OP_RESHAPE: {
		const TflTensor *input = inputTensor(model, op, 0), *output = outputTensor(model, op, 0);
		void *from = tflData(input, memory), *to = tflData(output, memory);
		if (from != to)
			memmove(to, from, output->bytes);
		break;
	}
	case TFL_OP_CONCATENATION: evalConcatenation(model, op, memory); break;
	case TFL_OP_DEQUANTIZE: evalDequantize(model, op, memory); break;
	case TFL_OP_QUANTIZE: evalQuantize(model, op, memory); break;
	case TFL_OP_RELU: case TFL_OP_RELU6: case TFL_OP_RELU_N1_TO_1: evalActivation(model, op, memory); break;
	case TFL_OP_RESIZE_BILINEAR: evalResize(model, op, memory); break;
	default: break;
	}
}
