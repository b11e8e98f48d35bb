/*
 * The XS binding of the C TFLite interpreter (the simulator host and lin),
 * and the arena: one malloc'd block per interpreter, held as host data.
 *
 *   [ persistent part | planned part ]
 *
 * The persistent part holds constants made at construction: the float32
 * weights that constant DEQUANTIZE ops make from float16 (those ops then do
 * not run at invoke) and copies of float32/int32 constants that are not
 * 4-byte aligned in the file. The planned part holds every other tensor the
 * ops read or write, at offsets planned from the tensors' lifetimes: the
 * largest first, each at the lowest offset that does not overlap a tensor
 * alive at the same time (first fit, as TFLite Micro's GreedyMemoryPlanner).
 * arenaUsed is the sum of both parts.
 *
 * Constant tensors are read in place from the model's bytes. Those bytes
 * belong to an ArrayBuffer (or a HostBuffer) that interpreter.ts keeps alive
 * and passes to every call: XS may move an ArrayBuffer's data when it
 * collects garbage, so no pointer into it survives a call.
 *
 * invokeAsync (xs_inference_start) runs the model on a thread of its own, so
 * that the XS thread takes button presses, sockets and timers meanwhile, and
 * calls back on the XS thread when it is done:
 * - the run reads the model where it cannot move: a host buffer in place, an
 *   ArrayBuffer through a copy made at the start (into memory kept for the
 *   next run), so a collection on the XS thread cannot pull bytes away;
 * - while it runs, the arena and the input belong to the worker: every other
 *   native refuses with an error (interpreter.ts says which call), close()
 *   too; the instance and the callback are remembered (xsRemember), so the
 *   collector cannot destroy the interpreter under the worker;
 * - the hand-off to the XS thread is the platform's loop: in the simulator
 *   host a pipe that the host's loop watches (hostWatch); on lin an idle
 *   source attached to the GLib main context of the XS thread, as Moddable's
 *   lin_xs.c queues worker jobs;
 * - the worker writes only the arena (and the ranges); the XS thread touches
 *   neither until it has joined the worker, so nothing is shared unlocked.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsmc.h"
#include "interpreter.h"

#if defined(DOORWARD_SIM_PLATFORM_H)
	#include <fcntl.h>
	#include <poll.h>
	#include <unistd.h>
	#include "../../sim/host/host.h"
	#define INFERENCE_SIM_HOST 1
#elif defined(__LINUX_XS__)
	#include <glib.h>
	#define INFERENCE_GLIB 1
#else
	#error "hardware/inference/interpreter: the simulator host or lin (Moddable's Linux simulator)"
#endif

#define ALIGNMENT 16
/* ArrayBuffer lengths are int32 in XS. */
#define MAX_BYTES 0x7FFFFFF0u

typedef struct Interpreter {
	TflModel model;
	uint8_t *arena;
	size_t persistentBytes;
	size_t plannedBytes;
	int *order;
	int activeCount;
	int input;
	float *ranges;
	/* invokeAsync: a copy of a relocatable model for the worker, kept for the next run */
	uint8_t *modelCopy;
	/* set and cleared on the XS thread only: while set, the worker owns the arena */
	int running;
	const uint8_t *runModel;
	pthread_t thread;
	xsMachine *the;
	xsSlot target;		/* the Interpreter instance, remembered while it runs */
	xsSlot callback;	/* called on the XS thread when the run is done */
	struct Interpreter *nextRunning;
#if INFERENCE_GLIB
	GMainContext *context;
#endif
} Interpreter;

static size_t aligned(size_t bytes)
{
	return (bytes + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
}

static void openGate(void);

/* Interpreters whose run has not been handed back yet (XS thread only): a
 * completion for one that is no longer here is ignored. */
static Interpreter *gRunning = NULL;

static void forgetRunning(Interpreter *interpreter)
{
	Interpreter **link;
	for (link = &gRunning; *link; link = &(*link)->nextRunning)
		if (*link == interpreter) {
			*link = interpreter->nextRunning;
			interpreter->nextRunning = NULL;
			return;
		}
}

static int isRunning(Interpreter *interpreter)
{
	Interpreter *each;
	for (each = gRunning; each; each = each->nextRunning)
		if (each == interpreter)
			return 1;
	return 0;
}

static void release(Interpreter *interpreter)
{
	if (!interpreter)
		return;
	/* Only when the machine itself is deleted mid-run (the instance is
	 * remembered meanwhile, and close() refuses): wait, never free under the worker. */
	if (interpreter->running) {
		openGate();
		pthread_join(interpreter->thread, NULL);
		interpreter->running = 0;
		forgetRunning(interpreter);
	}
	tflFreeModel(&interpreter->model);
	free(interpreter->arena);
	free(interpreter->order);
	free(interpreter->ranges);
	free(interpreter->modelCopy);
	free(interpreter);
}

void xs_inference_destructor(void *data)
{
	release(data);
}

static Interpreter *state(xsMachine *the)
{
	Interpreter *interpreter = xsmcGetHostDataValidate(xsThis, (void *)xs_inference_destructor);
	if (!interpreter)
		xsUnknownError("inference: the interpreter is closed");
	/* interpreter.ts refuses first, naming the call; this guards the memory. */
	if (interpreter->running)
		xsUnknownError("inference: the model is running (invokeAsync): wait for it");
	return interpreter;
}

/* The model's bytes for this call; argument `slot` is the buffer the interpreter was made from. */
static const uint8_t *modelBytes(xsMachine *the, Interpreter *interpreter, xsSlot *slot)
{
	void *data;
	xsUnsignedValue count;
	if (xsmcTypeOf(*slot) != xsReferenceType)
		xsTypeError("inference: model must be an ArrayBuffer or a HostBuffer");
	xsmcGetBufferReadable(*slot, &data, &count);
	if ((size_t)count != interpreter->model.modelLength)
		xsRangeError("inference: the model's buffer is %u bytes, it was %u", (unsigned)count, (unsigned)interpreter->model.modelLength);
	if ((uintptr_t)data & 3)
		xsUnknownError("inference: the model's bytes are not 4-byte aligned");
	return data;
}

static TflMemory memoryFor(Interpreter *interpreter, const uint8_t *model)
{
	TflMemory memory = { model, interpreter->arena, interpreter->persistentBytes };
	return memory;
}

/* ---- ranges ---- */

static float realValue(const TflTensor *tensor, const void *data, size_t i)
{
	const uint8_t *bytes = data;
	int channel = 0;
	if ((tensor->quantCount > 1) && (tensor->quantDimension >= 0) && (tensor->quantDimension < tensor->rank)) {
		size_t inner = 1;
		int d;
		for (d = tensor->quantDimension + 1; d < tensor->rank; d++)
			inner *= (size_t)tensor->dims[d];
		channel = (int)((i / inner) % (size_t)tensor->dims[tensor->quantDimension]);
		if (channel >= tensor->quantCount)
			channel = 0;
	}
	switch (tensor->type) {
	case TFL_FLOAT32: {
		float value;
		memcpy(&value, bytes + 4 * i, 4);
		return value;
	}
	case TFL_FLOAT16: {
		uint16_t half;
		memcpy(&half, bytes + 2 * i, 2);
		return tflHalfToFloat(half);
	}
	case TFL_INT8:
		return tensor->quantCount ? tensor->scales[channel] * (float)((int32_t)(int8_t)bytes[i] - tensor->zeroPoints[channel]) : (float)(int8_t)bytes[i];
	case TFL_UINT8:
		return tensor->quantCount ? tensor->scales[channel] * (float)((int32_t)bytes[i] - tensor->zeroPoints[channel]) : (float)bytes[i];
	case TFL_INT32: {
		int32_t value;
		memcpy(&value, bytes + 4 * i, 4);
		return tensor->quantCount ? (float)((double)tensor->scales[channel] * ((double)value - tensor->zeroPoints[channel])) : (float)value;
	}
	case TFL_INT64: {
		int64_t value;
		memcpy(&value, bytes + 8 * i, 8);
		return (float)value;
	}
	default:
		return NAN;
	}
}

static void record(Interpreter *interpreter, int index, const TflMemory *memory)
{
	const TflTensor *tensor = &interpreter->model.tensors[index];
	const void *data = tflData(tensor, memory);
	float low = interpreter->ranges[2 * index], high = interpreter->ranges[2 * index + 1];
	size_t i;
	if (!data)
		return;
	for (i = 0; i < tensor->count; i++) {
		const float value = realValue(tensor, data, i);
		if (isnan(value))
			continue;
		if (isnan(low) || (value < low))
			low = value;
		if (isnan(high) || (value > high))
			high = value;
	}
	interpreter->ranges[2 * index] = low;
	interpreter->ranges[2 * index + 1] = high;
}

/* ---- construction ---- */

typedef struct {
	int tensor;
	int firstUse;
	size_t size;
	size_t offset;
} Placement;

/* Largest first; ties by first use, then by index, so that the plan does not depend on qsort. */
static int compareSize(const void *a, const void *b)
{
	const Placement *x = a, *y = b;
	if (x->size != y->size)
		return (x->size > y->size) ? -1 : 1;
	if (x->firstUse != y->firstUse)
		return (x->firstUse < y->firstUse) ? -1 : 1;
	return x->tensor - y->tensor;
}

static int compareOffset(const void *a, const void *b)
{
	const Placement *x = a, *y = b;
	return (x->offset < y->offset) ? -1 : (x->offset > y->offset) ? 1 : 0;
}

/* First fit by size, largest first; returns the planned part's size. */
static int plan(TflModel *model, size_t *total, TflError *error)
{
	Placement *placements, *conflicts;
	int count = 0, placed, i, j;
	*total = 0;
	placements = calloc((size_t)model->tensorCount + 1, sizeof(Placement));
	conflicts = calloc((size_t)model->tensorCount + 1, sizeof(Placement));
	if (!placements || !conflicts) {
		free(placements);
		free(conflicts);
		return tflFail(error, "inference: out of memory");
	}
	for (i = 0; i < model->tensorCount; i++)
		if (model->tensors[i].storage == TFL_STORAGE_PLANNED) {
			placements[count].tensor = i;
			placements[count].firstUse = model->tensors[i].firstUse;
			placements[count].size = aligned(model->tensors[i].bytes);
			count++;
		}
	qsort(placements, (size_t)count, sizeof(Placement), compareSize);
	for (placed = 0; placed < count; placed++) {
		const TflTensor *tensor = &model->tensors[placements[placed].tensor];
		int conflictCount = 0;
		size_t candidate = 0;
		for (j = 0; j < placed; j++) {
			const TflTensor *other = &model->tensors[placements[j].tensor];
			if ((other->firstUse <= tensor->lastUse) && (tensor->firstUse <= other->lastUse))
				conflicts[conflictCount++] = placements[j];
		}
		qsort(conflicts, (size_t)conflictCount, sizeof(Placement), compareOffset);
		for (j = 0; j < conflictCount; j++) {
			if (candidate + placements[placed].size <= conflicts[j].offset)
				break;
			if (conflicts[j].offset + conflicts[j].size > candidate)
				candidate = conflicts[j].offset + conflicts[j].size;
		}
		placements[placed].offset = candidate;
		model->tensors[placements[placed].tensor].offset = candidate;
		if (candidate + placements[placed].size > *total)
			*total = candidate + placements[placed].size;
	}
	free(placements);
	free(conflicts);
	return 0;
}

static int isFoldedDequantize(const TflModel *model, const TflOperator *op)
{
	return (op->code == TFL_OP_DEQUANTIZE) && (op->inputCount == 1) && (op->inputs[0] >= 0) && model->tensors[op->inputs[0]].hasData;
}

static int build(Interpreter *interpreter, const uint8_t *bytes, size_t length, size_t arenaSize, int recordRanges, TflError *error)
{
	TflModel *model = &interpreter->model;
	size_t persistent = 0, planned = 0, i;
	int k, j, active = 0;

	if (tflParseModel(bytes, length, model, error) < 0) {
		char message[TFL_MESSAGE_BYTES];
		memcpy(message, error->message, sizeof(message));
		return tflFail(error, "inference: %s", message);
	}
	if (model->inputCount != 1)
		return tflFail(error, "inference: the model has %d inputs; exactly one is supported", model->inputCount);
	if (model->outputCount < 1)
		return tflFail(error, "inference: the model has no outputs");
	interpreter->input = model->inputs[0];
	{
		const TflTensor *input = &model->tensors[interpreter->input];
		if ((input->type != TFL_FLOAT32) && (input->type != TFL_INT8))
			return tflFail(error, "inference: the model's input is %s; float32 and int8 are supported", tflTypeName(input->type));
		if (input->hasData)
			return tflFail(error, "inference: the model's input is a constant");
	}
	for (k = 0; k < model->outputCount; k++) {
		const int type = model->tensors[model->outputs[k]].type;
		if ((type != TFL_FLOAT32) && (type != TFL_INT8))
			return tflFail(error, "inference: the model's output %d is %s; float32 and int8 are supported", k, tflTypeName(type));
	}

	/* Every op is checked before anything runs: an unsupported one is named here. */
	for (k = 0; k < model->operatorCount; k++) {
		TflOperator *op = &model->operators[k];
		if (tflPrepare(model, op, bytes, error) < 0) {
			char message[TFL_MESSAGE_BYTES];
			memcpy(message, error->message, sizeof(message));
			return tflFail(error, "%s (operator %d)", message, k);
		}
		op->active = !isFoldedDequantize(model, op);
		for (j = 0; j < op->outputCount; j++) {
			TflTensor *output = &model->tensors[op->outputs[j]];
			if (output->hasData || (op->outputs[j] == interpreter->input))
				return tflFail(error, "inference: operator %d writes tensor %d, which is a constant or the input", k, (int)op->outputs[j]);
			if (output->written)
				return tflFail(error, "inference: tensor %d is written by more than one operator", (int)op->outputs[j]);
			output->written = 1;
			output->storage = op->active ? TFL_STORAGE_PLANNED : TFL_STORAGE_PERSISTENT;
		}
		if (op->active)
			active++;
	}

	/* Constants, the input and the persistent part. */
	for (k = 0; k < model->tensorCount; k++) {
		TflTensor *tensor = &model->tensors[k];
		tensor->firstUse = INT_MAX;
		tensor->lastUse = -1;
		if (tensor->hasData) {
			const int wide = (tensor->type == TFL_FLOAT32) || (tensor->type == TFL_INT32);
			tensor->storage = (wide && (tensor->dataOffset & 3)) ? TFL_STORAGE_PERSISTENT : TFL_STORAGE_MODEL;
		}
		if (tensor->storage == TFL_STORAGE_PERSISTENT) {
			tensor->offset = persistent;
			persistent += aligned(tensor->bytes);
		}
	}
	model->tensors[interpreter->input].storage = TFL_STORAGE_PLANNED;
	model->tensors[interpreter->input].firstUse = -1;
	model->tensors[interpreter->input].lastUse = -1;
	model->tensors[interpreter->input].written = 1;

	/* Lifetimes, in the order the active ops run. */
	interpreter->order = calloc((size_t)active + 1, sizeof(int));
	if (!interpreter->order)
		return tflFail(error, "inference: out of memory");
	for (k = 0; k < model->operatorCount; k++) {
		TflOperator *op = &model->operators[k];
		const int step = interpreter->activeCount;
		if (!op->active)
			continue;
		interpreter->order[interpreter->activeCount++] = k;
		for (j = 0; j < op->inputCount; j++) {
			TflTensor *tensor;
			if (op->inputs[j] < 0)
				continue;
			tensor = &model->tensors[op->inputs[j]];
			if (tensor->storage == TFL_STORAGE_NONE)
				return tflFail(error, "inference: operator %d reads tensor %d, which no operator writes", k, (int)op->inputs[j]);
			if ((tensor->storage == TFL_STORAGE_PLANNED) && (tensor->firstUse > step) && (op->inputs[j] != interpreter->input))
				return tflFail(error, "inference: operator %d reads tensor %d before it is written", k, (int)op->inputs[j]);
			if (tensor->lastUse < step)
				tensor->lastUse = step;
		}
		for (j = 0; j < op->outputCount; j++) {
			TflTensor *tensor = &model->tensors[op->outputs[j]];
			tensor->firstUse = step;
			if (tensor->lastUse < step)
				tensor->lastUse = step;
		}
	}
	for (k = 0; k < model->outputCount; k++) {
		TflTensor *tensor = &model->tensors[model->outputs[k]];
		if (tensor->storage == TFL_STORAGE_NONE)
			return tflFail(error, "inference: the model's output %d (tensor %d) is never written", k, (int)model->outputs[k]);
		tensor->lastUse = interpreter->activeCount;
	}
	if (plan(model, &planned, error) < 0)
		return -1;

	interpreter->persistentBytes = persistent;
	interpreter->plannedBytes = planned;
	if ((persistent + planned > MAX_BYTES) || (arenaSize && (persistent + planned > arenaSize)))
		return tflFail(error, "inference: the model needs an arena of %zu bytes (%zu persistent, %zu for tensors), more than the %zu given",
				persistent + planned, persistent, planned, arenaSize ? arenaSize : (size_t)MAX_BYTES);
	interpreter->arena = calloc(1, persistent + planned + 1);
	if (!interpreter->arena)
		return tflFail(error, "inference: cannot allocate an arena of %zu bytes", persistent + planned);

	/* Fill the persistent part: aligned copies, then the folded DEQUANTIZE ops. */
	{
		const TflMemory memory = { bytes, interpreter->arena, persistent };
		for (k = 0; k < model->tensorCount; k++) {
			const TflTensor *tensor = &model->tensors[k];
			if ((tensor->storage == TFL_STORAGE_PERSISTENT) && tensor->hasData)
				memcpy(interpreter->arena + tensor->offset, bytes + tensor->dataOffset, tensor->bytes);
		}
		for (k = 0; k < model->operatorCount; k++)
			if (!model->operators[k].active)
				tflEval(model, &model->operators[k], &memory);
		if (recordRanges) {
			interpreter->ranges = malloc(sizeof(float) * 2 * ((size_t)model->tensorCount + 1));
			if (!interpreter->ranges)
				return tflFail(error, "inference: out of memory");
			for (i = 0; i < 2 * (size_t)model->tensorCount; i++)
				interpreter->ranges[i] = NAN;
			for (k = 0; k < model->tensorCount; k++)
				if ((model->tensors[k].storage == TFL_STORAGE_MODEL) || (model->tensors[k].storage == TFL_STORAGE_PERSISTENT))
					record(interpreter, k, &memory);
		}
	}
	return 0;
}

/* xs_inference_create(model, arenaSize, recordRanges), on a new Interpreter. */
void xs_inference_create(xsMachine *the)
{
	Interpreter *interpreter;
	TflError error;
	void *data;
	xsUnsignedValue count;
	double arenaSize;
	int recordRanges;
	if (xsmcGetHostDataValidate(xsThis, (void *)xs_inference_destructor))
		xsUnknownError("inference: already constructed");
	if (xsmcTypeOf(xsArg(0)) != xsReferenceType)
		xsTypeError("inference: model must be an ArrayBuffer or a HostBuffer");
	arenaSize = xsmcToNumber(xsArg(1));
	if (!(arenaSize >= 0) || (arenaSize > MAX_BYTES) || (arenaSize != floor(arenaSize)))
		xsRangeError("inference: arenaSize must be a whole number of bytes");
	recordRanges = xsmcTest(xsArg(2));
	/* Read first: it throws for an object that is not a buffer, and nothing is allocated yet. */
	xsmcGetBufferReadable(xsArg(0), &data, &count);
	interpreter = calloc(1, sizeof(Interpreter));
	if (!interpreter)
		xsUnknownError("inference: out of memory");
	if ((uintptr_t)data & 3) {
		release(interpreter);
		xsUnknownError("inference: the model's bytes are not 4-byte aligned");
	}
	if (build(interpreter, data, count, (size_t)arenaSize, recordRanges, &error) < 0) {
		release(interpreter);
		xsRangeError("%s", error.message);
	}
	xsmcSetHostData(xsThis, interpreter);
}

/* xs_inference_tensor(which, index): [type (0 float32, 9 int8), scale, zeroPoint, ...dims] of the input (0) or output `index` (1). */
void xs_inference_tensor(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	const TflTensor *tensor;
	int which = xsmcToInteger(xsArg(0)), index = xsmcToInteger(xsArg(1)), d;
	if (which == 0)
		tensor = &interpreter->model.tensors[interpreter->input];
	else if ((index >= 0) && (index < interpreter->model.outputCount))
		tensor = &interpreter->model.tensors[interpreter->model.outputs[index]];
	else
		xsRangeError("inference: output %d does not exist (the model has %d)", index, interpreter->model.outputCount);
	xsmcVars(1);
	xsmcSetNewArray(xsResult, 3 + tensor->rank);
	xsmcSetInteger(xsVar(0), tensor->type);
	xsmcSetIndex(xsResult, 0, xsVar(0));
	xsmcSetNumber(xsVar(0), tensor->type == TFL_INT8 ? (double)tensor->scale : 1.0);
	xsmcSetIndex(xsResult, 1, xsVar(0));
	xsmcSetInteger(xsVar(0), tensor->type == TFL_INT8 ? tensor->zeroPoint : 0);
	xsmcSetIndex(xsResult, 2, xsVar(0));
	for (d = 0; d < tensor->rank; d++) {
		xsmcSetInteger(xsVar(0), tensor->dims[d]);
		xsmcSetIndex(xsResult, 3 + d, xsVar(0));
	}
}

/* xs_inference_counts(): [outputs, arenaUsed]. */
void xs_inference_counts(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	xsmcVars(1);
	xsmcSetNewArray(xsResult, 2);
	xsmcSetInteger(xsVar(0), interpreter->model.outputCount);
	xsmcSetIndex(xsResult, 0, xsVar(0));
	xsmcSetNumber(xsVar(0), (double)(interpreter->persistentBytes + interpreter->plannedBytes));
	xsmcSetIndex(xsResult, 1, xsVar(0));
}

/* xs_inference_set_input(model, data, type): data's bytes into the input tensor; type is 0 (float32) or 9 (int8). */
void xs_inference_set_input(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	const TflTensor *tensor = &interpreter->model.tensors[interpreter->input];
	const uint8_t *model;
	void *data;
	xsUnsignedValue count;
	int type = xsmcToInteger(xsArg(2));
	TflMemory memory;
	if (type != tensor->type)
		xsRangeError("inference: the input is %s, not %s", tflTypeName(tensor->type), tflTypeName(type));
	if (xsmcTypeOf(xsArg(1)) != xsReferenceType)
		xsTypeError("inference: input data must be a typed array");
	xsmcGetBufferReadable(xsArg(1), &data, &count);
	if ((size_t)count != tensor->bytes)
		xsRangeError("inference: the input takes %zu values, not %zu", tensor->count, (size_t)count / (tensor->type == TFL_INT8 ? 1 : 4));
	model = modelBytes(the, interpreter, &xsArg(0));
	memory = memoryFor(interpreter, model);
	memcpy(tflData(tensor, &memory), data, tensor->bytes);
}

/* The model's ops in order, on either thread: touches the arena and the ranges, nothing of XS. */
static void run(Interpreter *interpreter, const uint8_t *model)
{
	const TflMemory memory = memoryFor(interpreter, model);
	int k, j;
	if (interpreter->ranges)
		record(interpreter, interpreter->input, &memory);
	for (k = 0; k < interpreter->activeCount; k++) {
		const TflOperator *op = &interpreter->model.operators[interpreter->order[k]];
		tflEval(&interpreter->model, op, &memory);
		if (interpreter->ranges)
			for (j = 0; j < op->outputCount; j++)
				record(interpreter, op->outputs[j], &memory);
	}
}

/* xs_inference_invoke(model) */
void xs_inference_invoke(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	run(interpreter, modelBytes(the, interpreter, &xsArg(0)));
}

/* ---- invokeAsync ---- */

/*
 * Simulator only, for tests that order events against a running model
 * (xs_inference_hold, xs_inference_release): while held, each run waits on
 * its worker thread, after the XS thread has been handed back, until one
 * release lets it start. Off by default; nothing in the firmware turns it on.
 */
static pthread_mutex_t gGateLock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gGateOpened = PTHREAD_COND_INITIALIZER;
static int gGateHeld = 0;
static unsigned gGateReleases = 0;

static void passGate(void)
{
	pthread_mutex_lock(&gGateLock);
	while (gGateHeld && !gGateReleases)
		pthread_cond_wait(&gGateOpened, &gGateLock);
	if (gGateHeld)
		gGateReleases--;
	pthread_mutex_unlock(&gGateLock);
}

/* A machine deleted with a run held: let it go, so that it can be joined. */
static void openGate(void)
{
	pthread_mutex_lock(&gGateLock);
	gGateHeld = 0;
	pthread_cond_broadcast(&gGateOpened);
	pthread_mutex_unlock(&gGateLock);
}

/* xs_inference_hold(on): runs wait for a release while on; off lets every waiting run go. */
void xs_inference_hold(xsMachine *the)
{
	pthread_mutex_lock(&gGateLock);
	gGateHeld = xsmcTest(xsArg(0));
	gGateReleases = 0;
	pthread_cond_broadcast(&gGateOpened);
	pthread_mutex_unlock(&gGateLock);
}

/* xs_inference_release(): lets one held run start (now, or the next to come). */
void xs_inference_release(xsMachine *the)
{
	pthread_mutex_lock(&gGateLock);
	if (gGateHeld)
		gGateReleases++;
	pthread_cond_broadcast(&gGateOpened);
	pthread_mutex_unlock(&gGateLock);
}

/* xs_inference_pending(): runs started and not handed back yet (XS-thread state: a held run stays pending). */
void xs_inference_pending(xsMachine *the)
{
	Interpreter *each;
	int count = 0;
	for (each = gRunning; each; each = each->nextRunning)
		count++;
	xsmcSetInteger(xsResult, count);
}

/* On the XS thread: the worker is done; join it, give the arena back, call back. */
static void finish(Interpreter *interpreter)
{
	xsMachine *the = interpreter->the;
	if (!isRunning(interpreter))
		return;
	pthread_join(interpreter->thread, NULL);
	forgetRunning(interpreter);
	interpreter->running = 0;
	interpreter->runModel = NULL;
	xsBeginHost(the);
	xsTry {
		xsmcVars(2);
		xsVar(0) = interpreter->callback;
		xsVar(1) = interpreter->target;
		xsForget(interpreter->callback);
		xsForget(interpreter->target);
		/* The callback may close the interpreter: nothing reads it after this. */
		xsCallFunction0(xsVar(0), xsVar(1));
	}
	xsCatch {
#if INFERENCE_SIM_HOST
		hostReportException(the, "inference: invokeAsync's callback");
#else
		fprintf(stderr, "inference: invokeAsync's callback threw\n");
#endif
	}
	xsEndHost(the);
}

#if INFERENCE_SIM_HOST
/* One pipe for every interpreter: the worker writes its Interpreter's address; watched, keeping the loop alive, while any run is out. */
static int gDone[2] = { -1, -1 };

static void doneReadable(void *refcon, short revents)
{
	Interpreter *interpreter;
	for (;;) {
		ssize_t count = read(gDone[0], &interpreter, sizeof(interpreter));
		if ((count < 0) && (errno == EINTR))
			continue;
		if (count != (ssize_t)sizeof(interpreter))
			break;
		finish(interpreter);
	}
	if (!gRunning)
		hostUnwatch(gDone[0]);
}

static int openHandOff(void)
{
	if (gDone[0] < 0) {
		if (pipe(gDone) < 0)
			return -1;
		fcntl(gDone[0], F_SETFD, FD_CLOEXEC);
		fcntl(gDone[1], F_SETFD, FD_CLOEXEC);
		fcntl(gDone[0], F_SETFL, fcntl(gDone[0], F_GETFL) | O_NONBLOCK);
	}
	hostWatch(gDone[0], POLLIN, 1, doneReadable, NULL);
	return 0;
}

static void handBack(Interpreter *interpreter)
{
	/* A pointer is fewer than PIPE_BUF bytes: written whole, never interleaved. */
	while ((write(gDone[1], &interpreter, sizeof(interpreter)) < 0) && (errno == EINTR))
		;
}
#elif INFERENCE_GLIB
static gboolean doneIdle(gpointer data)
{
	Interpreter *interpreter = data;
	GMainContext *context;
	/* Destroyed meanwhile (the machine went): nothing of it is read. */
	if (!isRunning(interpreter))
		return G_SOURCE_REMOVE;
	context = interpreter->context;
	interpreter->context = NULL;
	finish(interpreter);
	g_main_context_unref(context);
	return G_SOURCE_REMOVE;
}

static int openHandOff(void)
{
	return 0;
}

static void handBack(Interpreter *interpreter)
{
	GSource *source = g_idle_source_new();
	g_source_set_callback(source, doneIdle, interpreter, NULL);
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	g_source_attach(source, interpreter->context);
	g_source_unref(source);
}
#endif

static void *worker(void *data)
{
	Interpreter *interpreter = data;
	passGate();
	run(interpreter, interpreter->runModel);
	handBack(interpreter);
	return NULL;
}

/* xs_inference_start(model, callback): runs the model on a worker thread; callback() on this thread when done. */
void xs_inference_start(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	void *data;
	xsUnsignedValue count;
	xsIntegerValue kind;
	if (xsmcTypeOf(xsArg(0)) != xsReferenceType)
		xsTypeError("inference: model must be an ArrayBuffer or a HostBuffer");
	if (!xsmcIsCallable(xsArg(1)))
		xsTypeError("inference: invokeAsync needs a callback");
	modelBytes(the, interpreter, &xsArg(0));
	kind = xsmcGetBufferReadable(xsArg(0), &data, &count);
	if (kind == xsBufferRelocatable) {
		/* The collector may move an ArrayBuffer's bytes while the worker reads them: it reads a copy. */
		if (!interpreter->modelCopy) {
			interpreter->modelCopy = malloc(interpreter->model.modelLength + 1);
			if (!interpreter->modelCopy)
				xsUnknownError("inference: out of memory for a copy of the model");
		}
		memcpy(interpreter->modelCopy, data, interpreter->model.modelLength);
		interpreter->runModel = interpreter->modelCopy;
	}
	else
		interpreter->runModel = data;
	if (openHandOff() < 0)
		xsUnknownError("inference: cannot open the completion pipe: %s", strerror(errno));
	interpreter->the = the;
	interpreter->target = xsThis;
	interpreter->callback = xsArg(1);
#if INFERENCE_GLIB
	interpreter->context = g_main_context_ref_thread_default();
#endif
	xsRemember(interpreter->target);
	xsRemember(interpreter->callback);
	interpreter->running = 1;
	interpreter->nextRunning = gRunning;
	gRunning = interpreter;
	{
		const int error = pthread_create(&interpreter->thread, NULL, worker, interpreter);
		if (error) {
			interpreter->running = 0;
			forgetRunning(interpreter);
			xsForget(interpreter->target);
			xsForget(interpreter->callback);
#if INFERENCE_GLIB
			g_main_context_unref(interpreter->context);
			interpreter->context = NULL;
#endif
			xsUnknownError("inference: cannot start a worker thread: %s", strerror(error));
		}
	}
}

/* xs_inference_output(model, index): output `index` dequantized, as a new ArrayBuffer of float32. */
void xs_inference_output(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	const TflTensor *tensor;
	TflMemory memory;
	const void *data;
	void *result;
	xsUnsignedValue resultLength;
	int index;
	size_t i;
	if ((xsmcTypeOf(xsArg(1)) != xsIntegerType) && (xsmcTypeOf(xsArg(1)) != xsNumberType))
		xsRangeError("inference: output index must be a number");
	index = xsmcToInteger(xsArg(1));
	if ((index < 0) || (index >= interpreter->model.outputCount) || (xsmcToNumber(xsArg(1)) != (double)index))
		xsRangeError("inference: output %g does not exist (the model has %d)", xsmcToNumber(xsArg(1)), interpreter->model.outputCount);
	tensor = &interpreter->model.tensors[interpreter->model.outputs[index]];
	if (tensor->count * 4 > MAX_BYTES)
		xsRangeError("inference: output %d is too large", index);
	/* Allocate first: an allocation may move the model's bytes. */
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)(tensor->count * 4));
	xsmcGetBufferWritable(xsResult, &result, &resultLength);
	memory = memoryFor(interpreter, modelBytes(the, interpreter, &xsArg(0)));
	data = tflData(tensor, &memory);
	for (i = 0; i < tensor->count; i++) {
		float value;
		if (tensor->type == TFL_FLOAT32)
			memcpy(&value, (const uint8_t *)data + 4 * i, 4);
		else
			value = (float)((double)tensor->scale * (double)((int32_t)((const int8_t *)data)[i] - tensor->zeroPoint));
		memcpy((uint8_t *)result + 4 * i, &value, 4);
	}
}

/* xs_inference_ranges(): [min, max] of every tensor as a new ArrayBuffer of float32, or undefined without recordRanges. */
void xs_inference_ranges(xsMachine *the)
{
	Interpreter *interpreter = state(the);
	if (!interpreter->ranges)
		return;
	xsmcSetArrayBuffer(xsResult, interpreter->ranges, (xsIntegerValue)(sizeof(float) * 2 * (size_t)interpreter->model.tensorCount));
}

/* xs_inference_close(): frees the arena and the parsed model; idempotent; refused while the model runs. */
void xs_inference_close(xsMachine *the)
{
	Interpreter *interpreter = xsmcGetHostDataValidate(xsThis, (void *)xs_inference_destructor);
	if (!interpreter)
		return;
	if (interpreter->running)
		xsUnknownError("inference: close() while the model runs (invokeAsync): wait for it");
	xsmcSetHostData(xsThis, NULL);
	release(interpreter);
}
