/*
 * XS platform header for the Doorward simulator host.
 *
 * The host is a single-threaded Linux process with one XS machine. It keeps
 * its own run loop (timers, promise jobs, file descriptors) in host.c, so the
 * machine record needs no platform fields beyond what XS's shared-cluster code
 * expects.
 */
#ifndef DOORWARD_SIM_PLATFORM_H
#define DOORWARD_SIM_PLATFORM_H

#undef mxLittleEndian
#define mxLittleEndian 1
#undef mxLinux
#define mxLinux 1
#define mxExport extern
#define mxImport extern
#define XS_FUNCTION_NORETURN __attribute__((noreturn))

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <unistd.h>

/* The engine's clock (Date) goes through the host: while preloading it reads
 * the time the firmware was built, as it does on mcconfig's build machine
 * (preload.c). */
#include <sys/time.h>
typedef struct timeval c_timeval;
#define c_timezone timezone
extern int hostGetTimeOfDay(struct timeval *tp, void *tzp);
#define c_gettimeofday(TP, TZP) hostGetTimeOfDay((TP), (TZP))

#define mxUseGCCAtomics 1
#define mxUsePOSIXThreads 1

#define mxMachinePlatform \
	void* waiterCondition; \
	void* waiterData; \
	void* waiterLink;

#define mxUseDefaultMachinePlatform 1
#define mxUseDefaultBuildKeys 1
#define mxUseDefaultChunkAllocation 1
#define mxUseDefaultSlotAllocation 1
#define mxUseDefaultParseScript 1
#define mxUseDefaultSharedChunks 1
#define mxUseDefaultDebug 1

#if INTPTR_MAX == INT64_MAX
	#define mx32bitID 1
#endif

#endif
