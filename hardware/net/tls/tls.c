/*
 * The TLS engine behind `embedded:io/socket/tcp/tls` (tls.ts), one file for
 * every platform: the device (ESP-IDF's Mbed TLS), Moddable's lin simulator
 * and the Doorward simulator host (Debian's libmbedtls-dev).
 *
 * It never touches a socket. tls.ts runs it over the platform's ECMA-419 TCP
 * socket (Moddable's lwIP socket on the device, its select() socket on lin,
 * net/sim/tcp.c in the simulator host): ciphertext from TCP goes in with
 * xs_tls_receive, ciphertext for TCP comes out of xs_tls_take, and Mbed TLS
 * sees the two buffers in between as its transport. So the code that runs
 * the handshake, verifies the server and moves the bytes is the same on every
 * platform, and the simulator's tests exercise all of it; only the TCP socket
 * under it differs.
 *
 * The rules, all here and none optional (tls.ts refuses options that would
 * weaken them, and nothing here reads such an option):
 * - verification always required (MBEDTLS_SSL_VERIFY_REQUIRED), with the
 *   configured CA as the only trust anchor (no system store, no bundle);
 * - the server's certificate must carry `serverName` (set as SNI and as the
 *   name to verify);
 * - TLS 1.2 at least; 1.3 too where the Mbed TLS build has it;
 * - certificate signatures with SHA-256, SHA-384 or SHA-512 only (no MD5,
 *   no SHA-1), RSA keys of 2048 bits or more; intermediates must be CAs
 *   (basicConstraints CA:TRUE, which Mbed TLS requires of every issuer);
 * - on the device, certificate dates are checked (the build stops without
 *   MBEDTLS_HAVE_TIME_DATE, ESP-IDF's CONFIG_MBEDTLS_HAVE_TIME_DATE).
 * A failure becomes one line of text (Mbed TLS's reason, the verification
 * flags from mbedtls_x509_crt_verify_info, the certificate concerned, the
 * peer's alert), which xs_tls_step returns and tls.ts hands to onError.
 *
 * Buffers: a 16 KiB plaintext window for writes, 16 KiB of decrypted
 * plaintext for reads, and 4 KiB of ciphertext each way. While the read
 * buffer is full nothing more is decrypted and tls.ts stops reading the TCP
 * socket, so back pressure reaches the peer through TCP.
 *
 * Randomness: Mbed TLS 2.28 and 3.x draw from a CTR-DRBG seeded here, from
 * getrandom(2) on Linux and the hardware RNG (esp_fill_random) on the device;
 * 4.x has no DRBG in its public API and the SSL layer draws from PSA, which
 * ESP-IDF feeds from the hardware RNG.
 *
 * Mbed TLS versions: 2.28 (Debian 12), 3.x and 4.x (ESP-IDF v6: Mbed TLS 4.0
 * over TF-PSA-Crypto 1.0). They differ here in the minimum version call
 * (conf_min_version up to 3.1), the RNG arguments of pk_parse_key and
 * pk_check_pair (3.x only), the DRBG (gone in 4.x), psa_crypto_init (needed
 * when PSA is compiled in: 3.x with TLS 1.3 or USE_PSA_CRYPTO, always 4.x),
 * the handshake signature hashes (2.28 needs them set; 3.x and 4.x allow
 * SHA-256 and up by default), and TLS 1.3 session tickets (3.x, 4.x).
 *
 * Keys, plaintext and Mbed TLS state are wiped and freed on close, on
 * failure, and on every error path of xs_tls_create; of a finished
 * connection only its record (under 4 KB) waits for the garbage collector.
 */
#include "../../crypto/doorward_mbedtls_config.h"

#include "xsmc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/version.h"
#include "mbedtls/error.h"
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

#if !TLS_PSA_RNG
#if defined(ESP_PLATFORM)
#include "esp_random.h"
#else
#include <errno.h>
#include <sys/random.h>
#endif
#endif

/* Without dates Mbed TLS accepts an expired certificate. ESP-IDF turns the
 * check off by default (its clock may be unset); the firmware sets the
 * clock by SNTP before it connects, so the board's sdkconfig turns it on. */
#if !defined(MBEDTLS_HAVE_TIME_DATE)
#error "Mbed TLS must check certificate dates: enable MBEDTLS_HAVE_TIME_DATE (ESP-IDF: CONFIG_MBEDTLS_HAVE_TIME_DATE=y)"
#endif
#if !defined(MBEDTLS_SSL_CLI_C) || !defined(MBEDTLS_X509_CRT_PARSE_C) || !defined(MBEDTLS_SSL_PROTO_TLS1_2)
#error "the TLS socket needs an Mbed TLS with TLS 1.2 client and X.509 support"
#endif
#if defined(MBEDTLS_X509_REMOVE_INFO)
#error "the TLS socket's failure reasons need mbedtls_x509_crt_verify_info: turn MBEDTLS_X509_REMOVE_INFO off"
#endif

/* 2.28's structures have no private members. */
#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(member) member
#endif

#define TLS_WINDOW 16384		/* plaintext the firmware may have in flight */
#define TLS_INPUT 16384			/* decrypted plaintext held for read() */
#define TLS_CIPHER 4096			/* ciphertext held each way between Mbed TLS and TCP */
#define TLS_MESSAGE 384
#define TLS_NOTE 192
#define TLS_MAX_CLIENT_CERTIFICATES 8

enum {
	TLS_HANDSHAKE = 0,	/* the values xs_tls_step returns */
	TLS_OPEN = 1,
	TLS_FAILED,
	TLS_CLOSED,
};

typedef struct {
	int state;
	int secured;		/* the Mbed TLS contexts below are initialized */
	int identified;		/* a client certificate and key are configured */
	int peerClosed;		/* close_notify or EOF seen: reported once the plaintext is read */
	int ended;			/* the TCP connection ended: no more ciphertext will come */
	char transport[96];	/* what the TCP socket said when it ended, if anything */
	char note[TLS_NOTE];	/* the certificate that failed verification, from tlsVerify */
	char reason[TLS_MESSAGE];	/* why the connection failed, once it has */
	size_t inFlight;	/* length of an interrupted mbedtls_ssl_write, which must be repeated as is */
	size_t outUsed;
	size_t inUsed;
	size_t cipherInStart;
	size_t cipherInUsed;
	size_t cipherOutUsed;
	/* One block for the three, freed as soon as the connection is over: a
	 * closed socket may wait long for the garbage collector, which does not
	 * count this memory. cipherOut lives until tls.ts has taken the last of
	 * it (an alert, close_notify) and discards the engine. */
	uint8_t *out;		/* TLS_WINDOW */
	uint8_t *in;		/* TLS_INPUT */
	uint8_t *cipherIn;	/* TLS_CIPHER */
	uint8_t *cipherOut;	/* TLS_CIPHER */
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crt certificate;
	mbedtls_pk_context key;
	mbedtls_x509_crt_profile profile;
#if !TLS_PSA_RNG
	mbedtls_ctr_drbg_context drbg;
#endif
} Tls;

/* ---- Mbed TLS plumbing ---- */

#if !TLS_PSA_RNG
static int tlsEntropy(void *context, unsigned char *output, size_t length)
{
#if defined(ESP_PLATFORM)
	esp_fill_random(output, length);
#else
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
#endif
	return 0;
}
#endif

/* Mbed TLS's transport: ciphertext for TCP goes to cipherOut, which tls.ts
 * empties with xs_tls_take; ciphertext from TCP comes from cipherIn. */
static int tlsSend(void *context, const unsigned char *data, size_t length)
{
	Tls *tls = context;
	size_t room = TLS_CIPHER - tls->cipherOutUsed;
	if (!room)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (length > room)
		length = room;
	memcpy(tls->cipherOut + tls->cipherOutUsed, data, length);
	tls->cipherOutUsed += length;
	return (int)length;
}

static int tlsReceive(void *context, unsigned char *data, size_t length)
{
	Tls *tls = context;
	if (!tls->cipherInUsed)
		return tls->ended ? 0 : MBEDTLS_ERR_SSL_WANT_READ;	/* 0: EOF, which Mbed TLS reports as MBEDTLS_ERR_SSL_CONN_EOF */
	if (length > tls->cipherInUsed)
		length = tls->cipherInUsed;
	memcpy(data, tls->cipherIn + tls->cipherInStart, length);
	tls->cipherInStart += length;
	tls->cipherInUsed -= length;
	if (!tls->cipherInUsed)
		tls->cipherInStart = 0;
	return (int)length;
}

static const char *alertName(int alert)
{
	switch (alert) {
	case 0: return "close_notify";
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

static int tlsSameName(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b)
{
	return (a->len == b->len) && !memcmp(a->p, b->p, a->len);
}

/* Called by Mbed TLS for each certificate of the chain it built, from the
 * top down to the server's own (depth 0). It changes no flag: it only notes
 * which certificate failed, so that the reason can name it, and for a server
 * certificate that chains to nothing, why the chain the server sent did not
 * reach the pinned CA. */
static int tlsVerify(void *context, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	Tls *tls = context;
	char subject[96];
	if (!*flags)
		return 0;
	if (mbedtls_x509_dn_gets(subject, sizeof(subject), &crt->subject) < 0)
		snprintf(subject, sizeof(subject), "?");
	int length = snprintf(tls->note, sizeof(tls->note), "certificate %d \"%s\"", depth, subject);
	if ((depth == 0) && (*flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) && (length > 0) && ((size_t)length < sizeof(tls->note))) {
		const char *why = NULL;
		if (tlsSameName(&crt->issuer_raw, &crt->subject_raw))
			why = ", self-signed";
		else {
			/* The issuer the server sent, if it sent one, and whether it may issue. */
			for (const mbedtls_x509_crt *next = crt->next; next; next = next->next) {
				if (tlsSameName(&crt->issuer_raw, &next->subject_raw)) {
					if (!next->MBEDTLS_PRIVATE(ca_istrue))
						why = ", issued by a certificate that is not a CA (basicConstraints CA:TRUE missing)";
					break;
				}
			}
		}
		if (why)
			snprintf(tls->note + length, sizeof(tls->note) - (size_t)length, "%s", why);
	}
	return 0;
}

/* One line: Mbed TLS's text for `error`, with what explains it. */
static void tlsDescribe(Tls *tls, int error, char *message, size_t size)
{
	char text[160];
	char detail[256];
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
		if (tls->note[0]) {
			size_t length = strlen(detail);
			snprintf(detail + length, sizeof(detail) - length, "%s%s", length ? "; " : "", tls->note);
		}
	}
	else if ((error == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) && tls->secured && tls->ssl.MBEDTLS_PRIVATE(in_msg)) {
		int alert = tls->ssl.MBEDTLS_PRIVATE(in_msg)[1];
		snprintf(detail, sizeof(detail), "alert %d: %s", alert, alertName(alert));
	}
	else if ((error == MBEDTLS_ERR_SSL_CONN_EOF) && tls->transport[0])
		snprintf(detail, sizeof(detail), "%s", tls->transport);
	else if ((error != MBEDTLS_ERR_SSL_CONN_EOF) && (tls->state == TLS_HANDSHAKE) && tls->secured && (tls->ssl.MBEDTLS_PRIVATE(state) == MBEDTLS_SSL_SERVER_KEY_EXCHANGE))
		snprintf(detail, sizeof(detail), "the server's key exchange: its signature must verify with the key of its certificate");
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
	if (tls->out) {
		mbedtls_platform_zeroize(tls->out, TLS_WINDOW + TLS_INPUT + TLS_CIPHER);
		free(tls->out);
		tls->out = tls->in = tls->cipherIn = NULL;
	}
	tls->outUsed = tls->inUsed = tls->inFlight = 0;
	tls->cipherInStart = tls->cipherInUsed = 0;
}

/* Drops the ciphertext still waiting for TCP: nothing will take it now. */
static void tlsDiscard(Tls *tls)
{
	free(tls->cipherOut);
	tls->cipherOut = NULL;
	tls->cipherOutUsed = 0;
}

/* The connection is over: keep the reason and any ciphertext still to go
 * out (the alert Mbed TLS sent, or close_notify), drop everything else. */
static void tlsFinish(Tls *tls, int state)
{
	if (tls->state >= TLS_FAILED)
		return;
	tls->state = state;
	tlsReleaseSecrets(tls);
}

static void tlsFail(Tls *tls, int error)
{
	if (tls->state >= TLS_FAILED)
		return;
	tlsDescribe(tls, error, tls->reason, sizeof(tls->reason));
	tlsFinish(tls, TLS_FAILED);
}

static void tlsFree(Tls *tls)
{
	if (!tls)
		return;
	tlsReleaseSecrets(tls);
	tlsDiscard(tls);
	free(tls);
}

static void tlsDestructor(void *data)
{
	tlsFree(data);
}

/* Encrypt the window into cipherOut, as far as it has room. 0, or an error. */
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

/* Moves the connection on as far as the buffers allow. 0, or an error. */
static int tlsAdvance(Tls *tls)
{
	if (tls->state == TLS_HANDSHAKE) {
		int result = mbedtls_ssl_handshake(&tls->ssl);
		if ((result == MBEDTLS_ERR_SSL_WANT_READ) || (result == MBEDTLS_ERR_SSL_WANT_WRITE))
			return 0;
		if (result)
			return result;
		tls->state = TLS_OPEN;
		return 0;	/* the firmware hears of the open connection before anything that follows */
	}
	int error = tlsFlush(tls);
	if (!error)
		error = tlsFill(tls);
	if (!error && tls->peerClosed && !tls->inUsed)
		error = tls->peerClosed;	/* the end is reported after the plaintext before it */
	return error;
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

static int tlsIsPem(const uint8_t *data, size_t length)
{
	static const char marker[] = "-----BEGIN";
	for (size_t i = 0; i + sizeof(marker) - 1 <= length; i++) {
		if (!memcmp(data + i, marker, sizeof(marker) - 1))
			return 1;
	}
	return 0;
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
	*parseLength = tlsIsPem(copy, length) ? length + 1 : length;
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

#if MBEDTLS_VERSION_MAJOR == 2
/* Handshake signatures: 2.28's default list may include SHA-1. */
static const int gSignatureHashes[] = { MBEDTLS_MD_SHA512, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA256, MBEDTLS_MD_NONE };
#endif

/* Sets up the Mbed TLS contexts from xs_tls_create's arguments. 0, or an
 * error with `message` set; the caller frees. */
static int tlsConfigure(xsMachine *the, Tls *tls, const char *serverName, char *message, size_t size)
{
	static const char personalization[] = "doorward tls";
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
	data = tlsBytes(the, &xsArg(1), &length);
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

	if (xsmcTest(xsArg(2))) {
		xsIntegerValue count;
		xsmcGet(xsVar(0), xsArg(2), xsID("length"));
		count = xsmcToInteger(xsVar(0));
		if ((count < 1) || (count > TLS_MAX_CLIENT_CERTIFICATES)) {
			snprintf(message, size, "tls: clientCertificates must hold 1 to %d certificates", TLS_MAX_CLIENT_CERTIFICATES);
			return -1;
		}
		for (xsIntegerValue i = 0; i < count; i++) {
			xsmcGetIndex(xsVar(0), xsArg(2), i);
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
		data = tlsBytes(the, &xsArg(3), &length);
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
	else if (xsmcTest(xsArg(3))) {
		snprintf(message, size, "tls: clientKey needs clientCertificates");
		return -1;
	}

	result = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (result)
		goto failed;
	mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&tls->conf, &tls->ca, NULL);
	/* The library's default profile (its curves and key types), with the
	 * hashes and the RSA size stated here rather than left to the build. */
	tls->profile = mbedtls_x509_crt_profile_default;
	tls->profile.allowed_mds = MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512);
	if (tls->profile.rsa_min_bitlen < 2048)
		tls->profile.rsa_min_bitlen = 2048;
	mbedtls_ssl_conf_cert_profile(&tls->conf, &tls->profile);
	mbedtls_ssl_conf_verify(&tls->conf, tlsVerify, tls);
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
	mbedtls_ssl_conf_min_tls_version(&tls->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if MBEDTLS_VERSION_MAJOR == 2
	mbedtls_ssl_conf_sig_hashes(&tls->conf, gSignatureHashes);
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
	if (!tls)
		xsUnknownError("tls: closed");
	return tls;
}

/* ---- the natives tls.ts calls ---- */

/* xs_tls_create(serverName, ca, clientCertificates?, clientKey?) -> handle.
 * The handshake starts with the first xs_tls_step. */
void xs_tls_create(xsMachine *the)
{
	char serverName[256];
	char message[TLS_MESSAGE];

	if (xsmcArgc < 4)
		xsRangeError("tls: expected 4 arguments");
	if (xsmcTypeOf(xsArg(0)) != xsStringType)
		xsRangeError("tls: serverName must be a string");
	xsmcToStringBuffer(xsArg(0), serverName, sizeof(serverName));
	if (!serverName[0])
		xsRangeError("tls: serverName must not be empty");

	Tls *tls = calloc(1, sizeof(Tls));
	if (tls) {
		tls->out = malloc(TLS_WINDOW + TLS_INPUT + TLS_CIPHER);
		tls->cipherOut = malloc(TLS_CIPHER);
	}
	if (!tls || !tls->out || !tls->cipherOut) {
		tlsFree(tls);
		xsUnknownError("tls: out of memory");
	}
	tls->in = tls->out + TLS_WINDOW;
	tls->cipherIn = tls->in + TLS_INPUT;
	xsmcVars(1);
	if (tlsConfigure(the, tls, serverName, message, sizeof(message))) {
		tlsFree(tls);
		xsUnknownError("%s", message);
	}
	tls->state = TLS_HANDSHAKE;
	xsResult = xsNewHostObject(tlsDestructor);
	xsmcSetHostData(xsResult, tls);
}

/* xs_tls_room(handle) -> how many ciphertext bytes xs_tls_receive takes now */
void xs_tls_room(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	size_t room = (tls->state < TLS_FAILED) ? TLS_CIPHER - tls->cipherInStart - tls->cipherInUsed : 0;
	if (!room && tls->cipherInStart && (tls->state < TLS_FAILED)) {
		memmove(tls->cipherIn, tls->cipherIn + tls->cipherInStart, tls->cipherInUsed);
		tls->cipherInStart = 0;
		room = TLS_CIPHER - tls->cipherInUsed;
	}
	xsmcSetInteger(xsResult, (xsIntegerValue)room);
}

/* xs_tls_receive(handle, ciphertext): bytes read from TCP, at most xs_tls_room */
void xs_tls_receive(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	size_t length;
	const uint8_t *data = tlsBytes(the, &xsArg(1), &length);
	if (!data)
		xsRangeError("tls: receive takes an ArrayBuffer or a typed array");
	if (tls->state >= TLS_FAILED)
		return;	/* over: what still arrives is dropped */
	if (tls->cipherInStart && (length > TLS_CIPHER - tls->cipherInStart - tls->cipherInUsed)) {
		memmove(tls->cipherIn, tls->cipherIn + tls->cipherInStart, tls->cipherInUsed);
		tls->cipherInStart = 0;
	}
	if (length > TLS_CIPHER - tls->cipherInStart - tls->cipherInUsed)
		xsRangeError("tls: received %u bytes, more than the %u of room", (unsigned)length, (unsigned)(TLS_CIPHER - tls->cipherInStart - tls->cipherInUsed));
	memcpy(tls->cipherIn + tls->cipherInStart + tls->cipherInUsed, data, length);
	tls->cipherInUsed += length;
}

/* xs_tls_step(handle, ended?) -> 0 while the handshake runs, 1 once it is
 * done, or the reason the connection failed (a string, from then on).
 * `ended`, a string, says the TCP connection has ended and how. */
void xs_tls_step(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	if ((xsmcArgc > 1) && (xsmcTypeOf(xsArg(1)) == xsStringType) && !tls->ended) {
		tls->ended = 1;
		xsmcToStringBuffer(xsArg(1), tls->transport, sizeof(tls->transport));
	}
	if (tls->state < TLS_FAILED) {
		int error = tlsAdvance(tls);
		if (error)
			tlsFail(tls, error);
	}
	if (tls->state == TLS_FAILED)
		xsmcSetString(xsResult, tls->reason);
	else if (tls->state == TLS_CLOSED)
		xsmcSetString(xsResult, "tls: closed");
	else
		xsmcSetInteger(xsResult, tls->state);
}

/* xs_tls_take(handle, most) -> ArrayBuffer of ciphertext for TCP, or undefined */
void xs_tls_take(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	xsIntegerValue most = xsmcToInteger(xsArg(1));
	if (most < 0)
		xsRangeError("tls: negative take");
	size_t count = tls->cipherOutUsed;
	if (count > (size_t)most)
		count = (size_t)most;
	if (!count)
		return;
	xsmcSetArrayBuffer(xsResult, tls->cipherOut, (xsUnsignedValue)count);
	memmove(tls->cipherOut, tls->cipherOut + count, tls->cipherOutUsed - count);
	tls->cipherOutUsed -= count;
}

/* xs_tls_readable(handle) -> plaintext bytes ready for xs_tls_read */
void xs_tls_readable(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	xsmcSetInteger(xsResult, (xsIntegerValue)tls->inUsed);
}

/* xs_tls_drained(handle) -> true when every byte written has been encrypted
 * and taken for TCP */
void xs_tls_drained(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	xsmcSetBoolean(xsResult, !tls->outUsed && !tls->cipherOutUsed);
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
}

/* xs_tls_write(handle, plaintext) -> window space left. Encrypts as far as
 * cipherOut has room; a failure is kept for the next xs_tls_step. */
void xs_tls_write(xsMachine *the)
{
	Tls *tls = tlsFrom(the);
	size_t length;
	const uint8_t *data = tlsBytes(the, &xsArg(1), &length);
	if (!data)
		xsRangeError("tls: write takes an ArrayBuffer or a typed array");
	if (tls->state == TLS_HANDSHAKE)
		xsUnknownError("tls: not connected yet");
	if (tls->state != TLS_OPEN) {
		xsmcSetInteger(xsResult, 0);	/* failed: the reason is on its way */
		return;
	}
	if (length > TLS_WINDOW - tls->outUsed)
		xsRangeError("tls: write of %u bytes exceeds the %u writable", (unsigned)length, (unsigned)(TLS_WINDOW - tls->outUsed));
	memcpy(tls->out + tls->outUsed, data, length);
	tls->outUsed += length;
	int error = tlsFlush(tls);
	if (error)
		tlsFail(tls, error);
	xsmcSetInteger(xsResult, (xsIntegerValue)(TLS_WINDOW - tls->outUsed));
}

/* xs_tls_close(handle, notify): with `notify`, queues close_notify when the
 * connection is open, then wipes and frees the Mbed TLS state; what is left
 * for TCP can still be taken. Without, also drops what is left: tls.ts
 * calls it so once it has closed TCP. */
void xs_tls_close(xsMachine *the)
{
	Tls *tls = xsmcGetHostDataValidate(xsArg(0), (void *)tlsDestructor);
	if (!tls)
		return;
	int notify = (xsmcArgc > 1) && xsmcTest(xsArg(1));
	if (notify && (tls->state == TLS_OPEN))
		mbedtls_ssl_close_notify(&tls->ssl);	/* best effort: into cipherOut if it has room */
	tlsFinish(tls, TLS_CLOSED);
	if (!notify)
		tlsDiscard(tls);
}
