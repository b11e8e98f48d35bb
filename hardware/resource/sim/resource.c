/*
 * The simulator's resources: a file in the --resources folder, read whole.
 * Names are checked in resource.ts and again here: no path separators, so a
 * name cannot leave the folder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsmc.h"
#include "host.h"

/* Large enough for any model we ship; a bigger file is a mistake, not data. */
#define kResourceLimit (16 * 1024 * 1024)

/* xs_resource_read(name): the file's bytes, or undefined if there is no such resource. */
void xs_resource_read(xsMachine *the)
{
	char path[4096];
	/* A copy: XS may move the string when the result is allocated. */
	char name[256];
	FILE *file;
	long size;
	void *data;

	if (xsmcTypeOf(xsArg(0)) != xsStringType)
		xsRangeError("resource: name must be a string");
	if (strlen(xsmcToString(xsArg(0))) >= sizeof(name))
		xsRangeError("resource: name too long");
	xsmcToStringBuffer(xsArg(0), name, sizeof(name));
	if (!name[0] || (name[0] == '.') || strchr(name, '/') || strchr(name, '\\'))
		xsRangeError("resource: invalid name");
	if (!gHostResourcesPath)
		return;
	if (snprintf(path, sizeof(path), "%s/%s", gHostResourcesPath, name) >= (int)sizeof(path))
		xsRangeError("resource: name too long");
	file = fopen(path, "rb");
	if (!file) {
		if (errno == ENOENT)
			return;
		xsUnknownError("resource: cannot open %s: %s", name, strerror(errno));
	}
	if ((fseek(file, 0, SEEK_END) != 0) || ((size = ftell(file)) < 0) || (fseek(file, 0, SEEK_SET) != 0)) {
		fclose(file);
		xsUnknownError("resource: cannot size %s", name);
	}
	if (size > kResourceLimit) {
		fclose(file);
		xsRangeError("resource: %s is larger than %d bytes", name, kResourceLimit);
	}
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)size);
	data = xsmcToArrayBuffer(xsResult);
	if ((size > 0) && (fread(data, 1, (size_t)size, file) != (size_t)size)) {
		fclose(file);
		xsUnknownError("resource: cannot read %s", name);
	}
	fclose(file);
}
