/*
 * tokens.c - startlijn_tokens: secret tokens and signed codes (schema tokens).
 *
 * The byte formats live in src/common/sl_token.c; this file stores, checks,
 * counts and signs. Every table has forced RLS and no grants: the functions
 * below read and write them as the owner of schema tokens.
 *
 * Every function runs its SQL through sl_as_owner (as the owner of schema
 * tokens, search_path pinned), from the statement table below, prepared
 * once per backend. Secrets handled here - the token secret, the token
 * text, the pepper (BLAKE2b key) and signing seeds - live in sl_secret
 * buffers, wiped whenever the call ends, by an error too; the SPI copies
 * they were read from are wiped in place as they are taken. Every
 * error of a call that carries a token is logged without the STATEMENT line
 * (hide_statement_cb below), so the token text does not reach the server
 * log (docs/tokens.md, threat model).
 */
#include "postgres.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/sl_core.h"
#include "common/sl_token.h"

#define TOKENS_BUCKET_BYTES 16

/* ---- small helpers ----------------------------------------------------- */

/* ---- statements ------------------------------------------------------- */

enum
{
	T_ISSUE_PURPOSE,
	T_ISSUE_STORE,
	T_REDEEM_PURPOSE,
	T_THROTTLE,
	T_LOOKUP_LOCKED,
	T_LOOKUP,
	T_FAILURES,
	T_USE,
	T_ADD_KEY,
	T_SCOPE_KEY,
	T_CODE_VERSION,
	T_CODE_RECORD,
	T_VERIFY,
	T_SCOPE_EXISTS,
	T_ATTEMPT_WINDOW,
	T_COUNT
};

/*
 * A token or scope of no organisation is stored under the nil UUID (the
 * tables are distributable by organisation, docs/scaling.md) and shown,
 * and audited, as NULL.
 */
#define NO_ORG "'00000000-0000-0000-0000-000000000000'::pg_catalog.uuid"

#define TOKEN_ROW \
	"SELECT t.id, t.subject, t.metadata, t.max_uses OPERATOR(pg_catalog.-) t.uses, t.revoked_at IS NOT NULL, " \
	"       t.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now(), t.uses OPERATOR(pg_catalog.>=) t.max_uses, " \
	"       t.organization_id " \
	"  FROM tokens.tokens t WHERE t.hash OPERATOR(pg_catalog.=) $1"

/*
 * The plan cache chooses (SL_PLAN_CHOOSE): these were planned for their
 * values on every call before they were prepared once, and lookups by key
 * get the same plan either way.
 */
static const sl_query tok_queries[T_COUNT] = {
	[T_ISSUE_PURPOSE] = {
		"SELECT p.prefix, s.pepper, "
		"       $2 IS NULL OR ($2 OPERATOR(pg_catalog.>) interval '0' AND $2 OPERATOR(pg_catalog.<=) p.max_ttl), "
		"       pg_catalog.jsonb_typeof($3) OPERATOR(pg_catalog.=) 'object'"
		"       AND pg_catalog.octet_length($3::pg_catalog.text) OPERATOR(pg_catalog.<=) 4096, "
		"       p.max_uses_limit "
		"  FROM tokens.purposes p, tokens.settings s WHERE p.purpose OPERATOR(pg_catalog.=) $1",
		3, {TEXTOID, INTERVALOID, JSONBOID}, SL_PLAN_CHOOSE, true
	},
	[T_ISSUE_STORE] = {
		"WITH t AS ("
		"  INSERT INTO tokens.tokens (purpose, organization_id, subject, hash, metadata, max_uses, expires_at) "
		"  SELECT $1, COALESCE($2, " NO_ORG "), $3, $4, $5, $6, pg_catalog.now() OPERATOR(pg_catalog.+) COALESCE($7, p.default_ttl) "
		"    FROM tokens.purposes p WHERE p.purpose OPERATOR(pg_catalog.=) $1 "
		"  RETURNING id, expires_at) "
		"SELECT t.id, t.expires_at, trail.log($2, 'token.issued', "
		"         'token:' OPERATOR(pg_catalog.||) t.id::pg_catalog.text, "
		"         pg_catalog.jsonb_build_object('purpose', $1, 'subject', $3, 'expires_at', t.expires_at, "
		"                                       'max_uses', $6)) "
		"  FROM t",
		7, {TEXTOID, UUIDOID, TEXTOID, BYTEAOID, JSONBOID, INT4OID, INTERVALOID}, SL_PLAN_CHOOSE
	},
	[T_REDEEM_PURPOSE] = {
		"SELECT p.prefix, s.pepper, p.max_failures, tokens.caller(), "
		"       pg_catalog.date_bin(p.failure_window, pg_catalog.now(), '2000-01-01 00:00+00') "
		"  FROM tokens.purposes p, tokens.settings s WHERE p.purpose OPERATOR(pg_catalog.=) $1",
		1, {TEXTOID}, SL_PLAN_CHOOSE
	},
	[T_THROTTLE] = {
		"SELECT COALESCE(pg_catalog.max(f.failures) FILTER (WHERE f.bucket OPERATOR(pg_catalog.=) $1), 0)::pg_catalog.int8, "
		"       COALESCE(pg_catalog.max(f.failures) FILTER (WHERE f.bucket OPERATOR(pg_catalog.=) $2), 0)::pg_catalog.int8 "
		"  FROM tokens.failures f WHERE f.window_start OPERATOR(pg_catalog.=) $3 AND f.bucket IN ($1, $2)",
		3, {BYTEAOID, BYTEAOID, TIMESTAMPTZOID}, SL_PLAN_CHOOSE
	},
	/* the row lock makes a single use exactly once */
	[T_LOOKUP_LOCKED] = {TOKEN_ROW " FOR UPDATE", 1, {BYTEAOID}, SL_PLAN_CHOOSE},
	[T_LOOKUP] = {TOKEN_ROW, 1, {BYTEAOID}, SL_PLAN_CHOOSE},
	[T_FAILURES] = {
		"SELECT f.failures::pg_catalog.int8 FROM tokens.failures f "
		" WHERE f.bucket OPERATOR(pg_catalog.=) $1 AND f.window_start OPERATOR(pg_catalog.=) $2",
		2, {BYTEAOID, TIMESTAMPTZOID}, SL_PLAN_CHOOSE
	},
	[T_USE] = {
		"WITH u AS (UPDATE tokens.tokens t SET uses = t.uses OPERATOR(pg_catalog.+) 1, last_used_at = pg_catalog.now() "
		"            WHERE t.id OPERATOR(pg_catalog.=) $1 AND t.organization_id OPERATOR(pg_catalog.=) $3"
		"            RETURNING t.id, t.organization_id, t.subject, t.uses, t.max_uses) "
		"SELECT u.max_uses OPERATOR(pg_catalog.-) u.uses, "
		"       trail.log(NULLIF(u.organization_id, " NO_ORG "), 'token.redeemed', "
		"         'token:' OPERATOR(pg_catalog.||) u.id::pg_catalog.text, "
		"         pg_catalog.jsonb_build_object('purpose', $2, 'subject', u.subject, 'uses', u.uses, "
		"                                       'max_uses', u.max_uses)) FROM u",
		3, {UUIDOID, TEXTOID, UUIDOID}, SL_PLAN_CHOOSE
	},
	[T_ADD_KEY] = {
		"INSERT INTO tokens.signing_keys (scope, organization_id, key_id, public_key, seed, state) "
		"SELECT s.scope, s.organization_id, "
		"       (SELECT COALESCE(pg_catalog.max(k.key_id), 0) OPERATOR(pg_catalog.+) 1 FROM tokens.signing_keys k "
		"         WHERE k.scope OPERATOR(pg_catalog.=) s.scope AND k.organization_id OPERATOR(pg_catalog.=) s.organization_id), "
		"       $2, $3, 'active' "
		"  FROM tokens.scopes s WHERE s.scope OPERATOR(pg_catalog.=) $1 RETURNING key_id",
		3, {TEXTOID, BYTEAOID, BYTEAOID}, SL_PLAN_CHOOSE
	},
	/* the scope row is locked FOR KEY SHARE: a rotation waits for us */
	[T_SCOPE_KEY] = {
		"SELECT k.key_id, k.seed, s.organization_id FROM tokens.scopes s "
		"  LEFT JOIN tokens.signing_keys k ON k.scope OPERATOR(pg_catalog.=) s.scope"
		"        AND k.organization_id OPERATOR(pg_catalog.=) s.organization_id"
		"        AND k.state OPERATOR(pg_catalog.=) 'active' "
		" WHERE s.scope OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF s",
		1, {TEXTOID}, SL_PLAN_CHOOSE
	},
	[T_CODE_VERSION] = {
		"INSERT INTO tokens.codes AS c (scope, payload, version, organization_id) VALUES ($1, $2, 1, $3) "
		"ON CONFLICT (scope, payload, organization_id) DO UPDATE "
		"   SET version = c.version OPERATOR(pg_catalog.+) 1, issued_at = pg_catalog.now(), revoked_at = NULL "
		" WHERE c.version OPERATOR(pg_catalog.<) 65535 RETURNING c.version",
		3, {TEXTOID, BYTEAOID, UUIDOID}, SL_PLAN_CHOOSE
	},
	/* a re-issue revokes every earlier version, in the delta feed too */
	[T_CODE_RECORD] = {
		"SELECT CASE WHEN $3 OPERATOR(pg_catalog.>) 1"
		"            THEN tokens._revoke_versions($1, $2, $3 OPERATOR(pg_catalog.-) 1, $5) END, "
		"       trail.log(NULLIF($6, " NO_ORG "), 'code.issued', 'code:' OPERATOR(pg_catalog.||) $1, "
		"         pg_catalog.jsonb_build_object('scope', $1, 'payload', pg_catalog.encode($2, 'hex'), "
		"                                       'version', $3, 'key_id', $4))",
		6, {TEXTOID, BYTEAOID, INT4OID, INT4OID, TEXTOID, UUIDOID}, SL_PLAN_CHOOSE
	},
	[T_VERIFY] = {
		"SELECT k.public_key, k.state, c.version, c.revoked_at IS NOT NULL "
		"  FROM tokens.signing_keys k "
		"  LEFT JOIN tokens.codes c ON c.scope OPERATOR(pg_catalog.=) k.scope"
		"        AND c.organization_id OPERATOR(pg_catalog.=) k.organization_id AND c.payload OPERATOR(pg_catalog.=) $3 "
		" WHERE k.scope OPERATOR(pg_catalog.=) $1 AND k.key_id OPERATOR(pg_catalog.=) $2",
		3, {TEXTOID, INT4OID, BYTEAOID}, SL_PLAN_CHOOSE, true
	},
	[T_SCOPE_EXISTS] = {
		"SELECT 1 FROM tokens.scopes s WHERE s.scope OPERATOR(pg_catalog.=) $1",
		1, {TEXTOID}, SL_PLAN_CHOOSE, true
	},
	/* the pepper and the start of the current window of an attempt throttle */
	[T_ATTEMPT_WINDOW] = {
		"SELECT s.pepper, pg_catalog.date_bin($1, pg_catalog.now(), '2000-01-01 00:00+00'), "
		"       $1 OPERATOR(pg_catalog.>=) interval '1 second' AND $1 OPERATOR(pg_catalog.<=) interval '1 day' "
		"       AND pg_catalog.date_part('month', $1) OPERATOR(pg_catalog.=) 0 "
		"  FROM tokens.settings s",
		1, {INTERVALOID}, SL_PLAN_CHOOSE
	},
};

static SPIPlanPtr tok_plans[T_COUNT];
static const sl_query_table tok_sql = {"startlijn_tokens", tok_queries, T_COUNT, tok_plans};

/* run fn's body as the owner of schema tokens */
static Datum
tokens_call(sl_body body, FunctionCallInfo fcinfo, void *arg)
{
	sl_call		call = {.schema = "tokens", .extension = "startlijn_tokens", .arg = arg};

	return sl_as_owner(&call, body, fcinfo);
}

/* a result row built in the caller's memory */
static Datum
result_row(sl_call *call, TupleDesc desc, Datum *values, bool *nulls)
{
	MemoryContext old = MemoryContextSwitchTo(call->caller_cxt);
	Datum		d = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));

	MemoryContextSwitchTo(old);
	return d;
}

/* copy a 32-byte secret column out of an SPI row, then wipe the row's copy */
static bool
take_secret(HeapTuple row, TupleDesc desc, int col, uint8 out[32])
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, col, &isnull);
	bytea	   *b;

	if (isnull)
		return false;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != 32)
	{
		sl_wipe_bytea(b);
		elog(ERROR, "startlijn_tokens: a stored secret has the wrong length");
	}
	memcpy(out, VARDATA_ANY(b), 32);
	/* the tuple lives in SPI memory: wipe it in place */
	sl_wipe_bytea(b);
	return true;
}

static void
check_subject(const char *s, size_t len)
{
	if (len < 1 || len > 200 || pg_mbstrlen_with_len(s, (int) len) > 200)
		sl_raise("invalid_argument", "The subject must be 1 to 200 characters.", NULL);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
			sl_raise("invalid_argument", "The subject must not contain control characters.", NULL);
}

/* keyed BLAKE2b-128 of a throttling bucket: kind, purpose, who */
static void
bucket_hash(const uint8 pepper[32], const char *kind, const char *purpose, const char *who,
			uint8 out[TOKENS_BUCKET_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, pepper, 32, TOKENS_BUCKET_BYTES);
	crypto_generichash_update(&st, (const unsigned char *) kind, strlen(kind) + 1);
	crypto_generichash_update(&st, (const unsigned char *) purpose, strlen(purpose) + 1);
	crypto_generichash_update(&st, (const unsigned char *) who, strlen(who));
	crypto_generichash_final(&st, out, TOKENS_BUCKET_BYTES);
	sodium_memzero(&st, sizeof st);
}

/* the stored hash of a token: BLAKE2b-256 keyed with the pepper */
static void
token_hash(const uint8 pepper[32], const char *purpose, const uint8 secret[32], uint8 out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, pepper, 32, 32);
	crypto_generichash_update(&st, (const unsigned char *) purpose, strlen(purpose) + 1);
	crypto_generichash_update(&st, secret, 32);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof st);
}

/* ---- random secrets for the install script -------------------------- */

PG_FUNCTION_INFO_V1(tokens_new_secret);

Datum
tokens_new_secret(PG_FUNCTION_ARGS)
{
	uint8		k[32];
	bytea	   *b;

	randombytes_buf(k, sizeof k);
	b = sl_bytea(k, sizeof k);
	sodium_memzero(k, sizeof k);
	PG_RETURN_BYTEA_P(b);
}

/* ---- failed attempts, counted outside the caller's transaction ------- */

/*
 * A failed redeem ends in an ERROR, which rolls back everything the call
 * wrote. To count the failure anyway, a short-lived background worker
 * writes it in its own transaction while the caller waits (a few ms: this
 * also slows guessing down). See docs/tokens.md, "Throttling".
 */
typedef struct failure_msg
{
	TimestampTz window_start;
	int32		nbuckets;
	uint8		buckets[2][TOKENS_BUCKET_BYTES];
} failure_msg;

StaticAssertDecl(sizeof(failure_msg) <= BGW_EXTRALEN, "failure_msg must fit bgw_extra");

PGDLLEXPORT void tokens_failure_worker(Datum main_arg);

void
tokens_failure_worker(Datum main_arg)
{
	failure_msg msg;

	memcpy(&msg, MyBgworkerEntry->bgw_extra, sizeof msg);
	BackgroundWorkerUnblockSignals();
	/* InvalidOid: the bootstrap superuser, which needs no LOGIN */
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "startlijn_tokens: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "startlijn_tokens: counting a failed attempt");
	for (int i = 0; i < msg.nbuckets && i < 2; i++)
	{
		Oid			types[2] = {BYTEAOID, TIMESTAMPTZOID};
		Datum		vals[2];

		vals[0] = PointerGetDatum(sl_bytea(msg.buckets[i], TOKENS_BUCKET_BYTES));
		vals[1] = TimestampTzGetDatum(msg.window_start);
		if (SPI_execute_with_args("INSERT INTO tokens.failures AS f (bucket, window_start, failures) "
								  "VALUES ($1, $2, 1) ON CONFLICT (bucket, window_start) "
								  "DO UPDATE SET failures = f.failures OPERATOR(pg_catalog.+) 1",
								  2, types, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "startlijn_tokens: could not count a failed attempt");
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/* start the worker and wait for it; false when it could not run */
static bool
count_failure(const uint8 *caller_bucket, const uint8 *subject_bucket, TimestampTz window_start)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	failure_msg msg;

	memset(&msg, 0, sizeof msg);
	msg.window_start = window_start;
	memcpy(msg.buckets[msg.nbuckets++], caller_bucket, TOKENS_BUCKET_BYTES);
	if (subject_bucket != NULL)
		memcpy(msg.buckets[msg.nbuckets++], subject_bucket, TOKENS_BUCKET_BYTES);

	memset(&w, 0, sizeof w);
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "startlijn");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "tokens_failure_worker");
	snprintf(w.bgw_name, BGW_MAXLEN, "startlijn_tokens failure counter");
	snprintf(w.bgw_type, BGW_MAXLEN, "startlijn_tokens failure counter");
	w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	memcpy(w.bgw_extra, &msg, sizeof msg);
	w.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&w, &handle))
		return false;
	return WaitForBackgroundWorkerShutdown(handle) == BGWH_STOPPED;
}

/* ---- issue ------------------------------------------------------------ */

typedef struct IssueCall
{
	TupleDesc	rdesc;
	char	   *purpose;
	char	   *subject;
	int32		max_uses;
	Datum		metadata;
} IssueCall;

static Datum
issue_body(FunctionCallInfo fcinfo, sl_call *call)
{
	IssueCall  *ic = (IssueCall *) call->arg;
	sl_secret  *pepper = sl_secret_new(32);
	sl_secret  *secret = sl_secret_new(32);
	sl_secret  *tok = sl_secret_new(SL_TOKEN_TEXT_MAX + 1);
	uint8		hash[32];
	char	   *prefix;
	bool		ttl_ok,
				meta_ok;
	int32		uses_limit;
	Datum		outv[3];
	bool		outn[3] = {false, false, false};
	HeapTuple	row;
	bool		isnull;

	{
		Datum		vals[3];
		char		nulls[3] = {' ', PG_ARGISNULL(2) ? 'n' : ' ', ' '};

		vals[0] = CStringGetTextDatum(ic->purpose);
		vals[1] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
		vals[2] = ic->metadata;
		sl_exec(&tok_sql, T_ISSUE_PURPOSE, vals, nulls, 1);
		if (SPI_processed == 0)
			sl_raise("purpose_not_found", psprintf("No token purpose is called \"%s\".", ic->purpose),
					 "Define it with tokens.define_purpose().");
		row = SPI_tuptable->vals[0];
		prefix = SPI_getvalue(row, SPI_tuptable->tupdesc, 1);
		take_secret(row, SPI_tuptable->tupdesc, 2, pepper->data);
		ttl_ok = DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull));
		meta_ok = DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 4, &isnull));
		uses_limit = DatumGetInt32(SPI_getbinval(row, SPI_tuptable->tupdesc, 5, &isnull));
	}
	if (!ttl_ok)
		sl_raise("invalid_argument", "The ttl must be positive and at most the purpose's max_ttl.",
				 "Leave ttl out to use the purpose's default.");
	if (!meta_ok)
		sl_raise("invalid_argument", "The metadata must be a JSON object of at most 4096 bytes.", NULL);
	if (ic->max_uses < 1 || ic->max_uses > uses_limit)
		sl_raise("invalid_argument", psprintf("max_uses must be between 1 and %d for this purpose.", uses_limit), NULL);

	randombytes_buf(secret->data, 32);
	if (sl_token_encode(prefix, strlen(prefix), secret->data, (char *) tok->data) == 0)
		elog(ERROR, "startlijn_tokens: purpose \"%s\" has an invalid prefix", ic->purpose);
	token_hash(pepper->data, ic->purpose, secret->data, hash);
	sl_secret_wipe(secret);
	sl_secret_wipe(pepper);

	{
		Datum		vals[7];
		char		nulls[7] = {' ', PG_ARGISNULL(5) ? 'n' : ' ', ' ', ' ', ' ', ' ', PG_ARGISNULL(2) ? 'n' : ' '};

		vals[0] = CStringGetTextDatum(ic->purpose);
		vals[1] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
		vals[2] = CStringGetTextDatum(ic->subject);
		vals[3] = PointerGetDatum(sl_bytea(hash, sizeof hash));
		vals[4] = ic->metadata;
		vals[5] = Int32GetDatum(ic->max_uses);
		vals[6] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
		if (sl_exec(&tok_sql, T_ISSUE_STORE, vals, nulls, 0) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "startlijn_tokens: could not store the token");
		row = SPI_tuptable->vals[0];
		outv[0] = SPI_datumTransfer(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull), false, 16);
		outv[2] = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
	}
	{
		MemoryContext old = MemoryContextSwitchTo(call->caller_cxt);

		outv[1] = PointerGetDatum(cstring_to_text((char *) tok->data));
		MemoryContextSwitchTo(old);
	}
	sl_secret_wipe(tok);
	return result_row(call, ic->rdesc, outv, outn);
}

PG_FUNCTION_INFO_V1(tokens_issue);

/*
 * tokens.issue(purpose, subject, ttl, max_uses, metadata, organization_id)
 *   -> (token_id uuid, token text, expires_at timestamptz)
 */
Datum
tokens_issue(PG_FUNCTION_ARGS)
{
	IssueCall	ic;

	if (get_call_result_type(fcinfo, NULL, &ic.rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "tokens.issue must return a record");
	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The purpose is required.", NULL);
	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The subject is required.", NULL);
	ic.purpose = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ic.subject = text_to_cstring(PG_GETARG_TEXT_PP(1));
	check_subject(ic.subject, strlen(ic.subject));
	ic.max_uses = PG_ARGISNULL(3) ? 1 : PG_GETARG_INT32(3);
	ic.metadata = PG_ARGISNULL(4) ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : PG_GETARG_DATUM(4);
	return tokens_call(issue_body, fcinfo, &ic);
}

/* ---- redeem / peek ----------------------------------------------------- */

typedef struct RedeemCall
{
	TupleDesc	rdesc;
	bool		consume;
	char	   *purpose;
	char	   *hint;
	text	   *tok;
} RedeemCall;

static Datum
redeem_body(FunctionCallInfo fcinfo, sl_call *call)
{
	RedeemCall *rc = (RedeemCall *) call->arg;
	const char *purpose = rc->purpose;
	const char *hint = rc->hint;
	char	   *prefix,
			   *caller;
	sl_secret  *pepper = sl_secret_new(32);
	sl_secret  *secret = sl_secret_new(32);
	uint8		hash[32],
				caller_bucket[TOKENS_BUCKET_BYTES],
				subject_bucket[TOKENS_BUCKET_BYTES];
	bool		have_subject_bucket = false;
	int32		max_failures;
	TimestampTz window_start;
	int64		caller_failures,
				subject_failures;
	sl_token_status st;
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	const char *failure = NULL;
	const char *failure_detail = NULL;
	Datum		outv[4];
	bool		outn[4] = {false, false, false, false};
	pg_uuid_t	org;

	{
		Datum		vals[1];

		vals[0] = CStringGetTextDatum(purpose);
		sl_exec(&tok_sql, T_REDEEM_PURPOSE, vals, NULL, 1);
		if (SPI_processed == 0)
			sl_raise("purpose_not_found", psprintf("No token purpose is called \"%s\".", purpose), NULL);
		row = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		prefix = SPI_getvalue(row, desc, 1);
		take_secret(row, desc, 2, pepper->data);
		max_failures = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
		caller = SPI_getvalue(row, desc, 4);
		window_start = DatumGetTimestampTz(SPI_getbinval(row, desc, 5, &isnull));
	}

	/* the text first: typos and foreign strings never reach a lookup */
	st = sl_token_decode(VARDATA_ANY(rc->tok), VARSIZE_ANY_EXHDR(rc->tok), prefix, strlen(prefix), secret->data);
	if (st != SL_TOKEN_OK)
		sl_raise("token_malformed",
				 st == SL_TOKEN_WRONG_PREFIX ? "The token is of another kind than this purpose takes." :
				 st == SL_TOKEN_BAD_CHECKSUM ? "The token's checksum does not match: it was mistyped or altered." :
				 "The text does not have the shape of a token: prefix, underscore and 48 base64url characters.",
				 "Copy the whole token from the link or message you received.");

	bucket_hash(pepper->data, "caller", purpose, caller ? caller : "", caller_bucket);
	if (hint)
	{
		bucket_hash(pepper->data, "subject", purpose, hint, subject_bucket);
		have_subject_bucket = true;
	}
	token_hash(pepper->data, purpose, secret->data, hash);
	sl_secret_wipe(secret);

	/* throttled? */
	{
		Datum		vals[3];
		char		nulls[3] = {' ', have_subject_bucket ? ' ' : 'n', ' '};

		vals[0] = PointerGetDatum(sl_bytea(caller_bucket, TOKENS_BUCKET_BYTES));
		vals[1] = have_subject_bucket ? PointerGetDatum(sl_bytea(subject_bucket, TOKENS_BUCKET_BYTES)) : (Datum) 0;
		vals[2] = TimestampTzGetDatum(window_start);
		sl_exec(&tok_sql, T_THROTTLE, vals, nulls, 1);
		caller_failures = DatumGetInt64(sl_col(0, 1, &isnull));
		subject_failures = DatumGetInt64(sl_col(0, 2, &isnull));
	}
	if (caller_failures >= max_failures || subject_failures >= max_failures)
		sl_raise("too_many_attempts",
				 caller_failures >= max_failures
				 ? "Too many failed attempts from this caller; wait before trying again."
				 : "Too many failed attempts for this subject; wait before trying again.",
				 "Wait a few minutes, or ask for a new link.");

	/* look it up; the row lock makes a single use exactly once */
	{
		Datum		vals[1];

		vals[0] = PointerGetDatum(sl_bytea(hash, sizeof hash));
		sl_exec(&tok_sql, rc->consume ? T_LOOKUP_LOCKED : T_LOOKUP, vals, NULL, 1);
	}
	if (SPI_processed == 0)
	{
		failure = "token_not_found";
	}
	else
	{
		char	   *subj;

		row = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		subj = SPI_getvalue(row, desc, 2);
		if (hint && strcmp(hint, subj) != 0)
			failure = "token_not_found";	/* a real token, but not for this subject */
		else
		{
			if (!have_subject_bucket)
			{
				bucket_hash(pepper->data, "subject", purpose, subj, subject_bucket);
				have_subject_bucket = true;
			}
			if (DatumGetBool(SPI_getbinval(row, desc, 5, &isnull)))
				failure = "token_revoked";
			else if (DatumGetBool(SPI_getbinval(row, desc, 7, &isnull)))
				failure = "token_used_up";
			else if (DatumGetBool(SPI_getbinval(row, desc, 6, &isnull)))
			{
				failure = "token_expired";
				failure_detail = "The token has expired.";
			}
		}
		if (failure == NULL)
		{
			outv[0] = SPI_datumTransfer(SPI_getbinval(row, desc, 1, &isnull), false, 16);
			outv[1] = SPI_datumTransfer(SPI_getbinval(row, desc, 2, &isnull), false, -1);
			outv[2] = SPI_datumTransfer(SPI_getbinval(row, desc, 3, &isnull), false, -1);
			outv[3] = SPI_getbinval(row, desc, 4, &isnull);
			memcpy(&org, DatumGetUUIDP(SPI_getbinval(row, desc, 8, &isnull)), sizeof(pg_uuid_t));
		}
	}
	sl_secret_wipe(pepper);

	if (failure != NULL)
	{
		bool		counted = count_failure(caller_bucket,
											have_subject_bucket ? subject_bucket : NULL, window_start);

		/* fail closed: a failure that could not be counted is not answered */
		if (counted && !IsolationUsesXactSnapshot())
		{
			Datum		vals[2];

			vals[0] = PointerGetDatum(sl_bytea(caller_bucket, TOKENS_BUCKET_BYTES));
			vals[1] = TimestampTzGetDatum(window_start);
			sl_exec(&tok_sql, T_FAILURES, vals, NULL, 1);
			if (SPI_processed != 1 || DatumGetInt64(sl_col(0, 1, &isnull)) <= caller_failures)
				counted = false;
		}
		if (!counted)
			sl_raise("try_again", "The failed attempt could not be recorded, so it is not answered.",
					 "Retry in a moment.");
		sl_raise(failure, failure_detail, NULL);
	}

	if (rc->consume)
	{
		Datum		vals[3];

		vals[0] = outv[0];
		vals[1] = CStringGetTextDatum(purpose);
		vals[2] = UUIDPGetDatum(&org);
		if (sl_exec(&tok_sql, T_USE, vals, NULL, 0) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "startlijn_tokens: could not use the token");
		outv[3] = sl_col(0, 1, &isnull);
	}
	return result_row(call, rc->rdesc, outv, outn);
}

static Datum
redeem_impl(FunctionCallInfo fcinfo, bool consume)
{
	RedeemCall	rc;

	if (get_call_result_type(fcinfo, NULL, &rc.rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "tokens.redeem must return a record");
	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The purpose is required.", NULL);
	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The token is required.", NULL);
	rc.consume = consume;
	rc.purpose = text_to_cstring(PG_GETARG_TEXT_PP(0));
	rc.tok = PG_GETARG_TEXT_PP(1);
	rc.hint = NULL;
	if (!PG_ARGISNULL(2))
	{
		rc.hint = text_to_cstring(PG_GETARG_TEXT_PP(2));
		check_subject(rc.hint, strlen(rc.hint));
	}
	return tokens_call(redeem_body, fcinfo, &rc);
}

/*
 * Any error while a token is in hand - ours, a constraint, a cancel, a
 * statement timeout - leaves out the STATEMENT (which may spell the token)
 * and the CONTEXT from the server log: error context callbacks run inside
 * errfinish for every error raised below them.
 */
static void
hide_statement_cb(void *arg)
{
	errhidestmt(true);
	errhidecontext(true);
}

static Datum
redeem_hidden(FunctionCallInfo fcinfo, bool consume)
{
	ErrorContextCallback cb;
	Datum		result;

	cb.callback = hide_statement_cb;
	cb.arg = NULL;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	result = redeem_impl(fcinfo, consume);
	error_context_stack = cb.previous;
	return result;
}

PG_FUNCTION_INFO_V1(tokens_redeem);

/* tokens.redeem(purpose, token, subject) -> (token_id, subject, metadata, uses_left) */
Datum
tokens_redeem(PG_FUNCTION_ARGS)
{
	return redeem_hidden(fcinfo, true);
}

PG_FUNCTION_INFO_V1(tokens_peek);

/* tokens.peek(purpose, token, subject): the same checks, nothing used */
Datum
tokens_peek(PG_FUNCTION_ARGS)
{
	return redeem_hidden(fcinfo, false);
}

/* ---- failed attempts of other kinds (access and discount codes) -------- */

/*
 * tokens.attempt_failures(kind, who, failure_window) and
 * tokens.count_attempt_failure(kind, who, failure_window): the same
 * counting as redeem's, for guesses that are not tokens (an event's access
 * and discount codes, startlijn.code_guess). The bucket is the keyed
 * BLAKE2b-128 of ("attempt", kind, who): tokens.failures keeps no caller's
 * address or id. One row per bucket and window (date_bin of the window);
 * tokens.prune deletes windows older than a day. The count is written by
 * the same short-lived background worker, so it survives the rollback of
 * the failed call; a failure that could not be counted is try_again.
 */
typedef struct AttemptCall
{
	char	   *kind;
	char	   *who;
	bool		count;
} AttemptCall;

static Datum
attempt_body(FunctionCallInfo fcinfo, sl_call *call)
{
	AttemptCall *ac = (AttemptCall *) call->arg;
	sl_secret  *pepper = sl_secret_new(32);
	uint8		bucket[TOKENS_BUCKET_BYTES];
	TimestampTz window_start;
	bool		isnull;
	int64		before = 0;
	Datum		vals[2];

	{
		Datum		w[1];

		w[0] = PG_GETARG_DATUM(2);
		sl_exec(&tok_sql, T_ATTEMPT_WINDOW, w, NULL, 1);
		if (SPI_processed != 1)
			elog(ERROR, "startlijn_tokens: tokens.settings has no row");
		if (!DatumGetBool(sl_col(0, 3, &isnull)) || isnull)
			sl_raise("invalid_argument", "failure_window is between 1 second and 1 day.", NULL);
		take_secret(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, pepper->data);
		window_start = DatumGetTimestampTz(sl_col_nn(0, 2));
	}
	bucket_hash(pepper->data, "attempt", ac->kind, ac->who, bucket);
	sl_secret_wipe(pepper);

	vals[0] = PointerGetDatum(sl_bytea(bucket, TOKENS_BUCKET_BYTES));
	vals[1] = TimestampTzGetDatum(window_start);
	sl_exec(&tok_sql, T_FAILURES, vals, NULL, 1);
	if (SPI_processed == 1)
		before = DatumGetInt64(sl_col(0, 1, &isnull));
	if (!ac->count)
		return Int32GetDatum((int32) Min(before, PG_INT32_MAX));

	{
		bool		counted = count_failure(bucket, NULL, window_start);
		int64		after = before + 1;

		/* fail closed, as redeem does: an uncounted failure is not answered */
		if (counted && !IsolationUsesXactSnapshot())
		{
			sl_exec(&tok_sql, T_FAILURES, vals, NULL, 1);
			if (SPI_processed != 1 || (after = DatumGetInt64(sl_col(0, 1, &isnull))) <= before)
				counted = false;
		}
		if (!counted)
			sl_raise("try_again", "The failed attempt could not be recorded, so it is not answered.",
					 "Retry in a moment.");
		return Int32GetDatum((int32) Min(after, PG_INT32_MAX));
	}
}

static Datum
attempt_impl(FunctionCallInfo fcinfo, bool count)
{
	AttemptCall ac;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		sl_raise("missing_argument", "The kind, who and failure_window are required.", NULL);
	ac.kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ac.who = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ac.count = count;
	{
		size_t		n = strlen(ac.kind);

		if (n < 1 || n > 40 || ac.kind[0] < 'a' || ac.kind[0] > 'z')
			sl_raise("invalid_argument", "A kind is 1 to 40 characters of a-z, 0-9 and _, starting with a letter.", NULL);
		for (size_t i = 0; i < n; i++)
			if (!((ac.kind[i] >= 'a' && ac.kind[i] <= 'z') || (ac.kind[i] >= '0' && ac.kind[i] <= '9') || ac.kind[i] == '_'))
				sl_raise("invalid_argument", "A kind is 1 to 40 characters of a-z, 0-9 and _, starting with a letter.", NULL);
	}
	check_subject(ac.who, strlen(ac.who));
	return tokens_call(attempt_body, fcinfo, &ac);
}

PG_FUNCTION_INFO_V1(tokens_attempt_failures);

/* tokens.attempt_failures(kind, who, failure_window) -> failures in the current window */
Datum
tokens_attempt_failures(PG_FUNCTION_ARGS)
{
	return attempt_impl(fcinfo, false);
}

PG_FUNCTION_INFO_V1(tokens_count_attempt_failure);

/* tokens.count_attempt_failure(kind, who, failure_window) -> failures in the window, this one included */
Datum
tokens_count_attempt_failure(PG_FUNCTION_ARGS)
{
	return attempt_impl(fcinfo, true);
}

/* ---- signing keys ------------------------------------------------------ */

static Datum
add_signing_key_body(FunctionCallInfo fcinfo, sl_call *call)
{
	sl_secret  *seed = sl_secret_new(32);
	sl_secret  *sk = sl_secret_new(64);
	uint8		pk[32];
	bytea	   *seedb;
	Datum		vals[3];
	bool		isnull;
	volatile int32 key_id = 0;

	randombytes_buf(seed->data, 32);
	crypto_sign_seed_keypair(pk, sk->data, seed->data);
	sl_secret_wipe(sk);
	seedb = sl_bytea(seed->data, 32);
	sl_secret_wipe(seed);

	PG_TRY();
	{
		vals[0] = PG_GETARG_DATUM(0);
		vals[1] = PointerGetDatum(sl_bytea(pk, sizeof pk));
		vals[2] = PointerGetDatum(seedb);
		if (sl_exec(&tok_sql, T_ADD_KEY, vals, NULL, 0) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "startlijn_tokens: could not store the signing key");
		key_id = DatumGetInt32(sl_col(0, 1, &isnull));
	}
	PG_FINALLY();
	{
		sl_wipe_bytea(seedb);
	}
	PG_END_TRY();
	return Int32GetDatum(key_id);
}

PG_FUNCTION_INFO_V1(tokens_add_signing_key);

/*
 * tokens._add_signing_key(scope) -> key_id. Generates an Ed25519 seed,
 * stores seed and public key as the scope's active key. The SQL caller holds
 * the scope row lock and has demoted the previous active key.
 */
Datum
tokens_add_signing_key(PG_FUNCTION_ARGS)
{
	return tokens_call(add_signing_key_body, fcinfo, NULL);
}

/* ---- sign_code --------------------------------------------------------- */

static void
check_scope(const char *scope)
{
	size_t		n = strlen(scope);

	if (n < 1 || n > 64)
		sl_raise("invalid_argument", "A scope is 1 to 64 characters.", NULL);
	for (size_t i = 0; i < n; i++)
	{
		char		c = scope[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'))))
			sl_raise("invalid_argument",
					 "A scope consists of a-z, 0-9 and . _ : - and starts with a letter or digit.", NULL);
	}
}

typedef struct SignCall
{
	char	   *scope;
	bytea	   *payload;
	size_t		plen;
} SignCall;

static Datum
sign_code_body(FunctionCallInfo fcinfo, sl_call *call)
{
	SignCall   *sc = (SignCall *) call->arg;
	sl_secret  *seed = sl_secret_new(32);
	sl_secret  *sk = sl_secret_new(64);
	uint8		pk[32];
	uint8		bin[SL_CODE_BIN_MAX];
	uint8		msg[sizeof(SL_CODE_DOMAIN) + 64 + 1 + SL_CODE_BIN_MAX];
	char		out[SL_CODE_TEXT_MAX + 1];
	int32		key_id,
				version;
	pg_uuid_t	org;
	size_t		n,
				mlen;
	bool		isnull;
	Datum		result;

	{
		Datum		vals[3];

		vals[0] = CStringGetTextDatum(sc->scope);
		vals[1] = PointerGetDatum(sc->payload);
		sl_exec(&tok_sql, T_SCOPE_KEY, vals, NULL, 1);
		if (SPI_processed == 0)
			sl_raise("scope_not_found", psprintf("No signing key exists for scope \"%s\".", sc->scope),
					 "Create one with tokens.signing_key(scope).");
		key_id = DatumGetInt32(sl_col(0, 1, &isnull));
		if (isnull || !take_secret(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, seed->data))
			sl_raise("signing_key_not_found", "The scope has no active signing key.",
					 "Call tokens.rotate_signing_key(scope).");
		memcpy(&org, DatumGetUUIDP(sl_col(0, 3, &isnull)), sizeof(pg_uuid_t));
		vals[2] = UUIDPGetDatum(&org);

		if (sl_exec(&tok_sql, T_CODE_VERSION, vals, NULL, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "startlijn_tokens: could not register the code");
		if (SPI_processed != 1)
			sl_raise("code_versions_exhausted", NULL, "Issue the ticket under a new payload.");
		version = DatumGetInt32(sl_col(0, 1, &isnull));
	}
	{
		Datum		vals[6];

		vals[0] = CStringGetTextDatum(sc->scope);
		vals[1] = PointerGetDatum(sc->payload);
		vals[2] = Int32GetDatum(version);
		vals[3] = Int32GetDatum(key_id);
		vals[4] = CStringGetTextDatum("reissued");
		vals[5] = UUIDPGetDatum(&org);
		if (sl_exec(&tok_sql, T_CODE_RECORD, vals, NULL, 0) != SPI_OK_SELECT)
			elog(ERROR, "startlijn_tokens: could not record the code");
	}

	n = sl_code_build((uint16) key_id, (uint16) version, (const uint8 *) VARDATA_ANY(sc->payload), sc->plen, bin);
	mlen = sl_code_message(sc->scope, strlen(sc->scope), bin, n, msg);
	crypto_sign_seed_keypair(pk, sk->data, seed->data);
	sl_secret_wipe(seed);
	crypto_sign_detached(bin + n, NULL, msg, mlen, sk->data);
	sl_secret_wipe(sk);
	sl_base45_encode(bin, n + SL_CODE_SIG, out);
	{
		MemoryContext old = MemoryContextSwitchTo(call->caller_cxt);

		result = PointerGetDatum(cstring_to_text(out));
		MemoryContextSwitchTo(old);
	}
	return result;
}

PG_FUNCTION_INFO_V1(tokens_sign_code);

/* tokens.sign_code(scope, payload) -> text: a new version of the payload's code */
Datum
tokens_sign_code(PG_FUNCTION_ARGS)
{
	SignCall	sc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		sl_raise("missing_argument", "The scope and the payload are required.", NULL);
	sc.scope = text_to_cstring(PG_GETARG_TEXT_PP(0));
	check_scope(sc.scope);
	sc.payload = PG_GETARG_BYTEA_PP(1);
	sc.plen = VARSIZE_ANY_EXHDR(sc.payload);
	if (sc.plen < 1 || sc.plen > SL_CODE_PAYLOAD_MAX)
		sl_raise("invalid_argument", "The payload must be 1 to 32 bytes.",
				 "Use a ticket's uuid (16 bytes) or another compact identifier.");
	return tokens_call(sign_code_body, fcinfo, &sc);
}

/* ---- verify_code ------------------------------------------------------- */

typedef struct VerifyCall
{
	text	   *scope_t;
	char	   *scope;
	sl_code    *code;
	const char *status;			/* out: a string constant */
} VerifyCall;

static Datum
verify_code_body(FunctionCallInfo fcinfo, sl_call *call)
{
	VerifyCall *vc = (VerifyCall *) call->arg;
	sl_code    *code = vc->code;
	uint8		msg[sizeof(SL_CODE_DOMAIN) + 64 + 1 + SL_CODE_BIN_MAX];
	bool		isnull;

	{
		Datum		vals[3];

		vals[0] = PointerGetDatum(vc->scope_t);
		vals[1] = Int32GetDatum(code->key_id);
		vals[2] = PointerGetDatum(sl_bytea(code->payload, code->payload_len));
		sl_exec(&tok_sql, T_VERIFY, vals, NULL, 1);
	}
	if (SPI_processed == 0)
	{
		Datum		vals[1];

		vals[0] = PointerGetDatum(vc->scope_t);
		sl_exec(&tok_sql, T_SCOPE_EXISTS, vals, NULL, 1);
		if (SPI_processed == 0)
			sl_raise("scope_not_found", psprintf("No signing key exists for scope \"%s\".", vc->scope), NULL);
		vc->status = "unknown_key";
	}
	else
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bytea	   *pk = DatumGetByteaPP(SPI_getbinval(row, desc, 1, &isnull));
		char	   *state = SPI_getvalue(row, desc, 2);
		Datum		cur = SPI_getbinval(row, desc, 3, &isnull);
		bool		no_code = isnull;
		size_t		mlen = sl_code_message(vc->scope, strlen(vc->scope), code->signed_part, code->signed_len, msg);

		if (VARSIZE_ANY_EXHDR(pk) != 32 ||
			crypto_sign_verify_detached(code->signature, msg, mlen, (const uint8 *) VARDATA_ANY(pk)) != 0)
			vc->status = "bad_signature";
		else if (strcmp(state, "retired") == 0)
			vc->status = "retired_key";
		else if (no_code || DatumGetInt32(cur) < code->version)
			vc->status = "unknown_code";
		else if (DatumGetInt32(cur) > code->version)
			vc->status = "superseded";
		else if (DatumGetBool(SPI_getbinval(row, desc, 4, &isnull)))
			vc->status = "revoked";
		else
			vc->status = "valid";
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(tokens_verify_code);

/*
 * tokens.verify_code(scope, code)
 *   -> (valid boolean, status text, payload bytea, version integer, key_id integer)
 * status: valid, revoked, superseded, bad_signature, unknown_key,
 * retired_key, unknown_code. Malformed text raises code_malformed.
 */
Datum
tokens_verify_code(PG_FUNCTION_ARGS)
{
	TupleDesc	rdesc;
	text	   *code_t;
	uint8		bin[SL_CODE_BIN_MAX];
	long		n;
	sl_code		code;
	const char *err = NULL;
	Datum		outv[5];
	bool		outn[5] = {false, false, false, false, false};
	size_t		code_len;
	VerifyCall	vc;

	if (get_call_result_type(fcinfo, NULL, &rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "tokens.verify_code must return a record");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		sl_raise("missing_argument", "The scope and the code are required.", NULL);
	vc.scope_t = PG_GETARG_TEXT_PP(0);
	code_t = PG_GETARG_TEXT_PP(1);
	code_len = VARSIZE_ANY_EXHDR(code_t);
	if (VARSIZE_ANY_EXHDR(vc.scope_t) > 64)
		sl_raise("invalid_argument", "A scope is 1 to 64 characters.", NULL);
	if (code_len > SL_CODE_TEXT_MAX ||
		(n = sl_base45_decode(VARDATA_ANY(code_t), code_len, bin, sizeof bin)) < 0)
		sl_raise("code_malformed", "The text is not base45 of at most 152 characters.",
				 "Scan the QR code again.");
	if (sl_code_parse(bin, (size_t) n, &code, &err) != 0)
		sl_raise("code_malformed", err, "Scan the QR code again.");
	vc.scope = text_to_cstring(vc.scope_t);
	vc.code = &code;
	vc.status = NULL;
	(void) tokens_call(verify_code_body, fcinfo, &vc);

	outv[0] = BoolGetDatum(strcmp(vc.status, "valid") == 0);
	outv[1] = CStringGetTextDatum(vc.status);
	outv[2] = PointerGetDatum(sl_bytea(code.payload, code.payload_len));
	outv[3] = Int32GetDatum(code.version);
	outv[4] = Int32GetDatum(code.key_id);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(rdesc), outv, outn)));
}
