/*
 * The device's model interpreter: TensorFlow Lite Micro with Espressif's
 * ESP-NN kernels (the esp-tflite-micro component; manifest.json's esp32
 * "dependency"), behind the same JavaScript API as the simulator's
 * interpreter (hardware/inference/inference.d.ts).
 *
 * Memory:
 * - The model is used where it lies. A Moddable Resource is a host buffer
 *   mapped from flash: it never moves, so TFLM reads it in place. mcrez only
 *   aligns resources to 4 bytes, TFLM (and ESP-NN's 128-bit loads) want 16:
 *   a misaligned resource is copied once into a 16-byte-aligned PSRAM
 *   buffer (the 800 KB model against 8 MB of PSRAM), with a warning, so the
 *   doorbell keeps its face detection; docs/porting.md says how to align
 *   the resource and avoid the copy. An ArrayBuffer lives in the XS heap,
 *   whose compaction may move it, so it is copied the same way.
 * - The tensor arena comes from PSRAM (16-byte aligned), or internal RAM
 *   when there is no PSRAM. Without options.arenaSize the arena is sized by
 *   measurement: the plan is made once in a generous probe arena, and the
 *   real arena is its arena_used_bytes plus a small margin.
 * - TFLM never frees: the interpreter, its op resolver and the arena are
 *   released together by the host-data destructor (on close() or GC).
 *
 * Errors are returned by TFLM as statuses and turned into JavaScript
 * exceptions here; the model flatbuffer is verified before TFLM parses it,
 * so a corrupt model is an exception, not a crash. ESP-IDF builds C++
 * without exceptions, so objects are built with placement new in memory
 * whose allocation is checked.
 *
 * invokeAsync (xs_inference_start): the run goes to a FreeRTOS task of the
 * interpreter's own, made at its first invokeAsync and pinned to the core
 * the radio stacks do not use (APP_CPU, MODDEF_INFERENCE_CORE to change it).
 * Moddable's XS task has no affinity (xTaskCreate in the SDK's
 * build/devices/esp32/lib/main/main.c) and a higher priority than this
 * task, so it runs beside the model on the other core, or preempts it:
 * presses, sockets and timers are never held behind an inference. The
 * result comes back as a message to the XS task (modMessagePostToMachine,
 * as the SDK's own workers deliver theirs, modules/base/worker). While the
 * run is out the instance and its callback are remembered (xsRemember), and
 * every other native refuses, close() too: the arena and the input are the
 * task's. The task blocks between runs, so the core's idle task (and the
 * task watchdog that watches it) runs between inferences.
 *
 * Not compiled in this repository's CI (it needs ESP-IDF and the
 * component): see docs/porting.md for the first bring-up checks.
 */

/* The component compiles TFLM with TF_LITE_STATIC_MEMORY, which changes
 * TfLiteTensor's layout; Moddable compiles this file with its own flags, not
 * the component's CMake interface, so it must be set here to match. */
#ifndef TF_LITE_STATIC_MEMORY
#define TF_LITE_STATIC_MEMORY 1
#endif

#include <new>
#include <stdint.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "freertos/semphr.h"

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

extern "C" {
#include "xsmc.h"
#include "xsHost.h"
}

#ifndef MODDEF_INFERENCE_CORE
	#define MODDEF_INFERENCE_CORE 1
#endif
/* Bytes (ESP-IDF's FreeRTOS counts stack in bytes): TFLM's Invoke and
 * ESP-NN's kernels keep their buffers in the arena, not on the stack. */
#ifndef MODDEF_INFERENCE_STACK
	#define MODDEF_INFERENCE_STACK (8 * 1024)
#endif
/* Above the idle task, below Moddable's XS task (4) and the network's. */
#ifndef MODDEF_INFERENCE_PRIORITY
	#define MODDEF_INFERENCE_PRIORITY 1
#endif

namespace {

/* The operators of models/face_detection_{short,full}_range_int8.tflite,
 * counted from the files: int8 input and outputs (no QUANTIZE/DEQUANTIZE),
 * ReLU fused into the convolutions (no RELU). Registering only these keeps
 * the other kernels out of flash. */
constexpr unsigned kOperatorCount = 8;
using Resolver = tflite::MicroMutableOpResolver<kOperatorCount>;

constexpr size_t kAlignment = 16;
/* Added to the measured plan, which was made in another arena: a safety
 * margin (on x86 the same model planned twice used exactly the same bytes). */
constexpr size_t kArenaMargin = 1024;
/* The probe arena for measuring: larger than any model we ship needs. */
constexpr size_t kProbeArena = 3 * 1024 * 1024;
/* The same bound as options.arenaSize's in inference.ts. */
constexpr size_t kArenaLimit = 8 * 1024 * 1024;

struct Inference {
	uint8_t *modelCopy;	/* null when the model is used in place */
	const tflite::Model *model;
	uint8_t *arena;
	size_t arenaSize;
	bool arenaInPsram;
	Resolver *resolver;
	tflite::MicroInterpreter *interpreter;
	/* invokeAsync; `running` and `job` are the XS task's, the rest set before the run is handed over */
	TaskHandle_t task;
	SemaphoreHandle_t finished;	/* given by the task when a run is done and posted */
	bool running;
	bool owed;	/* a run was handed over whose `finished` is not taken yet */
	uint32_t job;
	xsMachine *the;
	xsSlot target;
	xsSlot callback;
	Inference *nextRunning;
	alignas(Resolver) unsigned char resolverStorage[sizeof(Resolver)];
	alignas(tflite::MicroInterpreter) unsigned char interpreterStorage[sizeof(tflite::MicroInterpreter)];
};

uint8_t *allocateAligned(size_t size, bool *inPsram)
{
	void *memory = heap_caps_aligned_alloc(kAlignment, size, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
	if (memory) {
		if (inPsram)
			*inPsram = true;
		return static_cast<uint8_t *>(memory);
	}
	if (inPsram)
		*inPsram = false;
	return static_cast<uint8_t *>(heap_caps_aligned_alloc(kAlignment, size, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT));
}

bool registerOperators(Resolver *resolver)
{
	return (resolver->AddConv2D() == kTfLiteOk)
		&& (resolver->AddDepthwiseConv2D() == kTfLiteOk)
		&& (resolver->AddAdd() == kTfLiteOk)
		&& (resolver->AddPad() == kTfLiteOk)
		&& (resolver->AddMaxPool2D() == kTfLiteOk)
		&& (resolver->AddReshape() == kTfLiteOk)
		&& (resolver->AddConcatenation() == kTfLiteOk)
		&& (resolver->AddResizeBilinear() == kTfLiteOk);
}

void destroyInterpreter(Inference *state)
{
	if (state->interpreter) {
		state->interpreter->~MicroInterpreter();
		state->interpreter = nullptr;
	}
	if (state->arena) {
		heap_caps_free(state->arena);
		state->arena = nullptr;
	}
}

/* Builds the interpreter over a fresh arena of `size` bytes. Returns the
 * AllocateTensors status; -1 when the arena itself cannot be allocated. */
int buildInterpreter(Inference *state, size_t size)
{
	destroyInterpreter(state);
	state->arena = allocateAligned(size, &state->arenaInPsram);
	if (!state->arena)
		return -1;
	state->arenaSize = size;
	state->interpreter = new (state->interpreterStorage) tflite::MicroInterpreter(state->model, *state->resolver, state->arena, size);
	return (state->interpreter->AllocateTensors() == kTfLiteOk) ? 0 : 1;
}

/* The arena the model's plan needs, measured in a probe arena; 0 if even the probe is too small. */
size_t measureArena(Inference *state)
{
	size_t largest = heap_caps_get_largest_free_block(MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
	if (largest < 64 * 1024)
		largest = heap_caps_get_largest_free_block(MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
	if (largest < 64 * 1024)
		return 0;
	/* heap_caps_aligned_alloc may need up to kAlignment bytes of the block for alignment. */
	size_t probe = (largest - kAlignment) & ~(kAlignment - 1);
	if (probe > kProbeArena)
		probe = kProbeArena;
	size_t needed = (buildInterpreter(state, probe) == 0) ? state->interpreter->arena_used_bytes() : 0;
	destroyInterpreter(state);
	return needed;
}

const char *typeName(TfLiteType type)
{
	switch (type) {
	case kTfLiteFloat32: return "float32";
	case kTfLiteInt8: return "int8";
	default: return nullptr;
	}
}

Inference *inferenceOf(xsMachine *the);

/* The runs handed to a task and not handed back (XS task only): a message
 * for a run that is no longer here (its interpreter destroyed) is ignored. */
Inference *gRunning = nullptr;
uint32_t gJobs = 0;

struct Done {
	uint32_t job;
	int32_t status;
};

void forgetRunning(Inference *state)
{
	for (Inference **link = &gRunning; *link; link = &(*link)->nextRunning)
		if (*link == state) {
			*link = state->nextRunning;
			state->nextRunning = nullptr;
			return;
		}
}

/* On the XS task: a run is back; give the arena back and call back. */
void deliverDone(void *machine, void *refcon, uint8_t *message, uint16_t length)
{
	xsMachine *the = static_cast<xsMachine *>(machine);
	Done result;
	if (length != sizeof(result))
		return;
	memcpy(&result, message, sizeof(result));
	Inference *state = gRunning;
	while (state && !((state == refcon) && (state->job == result.job)))
		state = state->nextRunning;
	if (!state)
		return;
	forgetRunning(state);
	state->running = false;
	xsBeginHost(the);
	{
		xsmcVars(3);
		xsVar(0) = state->callback;
		xsVar(1) = state->target;
		xsForget(state->callback);
		xsForget(state->target);
		/* The callback may close the interpreter: nothing reads `state` after this. */
		if (result.status == kTfLiteOk)
			xsCallFunction0(xsVar(0), xsVar(1));
		else {
			xsmcSetString(xsVar(2), (char *)"invoke failed (the log says which operator)");
			xsCallFunction1(xsVar(0), xsVar(1), xsVar(2));
		}
	}
	xsEndHost(the);
}

/* The interpreter's task: one run per notification, posted back, then `finished` given (once per run). */
void runTask(void *parameter)
{
	Inference *state = static_cast<Inference *>(parameter);
	for (;;) {
		ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
		Done done = { state->job, (int32_t)state->interpreter->Invoke() };
		/* The run must come back, or the instance stays remembered: retry a full queue. */
		while (modMessagePostToMachine(state->the, reinterpret_cast<uint8_t *>(&done), sizeof(done), deliverDone, state) != 0)
			vTaskDelay(pdMS_TO_TICKS(10));
		xSemaphoreGive(state->finished);
	}
}

}	/* namespace */

extern "C" {

void xs_inference_destructor(void *data)
{
	Inference *state = static_cast<Inference *>(data);
	if (!state)
		return;
	if (state->task) {
		/* Mid-run only when the machine goes (the instance is remembered meanwhile, close() refuses):
		 * wait until the task is back at its notification, never free under it. */
		if (state->owed)
			xSemaphoreTake(state->finished, portMAX_DELAY);
		if (state->running)
			forgetRunning(state);
		vTaskDelete(state->task);
		vSemaphoreDelete(state->finished);
	}
	destroyInterpreter(state);
	if (state->resolver)
		state->resolver->~Resolver();
	if (state->modelCopy)
		heap_caps_free(state->modelCopy);
	heap_caps_free(state);
}

/* xs_inference_open(model, arenaSize), on a new Interpreter; arenaSize 0 measures the plan. */
void xs_inference_open(xsMachine *the)
{
	if (xsmcGetHostDataValidate(xsThis, (void *)xs_inference_destructor))
		xsUnknownError("inference: already open");
	if (xsmcTypeOf(xsArg(1)) != xsIntegerType)
		xsTypeError("inference: arenaSize must be an integer");
	int requested = xsmcToInteger(xsArg(1));
	if ((requested < 0) || ((size_t)requested > kArenaLimit))
		xsRangeError("inference: arenaSize must be from 0 to %u bytes", (unsigned)kArenaLimit);
	if (xsmcTypeOf(xsArg(0)) != xsReferenceType)
		xsTypeError("inference: model must be an ArrayBuffer or a HostBuffer");

	void *bytes;
	xsUnsignedValue length;
	xsIntegerValue kind = xsmcGetBufferReadable(xsArg(0), &bytes, &length);
	if (length < 8)
		xsRangeError("inference: the model is %u bytes, too short for a .tflite file", (unsigned)length);
	const bool misaligned = (kind == xsBufferNonrelocatable) && ((uintptr_t)bytes % kAlignment);
	if (misaligned)
		ESP_LOGW("inference", "the model resource is not %u-byte aligned (Moddable aligns resources to 4): using a PSRAM copy; see docs/porting.md", (unsigned)kAlignment);

	Inference *state = static_cast<Inference *>(heap_caps_calloc(1, sizeof(Inference), MALLOC_CAP_8BIT));
	if (!state)
		xsUnknownError("inference: out of memory");
	const uint8_t *model = static_cast<const uint8_t *>(bytes);
	if ((kind != xsBufferNonrelocatable) || misaligned) {
		/* The XS heap may move an ArrayBuffer's data, and a misaligned resource
		 * would feed ESP-NN's vector loads wrong bytes: TFLM gets a fixed, aligned copy. */
		state->modelCopy = allocateAligned(length, nullptr);
		if (!state->modelCopy) {
			xs_inference_destructor(state);
			xsUnknownError("inference: out of memory for a %u-byte model copy", (unsigned)length);
		}
		memcpy(state->modelCopy, bytes, length);
		model = state->modelCopy;
	}
	/* No XS call until the host data is set, except the error exits, which free `state` first. */
	flatbuffers::Verifier verifier(model, length);
	if (!tflite::VerifyModelBuffer(verifier)) {
		xs_inference_destructor(state);
		xsUnknownError("inference: corrupt model: not a valid .tflite flatbuffer");
	}
	state->model = tflite::GetModel(model);
	if (state->model->version() != TFLITE_SCHEMA_VERSION) {
		unsigned version = state->model->version();
		xs_inference_destructor(state);
		xsRangeError("inference: model schema version %u, TFLite Micro reads version %d", version, TFLITE_SCHEMA_VERSION);
	}
	state->resolver = new (state->resolverStorage) Resolver();
	if (!registerOperators(state->resolver)) {
		xs_inference_destructor(state);
		xsUnknownError("inference: cannot register the operators");
	}

	size_t size = (size_t)requested;
	if (size == 0) {
		size_t needed = measureArena(state);
		if (!needed) {
			xs_inference_destructor(state);
			xsUnknownError("inference: the model cannot be planned (an unsupported operator or tensor type, or more than %u bytes of arena; the log says which)", (unsigned)kProbeArena);
		}
		size = (needed + kArenaMargin + kAlignment - 1) & ~(kAlignment - 1);
	}
	int status = buildInterpreter(state, size);
	if (status != 0) {
		size_t needed = (status > 0) ? measureArena(state) : 0;
		xs_inference_destructor(state);
		if (status < 0)
			xsUnknownError("inference: cannot allocate a %u-byte tensor arena in PSRAM or internal RAM", (unsigned)size);
		if (needed)
			xsRangeError("inference: a %u-byte arena is too small: the model needs %u bytes", (unsigned)size, (unsigned)needed);
		xsUnknownError("inference: the model cannot be planned (an unsupported operator or tensor type; the log says which)");
	}
	if ((state->interpreter->inputs_size() != 1) || (state->interpreter->outputs_size() < 1)) {
		xs_inference_destructor(state);
		xsRangeError("inference: the model must have one input and at least one output");
	}
	xsmcSetHostData(xsThis, state);
}

}	/* extern "C" */

namespace {

Inference *inferenceOf(xsMachine *the)
{
	Inference *state = static_cast<Inference *>(xsmcGetHostDataValidate(xsThis, (void *)xs_inference_destructor));
	if (!state || !state->interpreter)
		xsUnknownError("inference: the interpreter is closed");
	/* inference.ts refuses first, naming the call; this guards the memory. */
	if (state->running)
		xsUnknownError("inference: the model is running (invokeAsync): wait for it");
	return state;
}

TfLiteTensor *tensorAt(xsMachine *the, Inference *state, int index)
{
	if (index < 0)
		return state->interpreter->input(0);
	if ((size_t)index >= state->interpreter->outputs_size())
		xsRangeError("inference: no output %d (the model has %u)", index, (unsigned)state->interpreter->outputs_size());
	return state->interpreter->output((size_t)index);
}

}	/* namespace */

extern "C" {

/* xs_inference_describe(index): { shape, type, scale, zeroPoint } of the input (-1) or output `index`. */
void xs_inference_describe(xsMachine *the)
{
	Inference *state = inferenceOf(the);
	TfLiteTensor *tensor = tensorAt(the, state, xsmcToInteger(xsArg(0)));
	const char *type = typeName(tensor->type);
	if (!type)
		xsRangeError("inference: tensor type %d is not supported (float32 and int8 are)", (int)tensor->type);
	/* The tensor lives in the arena, not the XS heap: its pointer survives these allocations. */
	xsmcVars(2);
	xsmcSetNewObject(xsResult);
	xsmcSetNewArray(xsVar(0), tensor->dims->size);
	for (int i = 0; i < tensor->dims->size; i++) {
		xsmcSetInteger(xsVar(1), tensor->dims->data[i]);
		xsmcSetIndex(xsVar(0), i, xsVar(1));
	}
	xsmcSet(xsResult, xsID("shape"), xsVar(0));
	xsmcSetString(xsVar(0), (char *)type);
	xsmcSet(xsResult, xsID("type"), xsVar(0));
	bool quantized = tensor->type == kTfLiteInt8;
	xsmcSetNumber(xsVar(0), quantized ? tensor->params.scale : 1.0);
	xsmcSet(xsResult, xsID("scale"), xsVar(0));
	xsmcSetInteger(xsVar(0), quantized ? tensor->params.zero_point : 0);
	xsmcSet(xsResult, xsID("zeroPoint"), xsVar(0));
}

/* xs_inference_output_count() */
void xs_inference_output_count(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)inferenceOf(the)->interpreter->outputs_size());
}

/* xs_inference_arena_used() */
void xs_inference_arena_used(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)inferenceOf(the)->interpreter->arena_used_bytes());
}

/* xs_inference_arena_in_psram() */
void xs_inference_arena_in_psram(xsMachine *the)
{
	xsmcSetBoolean(xsResult, inferenceOf(the)->arenaInPsram);
}

/* xs_inference_set_input(bytes, type): the input's bytes (a Uint8Array view of the caller's typed array) and its element type. */
void xs_inference_set_input(xsMachine *the)
{
	Inference *state = inferenceOf(the);
	TfLiteTensor *tensor = state->interpreter->input(0);
	if (xsmcTypeOf(xsArg(1)) != xsStringType)
		xsTypeError("inference: the input type must be a string");
	const char *expected = typeName(tensor->type);
	if (!expected || strcmp(expected, xsmcToString(xsArg(1))))
		xsTypeError("inference: the input tensor is %s", expected ? expected : "of an unsupported type");
	if ((xsmcTypeOf(xsArg(0)) != xsReferenceType) || !xsmcIsInstanceOf(xsArg(0), xsTypedArrayPrototype))
		xsTypeError("inference: input must be a typed array");
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(0), &data, &length);
	if ((size_t)length != tensor->bytes)
		xsRangeError("inference: the input is %u bytes, the tensor %u", (unsigned)length, (unsigned)tensor->bytes);
	memcpy(tensor->data.raw, data, length);
}

/* xs_inference_invoke() */
void xs_inference_invoke(xsMachine *the)
{
	if (inferenceOf(the)->interpreter->Invoke() != kTfLiteOk)
		xsUnknownError("inference: invoke failed (the log says which operator)");
}

/* xs_inference_start(callback): the run on the interpreter's task; callback() (or callback(message) on failure) on the XS task. */
void xs_inference_start(xsMachine *the)
{
	Inference *state = inferenceOf(the);
	if (!xsmcIsCallable(xsArg(0)))
		xsTypeError("inference: invokeAsync needs a callback");
	if (!state->task) {
		state->finished = xSemaphoreCreateBinary();
		if (!state->finished)
			xsUnknownError("inference: out of memory for the inference task");
		if (xTaskCreatePinnedToCore(runTask, "inference", MODDEF_INFERENCE_STACK, state, MODDEF_INFERENCE_PRIORITY, &state->task, MODDEF_INFERENCE_CORE) != pdPASS) {
			vSemaphoreDelete(state->finished);
			state->finished = nullptr;
			state->task = nullptr;
			xsUnknownError("inference: cannot start the inference task");
		}
	}
	state->the = the;
	state->target = xsThis;
	state->callback = xsArg(0);
	xsRemember(state->target);
	xsRemember(state->callback);
	/* The last run's message can arrive a moment before its task gives `finished`: take it, so
	 * that each give is taken once and the destructor's wait means this run. */
	if (state->owed)
		xSemaphoreTake(state->finished, portMAX_DELAY);
	state->owed = true;
	state->job = ++gJobs;
	state->running = true;
	state->nextRunning = gRunning;
	gRunning = state;
	/* The notification orders these writes before the task reads them. */
	xTaskNotifyGive(state->task);
}

/* xs_inference_output(index): output `index` dequantized to float32, as an ArrayBuffer. */
void xs_inference_output(xsMachine *the)
{
	Inference *state = inferenceOf(the);
	if (xsmcTypeOf(xsArg(0)) != xsIntegerType)
		xsTypeError("inference: the output index must be an integer");
	TfLiteTensor *tensor = tensorAt(the, state, xsmcToInteger(xsArg(0)));
	size_t count;
	if (tensor->type == kTfLiteInt8)
		count = tensor->bytes;
	else if (tensor->type == kTfLiteFloat32)
		count = tensor->bytes / sizeof(float);
	else
		xsRangeError("inference: output type %d is not supported", (int)tensor->type);
	/* Allocate first, then take the result's pointer; the tensor is in the arena. */
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)(count * sizeof(float)));
	float *out = static_cast<float *>(xsmcToArrayBuffer(xsResult));
	if (tensor->type == kTfLiteInt8) {
		const float scale = tensor->params.scale;
		const int32_t zeroPoint = tensor->params.zero_point;
		for (size_t i = 0; i < count; i++)
			out[i] = scale * (float)((int32_t)tensor->data.int8[i] - zeroPoint);
	}
	else
		memcpy(out, tensor->data.f, count * sizeof(float));
}

/* xs_inference_close(): releases the interpreter, its arena and any model copy now; refused while the model runs. */
void xs_inference_close(xsMachine *the)
{
	Inference *state = static_cast<Inference *>(xsmcGetHostDataValidate(xsThis, (void *)xs_inference_destructor));
	if (state && state->running)
		xsUnknownError("inference: close() while the model runs (invokeAsync): wait for it");
	xsmcSetHostData(xsThis, NULL);
	xs_inference_destructor(state);
}

}	/* extern "C" */
