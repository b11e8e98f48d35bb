/*
 * The Doorward simulator host: one XS machine, one run loop.
 *
 * Native modules of the simulator (timer, sockets, bridge, flash, random) are
 * compiled into this program. They reach the loop through the functions below
 * and are exposed to JavaScript by name through the global `native()`.
 *
 * This header is shared by code written against the public xsmc API (host.c
 * and the natives) and by loader.c, which uses XS internals; so it names the
 * machine only as `void *`.
 */
#ifndef DOORWARD_SIM_HOST_H
#define DOORWARD_SIM_HOST_H

#include <stdint.h>

/* The loop calls back when `fd` is ready for any of `events` (poll flags).
 * A watched descriptor with `keepAlive` keeps the process running. */
typedef void (*HostReadyCallback)(void *refcon, short revents);
void hostWatch(int fd, short events, int keepAlive, HostReadyCallback callback, void *refcon);
void hostUnwatch(int fd);

double hostMonotonicMilliseconds(void);

/* Timers, serviced by the loop (timer.c). */
double hostTimersNextDeadline(void); /* < 0 when none is armed */
int hostTimersPending(void);
void hostTimersFire(void *the);

/* An exception escaped a callback: report it and stop, as the device resets. */
void hostReportException(void *the, const char *where);
void hostRequestExit(int code);

/* The supply is cut: stop now, with no cleanup, as the device would. */
void hostPowerOff(void) __attribute__((noreturn));

/* Module loading and jobs (loader.c, on XS internals). */
void hostLoadModuleMap(const char *path);
int hostHasModule(const char *specifier);
void hostImportMain(void *the, const char *specifier);
/* Preload and freeze, as mcconfig's linker does (preload.c). */
void hostAddPreload(const char *specifier);
void hostSetBuildTime(const char *moduleMapPath);
void hostPreload(void *the);
int hostPreloading(void);
int hostRunPromiseJobs(void *the);
void hostCheckUnhandledRejections(void *the);
const char *hostXSVersion(void);
void hostMemory(void *the, double *chunks, double *slots);

/* Flash, for the boot stage (hardware/flash/sim/flash.c): absolute offsets. */
int hostFlashPartition(const char *name, uint32_t *offset, uint32_t *size);
int hostFlashRead(uint32_t at, void *data, uint32_t length);
int hostFlashWrite(uint32_t at, const void *data, uint32_t length);
int hostFlashErase(uint32_t at);

/* The boot stage (boot.c): picks the image to run from the otadata record. */
void hostBoot(void);
int hostBootTrial(void);
/* The app partitions the flash module's "running" (NULL: the factory image) and "nextota" name. */
const char *hostBootRunningPartition(void);
const char *hostBootNextPartition(void);
/* 1 and the source if the booted image has `specifier`, 0 if not, -1 when the factory image (module map) runs. */
int hostImageModule(const char *specifier, const uint8_t **source, uint32_t *length);
/* When an image on trial must have confirmed itself (ms, monotonic), or < 0. */
extern double gHostTrialDeadline;

/* From the command line; NULL or -1 when not given. */
extern const char *gHostFlashPath;
extern const char *gHostPartitionsPath;
extern const char *gHostDeviceSecretPath;
/* The folder that stands in for the firmware image's resources (hardware/resource). */
extern const char *gHostResourcesPath;
extern int gHostBridgeFd;

#endif
