/*
 * File-backed NOR flash for the simulator host, with the API of Moddable's
 * ESP32 `flash` module: a partition by name, erase by 4 KiB sector, and writes
 * that can only clear bits, as on the device's SPI flash.
 *
 * The partition table is the board's ESP-IDF partitions.csv (`--partitions`),
 * so the simulator and the device agree on names and sizes. The image file
 * (`--flash`) survives restarts: it is the device's flash chip.
 */
#include "xsmc.h"
#include "../../sim/host/host.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#define SECTOR_SIZE 4096
#define MAX_PARTITIONS 32

typedef struct {
	char name[17];
	uint32_t offset;
	uint32_t size;
} Partition;

typedef struct {
	uint32_t offset;
	uint32_t size;
} FlashHandle;

static Partition gPartitions[MAX_PARTITIONS];
static int gPartitionCount = -1;
static int gFlashFd = -1;

static char *trim(char *text)
{
	while (isspace((unsigned char)*text))
		text++;
	char *end = text + strlen(text);
	while ((end > text) && isspace((unsigned char)end[-1]))
		*--end = 0;
	return text;
}

/* "0x9000", "36864", "24K", "1M"; an empty field is -1. */
static long parseSize(const char *text)
{
	char *end;
	if (!*text)
		return -1;
	long value = strtol(text, &end, 0);
	if ((*end == 'K') || (*end == 'k'))
		value *= 1024, end++;
	else if ((*end == 'M') || (*end == 'm'))
		value *= 1024 * 1024, end++;
	return (*end || (value < 0)) ? -2 : value;
}

static void flashFail(xsMachine *the, const char *format, const char *detail)
{
	char message[512];
	snprintf(message, sizeof(message), format, detail);
	xsUnknownError("%s", message);
}

static void flashOpen(xsMachine *the)
{
	if (gPartitionCount >= 0)
		return;
	if (!gHostFlashPath || !gHostPartitionsPath)
		xsUnknownError("flash: this host was started without --flash and --partitions");
	FILE *csv = fopen(gHostPartitionsPath, "r");
	if (!csv)
		flashFail(the, "flash: cannot open partition table %s", gHostPartitionsPath);
	char line[256];
	uint32_t next = 0x9000; /* after the bootloader and the partition table itself */
	uint32_t end = 0;
	int count = 0;
	while (fgets(line, sizeof(line), csv)) {
		char *fields[6] = { 0 };
		int fieldCount = 0;
		char *cursor = trim(line);
		if (!*cursor || (*cursor == '#'))
			continue;
		while (cursor && (fieldCount < 6)) {
			char *comma = strchr(cursor, ',');
			if (comma)
				*comma = 0;
			fields[fieldCount++] = trim(cursor);
			cursor = comma ? comma + 1 : NULL;
		}
		if ((fieldCount < 5) || (count == MAX_PARTITIONS) || (strlen(fields[0]) > 16)) {
			fclose(csv);
			flashFail(the, "flash: malformed partition table %s", gHostPartitionsPath);
		}
		long offset = parseSize(fields[3]);
		long size = parseSize(fields[4]);
		uint32_t alignment = strcmp(fields[1], "app") ? SECTOR_SIZE : 0x10000;
		if (offset == -1)
			offset = (next + alignment - 1) & ~(alignment - 1);
		if ((offset < 0) || (size <= 0) || (offset % SECTOR_SIZE) || (size % SECTOR_SIZE)) {
			fclose(csv);
			flashFail(the, "flash: malformed partition table %s", gHostPartitionsPath);
		}
		strcpy(gPartitions[count].name, fields[0]);
		gPartitions[count].offset = (uint32_t)offset;
		gPartitions[count].size = (uint32_t)size;
		count++;
		next = (uint32_t)(offset + size);
		if (next > end)
			end = next;
	}
	fclose(csv);
	gFlashFd = open(gHostFlashPath, O_RDWR | O_CREAT, 0600);
	if (gFlashFd < 0)
		flashFail(the, "flash: cannot open flash image %s", gHostFlashPath);
	struct stat status;
	fstat(gFlashFd, &status);
	if ((uint64_t)status.st_size < end) {
		/* New chip, or a larger table: what was never written reads as erased. */
		uint8_t erased[SECTOR_SIZE];
		memset(erased, 0xFF, sizeof(erased));
		for (off_t at = status.st_size - (status.st_size % SECTOR_SIZE); at < (off_t)end; at += SECTOR_SIZE) {
			if (pwrite(gFlashFd, erased, SECTOR_SIZE, at) != SECTOR_SIZE)
				flashFail(the, "flash: cannot extend flash image %s", gHostFlashPath);
		}
	}
	gPartitionCount = count;
}

static FlashHandle *flashHandle(xsMachine *the)
{
	FlashHandle *handle = xsmcGetHostData(xsArg(0));
	if (!handle)
		xsUnknownError("flash: closed");
	return handle;
}

static void flashDestructor(void *data)
{
	free(data);
}

static void flashCheckRange(xsMachine *the, FlashHandle *handle, xsIntegerValue offset, xsIntegerValue length)
{
	if ((offset < 0) || (length < 0) || ((uint64_t)offset + (uint64_t)length > handle->size))
		xsRangeError("flash: %d bytes at offset %d exceed the partition (%u bytes)", (int)length, (int)offset, handle->size);
}

/* xs_flash_open(name) -> handle */
void xs_flash_open(xsMachine *the)
{
	const char *name = xsmcToString(xsArg(0));
	flashOpen(the);
	for (int i = 0; i < gPartitionCount; i++) {
		if (!strcmp(gPartitions[i].name, name)) {
			FlashHandle *handle = malloc(sizeof(FlashHandle));
			if (!handle)
				xsUnknownError("flash: out of memory");
			handle->offset = gPartitions[i].offset;
			handle->size = gPartitions[i].size;
			xsResult = xsNewHostObject(flashDestructor);
			xsmcSetHostData(xsResult, handle);
			return;
		}
	}
	xsUnknownError("flash: no partition named %s", name);
}

/* xs_flash_size(handle) -> byteLength */
void xs_flash_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, flashHandle(the)->size);
}

/* xs_flash_read(handle, offset, byteLength) -> ArrayBuffer */
void xs_flash_read(xsMachine *the)
{
	FlashHandle *handle = flashHandle(the);
	xsIntegerValue offset = xsmcToInteger(xsArg(1));
	xsIntegerValue length = xsmcToInteger(xsArg(2));
	flashCheckRange(the, handle, offset, length);
	xsmcSetArrayBuffer(xsResult, NULL, length);
	void *data;
	xsUnsignedValue size;
	xsmcGetBufferWritable(xsResult, &data, &size);
	if (pread(gFlashFd, data, length, (off_t)handle->offset + offset) != length)
		xsUnknownError("flash: read failed");
}

/* xs_flash_write(handle, offset, byteLength, buffer): bits can only go from 1 to 0. */
void xs_flash_write(xsMachine *the)
{
	FlashHandle *handle = flashHandle(the);
	xsIntegerValue offset = xsmcToInteger(xsArg(1));
	xsIntegerValue length = xsmcToInteger(xsArg(2));
	void *data;
	xsUnsignedValue available;
	flashCheckRange(the, handle, offset, length);
	xsmcGetBufferReadable(xsArg(3), &data, &available);
	if ((xsUnsignedValue)length > available)
		xsRangeError("flash: buffer holds %u bytes, %d requested", available, (int)length);
	uint8_t chunk[SECTOR_SIZE];
	for (xsIntegerValue done = 0; done < length;) {
		xsIntegerValue part = length - done;
		if (part > SECTOR_SIZE)
			part = SECTOR_SIZE;
		off_t at = (off_t)handle->offset + offset + done;
		if (pread(gFlashFd, chunk, part, at) != part)
			xsUnknownError("flash: read failed");
		for (xsIntegerValue i = 0; i < part; i++)
			chunk[i] &= ((uint8_t *)data)[done + i];
		if (pwrite(gFlashFd, chunk, part, at) != part)
			xsUnknownError("flash: write failed");
		done += part;
	}
}

/* xs_flash_erase(handle, sector) */
void xs_flash_erase(xsMachine *the)
{
	FlashHandle *handle = flashHandle(the);
	xsIntegerValue sector = xsmcToInteger(xsArg(1));
	if ((sector < 0) || ((uint64_t)(sector + 1) * SECTOR_SIZE > handle->size))
		xsRangeError("flash: sector %d outside the partition", (int)sector);
	uint8_t erased[SECTOR_SIZE];
	memset(erased, 0xFF, sizeof(erased));
	if (pwrite(gFlashFd, erased, SECTOR_SIZE, (off_t)handle->offset + (off_t)sector * SECTOR_SIZE) != SECTOR_SIZE)
		xsUnknownError("flash: erase failed");
}
