/*
 * TCP client sockets for the simulator host, shaped after ECMA-419's
 * `embedded:io/socket/tcp`: callbacks report readable byte counts, writable
 * space and errors; writes never block and never exceed the writable space.
 *
 * The send window is a fixed 16 KiB, like the device's lwIP send buffer, so
 * code above it must stream large payloads rather than hand them over whole.
 *
 * As on the device (Moddable's lwIP socket), an error comes after the bytes
 * that arrived before it: a failed send is reported once what is readable
 * has been read, so a peer's last words (a TLS alert) are not lost. And a
 * reader that leaves reported bytes unread is not called again until it has
 * read them: the descriptor is not watched for input meanwhile, so the loop
 * does not spin on data nobody takes (the TLS socket does this while its
 * plaintext buffer is full).
 */
#include "xsmc.h"
#include "../../sim/host/host.h"
#include "../../sim/host/callback.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define TCP_WINDOW 16384

typedef struct {
	int fd;
	int connecting;
	int closed;
	int notifyWritable;	/* the firmware wrote: tell it when the window has room again */
	int failed;		/* errno of a failed send, reported once the input is read */
	int hangup;		/* hung up while reported input was unread: not watched until it is */
	size_t unread;		/* bytes onReadable reported that the firmware has not read yet */
	xsSlot target;		/* the JS socket: onReadable, onWritable, onError */
	xsMachine *the;
	size_t outUsed;
	uint8_t out[TCP_WINDOW];
} Tcp;

static void tcpReady(void *refcon, short revents);

static void tcpUpdateWatch(Tcp *tcp)
{
	if (tcp->hangup) {
		/* poll() would report the hang-up on every turn: wait for the read */
		hostUnwatch(tcp->fd);
		return;
	}
	short events = tcp->unread ? 0 : POLLIN;
	if (!tcp->failed && (tcp->connecting || tcp->outUsed || tcp->notifyWritable))
		events |= POLLOUT;
	hostWatch(tcp->fd, events, 1, tcpReady, tcp);
}

static void tcpShut(Tcp *tcp)
{
	if (tcp->closed)
		return;
	tcp->closed = 1;
	hostUnwatch(tcp->fd);
	close(tcp->fd);
	tcp->fd = -1;
	xsMachine *the = tcp->the;
	xsForget(tcp->target);
}

static void tcpDestructor(void *data)
{
	Tcp *tcp = data;
	if (!tcp)
		return;
	if (!tcp->closed) {
		hostUnwatch(tcp->fd);
		close(tcp->fd);
	}
	free(tcp);
}

static void tcpCall(Tcp *tcp, const char *name, xsIntegerValue count, const char *message)
{
	hostCallTarget(tcp->the, NULL, &tcp->target, name, count, message);
}

static void tcpError(Tcp *tcp, const char *message)
{
	xsMachine *the = tcp->the;
	xsBeginHost(the);
	{
		xsmcVars(1);
		xsVar(0) = tcp->target; /* keep the target reachable once forgotten */
		tcpShut(tcp);
		tcp->target = xsVar(0);
		tcpCall(tcp, "onError", 0, message);
	}
	xsEndHost(the);
}

/* Sends what it can. A failure is kept, not reported here: this may run
 * inside the firmware's write(), and input may be waiting. */
static void tcpFlush(Tcp *tcp)
{
	while (tcp->outUsed && !tcp->failed) {
		ssize_t count = send(tcp->fd, tcp->out, tcp->outUsed, MSG_NOSIGNAL);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			tcp->failed = errno;
			tcp->outUsed = 0;
			tcp->notifyWritable = 0;
			return;
		}
		memmove(tcp->out, tcp->out + count, tcp->outUsed - (size_t)count);
		tcp->outUsed -= (size_t)count;
	}
}

static void tcpReady(void *refcon, short revents)
{
	Tcp *tcp = refcon;
	if (tcp->connecting) {
		int error = 0;
		socklen_t length = sizeof(error);
		getsockopt(tcp->fd, SOL_SOCKET, SO_ERROR, &error, &length);
		if (error) {
			tcpError(tcp, strerror(error));
			return;
		}
		if (!(revents & POLLOUT))
			return;
		tcp->connecting = 0;
		tcpUpdateWatch(tcp);
		tcpCall(tcp, "onWritable", TCP_WINDOW, NULL);
		return;
	}
	if ((revents & POLLOUT) && !tcp->failed) {
		tcpFlush(tcp);
		if (!tcp->failed && !tcp->outUsed && tcp->notifyWritable) {
			tcp->notifyWritable = 0;
			tcpUpdateWatch(tcp);
			tcpCall(tcp, "onWritable", TCP_WINDOW, NULL);
			if (tcp->closed)
				return;
		}
		else
			tcpUpdateWatch(tcp);
	}
	if (tcp->unread) {
		/* The firmware has not read what it was told of: it hears again once it has. */
		if (revents & (POLLHUP | POLLERR)) {
			tcp->hangup = 1;
			tcpUpdateWatch(tcp);
		}
		return;
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) || tcp->failed) {
		int available = 0;
		ioctl(tcp->fd, FIONREAD, &available);
		if (available > 0) {
			tcp->unread = (size_t)available;
			tcpUpdateWatch(tcp);
			tcpCall(tcp, "onReadable", available, NULL);
		}
		else if (tcp->failed)
			tcpError(tcp, strerror(tcp->failed));
		else if (revents & POLLERR) {
			int error = 0;
			socklen_t length = sizeof(error);
			getsockopt(tcp->fd, SOL_SOCKET, SO_ERROR, &error, &length);
			tcpError(tcp, error ? strerror(error) : "socket error");
		}
		else
			tcpError(tcp, "connection closed by peer");
	}
}

static Tcp *tcpFrom(xsMachine *the)
{
	Tcp *tcp = xsmcGetHostData(xsArg(0));
	if (!tcp || tcp->closed)
		xsUnknownError("tcp: closed");
	return tcp;
}

/* xs_tcp_connect(target, address, port) -> handle; outcome arrives through target's callbacks. */
void xs_tcp_connect(xsMachine *the)
{
	char address[256];
	char port[16];
	struct addrinfo hints = { 0 };
	struct addrinfo *found = NULL;
	xsmcToStringBuffer(xsArg(1), address, sizeof(address));
	xsIntegerValue portNumber = xsmcToInteger(xsArg(2));
	if ((portNumber < 1) || (portNumber > 65535))
		xsRangeError("tcp: invalid port %d", (int)portNumber);
	snprintf(port, sizeof(port), "%d", (int)portNumber);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int status = getaddrinfo(address, port, &hints, &found);
	if (status || !found)
		xsUnknownError("tcp: cannot resolve %s: %s", address, gai_strerror(status));
	int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(found);
		xsUnknownError("tcp: socket: %s", strerror(errno));
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* DOORWARD_TCP_SNDBUF (bytes): the kernel's send buffer, which Linux
	 * otherwise grows to megabytes. A test sets it near lwIP's few KiB to see
	 * the firmware under a congested uplink (live view: frames dropped). */
	const char *sndbuf = getenv("DOORWARD_TCP_SNDBUF");
	if (sndbuf) {
		int size = atoi(sndbuf);
		if (size > 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	status = connect(fd, found->ai_addr, found->ai_addrlen);
	freeaddrinfo(found);
	if ((status < 0) && (errno != EINPROGRESS)) {
		int error = errno;
		close(fd);
		xsUnknownError("tcp: connect to %s:%s: %s", address, port, strerror(error));
	}
	Tcp *tcp = calloc(1, sizeof(Tcp));
	if (!tcp) {
		close(fd);
		xsUnknownError("tcp: out of memory");
	}
	tcp->fd = fd;
	tcp->connecting = 1;
	tcp->the = the;
	tcp->target = xsArg(0);
	xsRemember(tcp->target);
	xsResult = xsNewHostObject(tcpDestructor);
	xsmcSetHostData(xsResult, tcp);
	tcpUpdateWatch(tcp);
}

/* xs_tcp_read(handle, byteLength) -> ArrayBuffer of at most byteLength bytes */
void xs_tcp_read(xsMachine *the)
{
	Tcp *tcp = tcpFrom(the);
	xsIntegerValue wanted = xsmcToInteger(xsArg(1));
	if (wanted < 0)
		xsRangeError("tcp: negative read");
	int available = 0;
	ioctl(tcp->fd, FIONREAD, &available);
	if (wanted > available)
		wanted = available;
	xsmcSetArrayBuffer(xsResult, NULL, wanted);
	ssize_t count = 0;
	if (wanted) {
		void *data;
		xsUnsignedValue size;
		xsmcGetBufferWritable(xsResult, &data, &size);
		count = recv(tcp->fd, data, wanted, 0);
		if (count < 0)
			count = 0;
		if (count < wanted)
			xsmcSetArrayBufferLength(xsResult, (xsUnsignedValue)count);
	}
	/* Nothing left in the socket counts as all read (a reset may drop input). */
	size_t left = (size_t)available - (size_t)count;
	tcp->unread = (!left || ((size_t)count >= tcp->unread)) ? 0 : tcp->unread - (size_t)count;
	if (!tcp->unread) {
		/* All read: watch for more (at once, after a hang-up: the loop reports what is left). */
		tcp->hangup = 0;
		tcpUpdateWatch(tcp);
	}
}

/* xs_tcp_write(handle, buffer) -> writable space left */
void xs_tcp_write(xsMachine *the)
{
	Tcp *tcp = tcpFrom(the);
	void *data;
	xsUnsignedValue length;
	if (tcp->connecting)
		xsUnknownError("tcp: not connected yet");
	xsmcGetBufferReadable(xsArg(1), &data, &length);
	if (tcp->failed) {
		/* The connection has failed; onError comes once the input is read. */
		xsmcSetInteger(xsResult, 0);
		return;
	}
	if (length > TCP_WINDOW - tcp->outUsed)
		xsRangeError("tcp: write of %u bytes exceeds the %u writable", length, (unsigned)(TCP_WINDOW - tcp->outUsed));
	memcpy(tcp->out + tcp->outUsed, data, length);
	tcp->outUsed += length;
	tcp->notifyWritable = 1;
	tcpFlush(tcp);
	tcpUpdateWatch(tcp);
	xsmcSetInteger(xsResult, TCP_WINDOW - tcp->outUsed);
}

/* xs_tcp_close(handle) */
void xs_tcp_close(xsMachine *the)
{
	Tcp *tcp = xsmcGetHostData(xsArg(0));
	if (tcp)
		tcpShut(tcp);
}
