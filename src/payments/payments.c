/*
 * payments.c - startlijn_payments: webhook signature verification and
 * provider secrets (schema payments).
 *
 * The byte-level work (header parsing, HMAC, Ed25519, constant-time
 * comparison) lives in src/common/sl_webhook.c. This file loads the active
 * secrets of a provider as the owner of schema payments, verifies one
 * delivery against all of them, and wipes every copy of a secret it made or
 * read (local buffers and the SPI tuples) before returning, on error paths
 * too. Secrets never leave C: SQL only learns which account matched.
 */
#include "postgres.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/sl_core.h"
#include "common/sl_webhook.h"
#include "payments/payments.h"

#define PAY_MAX_SECRETS 64
#define PAY_MAX_KEY 128

typedef struct pay_key
{
	pg_uuid_t	account;
	sl_wh_key_kind kind;
	size_t		len;
	uint8_t		key[PAY_MAX_KEY];
} pay_key;

/* an optional text argument as (pointer, length): NULL, 0 when SQL NULL */
#define OPT_TEXT_ARG(n, ptr, len) \
	do { \
		(ptr) = NULL; \
		(len) = 0; \
		if (!PG_ARGISNULL(n)) \
			SL_TEXT_ARG(n, ptr, len); \
	} while (0)

/* planned once per backend (the plan cache chooses): this runs for every delivery */
static const sl_query key_queries[] = {
	{"SELECT s.account_id, s.kind, s.secret, "
	 "       CASE $1 WHEN 'stripe' THEN st.stripe_tolerance ELSE st.standard_tolerance END "
	 "  FROM payments.secrets s "
	 "  JOIN payments.accounts a ON a.id OPERATOR(pg_catalog.=) s.account_id "
	 "  CROSS JOIN payments.settings st "
	 " WHERE a.provider OPERATOR(pg_catalog.=) $1 AND s.state OPERATOR(pg_catalog.=) 'active' AND a.active "
	 " ORDER BY s.created_at DESC, s.id LIMIT 64",
	1, {TEXTOID}, SL_PLAN_CHOOSE, true},
};
static SPIPlanPtr key_plans[lengthof(key_queries)];
static const sl_query_table key_sql = {"payments", key_queries, lengthof(key_queries), key_plans};

/*
 * Load the active secrets of provider into keys (sodium_malloc'd by the
 * caller), wiping the SPI copies. Returns the count; sets tolerance.
 */
static int
load_keys(const char *provider, pay_key *keys, int64 *tolerance)
{
	Datum		vals[1];
	int			n = 0;
	bool		isnull;

	vals[0] = CStringGetTextDatum(provider);
	if (sl_exec(&key_sql, 0, vals, NULL, PAY_MAX_SECRETS) != SPI_OK_SELECT)
		elog(ERROR, "could not read webhook secrets");
	*tolerance = 300;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		d;
		bytea	   *b;
		char	   *kind;
		size_t		len;

		d = SPI_getbinval(row, desc, 3, &isnull);
		if (isnull)
			continue;
		b = DatumGetByteaPP(d);
		len = VARSIZE_ANY_EXHDR(b);
		if (len > 0 && len <= PAY_MAX_KEY)
		{
			memcpy(&keys[n].account, DatumGetUUIDP(SPI_getbinval(row, desc, 1, &isnull)), sizeof(pg_uuid_t));
			kind = SPI_getvalue(row, desc, 2);
			keys[n].kind = strcmp(kind, "ed25519") == 0 ? SL_WH_KEY_ED25519 : SL_WH_KEY_HMAC;
			keys[n].len = len;
			memcpy(keys[n].key, VARDATA_ANY(b), len);
			n++;
		}
		/* wipe the detoasted copy and the tuple's own bytes */
		sl_wipe_bytea(b);
		if ((Pointer) b != DatumGetPointer(d))
			sl_wipe_bytea((bytea *) DatumGetPointer(d));
		d = SPI_getbinval(row, desc, 4, &isnull);
		if (!isnull)
			*tolerance = DatumGetInt32(d);
	}
	return n;
}

/* the secure buffer the secrets are loaded into (see pay_verify) */
static pay_key *key_buf = NULL;

/*
 * Verify one delivery of provider against its active secrets (see
 * payments.h). The caller is connected to SPI as the owner of schema
 * payments. Every copy of a secret is wiped before returning, on error
 * paths too.
 */
sl_wh_result
pay_verify(const char *provider, const char *body, size_t blen,
		   const char *h1, size_t l1, const char *h2, size_t l2,
		   const char *h3, size_t l3, pg_uuid_t *account, bool *matched_out)
{
	pay_key    *keys;
	sl_wh_secret secrets[PAY_MAX_SECRETS];
	int			nkeys = 0,
				matched = -1;
	int64		tolerance = 300;
	int64		now;
	volatile sl_wh_result r = SL_WH_NO_SECRET;

	*matched_out = false;

	/*
	 * Guarded, locked memory for the secrets, allocated once per backend:
	 * sodium_malloc maps and protects pages, which per delivery cost more
	 * than the signature check itself. It is wiped after every use.
	 */
	if (key_buf == NULL)
	{
		key_buf = sodium_malloc(sizeof(pay_key) * PAY_MAX_SECRETS);
		if (key_buf == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of secure memory")));
	}
	keys = key_buf;
	PG_TRY();
	{
		nkeys = load_keys(provider, keys, &tolerance);
		for (int i = 0; i < nkeys; i++)
		{
			secrets[i].key = keys[i].key;
			secrets[i].len = keys[i].len;
			secrets[i].kind = keys[i].kind;
		}
		/* the real clock, not the transaction start: deliveries may queue */
		now = (int64) (GetCurrentTimestamp() / USECS_PER_SEC) +
			(int64) ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
		if (strcmp(provider, "stripe") == 0)
			r = sl_wh_stripe_verify(secrets, nkeys, h1, l1, body, blen, now, tolerance, &matched);
		else if (strcmp(provider, "standard") == 0)
			r = sl_wh_std_verify(secrets, nkeys, h1, l1, h2, l2, h3, l3, body, blen,
								 now, tolerance, &matched);
		else
			r = sl_wh_mollie_verify(secrets, nkeys, h1, l1, body, blen, &matched);
		if (matched >= 0)
		{
			memcpy(account, &keys[matched].account, sizeof(pg_uuid_t));
			*matched_out = true;
		}
	}
	PG_FINALLY();
	{
		sodium_memzero(secrets, sizeof secrets);
		sodium_memzero(keys, sizeof(pay_key) * PAY_MAX_SECRETS);
	}
	PG_END_TRY();
	return r;
}

/* payments._verify's arguments and result, through sl_as_owner */
typedef struct VerifyCall
{
	const char *provider;
	const char *body,
			   *h1,
			   *h2,
			   *h3;
	size_t		blen,
				l1,
				l2,
				l3;
	pg_uuid_t  *account;		/* out */
	bool		matched;		/* out */
	sl_wh_result r;				/* out */
} VerifyCall;

static Datum
verify_body(FunctionCallInfo fcinfo, sl_call *call)
{
	VerifyCall *vc = (VerifyCall *) call->arg;

	vc->r = pay_verify(vc->provider, vc->body, vc->blen, vc->h1, vc->l1, vc->h2, vc->l2,
					   vc->h3, vc->l3, vc->account, &vc->matched);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(payments_verify);

/*
 * payments._verify(provider text, body text, h1 text, h2 text, h3 text,
 *                  OUT result text, OUT account_id uuid)
 *
 *   stripe:   h1 = Stripe-Signature
 *   standard: h1 = webhook-id, h2 = webhook-timestamp, h3 = webhook-signature
 *   mollie:   h1 = X-Mollie-Signature
 */
Datum
payments_verify(PG_FUNCTION_ARGS)
{
	const char *provider;
	const char *body,
			   *h1,
			   *h2,
			   *h3;
	size_t		blen,
				l1,
				l2,
				l3;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, true};
	pg_uuid_t  *acct = palloc(sizeof(pg_uuid_t));
	VerifyCall	vc;
	sl_call		call = {.schema = "payments", .extension = "startlijn_payments", .arg = &vc};

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The argument provider is required.", NULL);
	provider = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(provider, "stripe") != 0 && strcmp(provider, "standard") != 0 &&
		strcmp(provider, "mollie") != 0)
		sl_raise("invalid_argument", "The provider must be stripe, standard or mollie.", NULL);
	OPT_TEXT_ARG(1, body, blen);
	if (body == NULL)
		body = "";
	OPT_TEXT_ARG(2, h1, l1);
	OPT_TEXT_ARG(3, h2, l2);
	OPT_TEXT_ARG(4, h3, l3);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	vc.provider = provider;
	vc.body = body;
	vc.blen = blen;
	vc.h1 = h1;
	vc.l1 = l1;
	vc.h2 = h2;
	vc.l2 = l2;
	vc.h3 = h3;
	vc.l3 = l3;
	vc.account = acct;
	vc.matched = false;
	(void) sl_as_owner(&call, verify_body, fcinfo);

	values[0] = CStringGetTextDatum(sl_wh_result_name(vc.r));
	if (vc.matched)
	{
		values[1] = UUIDPGetDatum(acct);
		nulls[1] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

PG_FUNCTION_INFO_V1(payments_decode_secret);

/*
 * payments._decode_secret(provider text, secret text, OUT kind text, OUT key bytea)
 * Checks the text a provider's dashboard shows and returns the key bytes.
 */
Datum
payments_decode_secret(PG_FUNCTION_ARGS)
{
	char	   *provider;
	const char *s;
	size_t		len;
	sl_secret  *keybuf = sl_secret_new(PAY_MAX_KEY);
	uint8_t    *key = keybuf->data;
	size_t		klen = 0;
	sl_wh_key_kind kind = SL_WH_KEY_HMAC;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	HeapTuple	tup;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		sl_raise("missing_argument", "The arguments provider and secret are required.", NULL);
	provider = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SL_TEXT_ARG(1, s, len);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (strcmp(provider, "stripe") == 0)
	{
		/* Stripe keys the HMAC with the whsec_ text itself */
		if (len < 16 || len > PAY_MAX_KEY || strncmp(s, "whsec_", 6) != 0)
			sl_raise("invalid_secret", "A Stripe signing secret is the whsec_... text of the endpoint.", NULL);
		memcpy(key, s, len);
		klen = len;
	}
	else if (strcmp(provider, "standard") == 0)
	{
		klen = sl_wh_std_decode_secret(s, len, key, PAY_MAX_KEY, &kind);
		if (klen == 0)
			sl_raise("invalid_secret",
					 "A Standard Webhooks secret is whsec_ and the base64 of 24 to 64 bytes, or whpk_ and the base64 of an Ed25519 public key.",
					 NULL);
	}
	else if (strcmp(provider, "mollie") == 0)
	{
		if (len < 16 || len > PAY_MAX_KEY)
			sl_raise("invalid_secret", "A Mollie webhook secret has 16 to 128 characters.", NULL);
		memcpy(key, s, len);
		klen = len;
	}
	else
		sl_raise("invalid_argument", "The provider must be stripe, standard or mollie.", NULL);

	values[0] = CStringGetTextDatum(kind == SL_WH_KEY_ED25519 ? "ed25519" : "hmac");
	values[1] = PointerGetDatum(sl_bytea(key, klen));
	sl_secret_wipe(keybuf);
	tup = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
	/* the tuple holds its own copy: wipe the intermediate one */
	sodium_memzero(VARDATA(DatumGetPointer(values[1])), klen);
	PG_RETURN_DATUM(HeapTupleGetDatum(tup));
}
