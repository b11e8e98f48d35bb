/*
 * TLS client sockets for the simulator host: `embedded:io/socket/tcp/tls`,
 * the same ECMA-419 shape as tcp.c (callbacks for readable byte counts,
 * writable space and errors; writes never block), over a non-blocking Linux
 * socket and Mbed TLS.
 *
 * - The TCP connect and the handshake are driven from the host's poll loop
 *   (hostWatch); onWritable reports the full window once the handshake is done.
 * - Verification is always on: the server's chain must end at the pinned CA
 *   (the only trust anchor; no system store) and name `serverName`. There is
 *   no option to turn it off. Only TLS 1.2 and later (1.2 on Mbed TLS 2.28;
 *   1.2 or 1.3 on 3.x/4.x when the library has 1.3).
 * - Writes are plaintext, buffered in a 16 KiB window like tcp.c's, and
 *   encrypted and sent as the socket takes them; onWritable reports the window
 *   again once it has drained.
 * - Reads: records are decrypted into a 16 KiB plaintext buffer; onReadable
 *   reports how many plaintext bytes it holds. While it is full the socket is
 *   not read (back pressure reaches the peer through TCP).
 * - Errors (handshake, verification, peer alerts, a broken socket) reach
 *   onError as Mbed TLS's text (mbedtls_strerror), with the verification
 *   flags or the alert when there are any. A clean close by the peer is an
 *   error too, reported once the plaintext received before it has been read.
 * - The DRBG is seeded from getrandom(2) (2.28 and 3.x; 4.x draws from PSA).
 *   Keys, plaintext buffers and Mbed TLS state are wiped and freed when the
 *   socket closes or fails, and on every error path of the constructor.
 *
 * Mbed TLS versions: 2.28 (Debian 12's libmbedtls-dev), 3.x and 4.x. They
 * differ here in: the minimum version call (conf_min_version up to 3.1,
 * conf_min_tls_version after), the RNG arguments of pk_parse_key and
 * pk_check_pair (3.x), the DRBG (gone from the public API in 4.x: the SSL
 * layer draws from PSA), psa_crypto_init (needed before a handshake when PSA
 * is compiled in: 3.x with TLS 1.3 or USE_PSA_CRYPTO, always in 4.x), and
 * TLS 1.3 session tickets surfacing from mbedtls_ssl_read (3.x).
 */
#define _GNU_SOURCE	/* memmem */
#include "xsmc.h"
#include "../../sim/host/host.h"
#include "../../sim/host/callback.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "mbedtls/version.h"
#include "mbedtls/error.h"
#include "mbedtls/net_sockets.h"	/* only for the MBEDTLS_ERR_NET_* codes */
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#if MBEDTLS_VERSION_MAJOR >= 4
#include "psa/crypto.h"
#define TLS_PSA_RNG 1
#define TLS_PSA_INIT 1
#else
#include "mbedtls/ctr_drbg.h"
#if (MBEDTLS_VERSION_MAJOR == 3) && defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#define TLS_PSA_INIT 1
#endif
#endif

/* 2.28's structures have no private members. */
#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(member) member
#endif

#define TLS_WINDOW 16384		/* plaintext the firmware may have in flight, as tcp.c */
#define TLS_INPUT 16384			/* decrypted plaintext held for read() */
#define TLS_SEND_BUFFER 4096	/* SO_SNDBUF (Linux doubles it) */
#define TLS_MESSAGE 384
#define TLS_MAX_CLIENT_CERTIFICATES 8

enum {
	TLS_CONNECTING = 1,	/* TCP connect in progress */
	TLS_HANDSHAKE,
	TLS_OPEN,
};

typedef struct {
	int fd;
	int state;
	int closed;
	int wantWrite;		/* Mbed TLS could not send: retry when the socket is writable */
	int notifyWritable;	/* the firmware wrote: tell it when the window has drained */
	int recheck;		/* read() made room or left data: look at the input again soon */
	int peerClosed;		/* close_notify or EOF seen: report once the plaintext is read */
	int systemError;	/* errno of the last failed send or recv */
	char pending[TLS_MESSAGE];	/* a failure found outside the loop, reported by it */
	xsSlot target;		/* the JS relay: onReadable, onWritable, onError */
	xsSlot self;		/* this socket's host object (not remembered) */
	xsMachine *the;
	size_t inFlight;	/* length of an interrupted mbedtls_ssl_write, which must be repeated as is */
	size_t outUsed;
	size_t inUsed;
	uint8_t out[TLS_WINDOW];
	uint8_t in[TLS_INPUT];
	int secured;		/* the Mbed TLS contexts below are initialized */
	int identified;		/* a client certificate and key are configured */
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crt certificate;
	mbedtls_pk_context key;
#if !TLS_PSA_RNG
	mbedtls_ctr_drbg_context drbg;
#endif
} Tls;

static void tlsReady(void *refcon, short revents);

/* ---- Mbed TLS plumbing ---- */

#if !TLS_PSA_RNG
static int tlsEntropy(void *context, unsigned char *output, size_t length)
{
	while (length) {
		ssize_t count = getrandom(output, length, 0);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		output += count;
		length -= (size_t)count;
	}
	return 0;
}
#endif

static int tlsSend(void *context, const unsigned char *data, size_t length)
{
	Tls *tls = context;
	for (;;) {
		ssize_t count = send(tls->fd, data, length, MSG_NOSIGNAL);
		if (count >= 0)
			return (int)count;
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN) || (errno == EWOULDBLOCK)) {
			tls->wantWrite = 1;
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		}
		tls->systemError = errno;
		return ((errno == EPIPE) || (errno == ECONNRESET)) ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int tlsReceive(void *context, unsigned char *data, size_t length)
{
	Tls *tls = context;
	for (;;) {
		ssize_t count = recv(tls->fd, data, length, 0);
		if (count >= 0)
			return (int)count;	/* 0: EOF, which Mbed TLS reports as MBEDTLS_ERR_SSL_CONN_EOF */
		if (errno == EINTR)
			continue;
		if ((errno == EAGAIN) || (errno == EWOULDBLOCK))
			return MBEDTLS_ERR_SSL_WANT_READ;
		tls->systemError = errno;
		return (errno == ECONNRESET) ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

static const char *alertName(int alert)
{
	switch (alert) {
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 112: return "unrecognized_name";
	case 116: return "certificate_required";
	default: return "alert";
	}
}

/* A fatal TLS 1.2 alert waiting, unread, in the socket: a server that
 * refuses the handshake sends one and closes, and the client may find the
 * connection reset while it is still sending its own flight. -1 when none. */
static int tlsPeekAlert(Tls *tls)
{
	uint8_t record[7];
	if (tls->fd < 0)
		return -1;
	ssize_t count = recv(tls->fd, record, sizeof(record), MSG_PEEK | MSG_DONTWAIT);
	if ((count == (ssize_t)sizeof(record)) && (record[0] == 21) && (record[1] == 3) && (record[3] == 0) && (record[4] == 2) && (record[5] == 2))
		return record[6];
	return -1;
}

/* Mbed TLS's text for `error`, with the verification flags, the peer's
 * alert or the system error when there is one. */
static void tlsDescribe(Tls *tls, int error, char *message, size_t size)
{
	char text[160];
	char detail[224];
	int alert;
	if (((error == MBEDTLS_ERR_NET_CONN_RESET) || (error == MBEDTLS_ERR_NET_SEND_FAILED)) && (tls->state == TLS_HANDSHAKE) && ((alert = tlsPeekAlert(tls)) >= 0)) {
		mbedtls_strerror(MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, text, sizeof(text));
		snprintf(message, size, "%s (alert %d: %s)", text, alert, alertName(alert));
		return;
	}
	mbedtls_strerror(error, text, sizeof(text));
	detail[0] = 0;
	if ((error == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) && tls->secured) {
		uint32_t flags = mbedtls_ssl_get_verify_result(&tls->ssl);
		if (flags && (flags != (uint32_t)-1) && (mbedtls_x509_crt_verify_info(detail, sizeof(detail), "", flags) > 0)) {
			/* one line per flag: join them */
			size_t length = strlen(detail);
			while (length && (detail[length - 1] == '\n'))
				detail[--length] = 0;
			for (char *c = detail; *c; c++) {
				if (*c == '\n')
					*c = ';';
			}
		}
	}
	else if ((error == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) && tls->secured && tls->ssl.MBEDTLS_PRIVATE(in_msg)) {
		int alert = tls->ssl.MBEDTLS_PRIVATE(in_msg)[1];
		snprintf(detail, sizeof(detail), "alert %d: %s", alert, alertName(alert));
	}
	else if (((error == MBEDTLS_ERR_NET_SEND_FAILED) || (error == MBEDTLS_ERR_NET_RECV_FAILED) || (error == MBEDTLS_ERR_NET_CONN_RESET)) && tls->systemError)
		snprintf(detail, sizeof(detail), "%s", strerror(tls->systemError));
	if (detail[0])
		snprintf(message, size, "%s (%s)", text, detail);
	else
		snprintf(message, size, "%s", text);
}

static void tlsReleaseSecrets(Tls *tls)
{
	if (tls->secured) {
		mbedtls_ssl_free(&tls->ssl);		/* each free zeroizes its context */
		mbedtls_ssl_config_free(&tls->conf);
		mbedtls_x509_crt_free(&tls->ca);
		mbedtls_x509_crt_free(&tls->certificate);
		mbedtls_pk_free(&tls->key);
#if !TLS_PSA_RNG
		mbedtls_ctr_drbg_free(&tls->drbg);
#endif
		tls->secured = 0;
	}
	mbedtls_platform_zeroize(tls->out, sizeof(tls->out));
	mbedtls_platform_zeroize(tls->in, sizeof(tls->in));
	tls->outUsed = tls->inUsed = tls->inFlight = 0;
}

/* ---- the socket in the run loop ---- */

static void tlsUpdateWatch(Tls *tls)
{
	short events;
	if (tls->state == TLS_CONNECTING)
		events = POLLOUT;
	else {
		events = 0;
		if ((tls->state == TLS_HANDSHAKE) || (!tls->peerClosed && (tls->inUsed < TLS_INPUT)))
			events |= POLLIN;
		if (tls->wantWrite || tls->notifyWritable || tls->recheck || tls->pending[0])
			events |= POLLOUT;
	}
	hostWatch(tls->fd, events, 1, tlsReady, tls);
}

static void tlsShut(Tls *tls, int notifyPeer)
{
	if (tls->closed)
		return;
	tls->closed = 1;
	if (notifyPeer && (tls->state == TLS_OPEN) && tls->secured)
		mbedtls_ssl_close_notify(&tls->ssl);	/* best effort: one try, never waits */
	hostUnwatch(tls->fd);
	close(tls->fd);
	tls->fd = -1;
	tlsReleaseSecrets(tls);
	xsMachine *the = tls->the;
	xsForget(tls->target);
}

static void tlsFree(Tls *tls)
{
	if (!tls)
		return;
	if (!tls->closed) {
		if (tls->fd >= 0) {
			hostUnwatch(tls->fd);
			close(tls->fd);
		}
		tlsReleaseSecrets(tls);
	}
	free(tls);
}

static void tlsDestructor(void *data)
{
	tlsFree(data);
}

/* The socket's host object is kept on the stack meanwhile: the callback may
 * close the socket and drop the last reference to it. */
static void tlsCall(Tls *tls, const char *name, xsIntegerValue count, const char *message)
{
	hostCallTarget(tls->the, &tls->self, &tls->target, name, count, message);
}

static void tlsError(Tls *tls, const char *message)
{
	char copy[TLS_MESSAGE];
	snprintf(copy, sizeof(copy), "%s", message);	/* message may be tls->pending, wiped below */
	xsMachine *the = tls->the;
	xsBeginHost(the);
	{
		xsmcVars(2);
		xsVar(0) = tls->target;	/* keep the target reachable once forgotten */
		xsVar(1) = tls->self;
		tlsShut(tls, 0);
		tls->target = xsVar(0);
		tlsCall(tls, "onError", 0, copy);
	}
	xsEndHost(the);
}

static void tlsFail(Tls *tls, int error)
{
	char message[TLS_MESSAGE];
	tlsDescribe(tls, error, message, sizeof(message));
	tlsError(tls, message);
}

/* Remember a failure found inside a call from the firmware (read, write): the
 * loop reports it through onError, outside that call. */
static void tlsDefer(Tls *tls, int error)
{
	if (!tls->pending[0])
		tlsDescribe(tls, error, tls->pending, sizeof(tls->pending));
}

/* Encrypt and send the window. 0 when all sent or waiting; else an error. */
static int tlsFlush(Tls *tls)
{
	while (tls->outUsed) {
		/* An interrupted write must be repeated with the same length (Mbed TLS
		 * already holds that record and returns its length when it is sent). */
		size_t length = tls->inFlight ? tls->inFlight : tls->outUsed;
		int result = mbedtls_ssl_write(&tls->ssl, tls->out, length);
		if ((result == MBEDTLS_ERR_SSL_WANT_WRITE) || (result == MBEDTLS_ERR_SSL_WANT_READ)) {
			tls->inFlight = length;
			return 0;
		}
		if (result < 0)
			return result;
		tls->inFlight = 0;
		memmove(tls->out, tls->out + result, tls->outUsed - (size_t)result);
		tls->outUsed -= (size_t)result;
		mbedtls_platform_zeroize(tls->out + tls->outUsed, (size_t)result);
	}
	return 0;
}

/* Decrypt what has arrived into the input buffer. 0, or an error. */
static int tlsFill(Tls *tls)
{
	while (!tls->peerClosed && (tls->inUsed < TLS_INPUT)) {
		int result = mbedtls_ssl_read(&tls->ssl, tls->in + tls->inUsed, TLS_INPUT - tls->inUsed);
		if (result > 0) {
			tls->inUsed += (size_t)result;
			continue;
		}
		if ((result == MBEDTLS_ERR_SSL_WANT_READ) || (result == MBEDTLS_ERR_SSL_WANT_WRITE))
			return 0;
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
		if (result == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;	/* TLS 1.3: not kept */
#endif
		if ((result == 0) || (result == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) || (result == MBEDTLS_ERR_SSL_CONN_EOF)) {
			tls->peerClosed = (result == 0) ? MBEDTLS_ERR_SSL_CONN_EOF : result;
			return 0;
		}
		return result;
	}
	return 0;
}

/* Tell the firmware about the plaintext: whenever more arrived, and again
 * after it read part of it (or when `force`). */
static void tlsDeliver(Tls *tls, int force)
{
	for (;;) {
		size_t before = tls->inUsed;
		int error = tlsFill(tls);
		if (error) {
			tlsFail(tls, error);
			return;
		}
		if (!tls->inUsed || ((tls->inUsed == before) && !force))
			break;
		tls->recheck = 0;
		size_t reported = tls->inUsed;
		tlsCall(tls, "onReadable", (xsIntegerValue)reported, NULL);
		if (tls->closed)
			return;
		if (tls->inUsed == reported)
			break;	/* nothing read: it is told again when more arrives */
		force = (tls->inUsed > 0);
	}
	tls->recheck = 0;
	if (tls->peerClosed && !tls->inUsed) {
		tlsFail(tls, tls->peerClosed);
		return;
	}
	tlsUpdateWatch(tls);
}

static void tlsHandshake(Tls *tls)
{
	int result = mbedtls_ssl_handshake(&tls->ssl);
	if ((result == MBEDTLS_ERR_SSL_WANT_READ) || (result == MBEDTLS_ERR_SSL_WANT_WRITE)) {
		tlsUpdateWatch(tls);
		return;
	}
	if (result) {
		tlsFail(tls, result);
		return;
	}
	tls->state = TLS_OPEN;
	tlsUpdateWatch(tls);
	tlsCall(tls, "onWritable", TLS_WINDOW, NULL);
	if (tls->closed)
		return;
	/* The server may have sent application data right behind its Finished. */
	tlsDeliver(tls, 0);
}

static void tlsReady(void *refcon, short revents)
{
	Tls *tls = refcon;
	if (tls->state == TLS_CONNECTING) {
		int error = 0;
		socklen_t length = sizeof(error);
		getsockopt(tls->fd, SOL_SOCKET, SO_ERROR, &error, &length);
		if (error) {
			tlsError(tls, strerror(error));
			return;
		}
		if (!(revents & POLLOUT))
			return;
		tls->state = TLS_HANDSHAKE;
	}
	if (revents & POLLOUT)
		tls->wantWrite = 0;
	if (tls->pending[0]) {
		tlsError(tls, tls->pending);
		return;
	}
	if (tls->state == TLS_HANDSHAKE) {
		tlsHandshake(tls);
		return;
	}
	if (tls->outUsed) {
		int error = tlsFlush(tls);
		if (error) {
			tlsFail(tls, error);
			return;
		}
	}
	if (!tls->outUsed && !tls->wantWrite && tls->notifyWritable) {
		tls->notifyWritable = 0;
		tlsUpdateWatch(tls);
		tlsCall(tls, "onWritable", TLS_WINDOW, NULL);
		if (tls->closed)
			return;
	}
	if ((revents & (POLLHUP | POLLERR)) && (tls->peerClosed || (tls->inUsed >= TLS_INPUT))) {
		/* Reset while the firmware holds input it has not read: nothing more
		 * can come, and the descriptor would stay ready. */
		int error = 0;
		socklen_t length = sizeof(error);
		getsockopt(tls->fd, SOL_SOCKET, SO_ERROR, &error, &length);
		if (error)
			tlsError(tls, strerror(error));
		else
			tlsFail(tls, tls->peerClosed ? tls->peerClosed : MBEDTLS_ERR_SSL_CONN_EOF);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		tlsDeliver(tls, tls->recheck);
	else if (tls->recheck)
		tlsDeliver(tls, 1);
	else
		tlsUpdateWatch(tls);
}

/* ---- construction ---- */

/* The bytes of `slot`, an ArrayBuffer or a typed array; NULL when it is neither. */
static const uint8_t *tlsBytes(xsMachine *the, xsSlot *slot, size_t *length)
{
	if ((xsmcTypeOf(*slot) != xsReferenceType)
			|| !(xsmcIsInstanceOf(*slot, xsArrayBufferPrototype) || xsmcIsInstanceOf(*slot, xsTypedArrayPrototype)))
		return NULL;
	void *data;
	xsUnsignedValue count;
	xsmcGetBufferReadable(*slot, &data, &count);
	*length = count;
	return data;
}

/* A NUL-terminated copy of PEM or DER bytes, and the length Mbed TLS expects
 * for it (PEM lengths count the terminator). Wiped and freed by the caller. */
static uint8_t *tlsCopy(const uint8_t *data, size_t length, size_t *parseLength)
{
	uint8_t *copy = malloc(length + 1);
	if (!copy)
		return NULL;
	memcpy(copy, data, length);
	copy[length] = 0;
	*parseLength = (memmem(copy, length, "-----BEGIN", 10) != NULL) ? length + 1 : length;
	return copy;
}

static void tlsRelease(uint8_t *copy, size_t length)
{
	if (copy) {
		mbedtls_platform_zeroize(copy, length + 1);
		free(copy);
	}
}

static int tlsParseCertificates(mbedtls_x509_crt *chain, const uint8_t *data, size_t length)
{
	size_t parseLength;
	uint8_t *copy = tlsCopy(data, length, &parseLength);
	if (!copy)
		return MBEDTLS_ERR_X509_ALLOC_FAILED;
	int result = mbedtls_x509_crt_parse(chain, copy, parseLength);
	tlsRelease(copy, length);
	return (result > 0) ? MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT : result;	/* > 0: some certificates did not parse */
}

static int tlsParseKey(Tls *tls, const uint8_t *data, size_t length)
{
	size_t parseLength;
	uint8_t *copy = tlsCopy(data, length, &parseLength);
	if (!copy)
		return MBEDTLS_ERR_PK_ALLOC_FAILED;
#if (MBEDTLS_VERSION_MAJOR == 3)
	int result = mbedtls_pk_parse_key(&tls->key, copy, parseLength, NULL, 0, mbedtls_ctr_drbg_random, &tls->drbg);
#else
	int result = mbedtls_pk_parse_key(&tls->key, copy, parseLength, NULL, 0);
#endif
	tlsRelease(copy, length);
	return result;
}

static int tlsCheckPair(Tls *tls)
{
#if (MBEDTLS_VERSION_MAJOR == 3)
	return mbedtls_pk_check_pair(&tls->certificate.pk, &tls->key, mbedtls_ctr_drbg_random, &tls->drbg);
#else
	return mbedtls_pk_check_pair(&tls->certificate.pk, &tls->key);
#endif
}

/* Sets up the Mbed TLS contexts from the constructor's arguments. 0, or an
 * error with `message` set; the caller frees. */
static int tlsConfigure(xsMachine *the, Tls *tls, const char *serverName, char *message, size_t size)
{
	static const char personalization[] = "doorward-sim tls";
	const uint8_t *data;
	size_t length;
	int result;

	mbedtls_ssl_init(&tls->ssl);
	mbedtls_ssl_config_init(&tls->conf);
	mbedtls_x509_crt_init(&tls->ca);
	mbedtls_x509_crt_init(&tls->certificate);
	mbedtls_pk_init(&tls->key);
#if !TLS_PSA_RNG
	mbedtls_ctr_drbg_init(&tls->drbg);
#endif
	tls->secured = 1;

#if TLS_PSA_INIT
	if (psa_crypto_init() != PSA_SUCCESS) {
		snprintf(message, size, "tls: PSA crypto cannot initialize");
		return -1;
	}
#endif
#if !TLS_PSA_RNG
	result = mbedtls_ctr_drbg_seed(&tls->drbg, tlsEntropy, NULL, (const unsigned char *)personalization, sizeof(personalization) - 1);
	if (result)
		goto failed;
#else
	(void)personalization;
#endif

	/* Argument bytes are parsed as soon as they are found: nothing allocates
	 * in the XS machine between the two, so the pointers stay valid. */
	data = tlsBytes(the, &xsArg(4), &length);
	if (!data || !length) {
		snprintf(message, size, "tls: certificate (the CA) must be a non-empty ArrayBuffer");
		return -1;
	}
	result = tlsParseCertificates(&tls->ca, data, length);
	if (result) {
		char text[160];
		mbedtls_strerror(result, text, sizeof(text));
		snprintf(message, size, "tls: certificate (the CA): %s", text);
		return result;
	}

	if (xsmcTest(xsArg(5))) {
		xsIntegerValue count;
		xsmcGet(xsVar(0), xsArg(5), xsID("length"));
		count = xsmcToInteger(xsVar(0));
		if ((count < 1) || (count > TLS_MAX_CLIENT_CERTIFICATES)) {
			snprintf(message, size, "tls: clientCertificates must hold 1 to %d certificates", TLS_MAX_CLIENT_CERTIFICATES);
			return -1;
		}
		for (xsIntegerValue i = 0; i < count; i++) {
			xsmcGetIndex(xsVar(0), xsArg(5), i);
			data = tlsBytes(the, &xsVar(0), &length);
			if (!data || !length) {
				snprintf(message, size, "tls: clientCertificates[%d] must be a non-empty ArrayBuffer", (int)i);
				return -1;
			}
			result = tlsParseCertificates(&tls->certificate, data, length);
			if (result) {
				char text[160];
				mbedtls_strerror(result, text, sizeof(text));
				snprintf(message, size, "tls: clientCertificates[%d]: %s", (int)i, text);
				return result;
			}
		}
		data = tlsBytes(the, &xsArg(6), &length);
		if (!data || !length) {
			snprintf(message, size, "tls: clientKey must be a non-empty ArrayBuffer with clientCertificates");
			return -1;
		}
		result = tlsParseKey(tls, data, length);
		if (result) {
			char text[160];
			mbedtls_strerror(result, text, sizeof(text));
			snprintf(message, size, "tls: clientKey: %s", text);
			return result;
		}
		tls->identified = 1;
		if (tlsCheckPair(tls)) {
			snprintf(message, size, "tls: clientKey is not the key of clientCertificates[0]");
			return -1;
		}
	}
	else if (xsmcTest(xsArg(6))) {
		snprintf(message, size, "tls: clientKey needs clientCertificates");
		return -1;
	}

	result = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (result)
		goto failed;
	mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&tls->conf, &tls->ca, NULL);
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
	mbedtls_ssl_conf_min_tls_version(&tls->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if !TLS_PSA_RNG
	mbedtls_ssl_conf_rng(&tls->conf, mbedtls_ctr_drbg_random, &tls->drbg);
#endif
	if (tls->identified) {
		result = mbedtls_ssl_conf_own_cert(&tls->conf, &tls->certificate, &tls->key);
		if (result)
			goto failed;
	}
	result = mbedtls_ssl_setup(&tls->ssl, &tls->conf);
	if (result)
		goto failed;
	result = mbedtls_ssl_set_hostname(&tls->ssl, serverName);	/* SNI, and the name the certificate must carry */
	if (result)
		goto failed;
	mbedtls_ssl_set_bio(&tls->ssl, tls, tlsSend, tlsReceive, NULL);
	return 0;

failed:
	{
		char text[160];
		mbedtls_strerror(result, text, sizeof(text));
		snprintf(message, size, "tls: %s", text);
	}
	return result;
}

static Tls *tlsFrom(xsMachine *the)
{
	Tls *tls = xsmcGetHostDataValidate(xsArg(0), (void *)tlsDestructor);
	if (!tls || tls->closed)
		xsUnknownError("tls: closed");
	return tls;
}

/* xs_tls_connect(target, address, port, serverName, ca, clientCertificates?, clientKey?) -> handle;
 * the outcome arrives through target's callbacks. */
void xs_tls_connect(xsMachine *the)
{
	char address[256];
	char port[16];
	char serverName[256];
	char message[TLS_MESSAGE];
	struct addrinfo hints = { 0 };
	struct addrinfo *found = NULL;

	if (xsmcArgc < 7)
		xsRangeError("tls: expected 7 arguments");
	if (xsmcTypeOf(xsArg(0)) != xsReferenceType)
		xsRangeError("tls: target must be an object");
	if (xsmcTypeOf(xsArg(1)) != xsStringType)
		xsRangeError("tls: address must be a string");
	if (xsmcTypeOf(xsArg(3)) != xsStringType)
		xsRangeError("tls: serverName must be a string");
	xsmcToStringBuffer(xsArg(1), address, sizeof(address));
	xsmcToStringBuffer(xsArg(3), serverName, sizeof(serverName));
	if (!address[0] || !serverName[0])
		xsRangeError("tls: address and serverName must not be empty");
	xsIntegerValue portNumber = xsmcToInteger(xsArg(2));
	if ((portNumber < 1) || (portNumber > 65535))
		xsRangeError("tls: invalid port %d", (int)portNumber);
	snprintf(port, sizeof(port), "%d", (int)portNumber);

	Tls *tls = calloc(1, sizeof(Tls));
	if (!tls)
		xsUnknownError("tls: out of memory");
	tls->fd = -1;
	xsmcVars(1);
	if (tlsConfigure(the, tls, serverName, message, sizeof(message))) {
		tlsFree(tls);
		xsUnknownError("%s", message);
	}

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int status = getaddrinfo(address, port, &hints, &found);
	if (status || !found) {
		tlsFree(tls);
		xsUnknownError("tls: cannot resolve %s: %s", address, gai_strerror(status));
	}
	int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int error = errno;
		freeaddrinfo(found);
		tlsFree(tls);
		xsUnknownError("tls: socket: %s", strerror(error));
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A small kernel send buffer, nearer the device's lwIP than Linux's
	 * megabytes: writes find the socket full as they do there. */
	int sendBuffer = TLS_SEND_BUFFER;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, sizeof(sendBuffer));
	status = connect(fd, found->ai_addr, found->ai_addrlen);
	freeaddrinfo(found);
	if ((status < 0) && (errno != EINPROGRESS)) {
		int error = errno;
		close(fd);
		tlsFree(tls);
		xsUnknownError("tls: connect to %s:%s: %s", address, port, strerror(error));
	}
	tls->fd = fd;
	tls->state = TLS_CONNECTING;
	tls->the = the;
	tls->target = xsArg(0);
	xsRemember(tls->target);
	xsResult = xsNewHostObject(tlsDestructor);
	xsmcSetHostData(xsResult, tls);
	tls->self = xsResult;
	tlsUpdateWatch(tls);
}

/* xs_tls_read(handle, byteLength) -> ArrayBuffer of at most byteLength plaintext bytes */
void xs_tls_read(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	xsIntegerValue wanted = xsmcToInteger(xsArg(1));
	if (wanted < 0)
		xsRangeError("tls: negative read");
	if ((size_t)wanted > tls->inUsed)
		wanted = (xsIntegerValue)tls->inUsed;
	xsmcSetArrayBuffer(xsResult, tls->in, wanted);
	if (!wanted)
		return;
	memmove(tls->in, tls->in + wanted, tls->inUsed - (size_t)wanted);
	tls->inUsed -= (size_t)wanted;
	mbedtls_platform_zeroize(tls->in + tls->inUsed, (size_t)wanted);
	/* Room again: Mbed TLS may hold decrypted or undecrypted records that the
	 * socket will not signal, or the peer's close waits behind this data. */
	if ((tls->state == TLS_OPEN) && (tls->inUsed || tls->peerClosed || mbedtls_ssl_get_bytes_avail(&tls->ssl) || mbedtls_ssl_check_pending(&tls->ssl)))
		tls->recheck = 1;
	tlsUpdateWatch(tls);
}

/* xs_tls_write(handle, buffer) -> writable space left */
void xs_tls_write(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	size_t length;
	if (tls->state != TLS_OPEN)
		xsUnknownError("tls: not connected yet");
	const uint8_t *data = tlsBytes(the, &xsArg(1), &length);
	if (!data)
		xsRangeError("tls: write takes an ArrayBuffer or a typed array");
	if (length > TLS_WINDOW - tls->outUsed)
		xsRangeError("tls: write of %u bytes exceeds the %u writable", (unsigned)length, (unsigned)(TLS_WINDOW - tls->outUsed));
	if (tls->pending[0]) {
		/* The connection has failed; onError is on its way. */
		xsmcSetInteger(xsResult, 0);
		return;
	}
	memcpy(tls->out + tls->outUsed, data, length);
	tls->outUsed += length;
	tls->notifyWritable = 1;
	int error = tlsFlush(tls);
	if (error)
		tlsDefer(tls, error);
	tlsUpdateWatch(tls);
	xsmcSetInteger(xsResult, (xsIntegerValue)(TLS_WINDOW - tls->outUsed));
}

/* xs_tls_close(handle): sends close_notify when it can, then closes. */
void xs_tls_close(xsMachine *the)
{
	Tls *tls = xsmcGetHostDataValidate(xsArg(0), (void *)tlsDestructor);
	if (tls)
		tlsShut(tls, 1);
}
