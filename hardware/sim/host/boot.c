/*
 * The simulator's boot stage and OTA state: what ESP-IDF's bootloader and
 * esp_ota_ops do on the device, reduced to what Doorward needs.
 *
 * The "otadata" partition holds the boot-state record, in two copies (one
 * per 4 KiB sector). The valid copy with the higher sequence number wins; a
 * new state is always written to the other sector (erase, then one write),
 * so a power cut while writing leaves the previous state readable.
 *
 *   record (96 bytes, big-endian):
 *    0  4 "DWB1"
 *    4  4 sequence number
 *    8  1 state: 0 confirmed, 1 pending (not booted yet), 2 on trial (booted once, not confirmed)
 *    9  3 reserved, 0xFF
 *   12 40 active image:   slot (0 ota_0, 1 ota_1, 0xFE factory), security version, 2 reserved,
 *                         u32 size, SHA-256 (32)
 *   52 40 previous image: the same; slot 0xFF when there is none
 *   92  4 CRC-32 (IEEE) of bytes 0..91
 *
 * No valid record: the factory image (the module map's files) boots. A slot
 * image is an archive of compiled modules (tools/release/sim-image.ts):
 *   "DWI1" | u32 count | count x (u16 specifier length | specifier | u32 source length | source)
 * and is booted only if its SHA-256 and size match the record and its
 * security version is not below the "eFuse" (the file <flash>.secver).
 *
 * At boot: pending -> mark on trial, boot it (the firmware must confirm
 * within the trial time, or the host resets, exit 75); on trial -> the
 * previous boot never confirmed: roll back to the previous image.
 */
#include "xsmc.h"
#include "host.h"

#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_SIZE 96
#define SECTOR 4096
#define SLOT_FACTORY 0xFE
#define SLOT_NONE 0xFF
#define STATE_CONFIRMED 0
#define STATE_PENDING 1
#define STATE_TRIAL 2

typedef struct {
	uint8_t slot;
	uint8_t securityVersion;
	uint32_t size;
	uint8_t digest[32];
} Image;

typedef struct {
	uint32_t sequence;
	uint8_t state;
	Image active;
	Image previous;
} BootRecord;

static BootRecord gRecord;
static int gRecordValid = 0;
static int gRecordSector = -1; /* where the current record is */
static int gBootedSlot = SLOT_FACTORY;
static int gTrial = 0;
static int gRolledBack = 0;
static int gSecurityVersion = 0;
double gHostTrialDeadline = -1;

/* ---- the image archive, for loader.c ---- */
static uint8_t *gImage = NULL;
static uint32_t gImageSize = 0;

static uint32_t crc32(const uint8_t *data, size_t length)
{
	uint32_t crc = 0xFFFFFFFF;
	for (size_t i = 0; i < length; i++) {
		crc ^= data[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320 & (0 - (crc & 1)));
	}
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

static void encodeImage(uint8_t *p, const Image *image)
{
	p[0] = image->slot;
	p[1] = image->securityVersion;
	p[2] = p[3] = 0xFF;
	put32(p + 4, image->size);
	memcpy(p + 8, image->digest, 32);
}

static void decodeImage(const uint8_t *p, Image *image)
{
	image->slot = p[0];
	image->securityVersion = p[1];
	image->size = get32(p + 4);
	memcpy(image->digest, p + 8, 32);
}

static int otadata(uint32_t *offset)
{
	uint32_t size;
	return hostFlashPartition("otadata", offset, &size) && (size >= 2 * SECTOR);
}

static void readRecord(void)
{
	uint32_t base;
	gRecordValid = 0;
	if (!otadata(&base))
		return;
	for (int sector = 0; sector < 2; sector++) {
		uint8_t bytes[RECORD_SIZE];
		if (!hostFlashRead(base + sector * SECTOR, bytes, RECORD_SIZE))
			continue;
		if (memcmp(bytes, "DWB1", 4) || (crc32(bytes, 92) != get32(bytes + 92)))
			continue;
		BootRecord record;
		record.sequence = get32(bytes + 4);
		record.state = bytes[8];
		decodeImage(bytes + 12, &record.active);
		decodeImage(bytes + 52, &record.previous);
		if (!gRecordValid || (record.sequence > gRecord.sequence)) {
			gRecord = record;
			gRecordValid = 1;
			gRecordSector = sector;
		}
	}
}

/* Writes `record` as the next state, into the sector that does not hold the current one. */
static int writeRecord(BootRecord *record)
{
	uint32_t base;
	uint8_t bytes[RECORD_SIZE];
	if (!otadata(&base))
		return 0;
	int sector = (gRecordValid && (gRecordSector == 0)) ? 1 : 0;
	record->sequence = gRecordValid ? gRecord.sequence + 1 : 1;
	memcpy(bytes, "DWB1", 4);
	put32(bytes + 4, record->sequence);
	bytes[8] = record->state;
	bytes[9] = bytes[10] = bytes[11] = 0xFF;
	encodeImage(bytes + 12, &record->active);
	encodeImage(bytes + 52, &record->previous);
	put32(bytes + 92, crc32(bytes, 92));
	if (!hostFlashErase(base + sector * SECTOR) || !hostFlashWrite(base + sector * SECTOR, bytes, RECORD_SIZE))
		return 0;
	gRecord = *record;
	gRecordValid = 1;
	gRecordSector = sector;
	return 1;
}

static const char *slotName(int slot)
{
	return (slot == 0) ? "ota_0" : (slot == 1) ? "ota_1" : (slot == SLOT_FACTORY) ? "factory" : "none";
}

static char *securityPath(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s.secver", gHostFlashPath ? gHostFlashPath : "flash");
	return path;
}

static int readSecurityVersion(void)
{
	FILE *file = fopen(securityPath(), "r");
	int value = 0;
	if (file) {
		if (fscanf(file, "%d", &value) != 1)
			value = 0;
		fclose(file);
	}
	return value;
}

/* The eFuse: it only goes up. */
static void raiseSecurityVersion(int value)
{
	if (value <= gSecurityVersion)
		return;
	FILE *file = fopen(securityPath(), "w");
	if (file) {
		fprintf(file, "%d\n", value);
		fclose(file);
		gSecurityVersion = value;
	}
}

/* Loads and checks a slot's image: size, SHA-256, security version, archive structure. */
static int loadImage(const Image *image)
{
	uint32_t offset, size;
	if ((image->slot > 1) || !hostFlashPartition(slotName(image->slot), &offset, &size) || !image->size || (image->size > size))
		return 0;
	if (image->securityVersion < gSecurityVersion) {
		fprintf(stderr, "boot: %s has security version %d, below the eFuse's %d: refused\n", slotName(image->slot), image->securityVersion, gSecurityVersion);
		return 0;
	}
	uint8_t *bytes = malloc(image->size);
	if (!bytes || !hostFlashRead(offset, bytes, image->size)) {
		free(bytes);
		return 0;
	}
	uint8_t digest[32];
	mbedtls_sha256_ret(bytes, image->size, digest, 0);
	if (memcmp(digest, image->digest, 32) || (image->size < 8) || memcmp(bytes, "DWI1", 4)) {
		fprintf(stderr, "boot: %s does not match its record (SHA-256 or format): refused\n", slotName(image->slot));
		free(bytes);
		return 0;
	}
	/* Walk the entries once so the loader can trust the lengths. */
	uint32_t count = get32(bytes + 4), at = 8;
	for (uint32_t i = 0; i < count; i++) {
		if (at + 2 > image->size)
			goto bad;
		uint32_t length = (bytes[at] << 8) | bytes[at + 1];
		at += 2 + length;
		if (at + 4 > image->size)
			goto bad;
		length = get32(bytes + at);
		at += 4;
		if (length > image->size - at)
			goto bad;
		at += length;
	}
	free(gImage);
	gImage = bytes;
	gImageSize = image->size;
	return 1;
bad:
	fprintf(stderr, "boot: %s: malformed image archive\n", slotName(image->slot));
	free(bytes);
	return 0;
}

static void digestHex(const uint8_t *digest, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", digest[i]);
}

/* Rolls back to the previous image; returns whether there was one. */
static int rollBack(const char *why)
{
	BootRecord next = gRecord;
	if (next.previous.slot == SLOT_NONE)
		return 0;
	fprintf(stderr, "boot: %s: rolling back from %s to %s\n", why, slotName(next.active.slot), slotName(next.previous.slot));
	next.active = next.previous;
	memset(&next.previous, 0xFF, sizeof(next.previous));
	next.previous.slot = SLOT_NONE;
	next.state = STATE_CONFIRMED;
	gRolledBack = 1;
	gTrial = 0;
	return writeRecord(&next);
}

void hostBoot(void)
{
	gBootedSlot = SLOT_FACTORY;
	if (!gHostFlashPath || !gHostPartitionsPath)
		return;
	gSecurityVersion = readSecurityVersion();
	readRecord();
	if (!gRecordValid) {
		fprintf(stderr, "boot: factory image\n");
		return;
	}
	if (gRecord.state == STATE_TRIAL)
		rollBack("the image on trial was reset before it confirmed itself");
	else if (gRecord.state == STATE_PENDING) {
		BootRecord next = gRecord;
		next.state = STATE_TRIAL;
		if (writeRecord(&next))
			gTrial = 1;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		const Image *image = &gRecord.active;
		if ((image->slot == SLOT_FACTORY) || loadImage(image)) {
			char hex[65] = "";
			if (image->slot != SLOT_FACTORY)
				digestHex(image->digest, hex);
			gBootedSlot = image->slot;
			fprintf(stderr, "boot: %s%s%s%s\n", slotName(image->slot), hex[0] ? ", SHA-256 " : "", hex, gTrial ? ", on trial" : "");
			return;
		}
		if (!rollBack("the active image is not valid"))
			break;
	}
	fprintf(stderr, "boot: no valid image in the record: factory image\n");
	gBootedSlot = SLOT_FACTORY;
}

int hostBootTrial(void)
{
	return gTrial;
}

/* What the flash module's "running" names (esp_ota_get_running_partition): the
 * booted slot, or NULL when the factory image (the module map) runs, which
 * lives in no partition here. */
const char *hostBootRunningPartition(void)
{
	return (gBootedSlot <= 1) ? slotName(gBootedSlot) : NULL;
}

/* What the flash module's "nextota" names (esp_ota_get_next_update_partition):
 * the slot an update is written to, which is also the one xs_ota_state calls
 * inactive and the only one xs_ota_activate accepts. */
const char *hostBootNextPartition(void)
{
	return slotName((gBootedSlot == 0) ? 1 : 0);
}

/* For loader.c: the booted image's modules, or NULL when the factory image runs. */
int hostImageModule(const char *specifier, const uint8_t **source, uint32_t *length)
{
	if (!gImage)
		return -1;	/* no image: use the module map */
	uint32_t count = get32(gImage + 4), at = 8;
	size_t wanted = strlen(specifier);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t nameLength = (gImage[at] << 8) | gImage[at + 1];
		const uint8_t *name = gImage + at + 2;
		at += 2 + nameLength;
		uint32_t sourceLength = get32(gImage + at);
		at += 4;
		if ((nameLength == wanted) && !memcmp(name, specifier, wanted)) {
			if (source) {
				*source = gImage + at;
				*length = sourceLength;
			}
			return 1;
		}
		at += sourceLength;
	}
	return 0;
}

/* ---- natives for hardware/ota (sim) ---- */

/* xs_ota_state() -> {running, inactive, trial, rolledBack, securityVersion} */
void xs_ota_state(xsMachine *the)
{
	xsmcVars(1);
	xsmcSetNewObject(xsResult);
	xsmcSetString(xsVar(0), (char *)slotName(gBootedSlot));
	xsmcSet(xsResult, xsID("running"), xsVar(0));
	xsmcSetString(xsVar(0), (char *)hostBootNextPartition());
	xsmcSet(xsResult, xsID("inactive"), xsVar(0));
	xsmcSetBoolean(xsVar(0), gTrial);
	xsmcSet(xsResult, xsID("trial"), xsVar(0));
	xsmcSetBoolean(xsVar(0), gRolledBack);
	xsmcSet(xsResult, xsID("rolledBack"), xsVar(0));
	xsmcSetInteger(xsVar(0), gSecurityVersion);
	xsmcSet(xsResult, xsID("securityVersion"), xsVar(0));
}

/* xs_ota_activate(partition, size, digest, securityVersion): boot it next, on trial. */
void xs_ota_activate(xsMachine *the)
{
	const char *name = xsmcToString(xsArg(0));
	int slot = !strcmp(name, "ota_0") ? 0 : !strcmp(name, "ota_1") ? 1 : -1;
	/* Only the slot that Flash("nextota") wrote: the running one, or a name that is no slot, is refused. */
	if ((slot < 0) || strcmp(name, hostBootNextPartition()))
		xsRangeError("ota: %s is not the inactive slot", name);
	if (gTrial)
		xsUnknownError("ota: the running image is on trial; confirm it first");
	xsIntegerValue size = xsmcToInteger(xsArg(1));
	xsIntegerValue securityVersion = xsmcToInteger(xsArg(3));
	void *digest;
	xsUnsignedValue digestLength;
	xsmcGetBufferReadable(xsArg(2), &digest, &digestLength);
	if ((digestLength != 32) || (size <= 0) || (securityVersion < 0) || (securityVersion > 16))
		xsRangeError("ota: bad image description");
	BootRecord next;
	memset(&next, 0xFF, sizeof(next));
	next.state = STATE_PENDING;
	next.active.slot = slot;
	next.active.securityVersion = securityVersion;
	next.active.size = size;
	memcpy(next.active.digest, digest, 32);
	if (gRecordValid && (gRecord.active.slot == gBootedSlot))
		next.previous = gRecord.active;
	else {
		next.previous.slot = SLOT_FACTORY;
		next.previous.securityVersion = 0;
		next.previous.size = 0;
	}
	if (!writeRecord(&next))
		xsUnknownError("ota: cannot write the boot state");
}

/* xs_ota_confirm(): the image on trial passed its self-test. Only now is the security version raised. */
void xs_ota_confirm(xsMachine *the)
{
	if (!gTrial)
		return;
	BootRecord next = gRecord;
	next.state = STATE_CONFIRMED;
	if (!writeRecord(&next))
		xsUnknownError("ota: cannot write the boot state");
	gTrial = 0;
	gHostTrialDeadline = -1;
	raiseSecurityVersion(next.active.securityVersion);
}

/* xs_ota_restart(): the device resets (exit 75; the world powers it up again). */
void xs_ota_restart(xsMachine *the)
{
	hostRequestExit(75);
}
