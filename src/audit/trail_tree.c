/*
 * trail_tree.c - the sequencer (trail.seal), signed checkpoints, proofs and
 * verification of the per-organisation Merkle logs.
 *
 * Ordering rule (docs/audit.md): the sealer takes a snapshot after locking
 * its cursor row; every transaction id below that snapshot's xmin has
 * finished, so every entry of those transactions is committed and visible
 * (or rolled back and gone). It appends exactly those entries, in
 * (xact, id) order, past its cursor. An entry whose transaction is still
 * running waits for a later run; nothing is skipped or sealed twice
 * (trail.leaves.entry_id is unique).
 */
#include "postgres.h"

#include <sodium.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "common/sl_note.h"
#include "core/sl_core.h"
#include "trail.h"

#define SEAL_CHUNK 10000

static char *
uuid_text(Datum d)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, d));
}

static Jsonb *
jsonb_from(StringInfo s)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s->data)));
}

static void
check_read_committed(const char *fn)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s must run at READ COMMITTED", fn),
				 errdetail("Sealing decides what is finished from a fresh snapshot after taking its lock."),
				 errhint("Call it in its own transaction or at the default isolation level.")));
}

/* ------------------------------------------------------------------------
 * Node access: node (level, index) lives in leaf ((index + 1) << level) - 1
 * ------------------------------------------------------------------------ */

typedef struct node_src
{
	Datum		log;
	SPIPlanPtr	plan;
} node_src;

static int
stored_node(void *ctx, int level, uint64_t index, sl_hash out)
{
	node_src   *src = ctx;
	Datum		a[2];
	bool		isnull;
	bytea	   *h;
	int			rc = -1;

	a[0] = src->log;
	a[1] = Int64GetDatum((int64) (((index + 1) << level) - 1));
	if (SPI_execute_plan(src->plan, a, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		return -1;
	h = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!isnull && VARSIZE_ANY_EXHDR(h) >= (size_t) (level + 1) * SL_HASH_LEN)
	{
		memcpy(out, VARDATA_ANY(h) + level * SL_HASH_LEN, SL_HASH_LEN);
		rc = 0;
	}
	SPI_freetuptable(SPI_tuptable);
	return rc;
}

static void
node_src_init(node_src *src, const char *log)
{
	static SPIPlanPtr plan = NULL;

	if (plan == NULL)
	{
		Oid			t[2] = {UUIDOID, INT8OID};

		plan = SPI_prepare("SELECT l.hashes FROM trail.leaves l WHERE l.log_id OPERATOR(pg_catalog.=) $1 AND l.idx OPERATOR(pg_catalog.=) $2", 2, t);
		if (plan == NULL)
			elog(ERROR, "trail: cannot prepare the node lookup");
		SPI_keepplan(plan);
	}
	src->plan = plan;
	src->log = trail_uuid_datum(log);
}

static void
corrupted(const char *log, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("audit log %s is inconsistent", log),
			 errdetail("%s", what),
			 errhint("Run trail.verify('%s') to find the first divergence.", log)));
}

/* ------------------------------------------------------------------------
 * Log heads
 * ------------------------------------------------------------------------ */

typedef struct log_head
{
	bool		exists;
	char	   *origin;
	int64		size;
	sl_hash		root;
	sl_hash		frontier[SL_MERKLE_FRONTIER_CAP];
} log_head;

static bool
load_head(const char *log, log_head *h, bool lock)
{
	Oid			t[1] = {UUIDOID};
	Datum		a[1];
	bool		isnull;
	bytea	   *root,
			   *fr;
	HeapTuple	tup;
	TupleDesc	desc;

	a[0] = trail_uuid_datum(log);
	memset(h, 0, sizeof *h);
	if (SPI_execute_with_args(lock ? "SELECT l.origin, l.tree_size, l.root, l.frontier FROM trail.logs l WHERE l.id OPERATOR(pg_catalog.=) $1 FOR UPDATE"
							  : "SELECT l.origin, l.tree_size, l.root, l.frontier FROM trail.logs l WHERE l.id OPERATOR(pg_catalog.=) $1",
							  1, t, a, NULL, false, 1) < 0)
		elog(ERROR, "trail: log lookup failed");
	if (SPI_processed != 1)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	h->exists = true;
	h->origin = SPI_getvalue(tup, desc, 1);
	h->size = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	root = DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull));
	fr = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));
	if (VARSIZE_ANY_EXHDR(root) != SL_HASH_LEN ||
		VARSIZE_ANY_EXHDR(fr) != (size_t) __builtin_popcountll((uint64) h->size) * SL_HASH_LEN)
		corrupted(log, "The stored tree head has the wrong shape.");
	memcpy(h->root, VARDATA_ANY(root), SL_HASH_LEN);
	memcpy(h->frontier, VARDATA_ANY(fr), VARSIZE_ANY_EXHDR(fr));
	return true;
}

static char *
origin_for(const char *log)
{
	char	   *prefix = trail_origin_prefix();

	return psprintf("%s/%s", prefix, strcmp(log, TRAIL_PLATFORM_LOG) == 0 ? "platform" : log);
}

/* ------------------------------------------------------------------------
 * trail.seal(max_entries)
 * ------------------------------------------------------------------------ */

typedef struct seal_log
{
	char		key[UUID_LEN];
	char	   *log;
	log_head	head;
	/* pending leaves (one chunk) */
	int			n;
	Datum	   *idx,
			   *entry,
			   *hashes;
} seal_log;

static void
flush_leaves(seal_log *sl)
{
	static SPIPlanPtr plan = NULL;
	Datum		a[4];
	int			dims[1];
	int			lbs[1] = {1};

	if (sl->n == 0)
		return;
	if (plan == NULL)
	{
		Oid			t[4] = {UUIDOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID};

		plan = SPI_prepare("INSERT INTO trail.leaves (log_id, idx, entry_id, hashes) "
						   "SELECT $1, i.idx, i.entry_id, i.hashes "
						   "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) "
						   "AS i(idx, entry_id, hashes)", 4, t);
		if (plan == NULL)
			elog(ERROR, "trail: cannot prepare the leaf insert");
		SPI_keepplan(plan);
	}
	dims[0] = sl->n;
	a[0] = trail_uuid_datum(sl->log);
	a[1] = PointerGetDatum(construct_md_array(sl->idx, NULL, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	a[2] = PointerGetDatum(construct_md_array(sl->entry, NULL, 1, dims, lbs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	a[3] = PointerGetDatum(construct_md_array(sl->hashes, NULL, 1, dims, lbs, BYTEAOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_plan(plan, a, NULL, false, 0) != SPI_OK_INSERT || SPI_processed != (uint64) sl->n)
		elog(ERROR, "trail: leaf insert failed");
	sl->n = 0;
}

static void
save_head(seal_log *sl)
{
	Oid			t[5] = {UUIDOID, TEXTOID, INT8OID, BYTEAOID, BYTEAOID};
	Datum		a[5];
	sl_hash		root;

	sl_merkle_frontier_root(sl->head.frontier, (uint64) sl->head.size, root);
	a[0] = trail_uuid_datum(sl->log);
	a[1] = CStringGetTextDatum(sl->head.origin);
	a[2] = Int64GetDatum(sl->head.size);
	a[3] = PointerGetDatum(sl_bytea(root, SL_HASH_LEN));
	a[4] = PointerGetDatum(sl_bytea(sl->head.frontier,
									  (size_t) __builtin_popcountll((uint64) sl->head.size) * SL_HASH_LEN));
	if (SPI_execute_with_args("INSERT INTO trail.logs AS l (id, origin, tree_size, root, frontier, sealed_at) "
							  "VALUES ($1, $2, $3, $4, $5, pg_catalog.now()) "
							  "ON CONFLICT (id) DO UPDATE SET tree_size = EXCLUDED.tree_size, root = EXCLUDED.root, "
							  "frontier = EXCLUDED.frontier, sealed_at = EXCLUDED.sealed_at",
							  5, t, a, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "trail: saving the log head failed");
}

/* log heads and the cursor: the only updates the append-only guard lets through */
static void
save_heads_and_cursor(HTAB *logs, int64 sx, int64 si, int64 horizon)
{
	trail_internal_write++;
	PG_TRY();
	{
		Oid			ut[3] = {INT8OID, INT8OID, INT8OID};
		Datum		ua[3];
		HASH_SEQ_STATUS seq;
		seal_log   *sl;

		hash_seq_init(&seq, logs);
		while ((sl = hash_seq_search(&seq)) != NULL)
			save_head(sl);
		ua[0] = Int64GetDatum(sx);
		ua[1] = Int64GetDatum(si);
		ua[2] = Int64GetDatum(horizon);
		if (SPI_execute_with_args("UPDATE trail.sealer SET sealed_xact = $1, sealed_id = $2, horizon = $3, "
								  "sealed_at = pg_catalog.now()", 3, ut, ua, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "trail: cannot move the sealer cursor");
	}
	PG_FINALLY();
	{
		trail_internal_write--;
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(trail_seal);

Datum
trail_seal(PG_FUNCTION_ARGS)
{
	int32		max = PG_ARGISNULL(0) ? 1000000 : PG_GETARG_INT32(0);
	trail_owner_ctx owner;
	int64		cx,
				ci,
				horizon,
				last_x = 0,
				last_i = 0;
	uint64		total = 0;
	bool		isnull,
				complete;
	HTAB	   *logs;
	HASHCTL		hctl;
	MemoryContext chunk_cxt,
				old;
	Portal		portal;
	SPIPlanPtr	plan;
	Oid			t[4] = {INT8OID, INT8OID, INT8OID, INT4OID};
	Datum		a[4];
	StringInfoData out;
	HASH_SEQ_STATUS seq;
	seal_log   *sl;
	int			nlogs = 0;

	if (max < 1)
		sl_raise("invalid_argument", "max_entries must be at least 1.", NULL);
	check_read_committed("trail.seal()");

	/* per-log state outlives SPI (checkpoints are signed after SPI_finish) */
	memset(&hctl, 0, sizeof hctl);
	hctl.keysize = UUID_LEN;
	hctl.entrysize = sizeof(seal_log);
	hctl.hcxt = CurrentMemoryContext;
	logs = hash_create("trail seal logs", 64, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");

	/* 1. the cursor row is the sealer's lock: sealers run one at a time */
	if (SPI_execute("SELECT sealed_xact, sealed_id FROM trail.sealer FOR UPDATE", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "trail: sealer state missing");
	cx = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ci = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	/* 2. the horizon, from a snapshot taken after the lock */
	if (SPI_execute("SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint",
					false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "trail: cannot read the snapshot horizon");
	horizon = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (horizon < cx)
		horizon = cx;

	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "trail seal chunk", ALLOCSET_DEFAULT_SIZES);

	/* 3. every entry of a finished transaction past the cursor, in order */
	plan = SPI_prepare("SELECT id, log_id, xact, leaf_hash FROM trail.entries "
					   "WHERE xact OPERATOR(pg_catalog.>=) $1 AND xact OPERATOR(pg_catalog.<) $2"
					   " AND (xact OPERATOR(pg_catalog.>) $1 OR id OPERATOR(pg_catalog.>) $3) "
					   "ORDER BY xact, id LIMIT $4", 4, t);
	if (plan == NULL)
		elog(ERROR, "trail: cannot prepare the sealing scan");
	a[0] = Int64GetDatum(cx);
	a[1] = Int64GetDatum(horizon);
	a[2] = Int64GetDatum(ci);
	a[3] = Int32GetDatum(max);
	portal = SPI_cursor_open(NULL, plan, a, NULL, true);
	for (;;)
	{
		uint64		i,
					cnt;
		SPITupleTable *tt;

		SPI_cursor_fetch(portal, true, SEAL_CHUNK);
		if (SPI_processed == 0)
			break;
		tt = SPI_tuptable;
		cnt = SPI_processed;
		MemoryContextReset(chunk_cxt);
		for (i = 0; i < cnt; i++)
		{
			HeapTuple	tup = tt->vals[i];
			TupleDesc	desc = tt->tupdesc;
			int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			pg_uuid_t  *log = DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull));
			int64		xact = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
			bytea	   *leaf = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));
			bool		found;
			sl_hash		completed[64];
			int			c;
			bytea	   *hashes;

			sl = hash_search(logs, log->data, HASH_ENTER, &found);
			if (!found)
			{
				sl->log = MemoryContextStrdup(hctl.hcxt, uuid_text(UUIDPGetDatum(log)));
				old = MemoryContextSwitchTo(hctl.hcxt);
				if (!load_head(sl->log, &sl->head, true))
				{
					sl->head.origin = origin_for(sl->log);
					sl->head.size = 0;
				}
				else
					sl->head.origin = pstrdup(sl->head.origin);
				sl->idx = palloc(sizeof(Datum) * SEAL_CHUNK);
				sl->entry = palloc(sizeof(Datum) * SEAL_CHUNK);
				sl->hashes = palloc(sizeof(Datum) * SEAL_CHUNK);
				sl->n = 0;
				MemoryContextSwitchTo(old);
				nlogs++;
			}
			if (VARSIZE_ANY_EXHDR(leaf) != SL_HASH_LEN)
				corrupted(sl->log, psprintf("Entry " INT64_FORMAT " has no 32-byte leaf hash.", id));
			c = sl_merkle_frontier_append(sl->head.frontier, (uint64) sl->head.size,
										  (const uint8_t *) VARDATA_ANY(leaf), completed);
			old = MemoryContextSwitchTo(chunk_cxt);
			hashes = palloc(VARHDRSZ + (size_t) (c + 1) * SL_HASH_LEN);
			SET_VARSIZE(hashes, VARHDRSZ + (c + 1) * SL_HASH_LEN);
			memcpy(VARDATA(hashes), VARDATA_ANY(leaf), SL_HASH_LEN);
			memcpy(VARDATA(hashes) + SL_HASH_LEN, completed, (size_t) c * SL_HASH_LEN);
			MemoryContextSwitchTo(old);
			sl->idx[sl->n] = Int64GetDatum(sl->head.size);
			sl->entry[sl->n] = Int64GetDatum(id);
			sl->hashes[sl->n] = PointerGetDatum(hashes);
			sl->n++;
			sl->head.size++;
			last_x = xact;
			last_i = id;
			total++;
		}
		SPI_freetuptable(tt);
		hash_seq_init(&seq, logs);
		while ((sl = hash_seq_search(&seq)) != NULL)
			flush_leaves(sl);
	}
	SPI_cursor_close(portal);

	/* 4. log heads, cursor, and a signed checkpoint per touched log */
	complete = total < (uint64) max;
	save_heads_and_cursor(logs, complete ? horizon : last_x, complete ? 0 : last_i, horizon);
	SPI_finish();

	hash_seq_init(&seq, logs);
	while ((sl = hash_seq_search(&seq)) != NULL)
	{
		int64		size;

		(void) trail_sign_checkpoint(sl->log, &size);
	}
	trail_restore_user(&owner);

	initStringInfo(&out);
	appendStringInfo(&out, "{\"sealed\":" UINT64_FORMAT ",\"logs\":%d,\"horizon\":" INT64_FORMAT ",\"complete\":%s}",
					 total, nlogs, horizon, complete ? "true" : "false");
	PG_RETURN_JSONB_P(jsonb_from(&out));
}

/* ------------------------------------------------------------------------
 * Keys and checkpoints
 * ------------------------------------------------------------------------ */

/* wipe the secrets of keys whose overlap has ended (inside SPI, as owner) */
static void
retire_keys(void)
{
	trail_internal_write++;
	PG_TRY();
	{
		if (SPI_execute("UPDATE trail.signing_keys SET seed = NULL, retired_at = pg_catalog.now() "
						"WHERE seed IS NOT NULL AND retire_after OPERATOR(pg_catalog.<=) pg_catalog.now()", false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "trail: retiring keys failed");
	}
	PG_FINALLY();
	{
		trail_internal_write--;
	}
	PG_END_TRY();
}

/* append one signature line per active key; returns the number of keys */
static int
sign_text(const char *text, size_t len, StringInfo note)
{
	uint64		i,
				n;
	int			signed_by = 0;

	retire_keys();
	if (SPI_execute("SELECT name, seed FROM trail.signing_keys WHERE seed IS NOT NULL "
					"AND (retire_after IS NULL OR retire_after OPERATOR(pg_catalog.>) pg_catalog.now()) ORDER BY id", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "trail: reading signing keys failed");
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bytea	   *seed = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		uint8_t		pk[crypto_sign_PUBLICKEYBYTES];
		sl_secret  *sk;
		sl_buf		line;

		if (isnull || VARSIZE_ANY_EXHDR(seed) != crypto_sign_SEEDBYTES)
		{
			if (!isnull)
				sl_wipe_bytea(seed);
			continue;
		}
		sk = sl_secret_new(crypto_sign_SECRETKEYBYTES);
		crypto_sign_seed_keypair(pk, sk->data, (const uint8_t *) VARDATA_ANY(seed));
		sl_wipe_bytea(seed);
		sl_buf_init(&line);
		if (sl_note_sign_line(text, len, name, sk->data, &line) == 0 && !line.oom)
		{
			appendBinaryStringInfo(note, line.data, (int) line.len);
			signed_by++;
		}
		sl_secret_wipe(sk);
		sl_buf_free(&line);
	}
	SPI_freetuptable(SPI_tuptable);
	return signed_by;
}

/*
 * Sign the current head of log (inside SPI or not; connects itself). Before
 * signing, prove the new head consistent with the last signed one from the
 * stored nodes: the log never signs two inconsistent checkpoints.
 */
char *
trail_sign_checkpoint(const char *log, int64 *size_out)
{
	log_head	h;
	node_src	src;
	Oid			t[4] = {UUIDOID, INT8OID, BYTEAOID, TEXTOID};
	Datum		a[4];
	bool		isnull;
	int64		last_size = -1;
	sl_hash		last_root;
	char	   *note_out = NULL;
	StringInfoData note;
	sl_buf		text;
	MemoryContext caller = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	if (!load_head(log, &h, true))
	{
		SPI_finish();
		sl_raise("log_not_found", psprintf("No audit log %s has been sealed yet.", log),
				 "Entries reach their log when trail.seal() runs.");
	}
	node_src_init(&src, log);
	a[0] = trail_uuid_datum(log);
	if (SPI_execute_with_args("SELECT c.tree_size, c.root, c.note FROM trail.checkpoints c WHERE c.log_id OPERATOR(pg_catalog.=) $1 "
							  "ORDER BY c.tree_size DESC LIMIT 1", 1, t, a, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "trail: reading checkpoints failed");
	if (SPI_processed == 1)
	{
		bytea	   *r = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		last_size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (VARSIZE_ANY_EXHDR(r) != SL_HASH_LEN)
			corrupted(log, "A stored checkpoint root is not 32 bytes.");
		memcpy(last_root, VARDATA_ANY(r), SL_HASH_LEN);
		if (last_size == h.size)
		{
			if (memcmp(last_root, h.root, SL_HASH_LEN) != 0)
				corrupted(log, "The signed checkpoint and the log head disagree for the same size.");
			note_out = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
			*size_out = h.size;
			SPI_finish();
			return note_out;
		}
		if (last_size > h.size)
			corrupted(log, "The log head is smaller than a signed checkpoint.");
	}
	/* consistency with the last signed head, or the root itself from the nodes */
	{
		sl_hash		proof[SL_MERKLE_MAX_PROOF],
					recomputed;
		int			plen;

		if (last_size > 0)
		{
			plen = sl_merkle_consistency_proof_src(stored_node, &src, (uint64) last_size, (uint64) h.size,
												   proof, SL_MERKLE_MAX_PROOF);
			if (plen < 0 || !sl_merkle_verify_consistency((uint64) last_size, (uint64) h.size, last_root, h.root,
														  proof, (size_t) plen))
				corrupted(log, "The current tree is not an extension of the last signed checkpoint; refusing to sign.");
		}
		else if (sl_merkle_range_hash(stored_node, &src, 0, (uint64) h.size, recomputed) < 0 ||
				 memcmp(recomputed, h.root, SL_HASH_LEN) != 0)
			corrupted(log, "The log head does not match its stored tree; refusing to sign.");
	}
	sl_buf_init(&text);
	sl_note_checkpoint_text(h.origin, (uint64) h.size, h.root, &text);
	initStringInfo(&note);
	appendBinaryStringInfo(&note, text.data, (int) text.len);
	appendStringInfoChar(&note, '\n');
	if (sign_text(text.data, text.len, &note) == 0)
	{
		sl_buf_free(&text);
		SPI_finish();
		sl_raise("no_signing_key", NULL, "Create one with trail.rotate_key().");
	}
	sl_buf_free(&text);
	a[1] = Int64GetDatum(h.size);
	a[2] = PointerGetDatum(sl_bytea(h.root, SL_HASH_LEN));
	a[3] = CStringGetTextDatum(note.data);
	if (SPI_execute_with_args("INSERT INTO trail.checkpoints (log_id, tree_size, root, note) VALUES ($1, $2, $3, $4) "
							  "ON CONFLICT (log_id, tree_size) DO NOTHING", 4, t, a, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "trail: storing the checkpoint failed");
	note_out = MemoryContextStrdup(caller, note.data);
	*size_out = h.size;
	SPI_finish();
	return note_out;
}

static char *
log_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		sl_raise("missing_argument", "The log id is required (the nil UUID names the platform log).", NULL);
	return uuid_text(PG_GETARG_DATUM(n));
}

PG_FUNCTION_INFO_V1(trail_checkpoint);

Datum
trail_checkpoint(PG_FUNCTION_ARGS)
{
	char	   *log = log_arg(fcinfo, 0);
	trail_owner_ctx owner;
	int64		size;
	char	   *note;

	trail_as_owner(&owner);
	note = trail_sign_checkpoint(log, &size);
	trail_restore_user(&owner);
	PG_RETURN_TEXT_P(cstring_to_text(note));
}

PG_FUNCTION_INFO_V1(trail_vkey);

Datum
trail_vkey(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *pk = PG_GETARG_BYTEA_PP(1);
	sl_buf		b;
	text	   *res;

	if (VARSIZE_ANY_EXHDR(pk) != 32 || !sl_note_valid_name(name))
		sl_raise("invalid_argument", "A verifier key needs a valid key name and a 32-byte Ed25519 public key.", NULL);
	sl_buf_init(&b);
	sl_note_vkey(name, (const uint8_t *) VARDATA_ANY(pk), &b);
	res = cstring_to_text_with_len(b.data, (int) b.len);
	sl_buf_free(&b);
	PG_RETURN_TEXT_P(res);
}

PG_FUNCTION_INFO_V1(trail_public_key);

/* the newest signing key (one key signs every log of a deployment) */
Datum
trail_public_key(PG_FUNCTION_ARGS)
{
	trail_owner_ctx owner;
	char	   *vkey = NULL;
	MemoryContext caller = CurrentMemoryContext;

	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	if (SPI_execute("SELECT trail.vkey(name, public_key) FROM trail.signing_keys WHERE seed IS NOT NULL "
					"AND (retire_after IS NULL OR retire_after OPERATOR(pg_catalog.>) pg_catalog.now()) ORDER BY id DESC LIMIT 1",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		vkey = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	trail_restore_user(&owner);
	if (vkey == NULL)
		sl_raise("no_signing_key", NULL, "Create one with trail.rotate_key().");
	PG_RETURN_TEXT_P(cstring_to_text(vkey));
}

PG_FUNCTION_INFO_V1(trail_rotate_key);

Datum
trail_rotate_key(PG_FUNCTION_ARGS)
{
	Interval   *overlap = PG_ARGISNULL(0) ? NULL : PG_GETARG_INTERVAL_P(0);
	trail_owner_ctx owner;
	sl_secret  *seed,
			   *sk;
	uint8_t		pk[crypto_sign_PUBLICKEYBYTES],
				id[4];
	Oid			t[5] = {TEXTOID, BYTEAOID, BYTEAOID, BYTEAOID, INTERVALOID};
	Datum		a[5];
	char	   *name;
	bytea	   *seedb;
	sl_buf		vk;
	text	   *res;

	if (overlap == NULL)
		sl_raise("missing_argument", "The overlap (how long older keys keep co-signing) is required.", NULL);
	if (overlap->month < 0 || overlap->day < 0 || overlap->time < 0 ||
		overlap->month > 12 || (overlap->month == 12 && (overlap->day > 0 || overlap->time > 0)))
		sl_raise("invalid_argument", "The overlap must be between 0 and 1 year.", NULL);
	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	name = trail_origin_prefix();
	if (!sl_note_valid_name(name))
		sl_raise("invalid_settings", "trail.settings.origin_prefix is not a valid signed-note key name.", NULL);

	seed = sl_secret_new(crypto_sign_SEEDBYTES);
	sk = sl_secret_new(crypto_sign_SECRETKEYBYTES);
	randombytes_buf(seed->data, seed->len);
	crypto_sign_seed_keypair(pk, sk->data, seed->data);
	sl_secret_wipe(sk);
	sl_note_key_id(name, pk, id);
	seedb = sl_bytea(seed->data, seed->len);
	sl_secret_wipe(seed);
	a[0] = CStringGetTextDatum(name);
	a[1] = PointerGetDatum(sl_bytea(id, 4));
	a[2] = PointerGetDatum(sl_bytea(pk, sizeof pk));
	a[3] = PointerGetDatum(seedb);
	a[4] = IntervalPGetDatum(overlap);
	trail_internal_write++;
	PG_TRY();
	{
		/* older keys co-sign for the overlap, then retire */
		if (SPI_execute_with_args("UPDATE trail.signing_keys SET retire_after = (pg_catalog.now() OPERATOR(pg_catalog.+) $5) "
								  "WHERE seed IS NOT NULL AND (retire_after IS NULL"
								  " OR retire_after OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.+) $5))",
								  5, t, a, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_execute_with_args("INSERT INTO trail.signing_keys (name, key_id, public_key, seed) "
								  "VALUES ($1, $2, $3, $4)", 5, t, a, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "trail: storing the new key failed");
	}
	PG_FINALLY();
	{
		trail_internal_write--;
		sodium_memzero(VARDATA(seedb), crypto_sign_SEEDBYTES);
	}
	PG_END_TRY();
	retire_keys();
	sl_buf_init(&vk);
	sl_note_vkey(name, pk, &vk);
	SPI_finish();
	trail_restore_user(&owner);
	res = cstring_to_text_with_len(vk.data, (int) vk.len);
	sl_buf_free(&vk);
	PG_RETURN_TEXT_P(res);
}

/* ------------------------------------------------------------------------
 * Proofs
 * ------------------------------------------------------------------------ */

static void
append_hash_list(StringInfo s, const sl_hash *p, int n)
{
	int			i;

	appendStringInfoChar(s, '[');
	for (i = 0; i < n; i++)
	{
		appendStringInfoString(s, i ? ",\"" : "\"");
		trail_append_base64(s, p[i], SL_HASH_LEN);
		appendStringInfoChar(s, '"');
	}
	appendStringInfoChar(s, ']');
}

static void
append_hash(StringInfo s, const char *key, const sl_hash h)
{
	appendStringInfo(s, ",\"%s\":\"", key);
	trail_append_base64(s, h, SL_HASH_LEN);
	appendStringInfoChar(s, '"');
}

/* the stored checkpoint note of (log, size) as a JSON member, or null */
static void
append_checkpoint_note(StringInfo s, const char *log, int64 size)
{
	Oid			t[2] = {UUIDOID, INT8OID};
	Datum		a[2];

	a[0] = trail_uuid_datum(log);
	a[1] = Int64GetDatum(size);
	appendStringInfoString(s, ",\"checkpoint\":");
	if (SPI_execute_with_args("SELECT c.note FROM trail.checkpoints c WHERE c.log_id OPERATOR(pg_catalog.=) $1 AND c.tree_size OPERATOR(pg_catalog.=) $2",
							  2, t, a, NULL, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
		escape_json(s, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	else
		appendStringInfoString(s, "null");
}

PG_FUNCTION_INFO_V1(trail_inclusion_proof);

Datum
trail_inclusion_proof(PG_FUNCTION_ARGS)
{
	int64		entry,
				idx,
				size;
	trail_owner_ctx owner;
	Oid			t[1] = {INT8OID};
	Datum		a[1];
	bool		isnull;
	char	   *log;
	log_head	h;
	node_src	src;
	sl_hash		leaf,
				root,
				proof[SL_MERKLE_MAX_PROOF];
	int			plen;
	bytea	   *hb;
	StringInfoData out;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The entry id is required.", NULL);
	entry = PG_GETARG_INT64(0);
	a[0] = Int64GetDatum(entry);
	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	if (SPI_execute_with_args("SELECT l.log_id, l.idx, l.hashes FROM trail.leaves l WHERE l.entry_id OPERATOR(pg_catalog.=) $1",
							  1, t, a, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "trail: leaf lookup failed");
	if (SPI_processed != 1)
	{
		bool		exists = SPI_execute_with_args("SELECT 1 FROM trail.entries e WHERE e.id OPERATOR(pg_catalog.=) $1", 1, t, a, NULL, false, 1)
			== SPI_OK_SELECT && SPI_processed == 1;

		SPI_finish();
		trail_restore_user(&owner);
		if (exists)
			sl_raise("entry_not_sealed", NULL, "Call trail.seal(), or wait for the next scheduled sealing run.");
		sl_raise("entry_not_found", psprintf("No audit entry has id " INT64_FORMAT ".", entry), NULL);
	}
	log = uuid_text(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	idx = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	hb = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (VARSIZE_ANY_EXHDR(hb) < SL_HASH_LEN)
		corrupted(log, "A leaf row has no leaf hash.");
	memcpy(leaf, VARDATA_ANY(hb), SL_HASH_LEN);

	if (PG_ARGISNULL(1))
	{
		/* the newest signed checkpoint (signed now if the tree grew) */
		pfree(trail_sign_checkpoint(log, &size));
	}
	else
		size = PG_GETARG_INT64(1);
	load_head(log, &h, false);
	if (size <= idx || size > h.size)
		sl_raise("invalid_tree_size",
				 psprintf("Entry " INT64_FORMAT " is leaf " INT64_FORMAT " of a log of " INT64_FORMAT
						  " entries; the tree size must be between " INT64_FORMAT " and " INT64_FORMAT ".",
						  entry, idx, h.size, idx + 1, h.size), NULL);
	node_src_init(&src, log);
	plen = sl_merkle_inclusion_proof_src(stored_node, &src, (uint64) size, (uint64) idx, proof, SL_MERKLE_MAX_PROOF);
	if (plen < 0 || sl_merkle_range_hash(stored_node, &src, 0, (uint64) size, root) < 0)
		corrupted(log, "A tree node needed for the proof is missing.");

	initStringInfo(&out);
	appendStringInfo(&out, "{\"entry\":" INT64_FORMAT ",\"log\":\"%s\",\"origin\":", entry, log);
	escape_json(&out, h.origin);
	appendStringInfo(&out, ",\"leaf_index\":" INT64_FORMAT ",\"tree_size\":" INT64_FORMAT, idx, size);
	append_hash(&out, "leaf_hash", leaf);
	append_hash(&out, "root", root);
	appendStringInfoString(&out, ",\"proof\":");
	append_hash_list(&out, proof, plen);
	append_checkpoint_note(&out, log, size);
	appendStringInfoChar(&out, '}');
	SPI_finish();
	trail_restore_user(&owner);
	PG_RETURN_JSONB_P(jsonb_from(&out));
}

PG_FUNCTION_INFO_V1(trail_consistency_proof);

Datum
trail_consistency_proof(PG_FUNCTION_ARGS)
{
	char	   *log = log_arg(fcinfo, 0);
	int64		m,
				n;
	trail_owner_ctx owner;
	log_head	h;
	node_src	src;
	sl_hash		r1,
				r2,
				proof[SL_MERKLE_MAX_PROOF];
	int			plen = 0;
	StringInfoData out;

	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The old tree size is required.", NULL);
	m = PG_GETARG_INT64(1);
	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	if (!load_head(log, &h, false))
	{
		SPI_finish();
		trail_restore_user(&owner);
		sl_raise("log_not_found", psprintf("No audit log %s has been sealed yet.", log), NULL);
	}
	n = PG_ARGISNULL(2) ? h.size : PG_GETARG_INT64(2);
	if (m < 1 || m > n || n > h.size)
		sl_raise("invalid_tree_size",
				 psprintf("Sizes must satisfy 1 <= old_size <= new_size <= " INT64_FORMAT " (the log's size).", h.size),
				 NULL);
	node_src_init(&src, log);
	if (sl_merkle_range_hash(stored_node, &src, 0, (uint64) m, r1) < 0 ||
		sl_merkle_range_hash(stored_node, &src, 0, (uint64) n, r2) < 0)
		corrupted(log, "A tree node needed for the proof is missing.");
	if (m < n)
	{
		plen = sl_merkle_consistency_proof_src(stored_node, &src, (uint64) m, (uint64) n, proof, SL_MERKLE_MAX_PROOF);
		if (plen < 0)
			corrupted(log, "A tree node needed for the proof is missing.");
	}
	initStringInfo(&out);
	appendStringInfo(&out, "{\"log\":\"%s\",\"origin\":", log);
	escape_json(&out, h.origin);
	appendStringInfo(&out, ",\"old_size\":" INT64_FORMAT ",\"new_size\":" INT64_FORMAT, m, n);
	append_hash(&out, "old_root", r1);
	append_hash(&out, "new_root", r2);
	appendStringInfoString(&out, ",\"proof\":");
	append_hash_list(&out, proof, plen);
	append_checkpoint_note(&out, log, n);
	appendStringInfoChar(&out, '}');
	SPI_finish();
	trail_restore_user(&owner);
	PG_RETURN_JSONB_P(jsonb_from(&out));
}

/* ------------------------------------------------------------------------
 * trail.verify(log): recompute everything, report the first divergence
 * ------------------------------------------------------------------------ */

typedef struct verify_key
{
	char	   *name;
	uint8_t		pk[32];
} verify_key;

typedef struct verify_ctx
{
	MemoryContext caller;
	trail_owner_ctx owner;
} verify_ctx;

static Datum
divergence(verify_ctx *vc, const char *log, int64 entry, int64 idx, const char *what,
		   const uint8_t *expected, const uint8_t *found)
{
	StringInfoData out;
	Datum		res;

	MemoryContextSwitchTo(vc->caller);
	initStringInfo(&out);
	appendStringInfo(&out, "{\"ok\":false,\"log\":\"%s\",\"what\":", log);
	escape_json(&out, what);
	if (entry >= 0)
		appendStringInfo(&out, ",\"entry\":" INT64_FORMAT, entry);
	if (idx >= 0)
		appendStringInfo(&out, ",\"leaf_index\":" INT64_FORMAT, idx);
	if (expected)
		append_hash(&out, "expected", expected);
	if (found)
		append_hash(&out, "found", found);
	appendStringInfoChar(&out, '}');
	res = JsonbPGetDatum(jsonb_from(&out));
	SPI_finish();
	trail_restore_user(&vc->owner);
	return res;
}

/* does body agree with the entry's columns? returns the first field that does not */
static const char *
columns_disagree(const char *body, HeapTuple tup, TupleDesc desc)
{
	static const char *const pairs[][2] = {
		{"id", "id"}, {"log", "log_id"}, {"xid", "xact"}, {"action", "action"},
		{"table", "table_name"}, {"data_subject", "data_subject"},
	};
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(body)));
	int			i;

	for (i = 0; i < (int) lengthof(pairs); i++)
	{
		JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, pairs[i][0], strlen(pairs[i][0]), NULL);
		char	   *col = SPI_getvalue(tup, desc, SPI_fnumber(desc, pairs[i][1]));
		char	   *val = NULL;

		if (v && v->type == jbvString)
			val = pnstrdup(v->val.string.val, v->val.string.len);
		else if (v && v->type == jbvNumeric)
			val = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		if ((val == NULL) != (col == NULL) || (val && strcmp(val, col) != 0))
			return pairs[i][1];
	}
	{
		StringInfoData ts;
		JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, "at", 2, NULL);
		bool		isnull;

		initStringInfo(&ts);
		trail_append_timestamp(&ts, DatumGetTimestampTz(SPI_getbinval(tup, desc, SPI_fnumber(desc, "created_at"), &isnull)));
		if (v == NULL || v->type != jbvString || (int) v->val.string.len != ts.len - 2 ||
			memcmp(v->val.string.val, ts.data + 1, v->val.string.len) != 0)
			return "created_at";
	}
	return NULL;
}

PG_FUNCTION_INFO_V1(trail_verify);

Datum
trail_verify(PG_FUNCTION_ARGS)
{
	char	   *log = log_arg(fcinfo, 0);
	verify_ctx	vc;
	Oid			t[1] = {UUIDOID};
	Datum		a[1];
	log_head	h;
	verify_key *keys;
	int			nkeys,
				k;
	int64	   *cp_size;
	sl_hash    *cp_root;
	char	  **cp_note;
	int			ncp,
				next_cp = 0;
	sl_hash		frontier[SL_MERKLE_FRONTIER_CAP],
				completed[64],
				root;
	int64		n = 0;
	Portal		portal;
	SPIPlanPtr	plan;
	bool		isnull;
	StringInfoData out;
	MemoryContext row_cxt,
				old;
	Datum		result;
	int64		unsealed = 0;

	vc.caller = CurrentMemoryContext;
	trail_as_owner(&vc.owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	a[0] = trail_uuid_datum(log);
	if (!load_head(log, &h, false))
	{
		h.size = 0;
		sl_merkle_frontier_root(NULL, 0, h.root);
		h.origin = origin_for(log);
	}

	/* keys and checkpoints, copied out of SPI */
	if (SPI_execute("SELECT name, public_key FROM trail.signing_keys ORDER BY id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "trail: reading keys failed");
	nkeys = (int) SPI_processed;
	keys = palloc0(sizeof(verify_key) * (nkeys + 1));
	for (k = 0; k < nkeys; k++)
	{
		bytea	   *pk = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));

		keys[k].name = SPI_getvalue(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1);
		memcpy(keys[k].pk, VARDATA_ANY(pk), 32);
	}
	if (SPI_execute_with_args("SELECT c.tree_size, c.root, c.note FROM trail.checkpoints c WHERE c.log_id OPERATOR(pg_catalog.=) $1 ORDER BY c.tree_size",
							  1, t, a, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "trail: reading checkpoints failed");
	ncp = (int) SPI_processed;
	cp_size = palloc(sizeof(int64) * (ncp + 1));
	cp_root = palloc(sizeof(sl_hash) * (ncp + 1));
	cp_note = palloc(sizeof(char *) * (ncp + 1));
	for (k = 0; k < ncp; k++)
	{
		bytea	   *r = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));

		cp_size[k] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull));
		memset(cp_root[k], 0, SL_HASH_LEN);
		memcpy(cp_root[k], VARDATA_ANY(r), Min(VARSIZE_ANY_EXHDR(r), SL_HASH_LEN));
		cp_note[k] = SPI_getvalue(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 3);
	}

	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "trail verify row", ALLOCSET_DEFAULT_SIZES);
	plan = SPI_prepare("SELECT l.idx, l.entry_id, l.hashes, e.id, e.log_id, e.xact, e.created_at, e.action, "
					   "e.table_name, e.data_subject, e.body, e.leaf_hash "
					   "FROM trail.leaves l LEFT JOIN trail.entries e ON e.id OPERATOR(pg_catalog.=) l.entry_id "
					   "WHERE l.log_id OPERATOR(pg_catalog.=) $1 ORDER BY l.idx", 1, t);
	portal = SPI_cursor_open(NULL, plan, a, NULL, true);
	for (;;)
	{
		uint64		i;

		SPITupleTable *tt;
		uint64		cnt;

		SPI_cursor_fetch(portal, true, 5000);
		if (SPI_processed == 0)
			break;
		tt = SPI_tuptable;
		cnt = SPI_processed;
		for (i = 0; i < cnt; i++)
		{
			HeapTuple	tup = tt->vals[i];
			TupleDesc	desc = tt->tupdesc;
			int64		idx = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			int64		entry = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			bytea	   *hashes = DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull));
			const uint8_t *hs = (const uint8_t *) VARDATA_ANY(hashes);
			size_t		hlen = VARSIZE_ANY_EXHDR(hashes);
			char	   *body;
			bytea	   *stored_leaf;
			sl_hash		recomputed;
			size_t		clen;
			char	   *canon;
			const char *bad;
			int			c,
						j;

			old = MemoryContextSwitchTo(row_cxt);
			if (idx != n)
				return divergence(&vc, log, entry, n, "leaf missing from the tree", NULL, NULL);
			if (hlen < SL_HASH_LEN)
				return divergence(&vc, log, entry, idx, "leaf row without a hash", NULL, NULL);
			(void) SPI_getbinval(tup, desc, 4, &isnull);
			if (isnull)
				return divergence(&vc, log, entry, idx, "entry missing", hs, NULL);
			body = SPI_getvalue(tup, desc, 11);
			stored_leaf = DatumGetByteaPP(SPI_getbinval(tup, desc, 12, &isnull));
			sl_merkle_leaf_hash((const uint8_t *) body, strlen(body), recomputed);
			if (memcmp(recomputed, hs, SL_HASH_LEN) != 0)
				return divergence(&vc, log, entry, idx, "entry content does not match its leaf hash", hs, recomputed);
			if (VARSIZE_ANY_EXHDR(stored_leaf) != SL_HASH_LEN ||
				memcmp(VARDATA_ANY(stored_leaf), hs, SL_HASH_LEN) != 0)
				return divergence(&vc, log, entry, idx, "entry leaf_hash column differs from the tree", hs,
								  (const uint8_t *) VARDATA_ANY(stored_leaf));
			canon = trail_canonical(body, strlen(body), &clen);
			if (clen != strlen(body) || memcmp(canon, body, clen) != 0)
				return divergence(&vc, log, entry, idx, "entry body is not in canonical form", hs, NULL);
			if ((bad = columns_disagree(body, tup, desc)) != NULL)
				return divergence(&vc, log, entry, idx, psprintf("entry column %s disagrees with its body", bad), hs, NULL);
			c = sl_merkle_frontier_append(frontier, (uint64) n, hs, completed);
			if (hlen != (size_t) (c + 1) * SL_HASH_LEN)
				return divergence(&vc, log, entry, idx, "tree node count differs", NULL, NULL);
			for (j = 0; j < c; j++)
				if (memcmp(completed[j], hs + (j + 1) * SL_HASH_LEN, SL_HASH_LEN) != 0)
					return divergence(&vc, log, entry, idx, psprintf("tree node at level %d differs", j + 1),
									  completed[j], hs + (j + 1) * SL_HASH_LEN);
			n++;
			while (next_cp < ncp && cp_size[next_cp] == n)
			{
				sl_buf		text;
				bool		sig_ok = false;

				sl_merkle_frontier_root(frontier, (uint64) n, root);
				if (memcmp(root, cp_root[next_cp], SL_HASH_LEN) != 0)
					return divergence(&vc, log, entry, idx, psprintf("checkpoint root at size " INT64_FORMAT " differs", n),
									  root, cp_root[next_cp]);
				sl_buf_init(&text);
				sl_note_checkpoint_text(h.origin, (uint64) n, root, &text);
				for (k = 0; k < nkeys && !sig_ok; k++)
				{
					size_t		tl = 0;
					const char *nt = cp_note[next_cp];

					if (sl_note_open(nt, strlen(nt), keys[k].name, keys[k].pk, &tl) == 1 &&
						tl == text.len && memcmp(nt, text.data, tl) == 0)
						sig_ok = true;
				}
				sl_buf_free(&text);
				if (!sig_ok)
					return divergence(&vc, log, entry, idx,
									  psprintf("checkpoint at size " INT64_FORMAT " has no valid signature of a known key", n),
									  root, NULL);
				next_cp++;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_cxt);
		}
		SPI_freetuptable(tt);
	}
	SPI_cursor_close(portal);

	if (next_cp < ncp)
		return divergence(&vc, log, -1, n, psprintf("checkpoint of size " INT64_FORMAT " is beyond the tree", cp_size[next_cp]),
						  cp_root[next_cp], NULL);
	sl_merkle_frontier_root(frontier, (uint64) n, root);
	if (n != h.size || memcmp(root, h.root, SL_HASH_LEN) != 0 ||
		(n > 0 && memcmp(frontier, h.frontier, (size_t) __builtin_popcountll((uint64) n) * SL_HASH_LEN) != 0))
		return divergence(&vc, log, -1, n, "log head differs from the recomputed tree", root, h.root);

	/* entries the sealer has passed but that are not in the tree */
	if (SPI_execute_with_args("SELECT e.id FROM trail.entries e, trail.sealer s WHERE e.log_id OPERATOR(pg_catalog.=) $1 "
							  "AND (e.xact OPERATOR(pg_catalog.<) s.sealed_xact OR (e.xact OPERATOR(pg_catalog.=) s.sealed_xact"
							  " AND e.id OPERATOR(pg_catalog.<=) s.sealed_id)) "
							  "AND NOT EXISTS (SELECT 1 FROM trail.leaves l WHERE l.entry_id OPERATOR(pg_catalog.=) e.id) "
							  "ORDER BY e.id LIMIT 1", 1, t, a, NULL, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
		return divergence(&vc, log, DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
						  -1, "entry skipped by the sealer", NULL, NULL);
	if (SPI_execute_with_args("SELECT pg_catalog.count(*) FROM trail.entries e WHERE e.log_id OPERATOR(pg_catalog.=) $1 "
							  "AND NOT EXISTS (SELECT 1 FROM trail.leaves l WHERE l.entry_id OPERATOR(pg_catalog.=) e.id)",
							  1, t, a, NULL, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
		unsealed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	initStringInfo(&out);
	appendStringInfo(&out, "{\"ok\":true,\"log\":\"%s\",\"tree_size\":" INT64_FORMAT ",\"checkpoints\":%d,\"unsealed\":" INT64_FORMAT,
					 log, n, ncp, unsealed);
	append_hash(&out, "root", root);
	appendStringInfoChar(&out, '}');
	MemoryContextSwitchTo(vc.caller);
	result = JsonbPGetDatum(jsonb_from(&out));
	SPI_finish();
	trail_restore_user(&vc.owner);
	PG_RETURN_DATUM(result);
}
