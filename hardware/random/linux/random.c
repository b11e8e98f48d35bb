/*
 * Random bytes from the Linux kernel's CSPRNG, for Moddable's lin simulator
 * and the Doorward simulator host. The device uses esp32/random.c.
 */
#include "xsmc.h"
#include "xsHost.h"

#include <errno.h>
#include <sys/random.h>

/* xs_random_fill(buffer): fills an ArrayBuffer or typed array in place. */
void xs_random_fill(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	uint8_t *cursor = data;
	while (length > 0) {
		ssize_t count = getrandom(cursor, length, 0);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			xsUnknownError("random: getrandom failed");
		}
		cursor += count;
		length -= (xsUnsignedValue)count;
	}
}
