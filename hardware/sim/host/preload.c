/*
 * Preload, then freeze: what mcconfig's linker (the SDK's xs/tools/xsl.c and
 * xslSlot.c) does to the firmware before it is flashed, so the simulator runs
 * on the same observable engine as the device.
 *
 * The linker runs the manifest's "preload" modules on the build machine and
 * stores every object they made in flash. Then:
 *
 *   1. fxFreezeBuiltIns: Object.freeze on the built-in prototypes and on
 *      Atomics, JSON, Math and Reflect.
 *   2. fxPrepareHeap / fxPrepareInstance: every function (built-in or made by
 *      a preloaded module), the prototype of every constructor, every
 *      environment, and every Map, Set, WeakMap, WeakSet, WeakRef,
 *      FinalizationRegistry, ArrayBuffer, DataView, typed array, Promise,
 *      Proxy and RegExp is made non-extensible with read-only, permanent
 *      properties ("instances that cannot be aliased yet").
 *   3. fxPetrifyInstance: an instance so frozen also has its internal data
 *      made read-only (an ArrayBuffer's bytes, a Map's or Set's entries, a
 *      Date's time, private fields).
 *   4. A module variable that holds a function is made constant.
 *
 * Everything else (plain objects and arrays, module `let` variables that do
 * not hold functions) stays writable: on the device XS copies a flash object
 * into RAM the first time it is written (an alias); here it simply stays in
 * RAM, which is observably the same.
 *
 * So, as on the device: `this.name = ...` in an Error subclass throws (the
 * override mistake on the frozen Error.prototype); so does writing into a
 * module-level Uint8Array, Map or Set that a preloaded module made, adding a
 * static to a preloaded class, or reassigning a module-level function.
 *
 * Natives cannot run on the build machine: while preloading, calling one is
 * an error, as it is for the linker (host.c asks hostPreloading()). And the
 * build machine's clock is the build's: while preloading, Date reads the time
 * the firmware was built (the module map's modification time), so a module
 * that keeps `Date.now()` at load gets the build time here too, not the boot.
 *
 * This is the host's own freezing, not XS's lockdown()/harden(): those also
 * freeze plain objects and tame Date and Math.random, which a preloaded
 * Moddable image does not do.
 */
#include "xsAll.h"
#include "host.h"

#include <sys/stat.h>
#include <sys/time.h>

static char **gPreload = NULL;
static int gPreloadCount = 0;
static int gPreloading = 0;
static struct timeval gBuildTime = { 0, 0 };

void hostSetBuildTime(const char *moduleMapPath)
{
	struct stat status;
	if (!stat(moduleMapPath, &status)) {
		gBuildTime.tv_sec = status.st_mtim.tv_sec;
		gBuildTime.tv_usec = status.st_mtim.tv_nsec / 1000;
	}
}

int hostGetTimeOfDay(struct timeval *tp, void *tzp)
{
	if (gPreloading && gBuildTime.tv_sec) {
		*tp = gBuildTime;
		return 0;
	}
	return gettimeofday(tp, tzp);
}

void hostAddPreload(const char *specifier)
{
	char **grown = realloc(gPreload, (gPreloadCount + 1) * sizeof(char *));
	if (!grown) {
		fprintf(stderr, "doorward-sim-host: out of memory\n");
		exit(2);
	}
	gPreload = grown;
	gPreload[gPreloadCount++] = strdup(specifier);
}

int hostPreloading(void)
{
	return gPreloading;
}

static void freezeObject(txMachine *the, txSlot *freeze)
{
	/* On the stack: the object to freeze. */
	txSlot *object = the->stack;
	mxPush(mxObjectConstructor);
	mxPushSlot(freeze);
	mxCall();
	mxPushSlot(object);
	mxRunCount(1);
	mxPop();
	mxPop();
}

static void freezeBuiltIns(txMachine *the)
{
	txSlot *freeze;
	txInteger index;
	const txTypeDispatch *dispatch;
	mxTemporary(freeze);
	mxPush(mxObjectConstructor);
	mxGetID(mxID(_freeze));
	mxPullSlot(freeze);

#define mxFreeze(SLOT) do { mxPush(SLOT); freezeObject(the, freeze); } while (0)
	mxFreeze(mxAtomicsObject);
	mxFreeze(mxJSONObject);
	mxFreeze(mxMathObject);
	mxFreeze(mxReflectObject);

	mxFreeze(mxAggregateErrorPrototype);
	mxFreeze(mxArgumentsSloppyPrototype);
	mxFreeze(mxArgumentsStrictPrototype);
	mxFreeze(mxArrayBufferPrototype);
	mxFreeze(mxArrayIteratorPrototype);
	mxFreeze(mxArrayPrototype);
	mxFreeze(mxAsyncFromSyncIteratorPrototype);
	mxFreeze(mxAsyncFunctionPrototype);
	mxFreeze(mxAsyncGeneratorFunctionPrototype);
	mxFreeze(mxAsyncGeneratorPrototype);
	mxFreeze(mxAsyncIteratorPrototype);
	mxFreeze(mxBigIntPrototype);
	mxFreeze(mxBooleanPrototype);
	mxFreeze(mxCompartmentPrototype);
	mxFreeze(mxDataViewPrototype);
	mxFreeze(mxDatePrototype);
	mxFreeze(mxErrorPrototype);
	mxFreeze(mxEvalErrorPrototype);
	mxFreeze(mxFinalizationRegistryPrototype);
	mxFreeze(mxFunctionPrototype);
	mxFreeze(mxGeneratorFunctionPrototype);
	mxFreeze(mxGeneratorPrototype);
	mxFreeze(mxHostPrototype);
	mxFreeze(mxIteratorPrototype);
	mxFreeze(mxMapIteratorPrototype);
	mxFreeze(mxMapPrototype);
	mxFreeze(mxModulePrototype);
	mxFreeze(mxNumberPrototype);
	mxFreeze(mxObjectPrototype);
	mxFreeze(mxPromisePrototype);
	mxFreeze(mxProxyPrototype);
	mxFreeze(mxRangeErrorPrototype);
	mxFreeze(mxReferenceErrorPrototype);
	mxFreeze(mxRegExpPrototype);
	mxFreeze(mxRegExpStringIteratorPrototype);
	mxFreeze(mxSetIteratorPrototype);
	mxFreeze(mxSetPrototype);
	mxFreeze(mxSharedArrayBufferPrototype);
	mxFreeze(mxStringIteratorPrototype);
	mxFreeze(mxStringPrototype);
	mxFreeze(mxSymbolPrototype);
	mxFreeze(mxSyntaxErrorPrototype);
	mxFreeze(mxTransferPrototype);
	mxFreeze(mxTypedArrayPrototype);
	mxFreeze(mxTypeErrorPrototype);
	mxFreeze(mxURIErrorPrototype);
	mxFreeze(mxWeakMapPrototype);
	mxFreeze(mxWeakRefPrototype);
	mxFreeze(mxWeakSetPrototype);
	for (index = 0, dispatch = &gxTypeDispatches[0]; index < mxTypeArrayCount; index++, dispatch++) {
		mxPush(the->stackPrototypes[-1 - (txInteger)dispatch->constructorID]);
		mxGetID(mxID(_prototype));
		freezeObject(the, freeze);
	}
	mxPush(mxEnumeratorFunction);
	mxGetID(mxID(_prototype));
	freezeObject(the, freeze);
	mxPush(mxArrayPrototype);
	mxGetID(mxID(_Symbol_unscopables));
	freezeObject(the, freeze);
#undef mxFreeze
	mxPop();
}

/* fxPrepareInstance: read-only, permanent properties; no new ones. */
static void prepareInstance(txSlot *instance)
{
	txSlot *property = instance->next;
	while (property) {
		if (property->kind != XS_ACCESSOR_KIND)
			property->flag |= XS_DONT_SET_FLAG;
		property->flag |= XS_DONT_DELETE_FLAG;
		property = property->next;
	}
	instance->flag |= XS_DONT_PATCH_FLAG;
}

/* fxPetrifyInstance: a frozen instance's internal data is read-only too. */
static void petrifyInstance(txSlot *instance)
{
	txSlot *property = instance->next;
	while (property && (property->flag & XS_INTERNAL_FLAG)) {
		switch (property->kind) {
		case XS_ARRAY_BUFFER_KIND:
		case XS_DATE_KIND:
		case XS_MAP_KIND:
		case XS_REGEXP_KIND:
		case XS_SET_KIND:
		case XS_WEAK_MAP_KIND:
		case XS_WEAK_SET_KIND:
			property->flag |= XS_DONT_SET_FLAG;
			break;
		case XS_PRIVATE_KIND: {
			txSlot *item = property->value.private.first;
			while (item) {
				if (item->kind != XS_ACCESSOR_KIND)
					item->flag |= XS_DONT_SET_FLAG;
				item->flag |= XS_DONT_DELETE_FLAG;
				item = item->next;
			}
			break;
		}
		}
		property = property->next;
	}
}

static int isFunctionKind(txKind kind)
{
	return (kind == XS_CALLBACK_KIND) || (kind == XS_CALLBACK_X_KIND) || (kind == XS_CODE_KIND) || (kind == XS_CODE_X_KIND);
}

/* Whether every property of a prepared instance is read-only and permanent (xslSlot.c's test before petrifying). */
static int isFrozen(txMachine *the, txSlot *instance)
{
	if (!(instance->flag & XS_DONT_PATCH_FLAG))
		return 0;
	txSlot *property = instance->next;
	while (property && (property->flag & XS_INTERNAL_FLAG)) {
		if (property->kind == XS_ARRAY_KIND) {
			txSlot *item = property->value.array.address;
			txInteger length = item ? (txInteger)fxGetIndexSize(the, property) : 0;
			for (; length > 0; length--, item++) {
				if ((item->kind != XS_ACCESSOR_KIND) && !(item->flag & XS_DONT_SET_FLAG))
					return 0;
				if (!(item->flag & XS_DONT_DELETE_FLAG))
					return 0;
			}
		}
		property = property->next;
	}
	for (; property; property = property->next) {
		if ((property->kind != XS_ACCESSOR_KIND) && !(property->flag & XS_DONT_SET_FLAG))
			return 0;
		if (!(property->flag & XS_DONT_DELETE_FLAG))
			return 0;
	}
	return 1;
}

#define mxEachLiveSlot(SLOT) \
	for (txSlot *heap = the->firstHeap; heap; heap = heap->next) \
		for (txSlot *SLOT = heap + 1, *limit = heap->value.reference; SLOT < limit; SLOT++) \
			if (!(SLOT->flag & XS_MARK_FLAG))

static void freezeHeap(txMachine *the)
{
	/* Mark the free slots, so only what is alive is visited (as fxPrepareHeap does). */
	for (txSlot *slot = the->freeHeap; slot; slot = slot->next)
		slot->flag |= XS_MARK_FLAG;

	mxEachLiveSlot(slot) {
		if (slot->kind != XS_INSTANCE_KIND)
			continue;
		txSlot *property = slot->next;
		if (!property || !(property->flag & XS_INTERNAL_FLAG))
			continue;
		if (property->ID == XS_ENVIRONMENT_BEHAVIOR)
			prepareInstance(slot);
		else if (isFunctionKind(property->kind)) {
			prepareInstance(slot);
			if (slot->flag & XS_CAN_CONSTRUCT_FLAG) {
				for (property = property->next; property; property = property->next) {
					if ((property->ID == mxID(_prototype)) && (property->kind == XS_REFERENCE_KIND)) {
						prepareInstance(property->value.reference);
						break;
					}
				}
			}
		}
		else switch (property->kind) {
		case XS_MAP_KIND:
		case XS_SET_KIND:
		case XS_WEAK_MAP_KIND:
		case XS_WEAK_SET_KIND:
		case XS_WEAK_REF_KIND:
		case XS_ARRAY_BUFFER_KIND:
		case XS_DATA_VIEW_KIND:
		case XS_TYPED_ARRAY_KIND:
		case XS_PROXY_KIND:
		case XS_REGEXP_KIND:
			prepareInstance(slot);
			break;
		case XS_PROMISE_KIND:
			prepareInstance(slot);
			if (property->next && (property->next->kind == XS_REFERENCE_KIND))
				prepareInstance(property->next->value.reference); /* its thens */
			break;
		case XS_CLOSURE_KIND:
			if (property->value.closure && (property->value.closure->kind == XS_FINALIZATION_REGISTRY_KIND))
				prepareInstance(slot);
			break;
		default:
			break;
		}
	}

	mxEachLiveSlot(slot) {
		if ((slot->kind == XS_INSTANCE_KIND) && isFrozen(the, slot))
			petrifyInstance(slot);
	}

	/* Module and function variables: one that holds a function becomes constant;
	 * the others stay writable (aliased in RAM on the device). */
	mxEachLiveSlot(slot) {
		if (slot->kind != XS_CLOSURE_KIND)
			continue;
		txSlot *closure = slot->value.closure;
		if (!closure)
			continue;
		if ((closure->kind == XS_REFERENCE_KIND) && closure->value.reference->next
				&& (closure->value.reference->next->flag & XS_INTERNAL_FLAG) && isFunctionKind(closure->value.reference->next->kind))
			closure->flag |= XS_DONT_SET_FLAG;
#ifdef mxHostFunctionPrimitive
		if (closure->kind == XS_HOST_FUNCTION_KIND)
			closure->flag |= XS_DONT_SET_FLAG;
#endif
		if (!(closure->flag & XS_DONT_SET_FLAG))
			slot->flag &= ~XS_DONT_SET_FLAG;
	}

	for (txSlot *slot = the->freeHeap; slot; slot = slot->next)
		slot->flag &= ~XS_MARK_FLAG;
}

static void preloadRejected(txMachine *the)
{
	fprintf(stderr, "doorward-sim-host: preload failed: %s\n", fxToString(the, mxArgv(0)));
	fflush(stderr);
	_exit(70);
}

static void preloadFulfilled(txMachine *the)
{
}

/* Imports each preload module, runs every job they queue, then freezes. */
void hostPreload(void *machine)
{
	txMachine *the = machine;
	if (!gPreloadCount)
		return;
	gPreloading = 1;
	fxBeginHost(the);
	mxTry(the) {
		txSlot *realm = mxProgram.value.reference->next->value.module.realm;
		for (int i = 0; i < gPreloadCount; i++) {
			mxPushStringC(gPreload[i]);
			fxRunImport(the, realm, XS_NO_ID);
			mxDub();
			fxGetID(the, mxID(_then));
			mxCall();
			fxNewHostFunction(the, preloadFulfilled, 1, XS_NO_ID, XS_NO_ID);
			fxNewHostFunction(the, preloadRejected, 1, XS_NO_ID, XS_NO_ID);
			mxRunCount(2);
			mxPop();
			hostRunPromiseJobs(the);
		}
	}
	mxCatch(the) {
		fprintf(stderr, "doorward-sim-host: preload failed: %s\n", fxToString(the, &mxException));
		fflush(stderr);
		_exit(70);
	}
	fxEndHost(the);
	hostRunPromiseJobs(the);
	gPreloading = 0;
	fxBeginHost(the);
	{
		fxCollectGarbage(the);
		freezeBuiltIns(the);
		freezeHeap(the);
	}
	fxEndHost(the);
}
