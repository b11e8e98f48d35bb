/*
 * Doorward simulator host: runs the firmware's compiled modules on XS.
 *
 *   doorward-sim-host --modules MAP --main SPECIFIER
 *                     [--bridge FD] [--flash FILE --partitions CSV] [--device-secret FILE] [--resources DIR] [-- ARG...]
 *
 * The loop below plays the part of Moddable's platform run loop on the
 * device: promise jobs first, then ready descriptors, then one due timer.
 * The process ends when nothing is left that could call the firmware back,
 * when the firmware calls host.exit(), or when the world cuts the power.
 */
#include "xsmc.h"
#include "host.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *gHostFlashPath = NULL;
const char *gHostPartitionsPath = NULL;
const char *gHostDeviceSecretPath = NULL;
const char *gHostResourcesPath = NULL;
int gHostBridgeFd = -1;

static int gExitRequested = 0;
static int gExitCode = 0;

void hostRequestExit(int code)
{
	if (!gExitRequested) {
		gExitRequested = 1;
		gExitCode = code;
	}
}

void hostPowerOff(void)
{
	fflush(stdout);
	fflush(stderr);
	_exit(0);
}

double hostMonotonicMilliseconds(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((double)now.tv_sec * 1000.0) + ((double)now.tv_nsec / 1000000.0);
}

/* ---- descriptors ---- */

typedef struct {
	int fd;
	short events;
	int keepAlive;
	HostReadyCallback callback;
	void *refcon;
} Watch;

#define MAX_WATCHES 64
static Watch gWatches[MAX_WATCHES];
static int gWatchCount = 0;

void hostWatch(int fd, short events, int keepAlive, HostReadyCallback callback, void *refcon)
{
	for (int i = 0; i < gWatchCount; i++) {
		if (gWatches[i].fd == fd) {
			gWatches[i] = (Watch){ fd, events, keepAlive, callback, refcon };
			return;
		}
	}
	if (gWatchCount == MAX_WATCHES) {
		fprintf(stderr, "doorward-sim-host: too many open descriptors\n");
		_exit(70);
	}
	gWatches[gWatchCount++] = (Watch){ fd, events, keepAlive, callback, refcon };
}

void hostUnwatch(int fd)
{
	for (int i = 0; i < gWatchCount; i++) {
		if (gWatches[i].fd == fd) {
			gWatches[i] = gWatches[--gWatchCount];
			return;
		}
	}
}

static int loopHasWork(void)
{
	if (gHostTrialDeadline >= 0)
		return 1;
	if (hostTimersPending())
		return 1;
	for (int i = 0; i < gWatchCount; i++) {
		if (gWatches[i].keepAlive)
			return 1;
	}
	return 0;
}

static void runLoop(xsMachine *the)
{
	struct pollfd fds[MAX_WATCHES];
	for (;;) {
		if (hostRunPromiseJobs(the))
			continue;
		if (gExitRequested || !loopHasWork())
			break;
		double deadline = hostTimersNextDeadline();
		if ((gHostTrialDeadline >= 0) && ((deadline < 0) || (gHostTrialDeadline < deadline)))
			deadline = gHostTrialDeadline;
		int timeout = -1;
		if (deadline >= 0) {
			double wait = deadline - hostMonotonicMilliseconds();
			timeout = (wait <= 0) ? 0 : (int)ceil(wait);
		}
		int count = gWatchCount;
		for (int i = 0; i < count; i++) {
			fds[i].fd = gWatches[i].fd;
			fds[i].events = gWatches[i].events;
			fds[i].revents = 0;
		}
		int ready = poll(fds, count, timeout);
		if ((ready < 0) && (errno != EINTR)) {
			fprintf(stderr, "doorward-sim-host: poll: %s\n", strerror(errno));
			hostRequestExit(70);
			break;
		}
		for (int i = 0; (ready > 0) && (i < count) && !gExitRequested; i++) {
			if (!fds[i].revents)
				continue;
			/* An earlier callback may have unwatched this descriptor. */
			for (int j = 0; j < gWatchCount; j++) {
				if (gWatches[j].fd == fds[i].fd) {
					Watch watch = gWatches[j];
					watch.callback(watch.refcon, fds[i].revents);
					break;
				}
			}
			hostRunPromiseJobs(the);
		}
		if (!gExitRequested)
			hostTimersFire(the);
		/* The watchdog of an image on trial: not confirmed in time, the device resets (and rolls back). */
		if ((gHostTrialDeadline >= 0) && (hostMonotonicMilliseconds() >= gHostTrialDeadline)) {
			fprintf(stderr, "boot: the image on trial did not confirm itself in time: reset\n");
			hostRequestExit(75);
		}
	}
	hostCheckUnhandledRejections(the);
}

/* ---- globals: trace, native, host ---- */

static void xs_host_trace(xsMachine *the)
{
	xsIntegerValue c = xsmcArgc;
	for (xsIntegerValue i = 0; i < c; i++) {
		/* As Moddable's trace: buffers are written as bytes. */
		if ((xsmcTypeOf(xsArg(i)) == xsReferenceType) && xsmcIsInstanceOf(xsArg(i), xsArrayBufferPrototype)) {
			void *data;
			xsUnsignedValue length;
			xsmcGetBufferReadable(xsArg(i), &data, &length);
			fwrite(data, 1, length, stderr);
			continue;
		}
		fputs(xsmcToString(xsArg(i)), stderr);
	}
	fflush(stderr);
}

/* The simulator's counterparts of XS's `native("xs_f")` and `Native("xs_dtor")`.
 * On the device, xsc rewrites those calls into direct host-function links at
 * build time; here they resolve the same C names in this executable. Both are
 * cached, so a call site costs one property lookup after its first call. */
static xsSlot gNatives;

static void *nativeSymbol(xsMachine *the, char *name, size_t size)
{
	xsmcToStringBuffer(xsArg(0), name, size);
	if (strncmp(name, "xs_", 3))
		xsRangeError("native: %s is not an xs_ function", name);
	void *symbol = dlsym(RTLD_DEFAULT, name);
	if (!symbol)
		xsUnknownError("native: no host function %s in this simulator", name);
	return symbol;
}

static void xs_host_native(xsMachine *the)
{
	char name[128];
	xsmcToStringBuffer(xsArg(0), name, sizeof(name));
	/* mcconfig's linker runs the preload on the build machine, where no native can run. */
	if (hostPreloading())
		xsUnknownError("%s called while preloading: the linker cannot run native code", name);
	xsIdentifier id = xsID(name);
	if (xsmcHas(gNatives, id)) {
		xsmcGet(xsResult, gNatives, id);
		return;
	}
	xsCallback callback = (xsCallback)nativeSymbol(the, name, sizeof(name));
	xsResult = xsNewHostFunction(callback, 0);
	xsmcSet(gNatives, id, xsResult);
}

/* Instances of a Native() base class are host objects with the named destructor. */
static void xs_host_native_construct(xsMachine *the)
{
	if (hostPreloading())
		xsUnknownError("a native object constructed while preloading: the linker cannot run native code");
	xsmcVars(3);
	xsmcGet(xsVar(0), xsFunction, xsID("destructor"));
	xsDestructor destructor = (xsDestructor)xsmcGetHostData(xsVar(0));
	xsmcGet(xsVar(1), xsTarget, xsID("prototype"));
	/* A host object with the subclass's prototype: xsNewHostInstance makes a
	 * host object only from a host prototype, and a TS class's is not one. */
	xsResult = xsNewHostObject(destructor);
	xsmcGet(xsVar(2), xsGlobal, xsID("Object"));
	xsCall2(xsVar(2), xsID("setPrototypeOf"), xsResult, xsVar(1));
}

static void xs_host_native_class(xsMachine *the)
{
	char name[128];
	xsmcVars(1);
	xsmcToStringBuffer(xsArg(0), name, sizeof(name));
	char key[140];
	snprintf(key, sizeof(key), "class:%s", name);
	xsIdentifier id = xsID(key);
	if (xsmcHas(gNatives, id)) {
		xsmcGet(xsResult, gNatives, id);
		return;
	}
	void *destructor = nativeSymbol(the, name, sizeof(name));
	xsResult = xsNewHostConstructor(xs_host_native_construct, 0, xsObjectPrototype);
	xsVar(0) = xsNewHostObject(NULL);
	xsmcSetHostData(xsVar(0), destructor);
	xsmcDefine(xsResult, xsID("destructor"), xsVar(0), xsDontEnum | xsDontSet | xsDontDelete);
	xsmcSet(gNatives, id, xsResult);
}

/* host.memory() -> {chunks, slots}, after a garbage collection */
static void xs_host_memory(xsMachine *the)
{
	double chunks, slots;
	hostMemory(the, &chunks, &slots);
	xsmcVars(1);
	xsmcSetNewObject(xsResult);
	xsmcSetNumber(xsVar(0), chunks);
	xsmcSet(xsResult, xsID("chunks"), xsVar(0));
	xsmcSetNumber(xsVar(0), slots);
	xsmcSet(xsResult, xsID("slots"), xsVar(0));
}

/* host.readFile(path) -> ArrayBuffer: for the tools that drive the
 * firmware's code in the host (tools/xs: the detector on image files). The
 * firmware has no file system; nothing under src/ or hardware/ calls it. */
static void xs_host_read_file(xsMachine *the)
{
	char path[4096];
	xsmcToStringBuffer(xsArg(0), path, sizeof(path));
	FILE *file = fopen(path, "rb");
	if (!file)
		xsUnknownError("host.readFile: %s: %s", path, strerror(errno));
	long size = -1;
	if (fseek(file, 0, SEEK_END) == 0)
		size = ftell(file);
	if ((size < 0) || (size > 256L * 1024 * 1024) || (fseek(file, 0, SEEK_SET) != 0)) {
		fclose(file);
		xsUnknownError("host.readFile: %s: cannot size it", path);
	}
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)size);
	size_t got = size ? fread(xsmcToArrayBuffer(xsResult), 1, (size_t)size, file) : 0;
	fclose(file);
	if (got != (size_t)size)
		xsUnknownError("host.readFile: %s: short read", path);
}

static void xs_host_exit(xsMachine *the)
{
	hostRequestExit(xsmcArgc ? xsmcToInteger(xsArg(0)) : 0);
}

static void defineGlobals(xsMachine *the, int argc, char **argv)
{
	xsmcVars(3);
	xsVar(0) = xsNewHostFunction(xs_host_trace, 1);
	xsmcSet(xsGlobal, xsID("trace"), xsVar(0));
	xsmcSetNewObject(gNatives);
	xsRemember(gNatives);
	xsVar(0) = xsNewHostFunction(xs_host_native, 1);
	xsmcSet(xsGlobal, xsID("native"), xsVar(0));
	xsVar(0) = xsNewHostFunction(xs_host_native_class, 1);
	xsmcSet(xsGlobal, xsID("Native"), xsVar(0));

	xsmcSetNewObject(xsVar(0));
	xsVar(1) = xsNewHostFunction(xs_host_exit, 1);
	xsmcSet(xsVar(0), xsID("exit"), xsVar(1));
	xsVar(1) = xsNewHostFunction(xs_host_memory, 0);
	xsmcSet(xsVar(0), xsID("memory"), xsVar(1));
	xsVar(1) = xsNewHostFunction(xs_host_read_file, 1);
	xsmcSet(xsVar(0), xsID("readFile"), xsVar(1));
	xsmcSetString(xsVar(1), (char *)hostXSVersion());
	xsmcSet(xsVar(0), xsID("xsVersion"), xsVar(1));
	xsmcSetNewArray(xsVar(1), argc);
	for (int i = 0; i < argc; i++) {
		xsmcSetString(xsVar(2), argv[i]);
		xsmcSetIndex(xsVar(1), i, xsVar(2));
	}
	xsmcSet(xsVar(0), xsID("argv"), xsVar(1));
	xsmcSet(xsGlobal, xsID("host"), xsVar(0));
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: doorward-sim-host --modules MAP --main SPECIFIER [--bridge FD] [--flash FILE --partitions CSV] [--device-secret FILE] [--resources DIR] [-- ARG...]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	const char *mapPath = NULL;
	const char *volatile mainSpecifier = NULL;
	volatile int argi;
	for (argi = 1; argi < argc; argi++) {
		if (!strcmp(argv[argi], "--")) {
			argi++;
			break;
		}
		if (argi + 1 >= argc)
			usage();
		if (!strcmp(argv[argi], "--modules"))
			mapPath = argv[++argi];
		else if (!strcmp(argv[argi], "--main"))
			mainSpecifier = argv[++argi];
		else if (!strcmp(argv[argi], "--bridge"))
			gHostBridgeFd = atoi(argv[++argi]);
		else if (!strcmp(argv[argi], "--flash"))
			gHostFlashPath = argv[++argi];
		else if (!strcmp(argv[argi], "--partitions"))
			gHostPartitionsPath = argv[++argi];
		else if (!strcmp(argv[argi], "--device-secret"))
			gHostDeviceSecretPath = argv[++argi];
		else if (!strcmp(argv[argi], "--resources"))
			gHostResourcesPath = argv[++argi];
		else
			usage();
	}
	if (!mapPath || !mainSpecifier)
		usage();
	hostLoadModuleMap(mapPath);
	hostBoot();
	if (hostBootTrial()) {
		const char *timeout = getenv("DOORWARD_TRIAL_TIMEOUT_MS");
		gHostTrialDeadline = hostMonotonicMilliseconds() + (timeout ? atof(timeout) : 60000.0);
	}
	if (!hostHasModule(mainSpecifier)) {
		fprintf(stderr, "doorward-sim-host: module %s is not in %s\n", mainSpecifier, mapPath);
		return 2;
	}

	/* Sized for a desktop, not for the device: the host also runs the test
	 * suites and tools. The device's own limits are set in manifest.json. */
	xsCreation creation = {
		16 * 1024 * 1024,	/* initialChunkSize */
		4 * 1024 * 1024,	/* incrementalChunkSize */
		256 * 1024,		/* initialHeapCount */
		64 * 1024,		/* incrementalHeapCount */
		8192,			/* stackCount */
		8192,			/* initialKeyCount */
		4096,			/* incrementalKeyCount */
		1993,			/* nameModulo */
		127,			/* symbolModulo */
		256 * 1024,		/* parserBufferSize */
		1993,			/* parserTableModulo */
		0,			/* staticSize */
	};
	xsMachine *machine = xsCreateMachine(&creation, "doorward", NULL);
	if (!machine) {
		fprintf(stderr, "doorward-sim-host: cannot create the XS machine\n");
		return 70;
	}
	xsBeginHost(machine);
	{
		defineGlobals(the, argc - argi, argv + argi);
	}
	xsEndHost(machine);
	hostPreload(machine);
	hostImportMain(machine, mainSpecifier);
	runLoop(machine);
	xsDeleteMachine(machine);
	fflush(stdout);
	fflush(stderr);
	return gExitCode;
}
