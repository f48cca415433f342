/*
 * trail_record.c - recording audit entries: the capture trigger, trail.log,
 * the append-only guard, personal data encryption (crypto-shredding).
 *
 * Writers never touch a shared row: an entry is one INSERT with an id from
 * a sequence and the writer's top-level transaction id; its canonical body
 * and leaf hash are computed here, in the writer, so sealing only has to
 * link leaf hashes (trail_tree.c).
 */
#include "postgres.h"

#include <ctype.h>

#include <sodium.h>

#include "access/sysattr.h"
#include "nodes/bitmapset.h"
#include "utils/datum.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "catalog/pg_namespace.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "executor/tuptable.h"

#include "core/sl_core.h"
#include "common/sl_note.h"
#include "trail.h"

int			trail_internal_write = 0;

/* ------------------------------------------------------------------------
 * small helpers
 * ------------------------------------------------------------------------ */

static Oid
trail_namespace(void)
{
	return sl_schema_oid("trail", "startlijn_audit");
}

void
trail_as_owner(trail_owner_ctx *ctx)
{
	sl_as_schema_owner(trail_namespace(), ctx);
}

void
trail_restore_user(const trail_owner_ctx *ctx)
{
	sl_restore_user(ctx);
}

char *
trail_canonical(const char *json, size_t len, size_t *outlen)
{
	sl_buf		b;
	const char *err = NULL;
	char	   *res;

	sl_buf_init(&b);
	if (sl_jcs(json, len, &b, &err) != 0)
	{
		char	   *msg = pstrdup(err ? err : "invalid JSON");

		sl_buf_free(&b);
		sl_raise("invalid_argument", psprintf("The JSON text cannot be canonicalised: %s.", msg), NULL);
	}
	res = palloc(b.len + 1);
	memcpy(res, b.data, b.len);
	res[b.len] = '\0';
	*outlen = b.len;
	sl_buf_free(&b);
	return res;
}

/* one base64 encoder: src/common/sl_note.c */
void
trail_append_base64(StringInfo s, const uint8_t *bin, size_t len)
{
	sl_buf		b;

	sl_buf_init(&b);
	sl_base64_put(&b, bin, len);
	if (b.oom)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	appendBinaryStringInfo(s, b.data, (int) b.len);
	sl_buf_free(&b);
}

Datum
trail_uuid_datum(const char *s)
{
	return DirectFunctionCall1(uuid_in, CStringGetDatum(s));
}

char *
trail_origin_prefix(void)
{
	if (SPI_execute("SELECT origin_prefix FROM trail.settings", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "trail: settings missing");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

void
trail_append_timestamp(StringInfo s, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	appendStringInfo(s, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"",
					 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

static bool
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
is_uuid_text(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return false;
	}
	return true;
}

/* a string member of a jsonb object, palloc'd, or NULL */
static char *
jsonb_string_member(Jsonb *jb, const char *key)
{
	JsonbValue *v;

	if (jb == NULL || !JB_ROOT_IS_OBJECT(jb))
		return NULL;
	v = getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static Jsonb *
parse_jsonb_setting(const char *s)
{
	if (s == NULL || *s == '\0')
		return NULL;
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}

/* ------------------------------------------------------------------------
 * Who and from where: the actor and request members of an entry, computed
 * once per transaction and caller (PostgREST sets them per transaction).
 * ------------------------------------------------------------------------ */

typedef struct actor_cache
{
	bool		valid;
	FullTransactionId fxid;
	Oid			user;
	char	   *claims,
			   *lsub,
			   *lrole,
			   *headers,
			   *method,
			   *path;
	char	   *fields;			/* "actor":{...}[,"request":{...}] */
	char	   *uid;			/* or NULL */
} actor_cache;

static actor_cache cache;

static char *
tx_strdup(const char *s)
{
	return s ? MemoryContextStrdup(TopTransactionContext, s) : NULL;
}

/* the optional superadmin hook of trail.settings, as owner */
static Oid
superadmin_hook(void)
{
	trail_owner_ctx owner;
	Oid			hook = InvalidOid;

	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	if (SPI_execute("SELECT superadmin_check::oid FROM trail.settings", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			hook = DatumGetObjectId(d);
	}
	SPI_finish();
	trail_restore_user(&owner);
	return hook;
}

static const char *
actor_fields(const char **uid_out)
{
	FullTransactionId fxid = GetTopFullTransactionId();
	/* the role PostgREST switched to (SET ROLE), not a SECURITY DEFINER owner */
	Oid			user = GetOuterUserId();
	const char *claims = GetConfigOption("request.jwt.claims", true, false);
	const char *lsub = GetConfigOption("request.jwt.claim.sub", true, false);
	const char *lrole = GetConfigOption("request.jwt.claim.role", true, false);
	const char *headers = GetConfigOption("request.headers", true, false);
	const char *method = GetConfigOption("request.method", true, false);
	const char *path = GetConfigOption("request.path", true, false);
	MemoryContext old;
	Jsonb	   *cj,
			   *hj;
	char	   *sub,
			   *role,
			   *kind;
	char	   *dbuser = GetUserNameFromId(user, false);
	StringInfoData s;
	bool		superadmin = false;

	if (cache.valid && FullTransactionIdEquals(cache.fxid, fxid) && cache.user == user &&
		streq(cache.claims, claims) && streq(cache.lsub, lsub) && streq(cache.lrole, lrole) &&
		streq(cache.headers, headers) && streq(cache.method, method) && streq(cache.path, path))
	{
		*uid_out = cache.uid;
		return cache.fields;
	}
	cache.valid = false;

	cj = parse_jsonb_setting(claims);
	sub = jsonb_string_member(cj, "sub");
	if (sub == NULL && lsub && *lsub)
		sub = pstrdup(lsub);
	role = jsonb_string_member(cj, "role");
	if (role == NULL && lrole && *lrole)
		role = pstrdup(lrole);
	if (sub && is_uuid_text(sub))
	{
		Oid			hook = superadmin_hook();

		if (OidIsValid(hook))
			superadmin = DatumGetBool(OidFunctionCall0(hook));
	}
	if (streq(role, "service_role") || streq(dbuser, "service_role"))
		kind = "service";
	else if (superadmin)
		kind = "superadmin";
	else if (sub && is_uuid_text(sub))
		kind = "user";
	else if (streq(role, "anon") || streq(dbuser, "anon"))
		kind = "anon";
	else if (role || sub)
		kind = "user";
	else
		kind = "system";

	initStringInfo(&s);
	appendStringInfoString(&s, "\"actor\":{\"kind\":");
	escape_json(&s, kind);
	appendStringInfoString(&s, ",\"db_role\":");
	escape_json(&s, dbuser);
	if (role)
	{
		appendStringInfoString(&s, ",\"role\":");
		escape_json(&s, role);
	}
	if (sub)
	{
		appendStringInfoString(&s, is_uuid_text(sub) ? ",\"uid\":" : ",\"sub\":");
		escape_json(&s, sub);
	}
	appendStringInfoChar(&s, '}');

	hj = parse_jsonb_setting(headers);
	{
		static const char *const wanted[][2] = {
			{"x-forwarded-for", "forwarded_for"},
			{"user-agent", "user_agent"},
			{"x-request-id", "request_id"},
		};
		bool		any = false;
		int			i;

#define REQ_MEMBER(name, value) \
		do { \
			appendStringInfoString(&s, any ? "," : ",\"request\":{"); \
			any = true; \
			escape_json(&s, name); \
			appendStringInfoChar(&s, ':'); \
			escape_json(&s, value); \
		} while (0)

		if (method && *method)
			REQ_MEMBER("method", method);
		if (path && *path)
			REQ_MEMBER("path", path);
		for (i = 0; i < (int) lengthof(wanted); i++)
		{
			char	   *v = jsonb_string_member(hj, wanted[i][0]);

			if (v)
				REQ_MEMBER(wanted[i][1], v);
		}
		if (any)
			appendStringInfoChar(&s, '}');
#undef REQ_MEMBER
	}

	old = MemoryContextSwitchTo(TopTransactionContext);
	cache.fxid = fxid;
	cache.user = user;
	cache.claims = tx_strdup(claims);
	cache.lsub = tx_strdup(lsub);
	cache.lrole = tx_strdup(lrole);
	cache.headers = tx_strdup(headers);
	cache.method = tx_strdup(method);
	cache.path = tx_strdup(path);
	cache.fields = pstrdup(s.data);
	cache.uid = (sub && is_uuid_text(sub)) ? pstrdup(sub) : NULL;
	cache.valid = true;
	MemoryContextSwitchTo(old);
	*uid_out = cache.uid;
	return cache.fields;
}

/* ------------------------------------------------------------------------
 * Personal data: XChaCha20-Poly1305 under a random key per data subject.
 * AD = "startlijn-trail:v1:" subject ":" entry id. Called inside SPI, as owner.
 * ------------------------------------------------------------------------ */

static void
make_ad(StringInfo ad, const char *subject, int64 id)
{
	appendStringInfo(ad, "startlijn-trail:v1:%s:" INT64_FORMAT, subject, id);
}

/* the subject's key (created when absent); key must hold 32 bytes */
static int64
subject_key(const char *subject, uint8_t *key)
{
	static SPIPlanPtr sel = NULL,
				ins = NULL;
	Oid			t[2] = {UUIDOID, BYTEAOID};
	Datum		args[2];
	int			attempt;

	if (sel == NULL)
	{
		sel = SPI_prepare("SELECT k.id, k.key FROM trail.subject_keys k WHERE k.subject OPERATOR(pg_catalog.=) $1", 1, t);
		ins = SPI_prepare("INSERT INTO trail.subject_keys (subject, key) VALUES ($1, $2) "
						  "ON CONFLICT (subject) DO NOTHING", 2, t);
		if (!sel || !ins)
			elog(ERROR, "trail: cannot prepare key queries");
		SPI_keepplan(sel);
		SPI_keepplan(ins);
	}
	args[0] = trail_uuid_datum(subject);
	for (attempt = 0; attempt < 2; attempt++)
	{
		if (SPI_execute_plan(sel, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "trail: key lookup failed");
		if (SPI_processed == 1)
		{
			bool		n1,
						n2;
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n1));
			bytea	   *k = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &n2));

			memcpy(key, VARDATA_ANY(k), 32);
			sl_wipe_bytea(k);
			SPI_freetuptable(SPI_tuptable);
			return id;
		}
		{
			/* the new key as a bytea inside a secret buffer */
			sl_secret  *buf = sl_secret_new(VARHDRSZ + 32);
			bytea	   *fresh = (bytea *) buf->data;

			SET_VARSIZE(fresh, VARHDRSZ + 32);
			randombytes_buf(VARDATA(fresh), 32);
			args[1] = PointerGetDatum(fresh);
			if (SPI_execute_plan(ins, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "trail: key creation failed");
			sl_secret_wipe(buf);
		}
	}
	elog(ERROR, "trail: no key for data subject %s", subject);
	return 0;					/* keep compiler quiet */
}

static void
append_personal(StringInfo doc, const char *subject, int64 id, const char *plain_json)
{
	sl_secret  *key = sl_secret_new(32);
	uint8_t		nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	size_t		plen;
	char	   *plain = trail_canonical(plain_json, strlen(plain_json), &plen);
	unsigned long long clen;
	uint8_t    *box = palloc(sizeof nonce + plen + crypto_aead_xchacha20poly1305_ietf_ABYTES);
	StringInfoData ad;
	int64		key_id = subject_key(subject, key->data);

	initStringInfo(&ad);
	make_ad(&ad, subject, id);
	randombytes_buf(nonce, sizeof nonce);
	memcpy(box, nonce, sizeof nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + sizeof nonce, &clen,
											   (const uint8_t *) plain, plen,
											   (const uint8_t *) ad.data, ad.len,
											   NULL, nonce, key->data);
	sl_secret_wipe(key);
	sodium_memzero(plain, plen);
	pfree(plain);
	appendStringInfo(doc, ",\"personal\":{\"subject\":\"%s\",\"key\":" INT64_FORMAT ",\"box\":",
					 subject, key_id);
	appendStringInfoChar(doc, '"');
	trail_append_base64(doc, box, sizeof nonce + (size_t) clen);
	appendStringInfoString(doc, "\"}");
	pfree(box);
	pfree(ad.data);
}

/* ------------------------------------------------------------------------
 * Appending one entry
 * ------------------------------------------------------------------------ */

/*
 * The columns of trail.entries, in order: id, log_id, xact, created_at,
 * action, table_name, actor_uid, data_subject, body, leaf_hash.
 */
#define ENTRY_NATTS 10

/*
 * The SPI fallback: used only when trail.entries has insert triggers (an
 * operator's addition), which the direct path below would not fire.
 */
static void
insert_entry_spi(Datum *values, bool *nulls)
{
	static SPIPlanPtr plan = NULL;
	char		n[ENTRY_NATTS];
	int			i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	if (plan == NULL)
	{
		Oid			types[ENTRY_NATTS] = {INT8OID, UUIDOID, INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID,
		UUIDOID, UUIDOID, TEXTOID, BYTEAOID};

		plan = SPI_prepare_cursor("INSERT INTO trail.entries (id, log_id, xact, created_at, action, table_name, "
								  "actor_uid, data_subject, body, leaf_hash) "
								  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", ENTRY_NATTS, types,
								  CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL)
			elog(ERROR, "trail: cannot prepare the entry insert");
		SPI_keepplan(plan);
	}
	for (i = 0; i < ENTRY_NATTS; i++)
		n[i] = nulls[i] ? 'n' : ' ';
	if (SPI_execute_plan(plan, values, n, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "trail: entry insert failed");
	SPI_finish();
}

/*
 * Write one entry row: the heap tuple and its index entries, as logical
 * replication's apply worker does (ExecSimpleRelationInsert), without
 * parsing, planning or starting an executor per row. What the executor
 * would add does not apply here: the row is built by this function with
 * every NOT NULL column set, trail.entries has no CHECK constraints,
 * generated columns or insert triggers (checked; with an insert trigger the
 * SPI path runs instead), and its row security denies everyone but the
 * owner, which bypasses it and is who writes here.
 */
static void
insert_entry(Datum *values, bool *nulls)
{
	Oid			relid = get_relname_relid("entries", trail_namespace());
	Relation	rel;
	TriggerDesc *trig;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	List	   *recheck;

	if (!OidIsValid(relid))
		elog(ERROR, "trail.entries does not exist");
	rel = table_open(relid, RowExclusiveLock);
	trig = rel->trigdesc;
	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		RelationGetDescr(rel)->natts != ENTRY_NATTS ||
		(RelationGetDescr(rel)->constr && RelationGetDescr(rel)->constr->num_check > 0) ||
		(trig && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
				  trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
				  trig->trig_insert_after_statement || trig->trig_insert_new_table)))
	{
		table_close(rel, NoLock);
		insert_entry_spi(values, nulls);
		return;
	}

	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	slot = table_slot_create(rel, NULL);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * ENTRY_NATTS);
	memcpy(slot->tts_isnull, nulls, sizeof(bool) * ENTRY_NATTS);
	ExecStoreVirtualTuple(slot);

	table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
	recheck = ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
	list_free(recheck);

	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
}

int64
trail_append_entry(const char *log_uuid, const char *action, const char *table_name,
				   const char *fields, const char *data_subject, const char *personal)
{
	const char *uid = NULL;
	bool		spi;
	const char *who = actor_fields(&uid);
	FullTransactionId fxid = GetTopFullTransactionId();
	TimestampTz now = GetCurrentTimestamp();
	trail_owner_ctx owner;
	StringInfoData doc;
	Oid			seq;
	int64		id;
	char	   *canon;
	size_t		clen;
	sl_hash		leaf;
	bytea	   *leafb;
	Datum		values[ENTRY_NATTS];
	bool		nulls[ENTRY_NATTS];

	trail_as_owner(&owner);
	seq = get_relname_relid("entries_id_seq", trail_namespace());
	if (!OidIsValid(seq))
		elog(ERROR, "trail.entries_id_seq does not exist");
	id = nextval_internal(seq, false);

	/* SPI only for the data subject's key */
	spi = personal && data_subject;
	if (spi && SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");

	initStringInfo(&doc);
	appendStringInfo(&doc, "{\"v\":1,\"id\":" INT64_FORMAT ",\"log\":\"%s\",\"xid\":" UINT64_FORMAT ",\"at\":",
					 id, log_uuid, U64FromFullTransactionId(fxid));
	trail_append_timestamp(&doc, now);
	appendStringInfoString(&doc, ",\"action\":");
	escape_json(&doc, action);
	if (table_name)
	{
		appendStringInfoString(&doc, ",\"table\":");
		escape_json(&doc, table_name);
	}
	if (fields && *fields)
	{
		appendStringInfoChar(&doc, ',');
		appendStringInfoString(&doc, fields);
	}
	appendStringInfoChar(&doc, ',');
	appendStringInfoString(&doc, who);
	if (data_subject)
		appendStringInfo(&doc, ",\"data_subject\":\"%s\"", data_subject);
	if (personal && data_subject)
		append_personal(&doc, data_subject, id, personal);
	appendStringInfoChar(&doc, '}');

	canon = trail_canonical(doc.data, doc.len, &clen);
	sl_merkle_leaf_hash((const uint8_t *) canon, clen, leaf);
	leafb = sl_bytea(leaf, SL_HASH_LEN);

	memset(nulls, false, sizeof nulls);
	values[0] = Int64GetDatum(id);
	values[1] = trail_uuid_datum(log_uuid);
	values[2] = Int64GetDatum((int64) U64FromFullTransactionId(fxid));
	values[3] = TimestampTzGetDatum(now);
	values[4] = CStringGetTextDatum(action);
	if (table_name)
		values[5] = CStringGetTextDatum(table_name);
	else
		nulls[5] = true;
	if (uid)
		values[6] = trail_uuid_datum(uid);
	else
		nulls[6] = true;
	if (data_subject)
		values[7] = trail_uuid_datum(data_subject);
	else
		nulls[7] = true;
	values[8] = PointerGetDatum(cstring_to_text_with_len(canon, (int) clen));
	values[9] = PointerGetDatum(leafb);
	insert_entry(values, nulls);
	if (spi)
		SPI_finish();
	trail_restore_user(&owner);
	return id;
}

/* ------------------------------------------------------------------------
 * The capture trigger
 * ------------------------------------------------------------------------ */

static bool
in_list(const char *list, const char *name)
{
	size_t		n = strlen(name);
	const char *p = list;

	while (p && *p)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* append a column value as JSON */
static void
append_value(StringInfo s, Datum v, bool isnull, Oid typid)
{
	Oid			base,
				outfn;
	bool		varlena;
	char	   *str;

	if (isnull)
	{
		appendStringInfoString(s, "null");
		return;
	}
	base = getBaseType(typid);
	if (base == TIMESTAMPTZOID && !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(v)))
	{
		/* RFC 3339 in UTC, whatever the session's TimeZone and DateStyle */
		trail_append_timestamp(s, DatumGetTimestampTz(v));
		return;
	}
	if (base == JSONBOID)
	{
		appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(jsonb_out, v)));
		return;
	}
	getTypeOutputInfo(typid, &outfn, &varlena);
	str = OidOutputFunctionCall(outfn, v);
	switch (base)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			appendStringInfoString(s, str);
			break;
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			/* NaN and infinities are not JSON numbers */
			if (strpbrk(str, "NI") == NULL)
				appendStringInfoString(s, str);
			else
				escape_json(s, str);
			break;
		case BOOLOID:
			appendStringInfoString(s, str[0] == 't' ? "true" : "false");
			break;
		case JSONOID:
			/* through jsonb: json may hold duplicate keys, canonical JSON may not */
			appendStringInfoString(s, DatumGetCString(DirectFunctionCall1(jsonb_out,
																		  DirectFunctionCall1(jsonb_in, CStringGetDatum(str)))));
			break;
		default:
			escape_json(s, str);
	}
	pfree(str);
}

static char *
column_text(HeapTuple tup, TupleDesc desc, const char *col)
{
	int			attno;

	if (col == NULL || *col == '\0')
		return NULL;
	attno = SPI_fnumber(desc, col);
	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("audited column \"%s\" no longer exists", col),
				 errhint("Call trail.enable() again for this table.")));
	return SPI_getvalue(tup, desc, attno);
}

typedef struct row_json
{
	StringInfoData obj;
	bool		any;
} row_json;

static void
row_member(row_json *r, const char *name, Datum v, bool isnull, Oid typid)
{
	appendStringInfoChar(&r->obj, r->any ? ',' : '{');
	r->any = true;
	escape_json(&r->obj, name);
	appendStringInfoChar(&r->obj, ':');
	append_value(&r->obj, v, isnull, typid);
}

static void
row_close(row_json *r)
{
	if (!r->any)
		appendStringInfoChar(&r->obj, '{');
	appendStringInfoChar(&r->obj, '}');
}

PG_FUNCTION_INFO_V1(trail_capture);

Datum
trail_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	Relation	rel;
	TupleDesc	desc;
	const char *org_col,
			   *subj_col,
			   *soft_col,
			   *personal,
			   *ignore;
	char	   *table_name;
	HeapTuple	oldt = NULL,
				newt = NULL,
				row;
	const char *action;
	Bitmapset  *pkattrs;
	row_json	pk,
				oldj,
				newj,
				poldj,
				pnewj;
	StringInfoData changed,
				fields,
				pers;
	bool		any_changed = false,
				any_personal = false;
	char	   *org,
			   *subject;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trail.capture() must be called as a trigger")));
	tg = td->tg_trigger;
	if (tg->tgnargs != 5)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trail.capture() takes five arguments"),
				 errhint("Attach it with trail.enable().")));
	org_col = tg->tgargs[0];
	subj_col = tg->tgargs[1];
	soft_col = tg->tgargs[2];
	personal = tg->tgargs[3];
	ignore = tg->tgargs[4];
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	table_name = psprintf("%s.%s", get_namespace_name(RelationGetNamespace(rel)),
						  RelationGetRelationName(rel));

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		trail_append_entry(TRAIL_PLATFORM_LOG, "truncate", table_name, NULL, NULL, NULL);
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trail.capture() must fire AFTER ... FOR EACH ROW")));

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		newt = td->tg_trigtuple;
		action = "insert";
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldt = td->tg_trigtuple;
		newt = td->tg_newtuple;
		action = "update";
	}
	else
	{
		oldt = td->tg_trigtuple;
		action = "delete";
	}
	row = newt ? newt : oldt;

	pkattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	memset(&pk, 0, sizeof pk);
	memset(&oldj, 0, sizeof oldj);
	memset(&newj, 0, sizeof newj);
	memset(&poldj, 0, sizeof poldj);
	memset(&pnewj, 0, sizeof pnewj);
	initStringInfo(&pk.obj);
	initStringInfo(&oldj.obj);
	initStringInfo(&newj.obj);
	initStringInfo(&poldj.obj);
	initStringInfo(&pnewj.obj);
	initStringInfo(&changed);

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);
		Datum		ov = 0,
					nv = 0;
		bool		on = true,
					nn = true,
					is_personal,
					col_changed = false;

		if (att->attisdropped)
			continue;
		is_personal = in_list(personal, name);
		if (oldt)
			ov = heap_getattr(oldt, i + 1, desc, &on);
		if (newt)
			nv = heap_getattr(newt, i + 1, desc, &nn);
		if (bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, pkattrs))
			row_member(&pk, name, newt ? nv : ov, newt ? nn : on, att->atttypid);

		if (oldt && newt)
		{
			col_changed = (on != nn) || (!on && !datumIsEqual(ov, nv, att->attbyval, att->attlen));
			if (!col_changed || in_list(ignore, name))
				continue;
			any_changed = true;
			appendStringInfoString(&changed, changed.len ? "," : "");
			escape_json(&changed, name);
		}
		if (is_personal)
		{
			any_personal = true;
			if (oldt)
				row_member(&poldj, name, ov, on, att->atttypid);
			if (newt)
				row_member(&pnewj, name, nv, nn, att->atttypid);
			continue;
		}
		if (oldt)
			row_member(&oldj, name, ov, on, att->atttypid);
		if (newt)
			row_member(&newj, name, nv, nn, att->atttypid);
	}
	if (oldt && newt)
	{
		char	   *was,
				   *now;

		/* nothing but ignored columns (updated_at, ...) changed: no state change */
		if (!any_changed)
			return PointerGetDatum(NULL);
		was = column_text(oldt, desc, soft_col);
		now = column_text(newt, desc, soft_col);
		if (*soft_col && was == NULL && now != NULL)
			action = "soft_delete";
		else if (*soft_col && was != NULL && now == NULL)
			action = "restore";
	}

	org = column_text(row, desc, org_col);
	subject = column_text(row, desc, subj_col);
	if (subject == NULL)
	{
		/* personal values with nobody to encrypt them for are not recorded */
		any_personal = false;
	}

	initStringInfo(&fields);
	if (pk.any)
	{
		row_close(&pk);
		appendStringInfo(&fields, "\"pk\":%s,", pk.obj.data);
	}
	if (oldt && newt)
		appendStringInfo(&fields, "\"changed\":[%s],", changed.data);
	if (oldt)
	{
		row_close(&oldj);
		appendStringInfo(&fields, "\"old\":%s,", oldj.obj.data);
	}
	if (newt)
	{
		row_close(&newj);
		appendStringInfo(&fields, "\"new\":%s,", newj.obj.data);
	}
	fields.data[--fields.len] = '\0';	/* the last comma */

	initStringInfo(&pers);
	if (any_personal)
	{
		appendStringInfoChar(&pers, '{');
		if (oldt)
		{
			row_close(&poldj);
			appendStringInfo(&pers, "\"old\":%s", poldj.obj.data);
		}
		if (newt)
		{
			row_close(&pnewj);
			appendStringInfo(&pers, "%s\"new\":%s", oldt ? "," : "", pnewj.obj.data);
		}
		appendStringInfoChar(&pers, '}');
	}

	trail_append_entry(org ? org : TRAIL_PLATFORM_LOG, action, table_name, fields.data, subject,
					   any_personal ? pers.data : NULL);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * trail.log(organization_id, action, subject, details, reason, data_subject, personal)
 * ------------------------------------------------------------------------ */

static bool
valid_action(const char *a)
{
	static const char *const reserved[] = {"insert", "update", "delete", "soft_delete", "restore", "truncate"};
	size_t		n = strlen(a),
				i;

	if (n == 0 || n > 63 || !(a[0] >= 'a' && a[0] <= 'z'))
		return false;
	for (i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '_' || a[i] == '.'))
			return false;
	for (i = 0; i < lengthof(reserved); i++)
		if (strcmp(a, reserved[i]) == 0)
			return false;
	return true;
}

PG_FUNCTION_INFO_V1(trail_log);

Datum
trail_log(PG_FUNCTION_ARGS)
{
	char	   *org = PG_ARGISNULL(0) ? NULL : DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	char	   *action,
			   *subject;
	StringInfoData fields;
	char	   *data_subject = NULL;
	char	   *personal = NULL;

	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The action is required.", NULL);
	action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!valid_action(action))
		sl_raise("invalid_argument",
				 psprintf("Action \"%s\" must be 1 to 63 characters a-z, 0-9, '_' or '.', start with a letter and not be a row action.", action),
				 "Name business events like payment.applied or member.role_changed.");
	if (PG_ARGISNULL(2) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) == 0)
		sl_raise("missing_argument", "The subject (what the event is about) is required.", NULL);
	subject = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strlen(subject) > 200)
		sl_raise("invalid_argument", "The subject must be at most 200 bytes.", NULL);

	initStringInfo(&fields);
	appendStringInfoString(&fields, "\"subject\":");
	escape_json(&fields, subject);
	if (!PG_ARGISNULL(3))
	{
		Jsonb	   *details = PG_GETARG_JSONB_P(3);

		if (!JB_ROOT_IS_OBJECT(details) || JB_ROOT_IS_SCALAR(details))
			sl_raise("invalid_argument", "The details must be a JSON object.", NULL);
		appendStringInfo(&fields, ",\"details\":%s",
						 DatumGetCString(DirectFunctionCall1(jsonb_out, PointerGetDatum(details))));
	}
	if (!PG_ARGISNULL(4))
	{
		char	   *reason = text_to_cstring(PG_GETARG_TEXT_PP(4));

		if (strlen(reason) > 2000)
			sl_raise("invalid_argument", "The reason must be at most 2000 bytes.", NULL);
		appendStringInfoString(&fields, ",\"reason\":");
		escape_json(&fields, reason);
	}
	if (!PG_ARGISNULL(5))
		data_subject = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(5)));
	if (!PG_ARGISNULL(6))
	{
		Jsonb	   *p = PG_GETARG_JSONB_P(6);

		if (!JB_ROOT_IS_OBJECT(p) || JB_ROOT_IS_SCALAR(p))
			sl_raise("invalid_argument", "Personal data must be a JSON object.", NULL);
		if (data_subject == NULL)
			sl_raise("missing_argument", "Personal data needs the data subject whose key encrypts it.",
					 "Pass data_subject.");
		personal = DatumGetCString(DirectFunctionCall1(jsonb_out, PointerGetDatum(p)));
	}
	PG_RETURN_INT64(trail_append_entry(org ? org : TRAIL_PLATFORM_LOG, action, NULL, fields.data,
									   data_subject, personal));
}

/* ------------------------------------------------------------------------
 * The append-only guard
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(trail_guard);

Datum
trail_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *mode;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo) || td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trail.guard() must be called as a trigger with one argument")));
	mode = td->tg_trigger->tgargs[0];
	if (strcmp(mode, "internal") == 0 && trail_internal_write > 0 &&
		!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple);
	op = TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) ? "TRUNCATE" :
		TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "UPDATE" : "DELETE";
	sl_raise("append_only",
			 psprintf("%s on trail.%s is not allowed for any role.", op, RelationGetRelationName(td->tg_relation)),
			 NULL);
	PG_RETURN_NULL();
}

/* ------------------------------------------------------------------------
 * trail.canonical_json(text)
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(trail_canonical_json);

Datum
trail_canonical_json(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	size_t		len;
	char	   *c = trail_canonical(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &len);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(c, (int) len));
}

/* ------------------------------------------------------------------------
 * trail.open_entry(trail.entries) -> jsonb, personal part decrypted
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(trail_open_entry);

Datum
trail_open_entry(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	bool		isnull;
	Datum		body = GetAttributeByName(row, "body", &isnull);
	Datum		idd;
	int64		id;
	Jsonb	   *jb;
	JsonbValue *pv;
	StringInfoData extra;
	bytea	   *leaf;

	if (isnull)
		PG_RETURN_NULL();
	idd = GetAttributeByName(row, "id", &isnull);
	id = DatumGetInt64(idd);
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(TextDatumGetCString(body))));
	initStringInfo(&extra);
	appendStringInfoString(&extra, "{\"leaf_hash\":\"");
	leaf = DatumGetByteaPP(GetAttributeByName(row, "leaf_hash", &isnull));
	if (!isnull)
		trail_append_base64(&extra, (const uint8_t *) VARDATA_ANY(leaf), VARSIZE_ANY_EXHDR(leaf));
	appendStringInfoChar(&extra, '"');

	pv = getKeyJsonValueFromContainer(&jb->root, "personal", 8, NULL);
	if (pv && pv->type == jbvBinary)
	{
		JsonbValue *sv = getKeyJsonValueFromContainer(pv->val.binary.data, "subject", 7, NULL);
		JsonbValue *kv = getKeyJsonValueFromContainer(pv->val.binary.data, "key", 3, NULL);
		JsonbValue *bv = getKeyJsonValueFromContainer(pv->val.binary.data, "box", 3, NULL);
		char	   *subject = (sv && sv->type == jbvString) ? pnstrdup(sv->val.string.val, sv->val.string.len) : NULL;
		int64		key_id = (kv && kv->type == jbvNumeric) ?
			DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(kv->val.numeric))) : -1;
		bool		opened = false;

		if (subject && is_uuid_text(subject) && bv && bv->type == jbvString)
		{
			trail_owner_ctx owner;
			Oid			t[2] = {INT8OID, UUIDOID};
			Datum		a[2];
			size_t		blen = bv->val.string.len;
			uint8_t    *box = palloc(blen);
			size_t		got = 0;

			a[0] = Int64GetDatum(key_id);
			a[1] = trail_uuid_datum(subject);
			trail_as_owner(&owner);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "trail: SPI_connect failed");
			if (SPI_execute_with_args("SELECT k.key FROM trail.subject_keys k WHERE k.id OPERATOR(pg_catalog.=) $1 AND k.subject OPERATOR(pg_catalog.=) $2",
									  2, t, a, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1 &&
				sodium_base642bin(box, blen, bv->val.string.val, blen, NULL, &got, NULL,
								  sodium_base64_VARIANT_ORIGINAL) == 0 &&
				got > crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
			{
				bytea	   *k = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
				size_t		clen = got - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
				sl_secret  *opened_values = sl_secret_new(clen + 1);
				uint8_t    *plain = opened_values->data;
				unsigned long long plen;
				StringInfoData ad;

				initStringInfo(&ad);
				make_ad(&ad, subject, id);
				if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL,
															   box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, clen,
															   (const uint8_t *) ad.data, ad.len, box,
															   (const uint8_t *) VARDATA_ANY(k)) == 0)
				{
					plain[plen] = '\0';
					appendStringInfo(&extra, ",\"personal\":{\"subject\":\"%s\",\"key\":" INT64_FORMAT ",\"values\":%s}",
									 subject, key_id, (char *) plain);
					opened = true;
				}
				sl_wipe_bytea(k);
				sl_secret_wipe(opened_values);
			}
			SPI_finish();
			trail_restore_user(&owner);
		}
		if (!opened)
			appendStringInfo(&extra, ",\"personal\":{\"subject\":\"%s\",\"key\":" INT64_FORMAT ",\"forgotten\":true}",
							 subject ? subject : "", key_id);
	}
	appendStringInfoChar(&extra, '}');
	PG_RETURN_DATUM(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(jb),
										DirectFunctionCall1(jsonb_in, CStringGetDatum(extra.data))));
}

/* ------------------------------------------------------------------------
 * trail.forget_subject(subject uuid, reason text)
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(trail_forget_subject);

Datum
trail_forget_subject(PG_FUNCTION_ARGS)
{
	char	   *subject;
	char	   *reason = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	trail_owner_ctx owner;
	Oid			t[2] = {UUIDOID, TEXTOID};
	Datum		a[2];
	char		n[2] = {' ', reason ? ' ' : 'n'};
	uint64		keys = 0;
	int64		entries = 0;
	StringInfoData fields;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The data subject is required.", NULL);
	subject = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	a[0] = PG_GETARG_DATUM(0);
	a[1] = reason ? CStringGetTextDatum(reason) : (Datum) 0;

	trail_as_owner(&owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "trail: SPI_connect failed");
	trail_internal_write++;
	PG_TRY();
	{
		if (SPI_execute_with_args(
								  "WITH gone AS (DELETE FROM trail.subject_keys k WHERE k.subject OPERATOR(pg_catalog.=) $1 RETURNING k.id, k.subject) "
								  "INSERT INTO trail.forgotten_subjects (key_id, subject, reason) "
								  "SELECT g.id, g.subject, $2 FROM gone g",
								  2, t, a, n, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "trail: forgetting the subject key failed");
		keys = SPI_processed;
	}
	PG_FINALLY();
	{
		trail_internal_write--;
	}
	PG_END_TRY();
	if (SPI_execute_with_args("SELECT pg_catalog.count(*) FROM trail.entries e WHERE e.data_subject OPERATOR(pg_catalog.=) $1",
							  1, t, a, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		entries = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	trail_restore_user(&owner);

	initStringInfo(&fields);
	appendStringInfo(&fields, "\"subject\":\"subject:%s\",\"details\":{\"keys_destroyed\":" UINT64_FORMAT
					 ",\"entries\":" INT64_FORMAT "}", subject, keys, entries);
	if (reason)
	{
		appendStringInfoString(&fields, ",\"reason\":");
		escape_json(&fields, reason);
	}
	trail_append_entry(TRAIL_PLATFORM_LOG, "trail.subject_forgotten", NULL, fields.data, NULL, NULL);

	resetStringInfo(&fields);
	appendStringInfo(&fields, "{\"subject\":\"%s\",\"keys_destroyed\":" UINT64_FORMAT ",\"entries\":" INT64_FORMAT "}",
					 subject, keys, entries);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(fields.data)));
}
