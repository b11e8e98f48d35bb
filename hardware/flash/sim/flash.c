/*
 * File-backed NOR flash for the simulator host, as strict as Moddable's ESP32
 * `flash` module (modules/files/flash/flash.js and esp32/flash.c, over
 * ESP-IDF's esp_partition_read/write/erase_range):
 *
 * - new Flash(name) opens "xs" (the first partition of type 0x40, subtype 1),
 *   "running" (the app partition the boot stage booted), "nextota" (the one
 *   an update is written to: hostBootNextPartition, as
 *   esp_ota_get_next_update_partition), or a DATA partition by label. Any
 *   other name, an app slot's label such as "ota_1" included, throws
 *   "can't find partition", as on the device.
 * - erase(sector) erases one 4 KiB sector; read(offset, byteLength) returns
 *   an ArrayBuffer; write(offset, byteLength, buffer) can only clear bits and
 *   needs 0 < byteLength <= the buffer's length ("invalid"). Out of the
 *   partition, each throws as the device does ("erase failed", "read failed",
 *   "write failed"); so does writing a readonly partition or the running app.
 * - byteLength is the partition's size, blockSize 4096. Nothing else: the
 *   firmware uses neither map() nor readString(), and they are not here.
 *
 * The partition table is the board's ESP-IDF partitions.csv (`--partitions`),
 * so the simulator and the device agree on names, types and sizes. The image
 * file (`--flash`) survives restarts: it is the device's flash chip.
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

#define TYPE_APP 0x00
#define TYPE_DATA 0x01

typedef struct {
	char name[17];
	int type;
	int subtype;
	int readonly;
	uint32_t offset;
	uint32_t size;
} Partition;

/* An open partition: `running` is set for the running app, which ESP-IDF refuses to write. */
typedef struct {
	uint32_t offset;
	uint32_t size;
	int readonly;
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

/* A partition's type: "app", "data" or a number (custom types such as 0x40). */
static int parseType(const char *text)
{
	if (!strcmp(text, "app"))
		return TYPE_APP;
	if (!strcmp(text, "data"))
		return TYPE_DATA;
	long value = parseSize(text);
	return ((value < 0) || (value > 0xFE)) ? -1 : (int)value;
}

/* A subtype by ESP-IDF's name for it, or a number; -1 when neither. */
static int parseSubtype(int type, const char *text)
{
	static const struct { int type; const char *name; int value; } names[] = {
		{ TYPE_APP, "factory", 0x00 }, { TYPE_APP, "test", 0x20 },
		{ TYPE_DATA, "ota", 0x00 }, { TYPE_DATA, "phy", 0x01 }, { TYPE_DATA, "nvs", 0x02 }, { TYPE_DATA, "coredump", 0x03 },
		{ TYPE_DATA, "nvs_keys", 0x04 }, { TYPE_DATA, "efuse", 0x05 }, { TYPE_DATA, "undefined", 0x06 },
		{ TYPE_DATA, "esphttpd", 0x80 }, { TYPE_DATA, "fat", 0x81 }, { TYPE_DATA, "spiffs", 0x82 }, { TYPE_DATA, "littlefs", 0x83 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((names[i].type == type) && !strcmp(names[i].name, text))
			return names[i].value;
	}
	if ((type == TYPE_APP) && !strncmp(text, "ota_", 4)) {
		long slot = parseSize(text + 4);
		return ((slot >= 0) && (slot < 16)) ? 0x10 + (int)slot : -1;
	}
	long value = parseSize(text);
	return ((value < 0) || (value > 0xFE)) ? -1 : (int)value;
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
		int type = parseType(fields[1]);
		int subtype = (type < 0) ? -1 : parseSubtype(type, fields[2]);
		if (subtype < 0) {
			fclose(csv);
			return "flash: malformed partition table %s";
		}
		strcpy(gPartitions[count].name, fields[0]);
		gPartitions[count].type = type;
		gPartitions[count].subtype = subtype;
		gPartitions[count].readonly = (fieldCount > 5) && (strstr(fields[5], "readonly") != NULL);
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

/* ---- the `flash` module's natives (hardware/flash/sim/flash.ts), named as the device's ---- */

static const Partition *findPartition(const char *name, int type, int subtype)
{
	for (int i = 0; i < gPartitionCount; i++) {
		const Partition *partition = &gPartitions[i];
		if ((type >= 0) && (partition->type != type))
			continue;
		if ((subtype >= 0) && (partition->subtype != subtype))
			continue;
		if (name && strcmp(partition->name, name))
			continue;
		return partition;
	}
	return NULL;
}

void xs_flash_destructor(void *data)
{
	free(data);
}

static FlashHandle *flashThis(xsMachine *the)
{
	FlashHandle *handle = xsmcGetHostDataValidate(xsThis, (void *)xs_flash_destructor);
	if (!handle)
		xsUnknownError("flash: not open");
	return handle;
}

/* new Flash(name): the names esp32/flash.c knows, resolved as it resolves them. */
void xs_flash(xsMachine *the)
{
	const char *name = xsmcToString(xsArg(0));
	const Partition *partition = NULL;
	int running = 0;
	flashOpen(the);
	if (!strcmp(name, "xs"))
		partition = findPartition(NULL, 0x40, 1);
	else if (!strcmp(name, "running")) {
		const char *label = hostBootRunningPartition();
		partition = label ? findPartition(label, TYPE_APP, -1) : NULL;
		running = 1;
	}
	else if (!strcmp(name, "nextota")) {
		const char *label = hostBootNextPartition();
		partition = label ? findPartition(label, TYPE_APP, -1) : NULL;
	}
	else
		partition = findPartition(name, TYPE_DATA, -1);
	if (!partition)
		xsUnknownError("can't find partition");
	FlashHandle *handle = malloc(sizeof(FlashHandle));
	if (!handle)
		xsUnknownError("flash: out of memory");
	handle->offset = partition->offset;
	handle->size = partition->size;
	/* ESP-IDF refuses writes to a readonly partition, and (CONFIG_SPI_FLASH_DANGEROUS_WRITE)
	 * to the app it runs from; the device aborts there, the simulator throws. */
	handle->readonly = partition->readonly || running;
	xsmcSetHostData(xsThis, handle);
}

/* esp_partition_read/write's bounds: an offset past the end, or a range that ends past it, fails. */
static int flashInside(FlashHandle *handle, xsIntegerValue offset, xsIntegerValue length)
{
	return (offset >= 0) && (length >= 0) && ((uint64_t)offset + (uint64_t)length <= handle->size);
}

void xs_flash_byteLength(xsMachine *the)
{
	xsmcSetInteger(xsResult, flashThis(the)->size);
}

void xs_flash_blockSize(xsMachine *the)
{
	xsmcSetInteger(xsResult, SECTOR_SIZE);
}

/* read(offset, byteLength) -> ArrayBuffer */
void xs_flash_read(xsMachine *the)
{
	FlashHandle *handle = flashThis(the);
	xsIntegerValue offset = xsmcToInteger(xsArg(0));
	xsIntegerValue length = xsmcToInteger(xsArg(1));
	/* The buffer first, as the device makes it: XS itself refuses a negative length. */
	xsmcSetArrayBuffer(xsResult, NULL, length);
	if (!flashInside(handle, offset, length))
		xsUnknownError("read failed");
	if (length && (pread(gFlashFd, xsmcToArrayBuffer(xsResult), length, (off_t)handle->offset + offset) != length))
		xsUnknownError("read failed");
}

/* write(offset, byteLength, buffer): bits can only go from 1 to 0. */
void xs_flash_write(xsMachine *the)
{
	FlashHandle *handle = flashThis(the);
	xsIntegerValue offset = xsmcToInteger(xsArg(0));
	xsIntegerValue length = xsmcToInteger(xsArg(1));
	void *data;
	xsUnsignedValue available;
	xsmcGetBufferReadable(xsArg(2), &data, &available);
	if ((length <= 0) || (available < (xsUnsignedValue)length))
		xsUnknownError("invalid");
	if (handle->readonly || !flashInside(handle, offset, length))
		xsUnknownError("write failed");
	uint8_t chunk[SECTOR_SIZE];
	flashMaybeCut((off_t)handle->offset + offset, data, (length < SECTOR_SIZE) ? (uint32_t)length : SECTOR_SIZE, 0);
	for (xsIntegerValue done = 0; done < length;) {
		xsIntegerValue part = length - done;
		if (part > SECTOR_SIZE)
			part = SECTOR_SIZE;
		off_t at = (off_t)handle->offset + offset + done;
		if (pread(gFlashFd, chunk, part, at) != part)
			xsUnknownError("write failed");
		for (xsIntegerValue i = 0; i < part; i++)
			chunk[i] &= ((uint8_t *)data)[done + i];
		if (pwrite(gFlashFd, chunk, part, at) != part)
			xsUnknownError("write failed");
		done += part;
	}
}

/* erase(sector): one 4 KiB sector, by index within the partition. */
void xs_flash_erase(xsMachine *the)
{
	FlashHandle *handle = flashThis(the);
	xsIntegerValue sector = xsmcToInteger(xsArg(0));
	if (handle->readonly || (sector < 0) || (((uint64_t)sector + 1) * SECTOR_SIZE > handle->size))
		xsUnknownError("erase failed");
	uint8_t erased[SECTOR_SIZE];
	off_t at = (off_t)handle->offset + (off_t)sector * SECTOR_SIZE;
	flashMaybeCut(at, NULL, SECTOR_SIZE, 1);
	memset(erased, 0xFF, sizeof(erased));
	if (pwrite(gFlashFd, erased, SECTOR_SIZE, at) != SECTOR_SIZE)
		xsUnknownError("erase failed");
}
