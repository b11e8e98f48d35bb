/*
 * The bridge between the simulated device and the world that plays around it
 * (the Node process running `doorward sim`: scene, button, PIR, camera).
 *
 * Frames on the descriptor given by `--bridge FD`, both directions:
 *   u32 big-endian length of what follows, u8 type, payload (length - 1 bytes)
 * Types are defined by hardware/sim/bridge/bridge.ts, not here: the host only
 * moves bytes. When the world closes the bridge, the device loses power.
 */
#include "xsmc.h"
#include "../host/host.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>

#define BRIDGE_MAX_MESSAGE (16 * 1024 * 1024) /* a test vector can be 4 MiB and more */

static xsSlot gListener;
static int gListening = 0;
static uint8_t *gInput = NULL;
static size_t gInputUsed = 0;
static size_t gInputCapacity = 0;
static xsMachine *gMachine = NULL;

static void bridgeDispatch(xsMachine *the, uint8_t type, uint8_t *payload, uint32_t length)
{
	xsTry {
		xsmcVars(2);
		xsmcSetInteger(xsVar(0), type);
		xsmcSetArrayBuffer(xsVar(1), payload, length);
		xsCallFunction2(gListener, xsUndefined, xsVar(0), xsVar(1));
	}
	xsCatch {
		hostReportException(the, "bridge listener");
	}
}

static void bridgeDeliver(xsMachine *the)
{
	size_t offset = 0;
	while (gInputUsed - offset >= 5) {
		uint8_t *header = gInput + offset;
		uint32_t length = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) | ((uint32_t)header[2] << 8) | header[3];
		if ((length < 1) || (length > BRIDGE_MAX_MESSAGE)) {
			fprintf(stderr, "doorward-sim-host: bridge: bad message length %u\n", length);
			_exit(70);
		}
		if (gInputUsed - offset < 4 + (size_t)length)
			break;
		bridgeDispatch(the, header[4], header + 5, length - 1);
		offset += 4 + length;
	}
	memmove(gInput, gInput + offset, gInputUsed - offset);
	gInputUsed -= offset;
}

static void bridgeReadable(void *refcon, short revents)
{
	xsMachine *the = gMachine;
	if (gInputCapacity - gInputUsed < 65536) {
		size_t capacity = gInputCapacity ? gInputCapacity * 2 : 131072;
		uint8_t *input = realloc(gInput, capacity);
		if (!input) {
			fprintf(stderr, "doorward-sim-host: bridge: out of memory\n");
			_exit(70);
		}
		gInput = input;
		gInputCapacity = capacity;
	}
	ssize_t count = read(gHostBridgeFd, gInput + gInputUsed, gInputCapacity - gInputUsed);
	if (count < 0) {
		if ((errno == EINTR) || (errno == EAGAIN))
			return;
		fprintf(stderr, "doorward-sim-host: bridge: %s\n", strerror(errno));
	}
	if (count <= 0) {
		/* The world is gone: power off, as a device whose supply is cut. */
		hostUnwatch(gHostBridgeFd);
		hostPowerOff();
		return;
	}
	gInputUsed += (size_t)count;
	xsBeginHost(the);
	bridgeDeliver(the);
	xsEndHost(the);
}

/* xs_bridge_listen(listener(type, payload)) */
void xs_bridge_listen(xsMachine *the)
{
	if (gHostBridgeFd < 0)
		xsUnknownError("bridge: this host was started without --bridge");
	if (!xsmcIsInstanceOf(xsArg(0), xsFunctionPrototype))
		xsUnknownError("bridge: listener is not a function");
	if (gListening)
		xsUnknownError("bridge: already listening");
	gListener = xsArg(0);
	xsRemember(gListener);
	gListening = 1;
	gMachine = the;
	hostWatch(gHostBridgeFd, POLLIN, 1, bridgeReadable, NULL);
}

/* xs_bridge_send(type, payload?) */
void xs_bridge_send(xsMachine *the)
{
	xsIntegerValue type = xsmcToInteger(xsArg(0));
	void *data = NULL;
	xsUnsignedValue length = 0;
	uint8_t header[5];
	if (gHostBridgeFd < 0)
		xsUnknownError("bridge: this host was started without --bridge");
	if ((type < 0) || (type > 255))
		xsRangeError("bridge: type %d out of range", type);
	if ((xsmcArgc > 1) && (xsmcTypeOf(xsArg(1)) != xsUndefinedType))
		xsmcGetBufferReadable(xsArg(1), &data, &length);
	if (length >= BRIDGE_MAX_MESSAGE)
		xsRangeError("bridge: message too long");
	header[0] = (uint8_t)((length + 1) >> 24);
	header[1] = (uint8_t)((length + 1) >> 16);
	header[2] = (uint8_t)((length + 1) >> 8);
	header[3] = (uint8_t)(length + 1);
	header[4] = (uint8_t)type;
	/* Messages to the world are small and rare; a blocking write keeps them whole. */
	const uint8_t *parts[2] = { header, data };
	size_t sizes[2] = { sizeof(header), length };
	for (int i = 0; i < 2; i++) {
		size_t written = 0;
		while (written < sizes[i]) {
			ssize_t count = write(gHostBridgeFd, parts[i] + written, sizes[i] - written);
			if (count < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN) {
					struct pollfd wait = { gHostBridgeFd, POLLOUT, 0 };
					poll(&wait, 1, -1);
					continue;
				}
				xsUnknownError("bridge: write failed: %s", strerror(errno));
			}
			written += (size_t)count;
		}
	}
}
