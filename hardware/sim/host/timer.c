/*
 * Timers for the simulator host, with the semantics of Moddable's `timer`
 * module: a callback receives its timer; a one-shot timer may be scheduled
 * again; clearing a timer from its own callback is allowed.
 */
#include "xsmc.h"
#include "host.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <stdlib.h>

typedef struct HostTimer {
	struct HostTimer *next;
	xsSlot self;		/* the JS timer object, remembered while armed */
	xsSlot callback;
	double when;		/* monotonic ms; < 0 when not armed */
	double interval;	/* 0 for a one-shot timer */
	int remembered;
} HostTimer;

static HostTimer *gTimers = NULL;

static void timerDisarm(xsMachine *the, HostTimer *timer)
{
	timer->when = -1;
	if (timer->remembered) {
		timer->remembered = 0;
		xsForget(timer->self);
	}
}

static void timerDestructor(void *data)
{
	HostTimer *timer = data;
	HostTimer **link = &gTimers;
	if (!timer)
		return;
	while (*link) {
		if (*link == timer) {
			*link = timer->next;
			break;
		}
		link = &(*link)->next;
	}
	free(timer);
}

static HostTimer *timerFrom(xsMachine *the, xsSlot *slot)
{
	HostTimer *timer = xsmcGetHostData(*slot);
	if (!timer)
		xsUnknownError("timer: closed");
	return timer;
}

static void timerArm(xsMachine *the, HostTimer *timer, double delay, double interval)
{
	if (!(delay >= 0) || !(interval >= 0))
		xsRangeError("timer: negative or invalid interval");
	timer->when = hostMonotonicMilliseconds() + delay;
	timer->interval = interval;
	if (!timer->remembered) {
		timer->remembered = 1;
		xsRemember(timer->self);
	}
}

/* xs_timer_set(callback, delay, repeat) -> timer */
void xs_timer_set(xsMachine *the)
{
	double delay = (xsmcArgc > 1) ? xsmcToNumber(xsArg(1)) : 0;
	double repeat = (xsmcArgc > 2) ? xsmcToNumber(xsArg(2)) : 0;
	if (!xsmcIsInstanceOf(xsArg(0), xsFunctionPrototype))
		xsUnknownError("timer: callback is not a function");
	HostTimer *timer = calloc(1, sizeof(HostTimer));
	if (!timer)
		xsUnknownError("timer: out of memory");
	timer->when = -1;
	xsResult = xsNewHostObject(timerDestructor);
	xsmcSetHostData(xsResult, timer);
	timer->self = xsResult;
	xsmcDefine(xsResult, xsID("callback"), xsArg(0), xsDontEnum | xsDontDelete | xsDontSet);
	timer->next = gTimers;
	gTimers = timer;
	timerArm(the, timer, delay, repeat);
}

/* xs_timer_schedule(timer, delay, repeat) */
void xs_timer_schedule(xsMachine *the)
{
	HostTimer *timer = timerFrom(the, &xsArg(0));
	double delay = (xsmcArgc > 1) ? xsmcToNumber(xsArg(1)) : 0;
	double repeat = (xsmcArgc > 2) ? xsmcToNumber(xsArg(2)) : 0;
	timerArm(the, timer, delay, repeat);
}

/* xs_timer_clear(timer) */
void xs_timer_clear(xsMachine *the)
{
	if (xsmcTypeOf(xsArg(0)) != xsReferenceType)
		return;
	HostTimer *timer = xsmcGetHostData(xsArg(0));
	if (timer)
		timerDisarm(the, timer);
}

double hostTimersNextDeadline(void)
{
	double next = -1;
	for (HostTimer *timer = gTimers; timer; timer = timer->next) {
		if ((timer->when >= 0) && ((next < 0) || (timer->when < next)))
			next = timer->when;
	}
	return next;
}

int hostTimersPending(void)
{
	for (HostTimer *timer = gTimers; timer; timer = timer->next) {
		if (timer->when >= 0)
			return 1;
	}
	return 0;
}

/* Fire at most one due timer, the earliest, so promise jobs it queued run
 * before the next timer does, as on the device. */
void hostTimersFire(void *machine)
{
	xsMachine *the = machine;
	double now = hostMonotonicMilliseconds();
	HostTimer *due = NULL;
	for (HostTimer *timer = gTimers; timer; timer = timer->next) {
		if ((timer->when >= 0) && (timer->when <= now) && (!due || (timer->when < due->when)))
			due = timer;
	}
	if (!due)
		return;
	xsBeginHost(the);
	{
		xsmcVars(2);
		xsVar(0) = due->self;
		xsmcGet(xsVar(1), xsVar(0), xsID("callback"));
		if (due->interval > 0)
			due->when += due->interval;
		else
			due->when = -1;
		xsTry {
			xsCallFunction1(xsVar(1), xsUndefined, xsVar(0));
		}
		xsCatch {
			hostReportException(the, "timer callback");
		}
		/* A one-shot timer that was not rescheduled by its callback is released. */
		HostTimer *still = xsmcGetHostData(xsVar(0));
		if (still && (still->when < 0))
			timerDisarm(the, still);
	}
	xsEndHost(the);
}

/* xs_timer_delay(milliseconds): blocks the whole machine, as on the device. */
void xs_timer_delay(xsMachine *the)
{
	double milliseconds = xsmcToNumber(xsArg(0));
	if (!(milliseconds >= 0))
		xsRangeError("timer: invalid delay");
	struct timespec wait = { (time_t)(milliseconds / 1000), (long)(fmod(milliseconds, 1000) * 1000000) };
	while (nanosleep(&wait, &wait) && (errno == EINTR))
		;
}
