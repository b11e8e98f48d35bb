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
static long gCutAfter = 0;
static long gOperations = 0;

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

/* Loads the partition table and opens the image; returns an error format (with %s the path) or NULL. */
static const char *flashLoad(void)
{
	if (gPartitionCount >= 0)
		return NULL;
	if (!gHostFlashPath || !gHostPartitionsPath)
		return "flash: this host was started without --flash and --partitions%s";
	const char *cut = getenv("DOORWARD_FLASH_CUT_AFTER");
	if (cut)
		gCutAfter = atol(cut);
	FILE *csv = fopen(gHostPartitionsPath, "r");
	if (!csv)
		return "flash: cannot open partition table %s";
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
			return "flash: malformed partition table %s";
		}
		long offset = parseSize(fields[3]);
		long size = parseSize(fields[4]);
		uint32_t alignment = strcmp(fields[1], "app") ? SECTOR_SIZE : 0x10000;
		if (offset == -1)
			offset = (next + alignment - 1) & ~(alignment - 1);
		if ((offset < 0) || (size <= 0) || (offset % SECTOR_SIZE) || (size % SECTOR_SIZE)) {
			fclose(csv);
			return "flash: malformed partition table %s";
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
		return "flash: cannot open flash image %s";
	struct stat status;
	fstat(gFlashFd, &status);
	if ((uint64_t)status.st_size < end) {
		/* New chip, or a larger table: what was never written reads as erased. */
		uint8_t erased[SECTOR_SIZE];
		memset(erased, 0xFF, sizeof(erased));
		for (off_t at = status.st_size - (status.st_size % SECTOR_SIZE); at < (off_t)end; at += SECTOR_SIZE) {
			if (pwrite(gFlashFd, erased, SECTOR_SIZE, at) != SECTOR_SIZE)
				return "flash: cannot extend flash image %s";
		}
	}
	gPartitionCount = count;
	return NULL;
}

static void flashOpen(xsMachine *the)
{
	const char *error = flashLoad();
	if (error)
		flashFail(the, error, gHostFlashPath ? gHostFlashPath : "");
}

/* ---- power cuts (DOORWARD_FLASH_CUT_AFTER=N): the N-th write or erase of
 * this process is torn half-way and the supply is cut, as on the device. ---- */

static void flashMaybeCut(off_t at, const uint8_t *data, uint32_t length, int erase)
{
	if (!gCutAfter || (++gOperations != gCutAfter))
		return;
	uint32_t half = length / 2;
	uint8_t chunk[SECTOR_SIZE];
	if (erase)
		memset(chunk, 0xFF, half);
	else if (pread(gFlashFd, chunk, half, at) == (ssize_t)half) {
		for (uint32_t i = 0; i < half; i++)
			chunk[i] &= data[i];
	}
	if (pwrite(gFlashFd, chunk, half, at) != (ssize_t)half)
		fprintf(stderr, "flash: torn write failed\n");
	fprintf(stderr, "flash: power cut during %s %ld\n", erase ? "erase" : "write", gOperations);
	hostPowerOff();
}

/* ---- for the host's boot stage (boot.c): partitions by name, raw access ---- */

int hostFlashPartition(const char *name, uint32_t *offset, uint32_t *size)
{
	const char *error = flashLoad();
	if (error) {
		fprintf(stderr, "doorward-sim-host: ");
		fprintf(stderr, error, gHostFlashPath ? gHostFlashPath : "");
		fprintf(stderr, "\n");
		return 0;
	}
	for (int i = 0; i < gPartitionCount; i++) {
		if (!strcmp(gPartitions[i].name, name)) {
			*offset = gPartitions[i].offset;
			*size = gPartitions[i].size;
			return 1;
		}
	}
	return 0;
}

int hostFlashRead(uint32_t at, void *data, uint32_t length)
{
	return pread(gFlashFd, data, length, at) == (ssize_t)length;
}

/* Writes can only clear bits; `length` at most one sector. */
int hostFlashWrite(uint32_t at, const void *data, uint32_t length)
{
	uint8_t chunk[SECTOR_SIZE];
	if (length > SECTOR_SIZE)
		return 0;
	flashMaybeCut(at, data, length, 0);
	if (pread(gFlashFd, chunk, length, at) != (ssize_t)length)
		return 0;
	for (uint32_t i = 0; i < length; i++)
		chunk[i] &= ((const uint8_t *)data)[i];
	return pwrite(gFlashFd, chunk, length, at) == (ssize_t)length;
}

int hostFlashErase(uint32_t at)
{
	uint8_t erased[SECTOR_SIZE];
	flashMaybeCut(at, NULL, SECTOR_SIZE, 1);
	memset(erased, 0xFF, sizeof(erased));
	return pwrite(gFlashFd, erased, SECTOR_SIZE, at) == SECTOR_SIZE;
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
	if (length)
		flashMaybeCut((off_t)handle->offset + offset, data, (length < SECTOR_SIZE) ? (uint32_t)length : SECTOR_SIZE, 0);
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
	flashMaybeCut((off_t)handle->offset + (off_t)sector * SECTOR_SIZE, NULL, SECTOR_SIZE, 1);
	memset(erased, 0xFF, sizeof(erased));
	if (pwrite(gFlashFd, erased, SECTOR_SIZE, (off_t)handle->offset + (off_t)sector * SECTOR_SIZE) != SECTOR_SIZE)
		xsUnknownError("flash: erase failed");
}
