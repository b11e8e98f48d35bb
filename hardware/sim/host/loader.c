/*
 * The part of the host that needs XS internals: finding and parsing modules
 * through the module map, promise jobs, and fatal errors.
 *
 * The map is written by the tools from manifest.json: one
 * "specifier<TAB>path" line per module of the simulator platform, as mcconfig
 * would resolve it. Modules are named by specifier inside XS, not by path, so
 * relative imports resolve as they do in a Moddable build. A line
 * "@preload<TAB>specifier" names a module of the manifest's "preload" list
 * (preload.c runs them before main, then freezes).
 */
#include "xsAll.h"
#include "xsScript.h"
#include "host.h"

#include <errno.h>
#include <limits.h>

typedef struct {
	char *specifier;
	char *path;
} ModuleEntry;

static ModuleEntry *gModules = NULL;
static int gModuleCount = 0;
static int gPromiseJobsPending = 0;

void hostLoadModuleMap(const char *mapPath)
{
	FILE *file = fopen(mapPath, "r");
	char line[2 * PATH_MAX];
	int capacity = 0;
	if (!file) {
		fprintf(stderr, "doorward-sim-host: cannot open module map %s: %s\n", mapPath, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof(line), file)) {
		char *end = line + strlen(line);
		while ((end > line) && ((end[-1] == '\n') || (end[-1] == '\r')))
			*--end = 0;
		char *tab = strchr(line, '\t');
		if (!tab || (line[0] == '#'))
			continue;
		*tab = 0;
		if (!strcmp(line, "@preload")) {
			hostAddPreload(tab + 1);
			continue;
		}
		if (gModuleCount == capacity) {
			capacity = capacity ? capacity * 2 : 64;
			gModules = realloc(gModules, capacity * sizeof(ModuleEntry));
			if (!gModules) {
				fprintf(stderr, "doorward-sim-host: out of memory\n");
				exit(2);
			}
		}
		gModules[gModuleCount].specifier = strdup(line);
		gModules[gModuleCount].path = strdup(tab + 1);
		gModuleCount++;
	}
	fclose(file);
	hostSetBuildTime(mapPath);
}

static const char *modulePath(const char *specifier)
{
	for (int i = 0; i < gModuleCount; i++) {
		if (!strcmp(gModules[i].specifier, specifier))
			return gModules[i].path;
	}
	return NULL;
}

int hostHasModule(const char *specifier)
{
	int inImage = hostImageModule(specifier, NULL, NULL);
	if (inImage >= 0)
		return inImage;
	return modulePath(specifier) != NULL;
}

/* "./x" and "../x" resolve against the importing module's specifier. */
txID fxFindModule(txMachine *the, txSlot *realm, txID moduleID, txSlot *slot)
{
	char name[PATH_MAX];
	char resolved[PATH_MAX];
	fxToStringBuffer(the, slot, name, sizeof(name));
	if ((name[0] == '.') && ((name[1] == '/') || ((name[1] == '.') && (name[2] == '/')))) {
		char *cursor = name;
		char *slash;
		if (moduleID == XS_NO_ID)
			return XS_NO_ID;
		snprintf(resolved, sizeof(resolved), "%s", fxGetKeyName(the, moduleID));
		slash = strrchr(resolved, '/');
		if (slash)
			*slash = 0;
		else
			resolved[0] = 0;
		for (;;) {
			if (!strncmp(cursor, "./", 2))
				cursor += 2;
			else if (!strncmp(cursor, "../", 3)) {
				cursor += 3;
				if (!resolved[0])
					return XS_NO_ID;
				slash = strrchr(resolved, '/');
				if (slash)
					*slash = 0;
				else
					resolved[0] = 0;
			}
			else
				break;
		}
		if (strlen(resolved) + strlen(cursor) + 2 > sizeof(resolved))
			mxRangeError("module specifier too long");
		if (resolved[0])
			strcat(resolved, "/");
		strcat(resolved, cursor);
	}
	else
		snprintf(resolved, sizeof(resolved), "%s", name);
	size_t length = strlen(resolved);
	if ((length > 3) && !strcmp(resolved + length - 3, ".js"))
		resolved[length - 3] = 0;
	if (!hostHasModule(resolved))
		return XS_NO_ID;
	return fxNewNameC(the, resolved);
}

static txScript *parseModuleFile(txMachine *the, const char *path)
{
	txParser _parser;
	txParser *parser = &_parser;
	txParserJump jump;
	FILE *volatile file = NULL;
	txString mapName = NULL;
	txScript *volatile script = NULL;
	char mapPath[PATH_MAX];
	fxInitializeParser(parser, the, the->parserBufferSize, the->parserTableModulo);
	parser->firstJump = &jump;
	file = fopen(path, "r");
	if (c_setjmp(jump.jmp_buf) == 0) {
		mxParserThrowElse(file);
		parser->path = fxNewParserSymbol(parser, (txString)path);
		fxParserTree(parser, file, (txGetter)fgetc, mxDebugFlag, &mapName);
		fclose(file);
		file = NULL;
		/* tsc writes a source map beside each module; with it, errors name .ts lines. */
		if (mapName && realpath(fxCombinePath(parser, (txString)path, mapName), mapPath)) {
			file = fopen(mapPath, "r");
			if (file) {
				txString sourceName = NULL;
				parser->path = fxNewParserSymbol(parser, mapPath);
				fxParserSourceMap(parser, file, (txGetter)fgetc, mxDebugFlag, &sourceName);
				fclose(file);
				file = NULL;
				if ((parser->errorCount == 0) && sourceName && realpath(fxCombinePath(parser, mapPath, sourceName), mapPath))
					parser->path = fxNewParserSymbol(parser, mapPath);
			}
		}
		fxParserHoist(parser);
		fxParserBind(parser);
		script = fxParserCode(parser);
	}
	if (file)
		fclose(file);
	fxTerminateParser(parser);
	return script;
}

typedef struct {
	const uint8_t *at;
	const uint8_t *end;
} MemoryStream;

static int memoryGetter(void *stream)
{
	MemoryStream *memory = stream;
	return (memory->at < memory->end) ? *memory->at++ : C_EOF;
}

/* A module of the booted image (an archive in an OTA slot): parsed from memory. */
static txScript *parseModuleMemory(txMachine *the, const char *specifier, const uint8_t *source, uint32_t length)
{
	txParser _parser;
	txParser *parser = &_parser;
	txParserJump jump;
	txString mapName = NULL;
	txScript *volatile script = NULL;
	char path[PATH_MAX];
	MemoryStream stream = { source, source + length };
	fxInitializeParser(parser, the, the->parserBufferSize, the->parserTableModulo);
	parser->firstJump = &jump;
	if (c_setjmp(jump.jmp_buf) == 0) {
		snprintf(path, sizeof(path), "image:%s.js", specifier);
		parser->path = fxNewParserSymbol(parser, path);
		fxParserTree(parser, &stream, (txGetter)memoryGetter, mxDebugFlag, &mapName);
		fxParserHoist(parser);
		fxParserBind(parser);
		script = fxParserCode(parser);
	}
	fxTerminateParser(parser);
	return script;
}

void fxLoadModule(txMachine *the, txSlot *module, txID moduleID)
{
	const char *specifier = fxGetKeyName(the, moduleID);
	const uint8_t *source;
	uint32_t length;
	int inImage = hostImageModule(specifier, &source, &length);
	if (inImage == 0)
		return;
	if (inImage > 0) {
		txScript *script = parseModuleMemory(the, specifier, source, length);
		if (script)
			fxResolveModule(the, module, moduleID, script, C_NULL, C_NULL);
		else
			fprintf(stderr, "doorward-sim-host: cannot parse module %s of the booted image\n", specifier);
		return;
	}
	const char *path = modulePath(specifier);
	if (!path)
		return;
	txScript *script = parseModuleFile(the, path);
	if (script)
		fxResolveModule(the, module, moduleID, script, C_NULL, C_NULL);
	else
		fprintf(stderr, "doorward-sim-host: cannot read or parse %s (module %s)\n", path, specifier);
}

static void mainFulfilled(txMachine *the)
{
}

static void mainRejected(txMachine *the)
{
	fprintf(stderr, "doorward-sim-host: %s\n", fxToString(the, mxArgv(0)));
	hostRequestExit(1);
}

void hostImportMain(void *machine, const char *specifier)
{
	txMachine *the = machine;
	fxBeginHost(the);
	mxTry(the) {
		txSlot *realm = mxProgram.value.reference->next->value.module.realm;
		mxPushStringC((txString)specifier);
		fxRunImport(the, realm, XS_NO_ID);
		mxDub();
		fxGetID(the, mxID(_then));
		mxCall();
		fxNewHostFunction(the, mainFulfilled, 1, XS_NO_ID, XS_NO_ID);
		fxNewHostFunction(the, mainRejected, 1, XS_NO_ID, XS_NO_ID);
		mxRunCount(2);
		mxPop();
	}
	mxCatch(the) {
		hostReportException(the, "main");
	}
	fxEndHost(the);
}

void fxQueuePromiseJobs(txMachine *the)
{
	gPromiseJobsPending = 1;
}

/* Returns whether any job ran. */
int hostRunPromiseJobs(void *machine)
{
	txMachine *the = machine;
	int ran = 0;
	while (gPromiseJobsPending) {
		gPromiseJobsPending = 0;
		ran = 1;
		fxRunPromiseJobs(the);
	}
	fxEndJob(the);
	return ran || gPromiseJobsPending;
}

/* Bytes of chunks and slots in use after a full collection: for tests that
 * check memory returns to its baseline. */
void hostMemory(void *machine, double *chunks, double *slots)
{
	txMachine *the = machine;
	fxCollectGarbage(the);
	*chunks = (double)the->currentChunksSize;
	*slots = (double)the->currentHeapCount;
}

const char *hostXSVersion(void)
{
	static char version[32];
	snprintf(version, sizeof(version), "%d.%d.%d", XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION);
	return version;
}

void hostCheckUnhandledRejections(void *machine)
{
	fxCheckUnhandledRejections((txMachine *)machine, 1);
}

void hostReportException(void *machine, const char *where)
{
	txMachine *the = machine;
	fprintf(stderr, "doorward-sim-host: uncaught exception in %s: %s\n", where, fxToString(the, &mxException));
	mxException = mxUndefined;
	hostRequestExit(70);
}

void fxAbort(txMachine *the, int status)
{
	const char *why;
	switch (status) {
	case XS_STACK_OVERFLOW_EXIT: why = "stack overflow"; break;
	case XS_NOT_ENOUGH_MEMORY_EXIT: why = "memory full"; break;
	case XS_NO_MORE_KEYS_EXIT: why = "not enough keys"; break;
	case XS_UNHANDLED_EXCEPTION_EXIT: why = "unhandled exception"; break;
	case XS_UNHANDLED_REJECTION_EXIT: why = "unhandled rejection"; break;
	case XS_TOO_MUCH_COMPUTATION_EXIT: why = "too much computation"; break;
	default: why = "fatal error"; break;
	}
	if ((status == XS_UNHANDLED_EXCEPTION_EXIT) || (status == XS_UNHANDLED_REJECTION_EXIT))
		fprintf(stderr, "doorward-sim-host: %s: %s\n", why, fxToString(the, &mxException));
	else
		fprintf(stderr, "doorward-sim-host: %s\n", why);
	fflush(stderr);
	/* The device resets on a fatal error; the simulator exits with a distinct code. */
	_exit(70);
}
