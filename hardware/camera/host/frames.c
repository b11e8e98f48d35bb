/*
 * The camera driver's frame buffers, for the simulator's and lin's stand-ins
 * for Moddable's embedded:io/image/in/camera (sensor.ts beside this file).
 * They hold frames as modules/io/imagein/camera/esp32/camera.c holds
 * esp32-camera's, so the firmware meets the same objects as on the device:
 *
 * - three frame records (camera.c's kCameraFrameCount), each free, ready
 *   (captured, unread) or held by the firmware; a frame that arrives when no
 *   record is free is dropped, as the device drops it;
 * - read takes the oldest ready record. Under "buffer/disposable" it returns
 *   a host buffer over the record's bytes, read-only, with own `camera` and
 *   `byteLength` properties and close() as its only method (the prototype
 *   sensor.ts passes): the bytes are read through a view (new Uint8Array(frame));
 *   it has no slice(), and ArrayBuffer.prototype methods refuse it. Under
 *   "buffer" it returns an ArrayBuffer copy and frees the record at once;
 * - close() gives the record back and detaches the host buffer, so reading
 *   it afterwards finds a detached buffer (XS throws), as on the device;
 *   closing it again does nothing. stop() frees every record and detaches
 *   the frames still held, as xs_camera_stop does.
 */
#include "xsmc.h"

#include <stdlib.h>
#include <string.h>

#define FRAME_RECORDS 3

enum { RecordFree = 0, RecordReady, RecordHeld };

typedef struct {
	uint8_t *data;
	uint32_t length;
	uint32_t id;
	int state;
	/* The host buffer the firmware holds (a GC root while held), for stop() to detach. */
	xsSlot frame;
} FrameRecord;

typedef struct {
	uint32_t lastId;
	FrameRecord records[FRAME_RECORDS];
} Frames;

/* A held record's frame is detached and no longer kept alive here. */
static void framesRelease(xsMachine *the, FrameRecord *record)
{
	if (record->state != RecordHeld)
		return;
	xsmcSetHostBuffer(record->frame, NULL, 0);
	xsForget(record->frame);
}

/* Only for records that no frame holds: the destructor has no machine to release them with
 * (and runs only once no frame is left: each frame's `camera` keeps its camera alive). */
static void framesFree(FrameRecord *record)
{
	free(record->data);
	record->data = NULL;
	record->length = 0;
	record->state = RecordFree;
}

void xs_frames_destructor(void *data)
{
	Frames *frames = data;
	if (!frames)
		return;
	for (int i = 0; i < FRAME_RECORDS; i++)
		framesFree(&frames->records[i]);
	free(frames);
}

/* The frames' host buffers own nothing: their bytes are the records'. */
void xs_frames_frame_destructor(void *data)
{
}

static Frames *framesOf(xsMachine *the, xsSlot *camera)
{
	Frames *frames = xsmcGetHostDataValidate(*camera, (void *)xs_frames_destructor);
	if (!frames)
		xsUnknownError("camera: closed");
	return frames;
}

/* camera: open() on a Native("xs_frames_destructor") instance */
void xs_frames_open(xsMachine *the)
{
	if (xsmcGetHostDataValidate(xsThis, (void *)xs_frames_destructor))
		xsUnknownError("camera: already open");
	Frames *frames = calloc(1, sizeof(Frames));
	if (!frames)
		xsUnknownError("camera: not enough memory");
	xsmcSetHostData(xsThis, frames);
}

/* camera: put(bytes) -> whether a record was free to take the frame */
void xs_frames_put(xsMachine *the)
{
	Frames *frames = framesOf(the, &xsThis);
	void *bytes;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(0), &bytes, &length);
	if (!length)
		xsRangeError("camera: an empty frame");
	for (int i = 0; i < FRAME_RECORDS; i++) {
		FrameRecord *record = &frames->records[i];
		if (record->state != RecordFree)
			continue;
		record->data = malloc(length);
		if (!record->data)
			xsUnknownError("camera: not enough memory");
		memcpy(record->data, bytes, length);
		record->length = (uint32_t)length;
		record->id = ++frames->lastId;
		record->state = RecordReady;
		xsmcSetTrue(xsResult);
		return;
	}
	xsmcSetFalse(xsResult);
}

/* camera: read(prototype?, setPrototypeOf?) -> the oldest ready frame: a disposable host buffer with `prototype`, else an ArrayBuffer copy; undefined when none.
 * setPrototypeOf is Object.setPrototypeOf, passed in rather than looked up by name here: mcconfig's linker strips
 * built-ins that no module names, and XS aborts ("dead strip") when C calls one. */
void xs_frames_read(xsMachine *the)
{
	Frames *frames = framesOf(the, &xsThis);
	FrameRecord *oldest = NULL;
	for (int i = 0; i < FRAME_RECORDS; i++) {
		FrameRecord *record = &frames->records[i];
		if ((record->state == RecordReady) && (!oldest || (record->id < oldest->id)))
			oldest = record;
	}
	if (!oldest)
		return;
	if ((xsmcArgc < 2) || (xsmcTypeOf(xsArg(0)) != xsReferenceType) || (xsmcTypeOf(xsArg(1)) != xsReferenceType)) {
		xsmcSetArrayBuffer(xsResult, oldest->data, oldest->length);
		framesFree(oldest);
		return;
	}
	xsmcVars(2);
	xsResult = xsNewHostObject(xs_frames_frame_destructor);
	xsmcSetHostBuffer(xsResult, oldest->data, oldest->length);
	xsCallFunction2(xsArg(1), xsUndefined, xsResult, xsArg(0));
	xsmcDefine(xsResult, xsID("camera"), xsThis, xsDontDelete | xsDontSet);
	xsmcSetInteger(xsVar(1), oldest->length);
	xsmcDefine(xsResult, xsID("byteLength"), xsVar(1), xsDontDelete | xsDontSet);
	xsmcPetrifyHostBuffer(xsResult);
	oldest->frame = xsResult;
	xsRemember(oldest->frame);
	oldest->state = RecordHeld;
}

/* camera: ready() -> how many frames wait to be read */
void xs_frames_ready(xsMachine *the)
{
	Frames *frames = framesOf(the, &xsThis);
	int count = 0;
	for (int i = 0; i < FRAME_RECORDS; i++)
		count += frames->records[i].state == RecordReady;
	xsmcSetInteger(xsResult, count);
}

/* frame: close(): its record goes back to the driver; a closed (or detached) frame does nothing */
void xs_frames_close(xsMachine *the)
{
	void *data = xsmcGetHostData(xsThis);
	if (!data)
		return;
	xsmcVars(1);
	xsmcGet(xsVar(0), xsThis, xsID("camera"));
	Frames *frames = framesOf(the, &xsVar(0));
	for (int i = 0; i < FRAME_RECORDS; i++) {
		FrameRecord *record = &frames->records[i];
		if ((record->state == RecordHeld) && (record->data == data)) {
			framesRelease(the, record);
			framesFree(record);
			return;
		}
	}
	xsUnknownError("unknown buffer");
}

/* camera: clear(): every record is freed, and the frames still held are detached first */
void xs_frames_clear(xsMachine *the)
{
	Frames *frames = framesOf(the, &xsThis);
	for (int i = 0; i < FRAME_RECORDS; i++) {
		framesRelease(the, &frames->records[i]);
		framesFree(&frames->records[i]);
	}
}
