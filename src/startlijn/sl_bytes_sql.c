/*
 * sl_bytes_sql.c - bytes for secrets of the platform extension: random
 * salts and constant-time comparison, both from libsodium.
 *
 * startlijn.random_salt() gives the salts of access codes, discount codes
 * and order tokens; startlijn.bytes_equal() compares their hashes without
 * an early exit, so the time of a wrong guess says nothing about how much
 * of it was right.
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#define SL_SALT_BYTES 16

PG_FUNCTION_INFO_V1(startlijn_random_salt);
Datum
startlijn_random_salt(PG_FUNCTION_ARGS)
{
	bytea	   *out = (bytea *) palloc(VARHDRSZ + SL_SALT_BYTES);

	SET_VARSIZE(out, VARHDRSZ + SL_SALT_BYTES);
	randombytes_buf(VARDATA(out), SL_SALT_BYTES);
	PG_RETURN_BYTEA_P(out);
}

/* false when either is NULL or the lengths differ (lengths are not secret) */
PG_FUNCTION_INFO_V1(startlijn_bytes_equal);
Datum
startlijn_bytes_equal(PG_FUNCTION_ARGS)
{
	bytea	   *a;
	bytea	   *b;
	size_t		len;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	a = PG_GETARG_BYTEA_PP(0);
	b = PG_GETARG_BYTEA_PP(1);
	len = VARSIZE_ANY_EXHDR(a);
	if (len != VARSIZE_ANY_EXHDR(b))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(sodium_memcmp(VARDATA_ANY(a), VARDATA_ANY(b), len) == 0);
}
