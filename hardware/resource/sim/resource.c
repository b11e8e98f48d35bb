/*
 * The simulator's resources: a file in the --resources folder, read once
 * into memory that the Resource object owns and hands out as a read-only
 * host buffer, as Moddable's Resource hands out the firmware image in flash
 * (modules/files/resource/Resource.c). So the firmware sees the same kind of
 * object here as on the device and on lin: not an ArrayBuffer, and not
 * writable. Names are checked in resource.ts and again here: no path
 * separators, so a name cannot leave the folder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsmc.h"
#include "host.h"

/* Large enough for any model we ship; a bigger file is a mistake, not data. */
#define kResourceLimit (16 * 1024 * 1024)

void xs_resource_destructor(void *data)
{
	free(data);
}

/* The file's path for argument 0; false if the simulator has no resources folder. */
static int resourcePath(xsMachine *the, char *path, size_t size)
{
	/* A copy: XS may move the string when something is allocated. */
	char name[256];
	if (xsmcTypeOf(xsArg(0)) != xsStringType)
		xsRangeError("resource: name must be a string");
	if (strlen(xsmcToString(xsArg(0))) >= sizeof(name))
		xsRangeError("resource: name too long");
	xsmcToStringBuffer(xsArg(0), name, sizeof(name));
	if (!name[0] || (name[0] == '.') || strchr(name, '/') || strchr(name, '\\'))
		xsRangeError("resource: invalid name");
	if (!gHostResourcesPath)
		return 0;
	if (snprintf(path, size, "%s/%s", gHostResourcesPath, name) >= (int)size)
		xsRangeError("resource: name too long");
	return 1;
}

/* xs_resource_exists(name): whether the resource is there. */
void xs_resource_exists(xsMachine *the)
{
	char path[4096];
	FILE *file;
	xsmcSetFalse(xsResult);
	if (!resourcePath(the, path, sizeof(path)))
		return;
	file = fopen(path, "rb");
	if (!file) {
		if (errno == ENOENT)
			return;
		xsUnknownError("resource: cannot open %s: %s", xsmcToString(xsArg(0)), strerror(errno));
	}
	fclose(file);
	xsmcSetTrue(xsResult);
}

/* xs_resource_open(name), on a new Resource: its bytes become this object's read-only host buffer. */
void xs_resource_open(xsMachine *the)
{
	char path[4096];
	FILE *file;
	long size;
	void *data;

	if (xsmcGetHostData(xsThis))
		xsUnknownError("resource: already open");
	if (!resourcePath(the, path, sizeof(path)))
		xsUnknownError("resource: %s is not in the firmware image", xsmcToString(xsArg(0)));
	file = fopen(path, "rb");
	if (!file) {
		if (errno == ENOENT)
			xsUnknownError("resource: %s is not in the firmware image", xsmcToString(xsArg(0)));
		xsUnknownError("resource: cannot open %s: %s", xsmcToString(xsArg(0)), strerror(errno));
	}
	if ((fseek(file, 0, SEEK_END) != 0) || ((size = ftell(file)) < 0) || (fseek(file, 0, SEEK_SET) != 0)) {
		fclose(file);
		xsUnknownError("resource: cannot size %s", xsmcToString(xsArg(0)));
	}
	if (size > kResourceLimit) {
		fclose(file);
		xsRangeError("resource: %s is larger than %d bytes", xsmcToString(xsArg(0)), kResourceLimit);
	}
	/* One byte at least, so that an empty file still has an address to free. */
	data = malloc(size ? (size_t)size : 1);
	if (!data) {
		fclose(file);
		xsUnknownError("resource: out of memory for %s", xsmcToString(xsArg(0)));
	}
	if ((size > 0) && (fread(data, 1, (size_t)size, file) != (size_t)size)) {
		fclose(file);
		free(data);
		xsUnknownError("resource: cannot read %s", xsmcToString(xsArg(0)));
	}
	fclose(file);
	xsmcSetHostBuffer(xsThis, data, (xsUnsignedValue)size);
	xsmcPetrifyHostBuffer(xsThis);
}

/* xs_resource_byte_length(): the host buffer's size. */
void xs_resource_byte_length(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)xsmcGetHostBufferLength(xsThis));
}
