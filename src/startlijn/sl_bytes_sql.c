/*
 * sl_bytes_sql.c - bytes for secrets of the platform extension: random
 * salts and constant-time comparison, both from libsodium.
 *
 * startlijn.random_salt() gives the salts of access codes, discount codes
 * and order tokens; startlijn.bytes_equal() compares their hashes without
 * an early exit, so the time of a wrong guess says nothing about how much
 * of it was right; startlijn.keyed_subject() derives a guest's data
 * subject from their e-mail address under the platform's key.
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "utils/uuid.h"
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

/*
 * keyed_subject(key, email): the first 16 bytes of HMAC-SHA-256(key, email)
 * with the version (8) and variant bits of a uuid set. The caller passes
 * the normalised address; the key is the platform's subject key (32 bytes).
 */
PG_FUNCTION_INFO_V1(startlijn_keyed_subject);
Datum
startlijn_keyed_subject(PG_FUNCTION_ARGS)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);
	text	   *email = PG_GETARG_TEXT_PP(1);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	pg_uuid_t  *out;

	if (VARSIZE_ANY_EXHDR(key) != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a subject key has 32 bytes"),
				 errdetail("The key given has %d bytes.", (int) VARSIZE_ANY_EXHDR(key))));
	crypto_auth_hmacsha256_init(&st, (const unsigned char *) VARDATA_ANY(key), 32);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) VARDATA_ANY(email), VARSIZE_ANY_EXHDR(email));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
	out = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	memcpy(out->data, mac, UUID_LEN);
	sodium_memzero(mac, sizeof mac);
	out->data[6] = (out->data[6] & 0x0f) | 0x80;
	out->data[8] = (out->data[8] & 0x3f) | 0x80;
	PG_RETURN_UUID_P(out);
}
