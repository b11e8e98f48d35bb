/*
 * Calling back into the firmware from a simulated peripheral's C code, for
 * the natives written against xsmc (include after xsmc.h).
 */
#ifndef DOORWARD_SIM_CALLBACK_H
#define DOORWARD_SIM_CALLBACK_H

#include "host.h"

/* Calls target[name](argument), where the argument is `count`, or `message`
 * when it is not NULL. `keep`, when given, stays on the stack meanwhile: the
 * callback may drop the last reference to the object that holds the target.
 * An exception stops the host, as an uncaught one resets the device. */
static inline void hostCallTarget(xsMachine *the, xsSlot *keep, xsSlot *target, const char *name, xsIntegerValue count, const char *message)
{
	xsBeginHost(the);
	xsTry {
		xsmcVars(4);
		if (keep)
			xsVar(3) = *keep;
		xsVar(0) = *target;
		xsmcGet(xsVar(1), xsVar(0), xsID(name));
		if (message)
			xsmcSetString(xsVar(2), (char *)message);
		else
			xsmcSetInteger(xsVar(2), count);
		if (xsmcTest(xsVar(1)))
			xsCallFunction1(xsVar(1), xsVar(0), xsVar(2));
	}
	xsCatch {
		hostReportException(the, name);
	}
	xsEndHost(the);
}

#endif
