/*
 * P-256 (secp256r1) group operations over Mbed TLS's ECP module, for
 * SPAKE2+ (RFC 9383): one file for the device (ESP-IDF's Mbed TLS 4.x, where
 * ECP is a private module of TF-PSA-Crypto's built-in driver) and for Linux
 * (Debian's Mbed TLS 2.28: lin and the simulator host).
 *
 *   xs_p256_mul_add(blinding, a, P, b, Q)
 *                                a*P + b*Q; P undefined is the generator G;
 *                                b and Q undefined: a*P alone
 *   xs_p256_reduce(bytes)        a big-endian integer of 1..64 bytes, mod n
 *   xs_p256_negate(s)            n - s mod n
 *
 * Scalars are 32 bytes big-endian and must be below the group order n.
 * Points are 65-byte uncompressed SEC 1 encodings, checked on the curve and
 * not the identity before use (mbedtls_ecp_check_pubkey); a result that is
 * the identity is refused, as RFC 9383 section 3.3 requires of every share
 * and of Z and V. Each multiplication is mbedtls_ecp_mul, which runs in
 * constant time with randomized coordinates (the caller passes 32 random
 * bytes for that blinding); only the final addition of two products uses
 * mbedtls_ecp_muladd, with scalars 1.
 */
#include "doorward_mbedtls_config.h"

#include "xsmc.h"

#include <stdint.h>
#include <string.h>

#include "mbedtls/version.h"
#if MBEDTLS_VERSION_MAJOR >= 4
/* TF-PSA-Crypto 1.0 keeps the ECP and bignum modules as private headers of
 * its built-in driver; their functions are still compiled in. */
#include "mbedtls/private/ecp.h"
#include "mbedtls/private/bignum.h"
#else
#include "mbedtls/ecp.h"
#include "mbedtls/bignum.h"
#endif
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"

#define SCALAR_BYTES 32
#define POINT_BYTES 65
#define BLINDING_BYTES 32
#define MAX_REDUCE_BYTES 64

/* The blinding source for mbedtls_ecp_mul: SHA-256 of (seed || counter).
 * It randomizes projective coordinates only; correctness never depends on it. */
typedef struct {
	uint8_t seed[BLINDING_BYTES];
	uint32_t counter;
} Blinding;

static int blindingRandom(void *context, unsigned char *output, size_t length)
{
	Blinding *blinding = context;
	const mbedtls_md_info_t *sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	while (length > 0) {
		uint8_t block[32 + 4], digest[32];
		memcpy(block, blinding->seed, 32);
		block[32] = (uint8_t)(blinding->counter >> 24);
		block[33] = (uint8_t)(blinding->counter >> 16);
		block[34] = (uint8_t)(blinding->counter >> 8);
		block[35] = (uint8_t)blinding->counter;
		blinding->counter++;
		if (mbedtls_md(sha256, block, sizeof(block), digest) != 0)
			return -1;
		size_t take = (length < sizeof(digest)) ? length : sizeof(digest);
		memcpy(output, digest, take);
		mbedtls_platform_zeroize(digest, sizeof(digest));
		output += take;
		length -= take;
	}
	return 0;
}

typedef struct {
	mbedtls_ecp_group group;
	mbedtls_ecp_point P, Q, R, S;
	mbedtls_mpi a, b, one;
	Blinding blinding;
} Work;

static void workInit(Work *work)
{
	mbedtls_ecp_group_init(&work->group);
	mbedtls_ecp_point_init(&work->P);
	mbedtls_ecp_point_init(&work->Q);
	mbedtls_ecp_point_init(&work->R);
	mbedtls_ecp_point_init(&work->S);
	mbedtls_mpi_init(&work->a);
	mbedtls_mpi_init(&work->b);
	mbedtls_mpi_init(&work->one);
	memset(&work->blinding, 0, sizeof(work->blinding));
}

static void workFree(Work *work)
{
	mbedtls_ecp_group_free(&work->group);
	mbedtls_ecp_point_free(&work->P);
	mbedtls_ecp_point_free(&work->Q);
	mbedtls_ecp_point_free(&work->R);
	mbedtls_ecp_point_free(&work->S);
	mbedtls_mpi_free(&work->a);
	mbedtls_mpi_free(&work->b);
	mbedtls_mpi_free(&work->one);
	mbedtls_platform_zeroize(&work->blinding, sizeof(work->blinding));
}

/* Reads argument `index` as bytes of exactly `length` (0: any length up to `limit`). */
static const uint8_t *bytesArgument(xsMachine *the, int index, xsUnsignedValue length, xsUnsignedValue limit, xsUnsignedValue *actual, const char *name)
{
	void *data;
	xsUnsignedValue size;
	if (xsmcTypeOf(xsArg(index)) != xsReferenceType)
		xsTypeError("p256: %s must be a Uint8Array or an ArrayBuffer", name);
	xsmcGetBufferReadable(xsArg(index), &data, &size);
	if (length ? (size != length) : ((size == 0) || (size > limit)))
		xsRangeError("p256: %s has %u bytes", name, (unsigned)size);
	if (actual)
		*actual = size;
	return data;
}

/* Each step's Mbed TLS status; the first failure ends the operation with `why`. */
#define mxCheck(CALL, WHY) do { if ((CALL) != 0) { why = (WHY); goto done; } } while (0)

/* xs_p256_mul_add(blinding, a, P | undefined, b | undefined, Q | undefined) -> ArrayBuffer(65) */
void xs_p256_mul_add(xsMachine *the)
{
	Work work;
	const char *why = NULL;
	uint8_t scalarA[SCALAR_BYTES], scalarB[SCALAR_BYTES], pointP[POINT_BYTES], pointQ[POINT_BYTES];
	if (xsmcArgc != 5)
		xsRangeError("p256: mulAdd takes blinding, a, P, b, Q (P, b and Q may be undefined)");
	int hasP = xsmcTypeOf(xsArg(2)) != xsUndefinedType;
	int hasSecond = xsmcTypeOf(xsArg(3)) != xsUndefinedType;
	if (hasSecond != (xsmcTypeOf(xsArg(4)) != xsUndefinedType))
		xsRangeError("p256: b and Q come together");
	workInit(&work);
	/* Copied out before any allocation: an allocation may move ArrayBuffer data. */
	memcpy(work.blinding.seed, bytesArgument(the, 0, BLINDING_BYTES, 0, NULL, "blinding"), BLINDING_BYTES);
	memcpy(scalarA, bytesArgument(the, 1, SCALAR_BYTES, 0, NULL, "a"), SCALAR_BYTES);
	if (hasP)
		memcpy(pointP, bytesArgument(the, 2, POINT_BYTES, 0, NULL, "P"), POINT_BYTES);
	if (hasSecond) {
		memcpy(scalarB, bytesArgument(the, 3, SCALAR_BYTES, 0, NULL, "b"), SCALAR_BYTES);
		memcpy(pointQ, bytesArgument(the, 4, POINT_BYTES, 0, NULL, "Q"), POINT_BYTES);
	}

	mxCheck(mbedtls_ecp_group_load(&work.group, MBEDTLS_ECP_DP_SECP256R1), "cannot load the curve");
	mxCheck(mbedtls_mpi_read_binary(&work.a, scalarA, SCALAR_BYTES), "cannot read a");
	if ((mbedtls_mpi_cmp_int(&work.a, 0) <= 0) || (mbedtls_mpi_cmp_mpi(&work.a, &work.group.N) >= 0)) {
		why = "a is not in 1..n-1";
		goto done;
	}
	if (hasP) {
		mxCheck(mbedtls_ecp_point_read_binary(&work.group, &work.P, pointP, POINT_BYTES), "P is not an uncompressed point");
		mxCheck(mbedtls_ecp_check_pubkey(&work.group, &work.P), "P is not on the curve");
	}
	else
		mxCheck(mbedtls_ecp_copy(&work.P, &work.group.G), "cannot copy G");
	mxCheck(mbedtls_ecp_mul(&work.group, &work.R, &work.a, &work.P, blindingRandom, &work.blinding), "cannot multiply a*P");
	if (hasSecond) {
		mxCheck(mbedtls_mpi_read_binary(&work.b, scalarB, SCALAR_BYTES), "cannot read b");
		if ((mbedtls_mpi_cmp_int(&work.b, 0) <= 0) || (mbedtls_mpi_cmp_mpi(&work.b, &work.group.N) >= 0)) {
			why = "b is not in 1..n-1";
			goto done;
		}
		mxCheck(mbedtls_ecp_point_read_binary(&work.group, &work.Q, pointQ, POINT_BYTES), "Q is not an uncompressed point");
		mxCheck(mbedtls_ecp_check_pubkey(&work.group, &work.Q), "Q is not on the curve");
		mxCheck(mbedtls_ecp_mul(&work.group, &work.S, &work.b, &work.Q, blindingRandom, &work.blinding), "cannot multiply b*Q");
		mxCheck(mbedtls_mpi_lset(&work.one, 1), "cannot set 1");
		/* The sum of two products: scalars 1, so its variable timing reveals nothing of a or b. */
		mxCheck(mbedtls_ecp_muladd(&work.group, &work.R, &work.one, &work.R, &work.one, &work.S), "cannot add the products");
	}
	if (mbedtls_ecp_is_zero(&work.R)) {
		why = "the result is the identity";
		goto done;
	}
	{
		uint8_t out[POINT_BYTES];
		size_t written = 0;
		mxCheck(mbedtls_ecp_point_write_binary(&work.group, &work.R, MBEDTLS_ECP_PF_UNCOMPRESSED, &written, out, sizeof(out)), "cannot encode the result");
		if (written != POINT_BYTES) {
			why = "cannot encode the result";
			goto done;
		}
		workFree(&work);
		mbedtls_platform_zeroize(scalarA, sizeof(scalarA));
		mbedtls_platform_zeroize(scalarB, sizeof(scalarB));
		xsmcSetArrayBuffer(xsResult, out, POINT_BYTES);
		return;
	}
done:
	workFree(&work);
	mbedtls_platform_zeroize(scalarA, sizeof(scalarA));
	mbedtls_platform_zeroize(scalarB, sizeof(scalarB));
	xsRangeError("p256: %s", why);
}

/* A scalar mod n from `length` big-endian bytes, negated (n - s) if asked, as
 * the result; `input` is wiped. Negation takes s in 0..n-1 only. */
static void scalarResult(xsMachine *the, uint8_t *input, size_t length, int negate)
{
	mbedtls_ecp_group group;
	mbedtls_mpi value, result;
	uint8_t out[SCALAR_BYTES];
	const char *why = NULL;
	mbedtls_ecp_group_init(&group);
	mbedtls_mpi_init(&value);
	mbedtls_mpi_init(&result);
	mxCheck(mbedtls_ecp_group_load(&group, MBEDTLS_ECP_DP_SECP256R1), "cannot load the curve");
	mxCheck(mbedtls_mpi_read_binary(&value, input, length), negate ? "cannot read s" : "cannot read the integer");
	if (negate) {
		if (mbedtls_mpi_cmp_mpi(&value, &group.N) >= 0) {
			why = "s is not below n";
			goto done;
		}
		mxCheck(mbedtls_mpi_sub_mpi(&result, &group.N, &value), "cannot negate");
		mxCheck(mbedtls_mpi_mod_mpi(&result, &result, &group.N), "cannot reduce");
	}
	else
		mxCheck(mbedtls_mpi_mod_mpi(&result, &value, &group.N), "cannot reduce");
	mxCheck(mbedtls_mpi_write_binary(&result, out, SCALAR_BYTES), "cannot write the scalar");
done:
	mbedtls_ecp_group_free(&group);
	mbedtls_mpi_free(&value);
	mbedtls_mpi_free(&result);
	mbedtls_platform_zeroize(input, length);
	if (why) {
		mbedtls_platform_zeroize(out, sizeof(out));
		xsRangeError("p256: %s", why);
	}
	xsmcSetArrayBuffer(xsResult, out, SCALAR_BYTES);
	mbedtls_platform_zeroize(out, sizeof(out));
}

/* xs_p256_reduce(bytes) -> ArrayBuffer(32): the big-endian integer mod n. */
void xs_p256_reduce(xsMachine *the)
{
	uint8_t input[MAX_REDUCE_BYTES];
	xsUnsignedValue length;
	const uint8_t *data = bytesArgument(the, 0, 0, MAX_REDUCE_BYTES, &length, "bytes");
	memcpy(input, data, length);
	scalarResult(the, input, length, 0);
}

/* xs_p256_negate(s) -> ArrayBuffer(32): n - s mod n, for s in 0..n-1. */
void xs_p256_negate(xsMachine *the)
{
	uint8_t input[SCALAR_BYTES];
	memcpy(input, bytesArgument(the, 0, SCALAR_BYTES, 0, NULL, "s"), SCALAR_BYTES);
	scalarResult(the, input, SCALAR_BYTES, 1);
}
