/*
 * retention.c - startlijn_retention: the `retention` security label
 * provider, the guard trigger of managed tables and the batched job
 * (retention.run, retention.execute_erasure).
 *
 * The label language itself is parsed by src/common/sl_label.c.
 *
 * Who may write what:
 *  - clients (any role with UPDATE on a managed table) may change active
 *    rows and move them active -> archived; the guard refuses every other
 *    change of a row that is archived, expired or anonymized, every other
 *    state move, and every DELETE of such a row (record_read_only,
 *    invalid_transition);
 *  - only this file's engine code (engine_depth > 0) moves rows further:
 *    retention_expired, anonymized, destroyed. The flag is a static of this
 *    backend, set around our own SPI statements; no GUC or SQL can set it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "common/sl_label.h"
#include "core/sl_core.h"
#include "retention/retention.h"

#define RETENTION_PROVIDER "retention"
/* pg_advisory_lock key of retention.run ("slreten1" as a big-endian int8) */
#define RETENTION_RUN_LOCK 8317148391916531249

static int	engine_depth = 0;

/* ------------------------------------------------------------------------
 * Types accepted for labelled columns
 * ------------------------------------------------------------------------ */

static bool
is_string_type(Oid typ)
{
	char		category;
	bool		preferred;

	if (typ == InvalidOid)
		return false;
	get_type_category_preferred(getBaseType(typ), &category, &preferred);
	return category == TYPCATEGORY_STRING;
}

static bool
is_date_type(Oid typ)
{
	Oid			b = getBaseType(typ);

	return b == DATEOID || b == TIMESTAMPOID || b == TIMESTAMPTZOID;
}

static bool
is_inet_type(Oid typ)
{
	Oid			b = getBaseType(typ);

	return b == INETOID || b == CIDROID;
}

/* is the column declared NOT NULL */
static bool
att_notnull(Oid relid, AttrNumber att)
{
	HeapTuple	tp = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(att));
	bool		nn = false;

	if (HeapTupleIsValid(tp))
	{
		nn = ((Form_pg_attribute) GETSTRUCT(tp))->attnotnull;
		ReleaseSysCache(tp);
	}
	return nn;
}

static bool
is_json_type(Oid typ)
{
	Oid			b = getBaseType(typ);

	return b == JSONBOID;
}

static bool
kind_accepts(sl_pii_kind kind, Oid typ)
{
	if (kind == SL_PII_ATTRIBUTE)
		return typ != InvalidOid;
	if (kind == SL_PII_FREE_TEXT && is_json_type(typ))
		return true;
	if (is_string_type(typ))
		return true;
	if (kind == SL_PII_DATE_OF_BIRTH)
		return is_date_type(typ);
	if (kind == SL_PII_IP)
		return is_inet_type(typ);
	return false;
}

/*
 * Check that the columns a table label names exist with usable types.
 * detail gets a sentence on failure.
 */
static bool
table_label_columns_ok(Oid relid, const sl_table_label *t, char *detail, size_t len)
{
	struct
	{
		const char *key;
		const char *col;
		int			want;		/* 0 uuid, 1 date-ish, 2 any, 3 status, 4 timestamptz */
	}			cols[] = {
		{"organization", t->organization, 0},
		{"subject", t->subject, 0},
		{"anchor", t->anchor, 1},
		{"result", t->result, 2},
		{"status", t->status, 3},
		{"until", t->until, 4},
		{"anonymized_at", t->anonymized_at, 4},
		{"in_use", t->in_use, 4},
		{"personal_cleared", t->personal_cleared, 4},
	};
	int			i;

	for (i = 0; i < (int) lengthof(cols); i++)
	{
		AttrNumber	att;
		Oid			typ;
		bool		good;

		if (cols[i].col[0] == '\0')
			continue;
		att = get_attnum(relid, cols[i].col);
		if (att == InvalidAttrNumber)
		{
			snprintf(detail, len, "Table %s has no column %s (named by %s=).",
					 get_rel_name(relid), cols[i].col, cols[i].key);
			return false;
		}
		typ = get_atttype(relid, att);
		switch (cols[i].want)
		{
			case 0:
				good = getBaseType(typ) == UUIDOID;
				break;
			case 1:
				good = is_date_type(typ);
				break;
			case 3:
				good = is_string_type(typ) || type_is_enum(getBaseType(typ));
				break;
			case 4:
				good = getBaseType(typ) == TIMESTAMPTZOID;
				break;
			default:
				good = true;
		}
		if (!good)
		{
			static const char *const want[] = {
				"uuid", "date, timestamp or timestamptz", "", "text or an enum", "timestamptz"
			};

			snprintf(detail, len, "Column %s (%s=) is of type %s; it must be %s.",
					 cols[i].col, cols[i].key, format_type_be(typ), want[cols[i].want]);
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------------
 * The security label provider
 * ------------------------------------------------------------------------ */

static void
retention_relabel(const ObjectAddress *object, const char *seclabel)
{
	char		err[256];
	char		relkind;

	if (seclabel == NULL)
		return;					/* removing a label is always allowed */
	if (object->classId != RelationRelationId)
		sl_raise("invalid_label", "Retention labels go on tables and their columns only.", NULL);
	relkind = get_rel_relkind(object->objectId);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		sl_raise("invalid_label", "Retention labels go on tables and their columns only.", NULL);

	if (object->objectSubId > 0)
	{
		sl_column_label c;
		Oid			typ;

		if (!sl_parse_column_label(seclabel, strlen(seclabel), &c, err, sizeof(err)))
			sl_raise("invalid_label", err, "Write pii:<kind>, for example pii:email, or pii:name;required.");
		typ = get_atttype(object->objectId, (AttrNumber) object->objectSubId);
		if (!kind_accepts(c.kind, typ))
		{
			snprintf(err, sizeof(err), "A pii:%s column must be text-like%s; %s is %s.",
					 sl_pii_kind_name(c.kind),
					 c.kind == SL_PII_DATE_OF_BIRTH ? " or a date" : c.kind == SL_PII_IP ? " or inet" :
					 c.kind == SL_PII_FREE_TEXT ? " or jsonb" : "",
					 get_attname(object->objectId, (AttrNumber) object->objectSubId, false),
					 format_type_be(typ));
			sl_raise("invalid_label", err, NULL);
		}
		if (c.kind == SL_PII_ATTRIBUTE && att_notnull(object->objectId, (AttrNumber) object->objectSubId))
		{
			snprintf(err, sizeof(err), "A pii:attribute column becomes NULL when it is anonymised; %s is NOT NULL.",
					 get_attname(object->objectId, (AttrNumber) object->objectSubId, false));
			sl_raise("invalid_label", err, "Drop the NOT NULL constraint or choose a kind with a placeholder.");
		}
	}
	else
	{
		sl_table_label t;

		if (!sl_parse_table_label(seclabel, strlen(seclabel), &t, err, sizeof(err)))
			sl_raise("invalid_label", err,
					 "Write classification=...;organization=<column>;anchor=<column>[;subject=<column>]...");
		if (!table_label_columns_ok(object->objectId, &t, err, sizeof(err)))
			sl_raise("invalid_label", err, "Add the column, or name another one in the label.");
	}
}

void
sl_retention_init(void)
{
	register_label_provider(RETENTION_PROVIDER, retention_relabel);
}

/* the table label of relid, parsed; false when the table has none */
static bool
table_label(Oid relid, sl_table_label *t)
{
	ObjectAddress addr;
	char	   *label;
	char		err[256];

	ObjectAddressSet(addr, RelationRelationId, relid);
	label = GetSecurityLabel(&addr, RETENTION_PROVIDER);
	if (label == NULL)
		return false;
	if (!sl_parse_table_label(label, strlen(label), t, err, sizeof(err)))
		sl_raise("table_not_managed", err, "Set a valid label with SECURITY LABEL FOR retention ON TABLE.");
	pfree(label);
	return true;
}

/* C SQL helpers */
PG_FUNCTION_INFO_V1(retention_loaded);
Datum
retention_loaded(PG_FUNCTION_ARGS)
{
	/* calling any C function loads startlijn.so, which registers the provider */
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(retention_letters);
Datum
retention_letters(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	char		buf[16];

	if (n < 1 || n > PG_INT32_MAX)
		sl_raise("invalid_argument", "Pseudonym numbers run from 1 to 2147483647.", NULL);
	sl_pseudonym_letters((long) n, buf, sizeof(buf));
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

/* retention._table_label(tbl) -> the parsed table label as jsonb, NULL without one */
PG_FUNCTION_INFO_V1(retention_table_label);
Datum
retention_table_label(PG_FUNCTION_ARGS)
{
	sl_table_label t;
	StringInfoData s;
	const char *cols[][2] = {
		{"organization", t.organization}, {"anchor", t.anchor}, {"subject", t.subject}, {"result", t.result},
		{"status", t.status}, {"until", t.until}, {"anonymized_at", t.anonymized_at},
	};
	int			i;

	if (!table_label(PG_GETARG_OID(0), &t))
		PG_RETURN_NULL();
	initStringInfo(&s);
	appendStringInfo(&s, "{\"classification\":\"%s\",\"expire\":\"%s\",\"subject_type\":\"%s\"",
					 sl_classification_name(t.classification), sl_expire_name(t.expire),
					 t.company_subject ? "company" : "person");
	for (i = 0; i < (int) lengthof(cols); i++)
	{
		appendStringInfo(&s, ",\"%s\":", cols[i][0]);
		if (cols[i][1][0])
			escape_json(&s, cols[i][1]);
		else
			appendStringInfoString(&s, "null");
	}
	appendStringInfoChar(&s, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}

/* ------------------------------------------------------------------------
 * The guard trigger
 * ------------------------------------------------------------------------ */

typedef enum
{
	ST_ACTIVE, ST_ARCHIVED, ST_EXPIRED, ST_ANONYMIZED, ST_OTHER
} row_state;

static row_state
state_of(const char *s)
{
	if (s == NULL || strcmp(s, "active") == 0)
		return ST_ACTIVE;
	if (strcmp(s, "archived") == 0)
		return ST_ARCHIVED;
	if (strcmp(s, "retention_expired") == 0)
		return ST_EXPIRED;
	if (strcmp(s, "anonymized") == 0)
		return ST_ANONYMIZED;
	return ST_OTHER;
}

static const char *const state_detail[] = {
	"", "The record is archived and read-only.",
	"The record's retention period has passed; it is read-only until it is anonymized or destroyed.",
	"The record is anonymized and read-only.", ""
};

/* attribute number of a column named by the label, or ERROR */
static int
fnumber(TupleDesc td, const char *col)
{
	int			n = SPI_fnumber(td, col);

	if (n <= 0)
		sl_raise("table_not_managed", psprintf("The table has no column %s, which its retention label names.", col),
				 NULL);
	return n;
}

/*
 * The retention period of (organisation, classification, result): the
 * lookup of retention.period() written out, because that function (SQL
 * with SET search_path) is planned again on every call, which made the
 * guard cost ~80 us per row. Operators are schema-qualified: the plan is
 * prepared in the caller's session and runs as the schema owner. NULL
 * when no period applies (the record never expires).
 */
#define PERIOD_FMT \
	"SELECT COALESCE(" \
	" (SELECT o.period FROM retention.overrides o WHERE o.organization_id OPERATOR(pg_catalog.=) %1$s" \
	"    AND o.classification OPERATOR(pg_catalog.=) %2$s AND %3$s IS NOT NULL AND o.result OPERATOR(pg_catalog.=) %3$s)," \
	" (SELECT o.period FROM retention.overrides o WHERE o.organization_id OPERATOR(pg_catalog.=) %1$s" \
	"    AND o.classification OPERATOR(pg_catalog.=) %2$s AND o.result OPERATOR(pg_catalog.=) '')," \
	" (SELECT p.period FROM retention.periods p WHERE p.profile OPERATOR(pg_catalog.=) pr.id" \
	"    AND p.classification OPERATOR(pg_catalog.=) %2$s AND %3$s IS NOT NULL AND p.result OPERATOR(pg_catalog.=) %3$s)," \
	" (SELECT p.period FROM retention.periods p WHERE p.profile OPERATOR(pg_catalog.=) pr.id" \
	"    AND p.classification OPERATOR(pg_catalog.=) %2$s AND p.result OPERATOR(pg_catalog.=) ''))" \
	" FROM (SELECT COALESCE((SELECT s.profile FROM retention.settings s WHERE s.organization_id OPERATOR(pg_catalog.=) %1$s)," \
	"                       (SELECT c.default_profile FROM retention.config c), 'vng_2020') AS id) pr"

/* the period query for an organisation, classification and result (SQL expressions) */
static char *
period_sql(const char *org, const char *cls, const char *result)
{
	return psprintf(PERIOD_FMT, org, cls, result);
}

#define GUARD_CACHED_PERIODS 16
#define GUARD_RESULT_MAX 64

/*
 * Per statement (the trigger's FmgrInfo lives as long as the query): the
 * table's parsed label and the periods already looked up, so a statement
 * writing many rows reads the label once and asks for each organisation's
 * period once. A label or a period changed by another transaction during
 * the statement is seen by the next statement, as with any snapshot.
 */
typedef struct guard_period
{
	pg_uuid_t	org;
	bool		has_result;
	char		result[GUARD_RESULT_MAX + 1];
	bool		isnull;
	Interval	period;
} guard_period;

typedef struct guard_cache
{
	Oid			relid;
	bool		labelled;
	sl_table_label t;
	int			nperiods;
	guard_period periods[GUARD_CACHED_PERIODS];
} guard_cache;

/* the period lookup, prepared once per backend (its text is PERIOD_FMT with $1, $2, $3) */
static sl_query period_queries[1] = {
	{NULL, 3, {UUIDOID, TEXTOID, TEXTOID}, SL_PLAN_CHOOSE, true},
};
static SPIPlanPtr period_plans[1];
static const sl_query_table period_table = {"retention", period_queries, 1, period_plans};

typedef struct PeriodCall
{
	Datum		org;
	bool		org_null;
	const char *cls;
	const char *res;
	Interval   *out;
	bool		found;
} PeriodCall;

static Datum
period_body(FunctionCallInfo fcinfo, sl_call *call)
{
	PeriodCall *pc = (PeriodCall *) call->arg;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull = true;

	if (period_queries[0].sql == NULL)
		period_queries[0].sql = MemoryContextStrdup(TopMemoryContext, period_sql("$1", "$2", "$3"));
	args[0] = pc->org;
	if (pc->org_null)
		nulls[0] = 'n';
	args[1] = CStringGetTextDatum(pc->cls);
	if (pc->res)
		args[2] = CStringGetTextDatum(pc->res);
	else
		nulls[2] = 'n';
	if (sl_exec(&period_table, 0, args, nulls, 1) != SPI_OK_SELECT)
		elog(ERROR, "retention: period lookup failed");
	if (SPI_processed == 1)
	{
		Datum		d = sl_col(0, 1, &isnull);

		if (!isnull)
			*pc->out = *DatumGetIntervalP(d);
	}
	pc->found = !isnull;
	return (Datum) 0;
}

/*
 * One period lookup, as the owner of schema retention: the guard, the
 * job's statements (inline, through period_sql) and retention.period() all
 * use this query, so the rule exists once. Returns false when no period
 * applies.
 */
static bool
period_lookup(Datum org, bool org_null, const char *cls, const char *res, Interval *out)
{
	PeriodCall	pc = {org, org_null, cls, res, out, false};
	sl_call		call = {.schema = "retention", .extension = "startlijn_retention", .arg = &pc};

	(void) sl_as_owner(&call, period_body, NULL);
	return pc.found;
}

/* the period for the row's organisation and result, from the statement's cache or one lookup */
static bool
lookup_period(guard_cache *gc, Datum org, const char *res, Interval *out)
{
	pg_uuid_t  *u = DatumGetUUIDP(org);
	bool		found;
	int			i;

	for (i = 0; i < gc->nperiods; i++)
	{
		guard_period *g = &gc->periods[i];

		if (memcmp(&g->org, u, sizeof(pg_uuid_t)) == 0 && g->has_result == (res != NULL) &&
			(res == NULL || strcmp(g->result, res) == 0))
		{
			*out = g->period;
			return !g->isnull;
		}
	}
	found = period_lookup(org, false, sl_classification_name(gc->t.classification), res, out);
	if (gc->nperiods < GUARD_CACHED_PERIODS && (res == NULL || strlen(res) <= GUARD_RESULT_MAX))
	{
		guard_period *g = &gc->periods[gc->nperiods++];

		memcpy(&g->org, u, sizeof(pg_uuid_t));
		g->has_result = res != NULL;
		if (res)
			strlcpy(g->result, res, sizeof(g->result));
		g->isnull = !found;
		if (found)
			g->period = *out;
	}
	return found;
}

/*
 * retention.period(organization_id, classification, result) -> interval:
 * the organisation's override for the classification and result, its
 * override for the classification, the profile's period for the result,
 * the profile's period for the classification; NULL when none applies.
 */
PG_FUNCTION_INFO_V1(retention_period);
Datum
retention_period(PG_FUNCTION_ARGS)
{
	Interval	period;
	Interval   *out;
	bool		found;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	/* no organisation: the platform defaults */
	found = period_lookup(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0), PG_ARGISNULL(0),
						  text_to_cstring(PG_GETARG_TEXT_PP(1)),
						  PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)), &period);
	if (!found)
		PG_RETURN_NULL();
	out = (Interval *) palloc(sizeof(Interval));
	*out = period;
	PG_RETURN_INTERVAL_P(out);
}

/*
 * anchor + period as timestamptz, with the functions SQL's
 * (anchor + period)::timestamptz resolves to; isnull when unknown
 */
static Datum
compute_until(guard_cache *gc, TupleDesc td, HeapTuple tup, bool *isnull)
{
	const sl_table_label *t = &gc->t;
	int			a = fnumber(td, t->anchor);
	int			o = fnumber(td, t->organization);
	Oid			atyp = getBaseType(SPI_gettypeid(td, a));
	Datum		anchor,
				org;
	char	   *res = NULL;
	bool		n;
	Interval	period;

	*isnull = true;
	anchor = SPI_getbinval(tup, td, a, &n);
	if (n)
		return (Datum) 0;
	org = SPI_getbinval(tup, td, o, &n);
	if (n)
		return (Datum) 0;
	if (t->result[0])
		res = SPI_getvalue(tup, td, fnumber(td, t->result));
	if (!lookup_period(gc, org, res, &period))
		return (Datum) 0;
	*isnull = false;
	if (atyp == DATEOID)
		return DirectFunctionCall1(timestamp_timestamptz,
								   DirectFunctionCall2(date_pl_interval, anchor, IntervalPGetDatum(&period)));
	if (atyp == TIMESTAMPOID)
		return DirectFunctionCall1(timestamp_timestamptz,
								   DirectFunctionCall2(timestamp_pl_interval, anchor, IntervalPGetDatum(&period)));
	return DirectFunctionCall2(timestamptz_pl_interval, anchor, IntervalPGetDatum(&period));
}

static bool
datum_changed(HeapTuple a, HeapTuple b, TupleDesc td, int att)
{
	bool		na,
				nb;
	Datum		da = SPI_getbinval(a, td, att, &na);
	Datum		db = SPI_getbinval(b, td, att, &nb);
	Form_pg_attribute f = TupleDescAttr(td, att - 1);

	if (na || nb)
		return na != nb;
	return !datumIsEqual(da, db, f->attbyval, f->attlen);
}

PG_FUNCTION_INFO_V1(retention_guard);
Datum
retention_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const sl_table_label *t;
	HeapTuple	newtup = NULL;
	HeapTuple	oldtup = NULL;
	int			st,
				un,
				an;
	row_state	olds = ST_ACTIVE,
				news = ST_ACTIVE;
	bool		recompute = false;
	guard_cache *gc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "retention.guard() must be a BEFORE ... FOR EACH ROW trigger");

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newtup = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}
	else
		oldtup = td->tg_trigtuple;

	if (engine_depth > 0)
		return PointerGetDatum(newtup ? newtup : oldtup);
	gc = (guard_cache *) fcinfo->flinfo->fn_extra;
	if (gc == NULL || gc->relid != RelationGetRelid(td->tg_relation))
	{
		gc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(guard_cache));
		gc->relid = RelationGetRelid(td->tg_relation);
		gc->labelled = table_label(gc->relid, &gc->t);
		fcinfo->flinfo->fn_extra = gc;
	}
	if (!gc->labelled)
		return PointerGetDatum(newtup ? newtup : oldtup);
	t = &gc->t;

	desc = RelationGetDescr(td->tg_relation);
	st = fnumber(desc, t->status);
	un = fnumber(desc, t->until);
	an = fnumber(desc, t->anonymized_at);
	if (oldtup)
		olds = state_of(SPI_getvalue(oldtup, desc, st));
	if (newtup)
		news = state_of(SPI_getvalue(newtup, desc, st));

	if (oldtup && olds != ST_ACTIVE)
		sl_raise("record_read_only", state_detail[olds],
				 olds == ST_ARCHIVED ? "Archived records stay as they are until the retention job expires them." : NULL);
	if (newtup == NULL)
		return PointerGetDatum(oldtup);	/* DELETE of an active row */

	if (news != ST_ACTIVE && news != ST_ARCHIVED)
		sl_raise("invalid_transition",
				 "Records move from active to archived by hand; expiry, anonymization and destruction are done by retention.run().",
				 NULL);
	if (oldtup ? datum_changed(oldtup, newtup, desc, an) : !heap_attisnull(newtup, an, desc))
		sl_raise("invalid_transition", "Only retention.run() marks a record anonymized.", NULL);

	/* retention_until is computed here, never taken from the client */
	if (oldtup == NULL)
		recompute = true;
	else
	{
		recompute = datum_changed(oldtup, newtup, desc, un) ||
			datum_changed(oldtup, newtup, desc, fnumber(desc, t->anchor)) ||
			datum_changed(oldtup, newtup, desc, fnumber(desc, t->organization)) ||
			(t->result[0] && datum_changed(oldtup, newtup, desc, fnumber(desc, t->result)));
	}
	if (recompute)
	{
		bool		isnull;
		Datum		until;
		int			cols[1] = {un};
		bool		nulls[1];

		until = compute_until(gc, desc, newtup, &isnull);
		nulls[0] = isnull;
		newtup = heap_modify_tuple_by_cols(newtup, desc, 1, cols, &until, nulls);
	}
	return PointerGetDatum(newtup);
}

/* ------------------------------------------------------------------------
 * Managed tables as the engine sees them
 * ------------------------------------------------------------------------ */

typedef struct pii_col
{
	char	   *name;			/* quoted */
	sl_column_label lab;
	bool		notnull;
	char	   *type;			/* format_type_with_typemod */
	bool		datelike;
	bool		inetlike;
	bool		jsonlike;
} pii_col;

typedef struct managed
{
	Oid			relid;
	char	   *qname;			/* quoted schema.table */
	sl_table_label lab;
	char	   *pk;				/* quoted record key (RECORD_KEY_INDEX), or NULL */
	char	   *pktype;			/* its type */
	int			npii;
	pii_col    *pii;
	char	   *fk_guard;		/* " AND NOT EXISTS (...)" for each referencing key, or "" */
	bool		has_guard;
	char	   *problem;		/* why the engine skips it, or NULL */
	/* predicates on alias t (when_act also needs grace_join's s and cfg) */
	char	   *status;			/* the state as text, NULL read as active */
	char	   *until_expr;		/* anchor + period */
	char	   *grace_join;
	char	   *when_compute;
	char	   *when_expire;
	char	   *when_act;
	char	   *not_in_use;		/* " AND NOT (in use)" or "" */
	/* statements */
	char	   *sql_compute;
	char	   *sql_expire;
	char	   *sql_act;
	char	   *sql_clear;		/* personal_cleared: the personal period passed */
	char	   *when_clear;
} managed;

static char *
q(const char *ident)
{
	return (char *) quote_identifier(ident);
}

/* t.<col> */
static char *
tcol(const char *ident)
{
	return psprintf("t.%s", q(ident));
}

static const char *
class_word(const managed *m, bool company, bool capital)
{
	if (company || m->lab.company_subject)
		return capital ? "Bedrijf" : "bedrijf";
	return capital ? "Persoon" : "persoon";
}

/* the replacement expression (text or date) of one column under replace */
static char *
replace_expr(const managed *m, const pii_col *c)
{
	const char *L = "retention.letters(pp.ps)";
	const char *Lc = "retention.letters(pc.ps)";

	switch (c->lab.kind)
	{
		case SL_PII_NAME:
			return psprintf("'%s ' || %s", class_word(m, false, true), L);
		case SL_PII_COMPANY:
			return psprintf("'Bedrijf ' || %s", Lc);
		case SL_PII_EMAIL:
			return psprintf("'%s-' || pg_catalog.lower(%s) || '@anoniem.invalid'", class_word(m, false, false), L);
		case SL_PII_PHONE:
			return pstrdup("'+31' || pg_catalog.lpad(pp.ps::text, 9, '0')");
		case SL_PII_ADDRESS:
			return psprintf("'Adres ' || %s", L);
		case SL_PII_IDENTIFIER:
			return psprintf("'ID-' || %s", L);
		case SL_PII_FREE_TEXT:
			return pstrdup(c->jsonlike ? "'{}'" : "'[verwijderd]'");
		case SL_PII_DATE_OF_BIRTH:
			if (c->notnull)
				return c->datelike ? psprintf("pg_catalog.date_trunc('year', t.%s)", c->name) : pstrdup("'[verwijderd]'");
			return pstrdup("NULL");
		case SL_PII_IP:
			return pstrdup(c->notnull ? "'0.0.0.0'" : "NULL");
		default:
			return pstrdup("NULL");
	}
}

/* ... under remove */
static char *
remove_expr(const managed *m, const pii_col *c)
{
	switch (c->lab.kind)
	{
		case SL_PII_FREE_TEXT:
			return pstrdup(c->jsonlike ? "'{}'" : "'[verwijderd]'");
		case SL_PII_NAME:
		case SL_PII_COMPANY:
		case SL_PII_ADDRESS:
			return pstrdup("'[verwijderd]'");
		case SL_PII_IDENTIFIER:
			return pstrdup(c->notnull ? "'[verwijderd]'" : "NULL");
		default:
			/* structured values: NULL where allowed, else a placeholder of the right shape */
			return c->notnull ? replace_expr(m, c) : pstrdup("NULL");
	}
}

/* does any column under remove still need a pseudonym number? */
static bool
remove_needs_pseudonym(const managed *m)
{
	int			i;

	for (i = 0; i < m->npii; i++)
	{
		sl_pii_kind k = m->pii[i].lab.kind;

		if (m->pii[i].notnull && (k == SL_PII_EMAIL || k == SL_PII_PHONE))
			return true;
	}
	return false;
}

static bool
uses_company(const managed *m)
{
	int			i;

	for (i = 0; i < m->npii; i++)
		if (m->pii[i].lab.kind == SL_PII_COMPANY)
			return true;
	return false;
}

/*
 * "col = CASE ... END, ..." for the personal columns; with keep_required,
 * columns labelled required are left out.
 */
static char *
pii_set_list(const managed *m, bool keep_required)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < m->npii; i++)
	{
		const pii_col *c = &m->pii[i];

		if (keep_required && c->lab.required)
			continue;
		/* lint-sql: an item of an UPDATE ... SET list, "col = value" */
		appendStringInfo(&s, "%s = CASE WHEN t.%s IS NULL THEN NULL ELSE CAST((CASE WHEN c.strat OPERATOR(pg_catalog.=) 'remove' "
						 "THEN %s ELSE %s END) AS %s) END, ",
						 c->name, c->name, remove_expr(m, c), replace_expr(m, c), c->type);
	}
	return s.data;
}

/*
 * Pseudonym numbers for a whole batch in one statement. For each class
 * (person pp, company pc) the CTE chain takes the batch's distinct
 * (organisation, subject) pairs, reads the numbers already given, reserves
 * one block of numbers per organisation on its counter row for the rest
 * (one row lock, not one per subject) and records them. A pair whose insert
 * conflicts (a concurrent execute_erasure numbered it first) falls back to
 * retention._pseudonym, which reads the winner's number. The batch CTE
 * (`src`) must have the columns o, who and strat.
 */
static char *
pseudonym_chain(const char *src, const char *cls, const char *x, const char *needed)
{
	return psprintf(", w%s AS (SELECT DISTINCT b.o, b.who FROM %s b WHERE %s), "
					"e%s AS (SELECT w.o, w.who, p.seq FROM w%s w LEFT JOIN retention.pseudonyms p "
					"  ON p.organization_id OPERATOR(pg_catalog.=) w.o AND p.class OPERATOR(pg_catalog.=) '%s' AND p.subject OPERATOR(pg_catalog.=) w.who), "
					"n%s AS (SELECT e.o, e.who, pg_catalog.row_number() OVER (PARTITION BY e.o ORDER BY e.who) AS rn, "
					"  pg_catalog.count(*) OVER (PARTITION BY e.o) AS cnt FROM e%s e WHERE e.seq IS NULL), "
					"r%s AS (INSERT INTO retention.pseudonym_counters AS x (organization_id, class, last) "
					"  SELECT n.o, '%s', pg_catalog.max(n.cnt) FROM n%s n GROUP BY n.o "
					"  ON CONFLICT ON CONSTRAINT pseudonym_counters_pkey DO UPDATE SET last = x.last OPERATOR(pg_catalog.+) EXCLUDED.last "
					"  RETURNING x.organization_id AS o, x.last), "
					"i%s AS (INSERT INTO retention.pseudonyms (organization_id, class, subject, seq) "
					"  SELECT n.o, '%s', n.who, (r.last OPERATOR(pg_catalog.-) n.cnt OPERATOR(pg_catalog.+) n.rn)::integer FROM n%s n JOIN r%s r ON r.o OPERATOR(pg_catalog.=) n.o "
					"  ON CONFLICT DO NOTHING RETURNING organization_id AS o, subject AS who, seq), "
					"%s AS (SELECT e.o, e.who, COALESCE(e.seq, i.seq, retention._pseudonym(e.o, e.who, '%s', NULL)) AS ps "
					"  FROM e%s e LEFT JOIN i%s i ON i.o OPERATOR(pg_catalog.=) e.o AND i.who OPERATOR(pg_catalog.=) e.who)",
					x, src, needed,
					x, x, cls,
					x, x,
					x, cls, x,
					x, cls, x, x,
					x, cls, x, x);
}

/* the CTEs numbering the subjects of the batch `src` (pp, and pc when a column is a company) */
static char *
pseudonym_ctes(const managed *m, const char *src)
{
	const char *cls = m->lab.company_subject ? "company" : "person";
	char	   *s;

	s = pseudonym_chain(src, cls, "pp", remove_needs_pseudonym(m) ? "true" : "b.strat <> 'remove'");
	/* a company subject already has its company number in pp */
	if (uses_company(m) && m->lab.company_subject)
		s = psprintf("%s, pc AS (SELECT pp.o, pp.who, pp.ps FROM pp)", s);
	else if (uses_company(m))
		s = psprintf("%s%s", s, pseudonym_chain(src, "company", "pc", "b.strat <> 'remove'"));
	return s;
}

/* the joins that give each row of c its numbers (pp.ps, pc.ps) */
static char *
pseudonym_joins(const managed *m)
{
	char	   *s = pstrdup(" LEFT JOIN pp ON pp.o OPERATOR(pg_catalog.=) c.o AND pp.who OPERATOR(pg_catalog.=) c.who");

	if (uses_company(m))
		s = psprintf("%s LEFT JOIN pc ON pc.o OPERATOR(pg_catalog.=) c.o AND pc.who OPERATOR(pg_catalog.=) c.who", s);
	return s;
}

/* the key a row is numbered under: its subject, or a digest of its first personal value */
static char *
who_expr(const char *subject, const char *fallback)
{
	return psprintf("COALESCE(%s, pg_catalog.md5(pg_catalog.lower(pg_catalog.btrim(COALESCE(%s, ''))))::uuid)",
					subject, fallback);
}

static char *
hold_guard(const managed *m)
{
	return psprintf("NOT EXISTS (SELECT 1 FROM retention.holds h WHERE h.lifted_at IS NULL "
					"AND h.organization_id OPERATOR(pg_catalog.=) t.%s AND (h.scope OPERATOR(pg_catalog.=) 'organization'%s%s))",
					q(m->lab.organization),
					m->lab.subject[0] ? psprintf(" OR (h.scope OPERATOR(pg_catalog.=) 'subject' AND h.subject OPERATOR(pg_catalog.=) t.%s)", q(m->lab.subject)) : "",
					m->pk ? psprintf(" OR (h.scope OPERATOR(pg_catalog.=) 'record' AND h.relid OPERATOR(pg_catalog.=) %u::oid AND h.record OPERATOR(pg_catalog.=) t.%s::text)",
									 m->relid, m->pk) : "");
}

static char *
subject_expr(const managed *m)
{
	return m->lab.subject[0] ? tcol(m->lab.subject) : pstrdup("NULL::uuid");
}

static char *
pk_expr(const managed *m)
{
	return m->pk ? psprintf("t.%s::text", m->pk) : pstrdup("t.ctid::text");
}

/* the key a row without a subject is pseudonymised under: its first personal value */
static char *
fallback_expr(const managed *m)
{
	if (m->npii > 0)
		return psprintf("COALESCE(t.%s::text, %s)", m->pii[0].name, pk_expr(m));
	return pk_expr(m);
}

/* SELECT list tail shared by the statements: per organisation, count and trail entry */
static char *
log_tail(const char *cte, const char *action, const char *reason)
{
	return psprintf(", g AS (SELECT x.o, pg_catalog.count(*) AS n, pg_catalog.jsonb_agg(x.k) AS ks FROM %s x GROUP BY x.o) "
					"SELECT g.n, trail.log(g.o, '%s', $3::text, "
					"pg_catalog.jsonb_build_object('table', $3::text, 'records', g.ks, 'run', $4::bigint), '%s') FROM g",
					cte, action, reason);
}

/* subjects of changed rows, for forget_finished_subjects */
#define PENDING_CTE "ps AS (INSERT INTO retention.pending_subjects (subject) SELECT DISTINCT x.s FROM u x " \
	"WHERE x.s IS NOT NULL ON CONFLICT DO NOTHING)"

/*
 * The conditions of each phase, built once per table: the statements, the
 * dry run's counts and _recompute use the same text, so a dry run counts
 * exactly what a run would do.
 */
static void
build_predicates(managed *m)
{
	const sl_table_label *l = &m->lab;

	m->status = psprintf("COALESCE(t.%s::text, 'active')", q(l->status));
	/* the period query inline (retention.period() is planned again on every call) */
	m->until_expr = psprintf("(t.%s OPERATOR(pg_catalog.+) (%s))::pg_catalog.timestamptz",
							 q(l->anchor),
							 period_sql(tcol(l->organization),
										psprintf("'%s'::text", sl_classification_name(l->classification)),
										l->result[0] ? psprintf("t.%s::text", q(l->result)) : "NULL::text"));
	m->grace_join = psprintf(" LEFT JOIN retention.settings s ON s.organization_id OPERATOR(pg_catalog.=) t.%s "
							 "LEFT JOIN retention.config cfg ON true", q(l->organization));
	m->when_compute = psprintf("t.%s IS NULL AND t.%s IS NOT NULL AND %s IN ('active', 'archived')",
							   q(l->until), q(l->anchor), m->status);
	m->not_in_use = l->in_use[0]
		? psprintf(" AND NOT COALESCE(t.%s OPERATOR(pg_catalog.>) pg_catalog.now(), false)", q(l->in_use))
		: "";
	m->when_expire = psprintf("%s IN ('active', 'archived') AND t.%s OPERATOR(pg_catalog.<=) pg_catalog.now() AND %s%s",
							  m->status, q(l->until), hold_guard(m), m->not_in_use);
	/* personal_cleared: anchor + the personal period (same result) has passed */
	m->when_clear = l->personal_cleared[0]
		? psprintf("%s IN ('active', 'archived') AND t.%s IS NULL AND t.%s IS NOT NULL AND "
				   "(t.%s OPERATOR(pg_catalog.+) (%s))::pg_catalog.timestamptz OPERATOR(pg_catalog.<=) pg_catalog.now() AND %s%s",
				   m->status, q(l->personal_cleared), q(l->anchor), q(l->anchor),
				   period_sql(tcol(l->organization), "'personal'::text",
							  l->result[0] ? psprintf("t.%s::text", q(l->result)) : "NULL::text"),
				   hold_guard(m), m->not_in_use)
		: NULL;
	m->when_act = psprintf("%s OPERATOR(pg_catalog.=) 'retention_expired' AND t.%s OPERATOR(pg_catalog.<=) (pg_catalog.now() OPERATOR(pg_catalog.-) "
						   "COALESCE(s.grace, cfg.grace, interval '30 days')) AND %s%s",
						   m->status, q(l->until), hold_guard(m),
						   l->expire == SL_EXPIRE_DESTROY ? m->fk_guard : "");
}

static void
build_statements(managed *m)
{
	const sl_table_label *l = &m->lab;
	/* a slice of the primary key: ($1, $2], NULL = open end */
	/* lint-sql: the comparison operators of the table's primary key type, which need not be in pg_catalog */
	char	   *range = psprintf("($1::text IS NULL OR t.%s > $1::%s) AND ($2::text IS NULL OR t.%s <= $2::%s)",
								 m->pk, m->pktype, m->pk, m->pktype);

	build_predicates(m);
	m->sql_compute = psprintf(
							  "WITH c AS (SELECT t.ctid AS rid FROM %s t WHERE %s AND %s FOR UPDATE OF t SKIP LOCKED) "
							  "UPDATE %s t SET %s = %s FROM c WHERE t.ctid OPERATOR(pg_catalog.=) c.rid",
							  m->qname, range, m->when_compute, m->qname, q(l->until), m->until_expr);

	m->sql_expire = psprintf(
							 "WITH c AS (SELECT t.ctid AS rid FROM %s t WHERE %s AND %s FOR UPDATE OF t SKIP LOCKED), "
							 "u AS (UPDATE %s t SET %s = 'retention_expired' FROM c WHERE t.ctid OPERATOR(pg_catalog.=) c.rid "
							 "RETURNING t.%s AS o, %s AS k), "
							 "nt AS (INSERT INTO retention.notifications (organization_id, relid, kind, record_count, run_id) "
							 "SELECT x.o, %u::oid, 'retention_expired', pg_catalog.count(*), $4::bigint FROM u x "
							 "LEFT JOIN retention.settings s ON s.organization_id OPERATOR(pg_catalog.=) x.o "
							 "WHERE COALESCE(s.notify, true) GROUP BY x.o)%s",
							 m->qname, range, m->when_expire,
							 m->qname, q(l->status), q(l->organization), pk_expr(m),
							 m->relid, log_tail("u", "retention.expired", "retention period passed"));

	if (m->when_clear && m->npii > 0)
		m->sql_clear = psprintf(
								"WITH c AS (SELECT t.ctid AS rid, t.%s AS o, %s AS s, %s AS who, COALESCE(s.strategy, cfg.strategy, 'replace') AS strat "
								"FROM %s t%s WHERE %s AND %s FOR UPDATE OF t SKIP LOCKED)%s, "
								"u AS (UPDATE %s t SET %s%s = pg_catalog.now() FROM c%s WHERE t.ctid OPERATOR(pg_catalog.=) c.rid "
								"RETURNING c.o AS o, %s AS k)%s",
								q(l->organization), subject_expr(m), who_expr(subject_expr(m), fallback_expr(m)),
								m->qname, m->grace_join, range, m->when_clear, pseudonym_ctes(m, "c"),
								m->qname, pii_set_list(m, true), q(l->personal_cleared), pseudonym_joins(m),
								pk_expr(m), log_tail("u", "retention.personal_cleared", "personal period passed"));
	if (l->expire == SL_EXPIRE_KEEP)
		m->sql_act = NULL;
	else if (l->expire == SL_EXPIRE_DESTROY)
		m->sql_act = psprintf(
							  "WITH c AS (SELECT t.ctid AS rid FROM %s t%s WHERE %s AND %s FOR UPDATE OF t SKIP LOCKED), "
							  "u AS (DELETE FROM %s t USING c WHERE t.ctid OPERATOR(pg_catalog.=) c.rid RETURNING t.%s AS o, %s AS k, %s AS s), " PENDING_CTE "%s",
							  m->qname, m->grace_join, range, m->when_act,
							  m->qname, q(l->organization), pk_expr(m), subject_expr(m),
							  log_tail("u", "retention.destroyed", "retention period passed"));
	else
		m->sql_act = psprintf(
							  "WITH c AS (SELECT t.ctid AS rid, t.%s AS o, %s AS s, %s AS who, COALESCE(s.strategy, cfg.strategy, 'replace') AS strat "
							  "FROM %s t%s WHERE %s AND %s FOR UPDATE OF t SKIP LOCKED)%s, "
							  "u AS (UPDATE %s t SET %s%s = 'anonymized', %s = pg_catalog.now() FROM c%s WHERE t.ctid OPERATOR(pg_catalog.=) c.rid "
							  "RETURNING c.o AS o, %s AS k, c.s AS s), %s%s",
							  q(l->organization), subject_expr(m), who_expr(subject_expr(m), fallback_expr(m)),
							  m->qname, m->grace_join, range, m->when_act, pseudonym_ctes(m, "c"),
							  m->qname, pii_set_list(m, false), q(l->status), q(l->anonymized_at), pseudonym_joins(m),
							  pk_expr(m), PENDING_CTE, log_tail("u", "retention.anonymized", "retention period passed"));
}

/*
 * Every table with a retention table label, with its personal columns,
 * primary key, referencing foreign keys and guard trigger; allocated in
 * the current memory context.
 */
/*
 * The primary key that names a record: a single column, or that column
 * followed by the tenant column organization_id (the composite keys of a
 * schema distributed by organisation, docs/scaling.md); its first column
 * names the record either way.
 */
#define RECORD_KEY_INDEX \
	"i.indisprimary AND (i.indnatts OPERATOR(pg_catalog.=) 1 OR (i.indnatts OPERATOR(pg_catalog.=) 2 AND EXISTS (" \
	"  SELECT 1 FROM pg_catalog.pg_attribute o WHERE o.attrelid OPERATOR(pg_catalog.=) i.indrelid" \
	"     AND o.attnum OPERATOR(pg_catalog.=) i.indkey[1] AND o.attname OPERATOR(pg_catalog.=) 'organization_id')))"

static List *
load_managed(void)
{
	List	   *out = NIL;
	ListCell   *lc;
	uint64		i,
				n;
	SPITupleTable *tt;

	if (SPI_execute("SELECT l.objoid, l.label, "
					"  pg_catalog.format('%I.%I', ns.nspname, c.relname), "
					"  (SELECT pg_catalog.quote_ident(a.attname::text) FROM pg_catalog.pg_index i "
					"     JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0] "
					"    WHERE i.indrelid OPERATOR(pg_catalog.=) l.objoid AND " RECORD_KEY_INDEX "), "
					"  COALESCE((SELECT pg_catalog.string_agg(pg_catalog.format(' AND NOT EXISTS (SELECT 1 FROM %s x WHERE %s)', "
					"       f.conrelid::pg_catalog.regclass, "
					"       (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I = t.%I', ca.attname, pa.attname), ' AND ') "
					"          FROM ROWS FROM (pg_catalog.unnest(f.conkey), pg_catalog.unnest(f.confkey)) k(ck, pk) "
					"          JOIN pg_catalog.pg_attribute ca ON ca.attrelid OPERATOR(pg_catalog.=) f.conrelid AND ca.attnum OPERATOR(pg_catalog.=) k.ck "
					"          JOIN pg_catalog.pg_attribute pa ON pa.attrelid OPERATOR(pg_catalog.=) f.confrelid AND pa.attnum OPERATOR(pg_catalog.=) k.pk)), '') "
					"     FROM pg_catalog.pg_constraint f WHERE f.contype OPERATOR(pg_catalog.=) 'f' AND f.confrelid OPERATOR(pg_catalog.=) l.objoid), ''), "
					"  EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid OPERATOR(pg_catalog.=) l.objoid AND NOT g.tgisinternal "
					"          AND g.tgfoid OPERATOR(pg_catalog.=) 'retention.guard()'::pg_catalog.regprocedure AND g.tgenabled OPERATOR(pg_catalog.<>) 'D'), "
					"  (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_index i "
					"     JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0] "
					"    WHERE i.indrelid OPERATOR(pg_catalog.=) l.objoid AND " RECORD_KEY_INDEX ") "
					"FROM pg_catalog.pg_seclabel l "
					"JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.objoid "
					"JOIN pg_catalog.pg_namespace ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace "
					"WHERE l.provider OPERATOR(pg_catalog.=) 'retention' AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
					"  AND l.objsubid OPERATOR(pg_catalog.=) 0 AND c.relkind OPERATOR(pg_catalog.=) 'r' "
					"ORDER BY 3", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "retention: listing managed tables failed");
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = tt->vals[i];
		managed    *m = palloc0(sizeof(managed));
		bool		isnull;
		char	   *label = SPI_getvalue(tup, tt->tupdesc, 2);
		char		err[256];

		m->relid = DatumGetObjectId(SPI_getbinval(tup, tt->tupdesc, 1, &isnull));
		m->qname = pstrdup(SPI_getvalue(tup, tt->tupdesc, 3));
		m->pk = SPI_getvalue(tup, tt->tupdesc, 4);
		m->pk = m->pk ? pstrdup(m->pk) : NULL;
		m->pktype = SPI_getvalue(tup, tt->tupdesc, 7);
		m->pktype = m->pktype ? pstrdup(m->pktype) : NULL;
		m->fk_guard = pstrdup(SPI_getvalue(tup, tt->tupdesc, 5));
		m->has_guard = DatumGetBool(SPI_getbinval(tup, tt->tupdesc, 6, &isnull));
		if (!sl_parse_table_label(label, strlen(label), &m->lab, err, sizeof(err)))
			m->problem = pstrdup(err);
		else if (!table_label_columns_ok(m->relid, &m->lab, err, sizeof(err)))
			m->problem = pstrdup(err);
		else if (m->pk == NULL)
			m->problem = pstrdup("The table needs a single-column primary key (or one column and organization_id); the job walks it in key order.");
		else if (!m->has_guard)
			m->problem = pstrdup("The table has no retention.guard() trigger; call retention.manage() for it.");
		out = lappend(out, m);
	}

	/* personal columns */
	foreach(lc, out)
	{
		managed    *m = (managed *) lfirst(lc);
		Oid			argt[1] = {OIDOID};
		Datum		argv[1] = {ObjectIdGetDatum(m->relid)};
		SPITupleTable *ct;

		if (m->problem)
			continue;
		if (SPI_execute_with_args("SELECT a.attname::text, l.label, a.attnotnull, "
								  "  pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid "
								  "FROM pg_catalog.pg_seclabel l JOIN pg_catalog.pg_attribute a "
								  "  ON a.attrelid OPERATOR(pg_catalog.=) l.objoid AND a.attnum OPERATOR(pg_catalog.=) l.objsubid "
								  "WHERE l.provider OPERATOR(pg_catalog.=) 'retention' AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
								  "  AND l.objoid OPERATOR(pg_catalog.=) $1 AND l.objsubid OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped ORDER BY a.attnum",
								  1, argt, argv, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "retention: listing personal columns failed");
		ct = SPI_tuptable;
		m->npii = (int) SPI_processed;
		m->pii = palloc0(sizeof(pii_col) * Max(m->npii, 1));
		for (i = 0; i < (uint64) m->npii; i++)
		{
			HeapTuple	tup = ct->vals[i];
			pii_col    *c = &m->pii[i];
			char	   *label = SPI_getvalue(tup, ct->tupdesc, 2);
			char		err[256];
			bool		isnull;
			Oid			typ;

			c->name = pstrdup(q(SPI_getvalue(tup, ct->tupdesc, 1)));
			c->notnull = DatumGetBool(SPI_getbinval(tup, ct->tupdesc, 3, &isnull));
			c->type = pstrdup(SPI_getvalue(tup, ct->tupdesc, 4));
			typ = DatumGetObjectId(SPI_getbinval(tup, ct->tupdesc, 5, &isnull));
			c->datelike = is_date_type(typ);
			c->inetlike = is_inet_type(typ);
			c->jsonlike = is_json_type(typ);
			if (!sl_parse_column_label(label, strlen(label), &c->lab, err, sizeof(err)))
				m->problem = psprintf("Column %s: %s", c->name, err);
			else if (!kind_accepts(c->lab.kind, typ) || (c->lab.kind == SL_PII_ATTRIBUTE && c->notnull))
				m->problem = psprintf("Column %s: its type or NOT NULL no longer fits its label pii:%s.",
									  c->name, sl_pii_kind_name(c->lab.kind));
		}
		if (!m->problem && m->npii > 0 && m->lab.subject[0] == '\0')
			m->problem = pstrdup("The table has personal columns but its label names no subject column.");
		if (!m->problem)
			build_statements(m);
	}
	return out;
}

/* ------------------------------------------------------------------------
 * The job
 * ------------------------------------------------------------------------ */

typedef struct run_state
{
	int64		run_id;
	bool		atomic;
	bool		dry_run;
	int64		max_rows;
	double		max_seconds;
	instr_time	started;
	int64		rows;
	int64		computed,
				expired,
				anonymized,
				destroyed,
				cleared,
				erasures,
				batches,
				forgotten;
	double		longest_ms;
	StringInfoData notes;
} run_state;

static double
elapsed_s(const run_state *r)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, r->started);
	return INSTR_TIME_GET_DOUBLE(now);
}

static bool
out_of_budget(const run_state *r)
{
	return r->rows >= r->max_rows || elapsed_s(r) >= r->max_seconds;
}

static void
note(run_state *r, const char *text)
{
	if (r->notes.len > 0)
		appendStringInfoString(&r->notes, ", ");
	escape_json(&r->notes, text);
}

static void
commit_batch(run_state *r)
{
	if (!r->atomic)
	{
		SPI_commit();
		/* SPI_commit leaves no active snapshot; statements take their own */
	}
}

/* run one engine statement; returns the rows it touched (the sum of column 1 for logging statements) */
static int64
engine_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, bool sums)
{
	int			rc;
	volatile int64 n = 0;

	engine_depth++;
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
		if (rc < 0)
			elog(ERROR, "retention: statement failed: %s", SPI_result_code_string(rc));
		if (sums)
		{
			uint64		i;

			for (i = 0; i < SPI_processed; i++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

				if (!isnull)
					n += DatumGetInt64(d);
			}
		}
		else
			n = (int64) SPI_processed;
	}
	PG_FINALLY();
	{
		engine_depth--;
	}
	PG_END_TRY();
	return n;
}


/*
 * Forget the trail keys of subjects whose personal records are all
 * anonymized or destroyed. Candidates are the subjects the anonymize and
 * destroy statements put into retention.pending_subjects (also those of an
 * interrupted run); each is checked in every managed table with personal
 * columns.
 */
static void
forget_finished_subjects(run_state *r, List *tables)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	appendStringInfoString(&s, "WITH done AS (DELETE FROM retention.pending_subjects p WHERE true");
	foreach(lc, tables)
	{
		managed    *m = (managed *) lfirst(lc);

		if (m->problem || m->npii == 0)
			continue;
		appendStringInfo(&s, " AND NOT EXISTS (SELECT 1 FROM %s t WHERE t.%s OPERATOR(pg_catalog.=) p.subject AND %s OPERATOR(pg_catalog.<>) 'anonymized')",
						 m->qname, q(m->lab.subject), m->status);
	}
	/*
	 * A subject the integrating system still knows (a live account) keeps
	 * its key: retention.subject_checks name functions fn(uuid) -> boolean
	 * saying so; the subject stays pending and is checked again next run.
	 */
	if (SPI_execute("SELECT pg_catalog.to_regprocedure(c.function OPERATOR(pg_catalog.||) '(uuid)')::pg_catalog.oid::text "
					"FROM retention.subject_checks c ORDER BY c.name", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "retention: reading the subject checks failed");
	else
	{
		SPITupleTable *ct = SPI_tuptable;
		uint64		n = SPI_processed,
					j;

		for (j = 0; j < n; j++)
		{
			char	   *foid = SPI_getvalue(ct->vals[j], ct->tupdesc, 1);
			Oid			fn;

			if (foid == NULL)
				continue;		/* its function was dropped */
			fn = atooid(foid);
			appendStringInfo(&s, " AND NOT COALESCE(%s(p.subject), false)",
							 quote_qualified_identifier(get_namespace_name(get_func_namespace(fn)), get_func_name(fn)));
		}
	}
	appendStringInfoString(&s, " RETURNING p.subject) "
						   "SELECT pg_catalog.count(trail.forget_subject(d.subject, "
						   "'retention: every personal record of the subject is anonymized or destroyed')) "
						   "FROM (SELECT DISTINCT d.subject FROM done d) d "
						   "WHERE EXISTS (SELECT 1 FROM trail.subject_keys k WHERE k.subject OPERATOR(pg_catalog.=) d.subject)");
	r->forgotten += engine_exec(s.data, 0, NULL, NULL, NULL, true);
}

static void
process_table(run_state *r, managed *m)
{
	int64		step = 1000;
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *lo = NULL;
	char	   *bound_sql;
	bool		done = false;

	if (r->dry_run)
	{
		char	   *sql = psprintf("SELECT pg_catalog.count(*) FILTER (WHERE %s), pg_catalog.count(*) FILTER (WHERE %s), "
									   "pg_catalog.count(*) FILTER (WHERE %s), pg_catalog.count(*) FILTER (WHERE %s) FROM %s t%s",
									   m->when_compute, m->when_expire, m->when_act,
									   m->sql_clear ? m->when_clear : "false", m->qname, m->grace_join);
		bool		isnull;

		if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "retention: dry run count failed");
		r->computed += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		r->expired += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (m->lab.expire == SL_EXPIRE_ANONYMIZE)
			r->anonymized += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		else if (m->lab.expire == SL_EXPIRE_DESTROY)
			r->destroyed += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		r->cleared += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
		return;
	}

	args[2] = CStringGetTextDatum(m->qname);
	args[3] = Int64GetDatum(r->run_id);
	/* lint-sql: the comparison operators of the table's primary key type, which need not be in pg_catalog */
	bound_sql = psprintf("SELECT t.%s::text FROM %s t WHERE ($1::text IS NULL OR t.%s > $1::%s) "
						 "ORDER BY t.%s OFFSET $2 LIMIT 1", m->pk, m->qname, m->pk, m->pktype, m->pk);

	/*
	 * Walk the table in primary-key slices of `step` rows. Every phase sees
	 * the same slice whatever our updates do to the rows' physical place.
	 */
	while (!done && !out_of_budget(r))
	{
		instr_time	t0,
					t1;
		double		ms;
		int64		n;
		char		bnulls[2] = {lo ? ' ' : 'n', ' '};
		Datum		bargs[2] = {lo ? CStringGetTextDatum(lo) : (Datum) 0, Int64GetDatum(step - 1)};
		char	   *hi;

		INSTR_TIME_SET_CURRENT(t0);
		if (SPI_execute_with_args(bound_sql, 2, (Oid[]) {TEXTOID, INT8OID}, bargs, bnulls, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "retention: finding the next slice failed");
		hi = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
		done = hi == NULL;
		args[0] = lo ? CStringGetTextDatum(lo) : (Datum) 0;
		args[1] = hi ? CStringGetTextDatum(hi) : (Datum) 0;
		nulls[0] = lo ? ' ' : 'n';
		nulls[1] = hi ? ' ' : 'n';
		n = engine_exec(m->sql_compute, 4, types, args, nulls, false);
		r->computed += n;

		/*
		 * Act on rows that were expired before this batch, then expire: a
		 * record is never expired and anonymized (or destroyed) by the same
		 * run, so the organisation's admins are signalled first.
		 */
		if (m->sql_act)
		{
			n = engine_exec(m->sql_act, 4, types, args, nulls, true);
			if (m->lab.expire == SL_EXPIRE_DESTROY)
				r->destroyed += n;
			else
				r->anonymized += n;
			r->rows += n;
		}
		if (m->sql_clear)
		{
			n = engine_exec(m->sql_clear, 4, types, args, nulls, true);
			r->cleared += n;
			r->rows += n;
		}
		n = engine_exec(m->sql_expire, 4, types, args, nulls, true);
		r->expired += n;
		r->rows += n;
		r->batches++;
		commit_batch(r);
		INSTR_TIME_SET_CURRENT(t1);
		INSTR_TIME_SUBTRACT(t1, t0);
		ms = INSTR_TIME_GET_MILLISEC(t1);
		if (ms > r->longest_ms)
			r->longest_ms = ms;
		/* aim at batches of 50 to 250 ms: short locks, few commits */
		if (ms < 50 && step < 50000)
			step *= 2;
		else if (ms > 250 && step > 100)
			step /= 2;
		lo = hi;				/* SPI's procedure context: survives the commit */
	}
}

/*
 * Erasure of one request: for every managed table with a subject column,
 * the subject's rows lose their personal values. Rows still inside their
 * legal period keep the columns labelled required (until the period
 * ends), everything else is pseudonymised. Returns the receipt.
 */
static void erase_one(run_state *r, List *tables, Datum request, const char *reqid);
static char *subject_orgs_sql(List *tables);

/*
 * One request in a subtransaction: a request that fails (a broken erasure
 * hook, a constraint of the integrating system) is rolled back alone,
 * recorded on the request with its error and retried an hour later; the
 * run goes on with the others instead of failing on the same request at
 * every run.
 */
static void
erase_guarded(run_state *r, List *tables, const char *idtext)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Datum		request = DirectFunctionCall1(uuid_in, CStringGetDatum(idtext));

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		erase_one(r, tables, request, idtext);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		Oid			t[3] = {UUIDOID, TEXTOID, INT8OID};
		Datum		a[3];

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;

		a[0] = request;
		a[1] = CStringGetTextDatum(edata->message ? edata->message : "unknown error");
		a[2] = Int64GetDatum(r->run_id);
		if (SPI_execute_with_args("UPDATE retention.erasure_requests SET next_attempt_at = pg_catalog.now() OPERATOR(pg_catalog.+) interval '1 hour', "
								  "receipt = pg_catalog.jsonb_build_object('error', $2, 'run', $3) WHERE id OPERATOR(pg_catalog.=) $1",
								  3, t, a, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "retention: recording the failed erasure request failed");
		note(r, psprintf("erasure %s failed and is retried in an hour: %s", idtext, edata->message));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* open erasure requests that are due (blocked ones are retried daily or after lift_hold) */
#define DUE_ERASURES "FROM retention.erasure_requests e WHERE e.status IN ('received', 'blocked') " \
	"AND (e.next_attempt_at IS NULL OR e.next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.now())"

static void
mark_interrupted(void)
{
	if (SPI_execute("UPDATE retention.runs SET status = 'interrupted', finished_at = pg_catalog.now() "
					"WHERE status OPERATOR(pg_catalog.=) 'running'", false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "retention: marking interrupted runs failed");
}

static void
run_erasures(run_state *r, List *tables)
{
	bool		isnull;

	if (r->dry_run)
	{
		if (SPI_execute("SELECT pg_catalog.count(*) " DUE_ERASURES, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "retention: counting erasure requests failed");
		r->erasures = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		return;
	}
	while (!out_of_budget(r))
	{
		char	   *idtext;

		if (SPI_execute("SELECT e.id " DUE_ERASURES " ORDER BY e.received_at, e.id LIMIT 1 FOR UPDATE SKIP LOCKED",
						false, 1) != SPI_OK_SELECT)
			elog(ERROR, "retention: reading erasure requests failed");
		if (SPI_processed == 0)
			break;
		idtext = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		erase_guarded(r, tables, idtext);
		r->erasures++;
		commit_batch(r);
	}
}

static void
erase_one(run_state *r, List *tables, Datum request, const char *reqid)
{
	Oid			t1[1] = {UUIDOID};
	Datum		a1[1] = {request};
	Datum		subject,
				org = (Datum) 0;
	bool		org_null,
				isnull;
	StringInfoData receipt;
	StringInfoData hooked;
	char	   *holds;
	bool		first = true;
	int64		in_use_total = 0;
	ListCell   *lc;
	Oid			tt[5] = {UUIDOID, UUIDOID, TEXTOID, INT8OID, UUIDOID};
	Datum		ta[5];
	char		tn[5] = {' ', ' ', ' ', ' ', ' '};

	if (SPI_execute_with_args("SELECT e.subject, e.organization_id FROM retention.erasure_requests e WHERE e.id OPERATOR(pg_catalog.=) $1",
							  1, t1, a1, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		sl_raise("erasure_request_not_found", NULL, NULL);
	/* copies: the values outlive this result */
	subject = DirectFunctionCall1(uuid_in, CStringGetDatum(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)));
	org_null = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2) == NULL;
	if (!org_null)
		org = DirectFunctionCall1(uuid_in, CStringGetDatum(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)));

	/*
	 * A legal hold blocks the whole request: for an organisation's request,
	 * that organisation's holds on the subject or on all its records; for
	 * the subject's own request (every organisation), any organisation's.
	 */
	{
		Oid			ht[2] = {UUIDOID, UUIDOID};
		Datum		ha[2] = {subject, org};
		char		hn[2] = {' ', org_null ? 'n' : ' '};

		if (SPI_execute_with_args(psprintf("SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('hold', h.id, 'scope', h.scope, "
										   "'organization_id', h.organization_id, 'reason', h.reason) ORDER BY h.id)::text "
										   "FROM retention.holds h WHERE h.lifted_at IS NULL "
										   "AND ($2::pg_catalog.uuid IS NULL OR h.organization_id OPERATOR(pg_catalog.=) $2) "
										   "AND ((h.scope OPERATOR(pg_catalog.=) 'subject' AND h.subject OPERATOR(pg_catalog.=) $1) "
										   "  OR (h.scope OPERATOR(pg_catalog.=) 'organization' AND h.organization_id IN (%s)))",
										   subject_orgs_sql(tables)),
								  2, ht, ha, hn, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "retention: reading legal holds failed");
		holds = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (holds != NULL)
	{
		Oid			bt[3] = {UUIDOID, TEXTOID, INT8OID};
		Datum		ba[3] = {request, CStringGetTextDatum(holds), Int64GetDatum(r->run_id)};

		if (SPI_execute_with_args("UPDATE retention.erasure_requests SET status = 'blocked', "
								  "receipt = pg_catalog.jsonb_build_object('blocked_by', $2::jsonb, 'run', $3), "
								  "next_attempt_at = pg_catalog.now() OPERATOR(pg_catalog.+) interval '1 day' WHERE id OPERATOR(pg_catalog.=) $1",
								  3, bt, ba, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "retention: blocking the erasure request failed");
		note(r, psprintf("erasure %s blocked by a legal hold", reqid));
		return;
	}

	initStringInfo(&receipt);
	appendStringInfoString(&receipt, "[");
	ta[0] = subject;
	ta[1] = org;
	tn[1] = org_null ? 'n' : ' ';
	ta[3] = Int64GetDatum(r->run_id);
	ta[4] = request;
	foreach(lc, tables)
	{
		managed    *m = (managed *) lfirst(lc);
		const sl_table_label *l = &m->lab;
		char	   *running;
		char	   *sql;
		char	   *cleared_set;
		char	   *in_use_pred;

		if (m->problem || l->subject[0] == '\0' || m->npii == 0)
			continue;
		/* a legal period still runs for archive and fiscal records until retention_until */
		running = (l->classification == SL_CLASS_ARCHIVE || l->classification == SL_CLASS_FISCAL)
			? psprintf("(t.%s IS NULL OR t.%s OPERATOR(pg_catalog.>) pg_catalog.now())", q(l->until), q(l->until))
			: pstrdup("false");
		ta[2] = CStringGetTextDatum(m->qname);
		/* kept rows of a table with personal_cleared= record that their personal columns are gone */
		cleared_set = l->personal_cleared[0]
			? psprintf("%s = COALESCE(t.%s, pg_catalog.now()), ", q(l->personal_cleared), q(l->personal_cleared))
			: "";
		in_use_pred = l->in_use[0]
			? psprintf("COALESCE(t.%s OPERATOR(pg_catalog.>) pg_catalog.now(), false)", q(l->in_use))
			: "false";
		sql = psprintf(
					   "WITH c AS (SELECT t.ctid AS rid, t.%s AS o, t.%s AS s, %s AS who, COALESCE(s.strategy, cfg.strategy, 'replace') AS strat, "
					   "  %s AS keep FROM %s t LEFT JOIN retention.settings s ON s.organization_id OPERATOR(pg_catalog.=) t.%s "
					   "  LEFT JOIN retention.config cfg ON true "
					   "  WHERE t.%s OPERATOR(pg_catalog.=) $1 AND ($2::uuid IS NULL OR t.%s OPERATOR(pg_catalog.=) $2) AND %s OPERATOR(pg_catalog.<>) 'anonymized' AND %s AND NOT %s FOR UPDATE OF t)%s, "
					   "full_rows AS (UPDATE %s t SET %s%s = 'anonymized', %s = pg_catalog.now() FROM c%s "
					   "  WHERE t.ctid OPERATOR(pg_catalog.=) c.rid AND NOT c.keep RETURNING c.o AS o, %s AS k), "
					   "kept_rows AS (UPDATE %s t SET %s%s%s = t.%s FROM c%s "
					   "  WHERE t.ctid OPERATOR(pg_catalog.=) c.rid AND c.keep RETURNING c.o AS o, %s AS k, t.%s AS until), "
					   "logged AS (SELECT trail.log(x.o, 'retention.erased', $3::text, pg_catalog.jsonb_build_object('table', $3::text, "
					   "  'erased', (SELECT pg_catalog.jsonb_agg(f.k) FROM full_rows f WHERE f.o OPERATOR(pg_catalog.=) x.o), "
					   "  'pseudonymised_kept', (SELECT pg_catalog.jsonb_agg(k.k) FROM kept_rows k WHERE k.o OPERATOR(pg_catalog.=) x.o), "
					   "  'request', $5::uuid, 'run', $4::bigint), 'erasure request') AS id "
					   "  FROM (SELECT o FROM full_rows UNION SELECT o FROM kept_rows) x) "
					   "SELECT (SELECT pg_catalog.count(*) FROM full_rows), (SELECT pg_catalog.count(*) FROM kept_rows), "
					   "  (SELECT pg_catalog.max(until)::text FROM kept_rows), (SELECT pg_catalog.count(*) FROM logged), "
					   "  (SELECT pg_catalog.count(*) FROM %s t WHERE t.%s OPERATOR(pg_catalog.=) $1 AND ($2::uuid IS NULL OR t.%s OPERATOR(pg_catalog.=) $2) AND NOT %s), "
					   "  (SELECT pg_catalog.count(*) FROM %s t WHERE t.%s OPERATOR(pg_catalog.=) $1 AND ($2::uuid IS NULL OR t.%s OPERATOR(pg_catalog.=) $2) "
					   "     AND %s OPERATOR(pg_catalog.<>) 'anonymized' AND %s AND %s)",
					   q(l->organization), q(l->subject), who_expr(tcol(l->subject), fallback_expr(m)),
					   running, m->qname, q(l->organization),
					   q(l->subject), q(l->organization), m->status, hold_guard(m), in_use_pred, pseudonym_ctes(m, "c"),
					   m->qname, pii_set_list(m, false), q(l->status), q(l->anonymized_at), pseudonym_joins(m), pk_expr(m),
					   m->qname, pii_set_list(m, true), cleared_set, q(l->status), q(l->status), pseudonym_joins(m), pk_expr(m), q(l->until),
					   m->qname, q(l->subject), q(l->organization), hold_guard(m),
					   m->qname, q(l->subject), q(l->organization), m->status, hold_guard(m), in_use_pred);
		{
			int64		erased,
						kept,
						held,
						in_use;
			char	   *until;
			StringInfoData kept_cols;
			int			i;

			engine_exec(sql, 5, tt, ta, tn, false);
			erased = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			kept = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			until = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
			held = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
			in_use = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
			in_use_total += in_use;
			if (erased == 0 && kept == 0 && held == 0 && in_use == 0)
				continue;
			initStringInfo(&kept_cols);
			for (i = 0; i < m->npii; i++)
				if (m->pii[i].lab.required)
				{
					if (kept_cols.len)
						appendStringInfoString(&kept_cols, ",");
					escape_json(&kept_cols, quote_identifier(m->pii[i].name));
				}
			appendStringInfo(&receipt, "%s{\"table\":", first ? "" : ",");
			escape_json(&receipt, m->qname);
			appendStringInfo(&receipt, ",\"classification\":\"%s\",\"erased_records\":" INT64_FORMAT
							 ",\"kept_records\":" INT64_FORMAT ",\"held_records\":" INT64_FORMAT,
							 sl_classification_name(l->classification), erased, kept, held);
			if (held > 0)
				appendStringInfoString(&receipt, ",\"held_why\":\"A legal hold on these records keeps them unchanged until it is lifted.\"");
			if (l->in_use[0])
				appendStringInfo(&receipt, ",\"in_use_records\":" INT64_FORMAT, in_use);
			if (in_use > 0)
				appendStringInfoString(&receipt, ",\"in_use_why\":\"These records are still in use; they are left unchanged "
									   "and anonymised by the retention job when their period ends.\"");
			if (kept > 0)
			{
				appendStringInfo(&receipt, ",\"kept_columns\":[%s],\"kept_until\":", kept_cols.data);
				if (until)
					escape_json(&receipt, until);
				else
					appendStringInfoString(&receipt, "null");
				appendStringInfoString(&receipt, ",\"why\":");
				escape_json(&receipt, l->classification == SL_CLASS_FISCAL
							? "Fiscal records are kept for the statutory period (AWR art. 52: 7 years); only the columns labelled required keep their values, the rest is pseudonymised."
							: "Archive records are kept for their retention period (Archiefwet 1995, selection list); only the columns labelled required keep their values, the rest is pseudonymised.");
			}
			appendStringInfoString(&receipt, "}");
			first = false;
		}
	}
	appendStringInfoString(&receipt, "]");

	/*
	 * The integrating system's hooks erase what it holds outside labelled
	 * tables; before the key is destroyed, so the audit entries of their
	 * changes are shredded with the rest.
	 */
	initStringInfo(&hooked);
	appendStringInfoString(&hooked, "{");
	if (SPI_execute("SELECT h.name, pg_catalog.to_regprocedure(h.function OPERATOR(pg_catalog.||) '(uuid,uuid,uuid)')::pg_catalog.oid::text "
						 "FROM retention.erasure_hooks h ORDER BY h.position, h.name", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "retention: reading the erasure hooks failed");
	else
	{
		SPITupleTable *ht = SPI_tuptable;
		uint64		nh = SPI_processed,
					j;
		bool		firsthook = true;

		for (j = 0; j < nh; j++)
		{
			char	   *hname = SPI_getvalue(ht->vals[j], ht->tupdesc, 1);
			char	   *hoid = SPI_getvalue(ht->vals[j], ht->tupdesc, 2);
			char	   *out = NULL;

			if (hoid != NULL)
			{
				Oid			kt[3] = {UUIDOID, UUIDOID, UUIDOID};
				Datum		ka[3] = {request, subject, org};
				char		kn[3] = {' ', ' ', org_null ? 'n' : ' '};

				Oid			fn = atooid(hoid);

				engine_exec(psprintf("SELECT %s($1, $2, $3)::text",
									 quote_qualified_identifier(get_namespace_name(get_func_namespace(fn)),
																get_func_name(fn))),
							3, kt, ka, kn, false);
				out = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			}
			else
				out = pstrdup("{\"skipped\": \"The hook's function no longer exists.\"}");
			if (out == NULL)
				continue;
			appendStringInfo(&hooked, "%s", firsthook ? "" : ",");
			escape_json(&hooked, hname);
			appendStringInfo(&hooked, ":%s", out);
			firsthook = false;
		}
	}
	appendStringInfoString(&hooked, "}");

	/*
	 * The audit trail loses the subject's personal values (proofs still
	 * verify) only on the subject's own request: destroying the subject's
	 * key shreds what every organisation's entries hold about them, so one
	 * organisation's request must not do it. Its entries keep the values,
	 * readable only by that organisation's auditors, as the record of what
	 * was done.
	 */
	{
		Oid			ft[2] = {UUIDOID, TEXTOID};
		Datum		fa[2] = {subject, CStringGetTextDatum(psprintf("erasure request %s", reqid))};
		Oid			ct[5] = {UUIDOID, TEXTOID, INT8OID, TEXTOID, TEXTOID};
		Datum		ca[5];

		/*
		 * Records still in use keep the subject alive: its key stays, and
		 * the normal lifecycle forgets it once everything is anonymised.
		 */
		if (org_null && in_use_total == 0)
		{
			engine_exec("SELECT trail.forget_subject($1, $2)", 2, ft, fa, NULL, false);
			r->forgotten++;
		}
		else if (org_null)
		{
			Oid			pt[1] = {UUIDOID};
			Datum		pa[1] = {subject};

			engine_exec("INSERT INTO retention.pending_subjects (subject) VALUES ($1) ON CONFLICT DO NOTHING",
						1, pt, pa, NULL, false);
		}
		ca[0] = request;
		ca[1] = CStringGetTextDatum(receipt.data);
		ca[2] = Int64GetDatum(r->run_id);
		ca[3] = CStringGetTextDatum(hooked.data);
		ca[4] = CStringGetTextDatum(org_null && in_use_total > 0
									? "kept: records of the person are still in use; the key is destroyed once they are anonymised"
									: org_null
									? "personal values in audit entries made unreadable (key destroyed)"
									: "kept: an organization's request erases its own records; the audit trail's personal values "
									"are destroyed only on the person's own request");
		if (SPI_execute_with_args("UPDATE retention.erasure_requests SET status = 'completed', completed_at = pg_catalog.now(), "
								  "next_attempt_at = NULL, receipt = $4::pg_catalog.jsonb OPERATOR(pg_catalog.||) "
								  "pg_catalog.jsonb_build_object('tables', $2::pg_catalog.jsonb, "
								  "'audit_trail', $5, 'run', $3) "
								  "WHERE id OPERATOR(pg_catalog.=) $1", 5, ct, ca, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "retention: completing the erasure request failed");
	}
}

/*
 * SQL for the organisations holding records of subject $1: the
 * organisation column of every row in a managed table whose subject column
 * is $1 (one UNION branch per table, each an index scan where the subject
 * column is indexed).
 */
static char *
subject_orgs_sql(List *tables)
{
	StringInfoData orgs;
	ListCell   *lc;

	initStringInfo(&orgs);
	appendStringInfoString(&orgs, "SELECT NULL::pg_catalog.uuid");
	foreach(lc, tables)
	{
		managed    *m = (managed *) lfirst(lc);

		if (m->problem || m->lab.subject[0] == '\0')
			continue;
		appendStringInfo(&orgs, " UNION SELECT t.%s FROM %s t WHERE t.%s OPERATOR(pg_catalog.=) $1",
						 q(m->lab.organization), m->qname, q(m->lab.subject));
	}
	return orgs.data;
}

/*
 * retention.holds_records_of(organization uuid, subject uuid) -> boolean:
 * does the organisation hold records about the subject in a managed table?
 * An organisation may erase, or place a legal hold on, only a subject it
 * has a relationship with.
 */
static Datum
holds_records_of_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Oid			t[2] = {UUIDOID, UUIDOID};
	Datum		a[2] = {PG_GETARG_DATUM(1), PG_GETARG_DATUM(0)};

	if (SPI_execute_with_args(psprintf("SELECT 1 FROM (%s) o(org) WHERE o.org OPERATOR(pg_catalog.=) $2 LIMIT 1",
									   subject_orgs_sql(load_managed())),
							  2, t, a, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "retention: reading the subject's organisations failed");
	return BoolGetDatum(SPI_processed > 0);
}

PG_FUNCTION_INFO_V1(retention_holds_records_of);
Datum
retention_holds_records_of(PG_FUNCTION_ARGS)
{
	sl_call		call = {.schema = "retention", .extension = "startlijn_retention"};

	return sl_as_owner(&call, holds_records_of_body, fcinfo);
}

/* insert the report row; returns its id */
static int64
start_report(run_state *r)
{
	Oid			t[3] = {BOOLOID, INT8OID, FLOAT8OID};
	Datum		a[3] = {BoolGetDatum(r->dry_run), Int64GetDatum(r->max_rows), Float8GetDatum(r->max_seconds)};
	bool		isnull;

	if (SPI_execute_with_args("INSERT INTO retention.runs (dry_run, max_rows, max_seconds, actor) "
							  "VALUES ($1, $2, $3, retention.actor()) RETURNING id",
							  3, t, a, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "retention: inserting the run report failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static void
finish_report(run_state *r, const char *status)
{
	Oid			t[12] = {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID, FLOAT8OID, TEXTOID, INT8OID};
	Datum		a[12];

	a[0] = Int64GetDatum(r->run_id);
	a[1] = CStringGetTextDatum(status);
	a[2] = Int64GetDatum(r->computed);
	a[3] = Int64GetDatum(r->expired);
	a[4] = Int64GetDatum(r->anonymized);
	a[5] = Int64GetDatum(r->destroyed);
	a[6] = Int64GetDatum(r->erasures);
	a[7] = Int64GetDatum(r->batches);
	a[8] = Int64GetDatum(r->forgotten);
	a[9] = Float8GetDatum(r->longest_ms);
	a[10] = CStringGetTextDatum(psprintf("[%s]", r->notes.data));
	a[11] = Int64GetDatum(r->cleared);
	if (SPI_execute_with_args("UPDATE retention.runs SET status = $2, finished_at = pg_catalog.clock_timestamp(), "
							  "computed = $3, expired = $4, anonymized = $5, destroyed = $6, erasures = $7, batches = $8, "
							  "subjects_forgotten = $9, longest_batch_ms = $10, notes = $11::jsonb, personal_cleared = $12 "
							  "WHERE id OPERATOR(pg_catalog.=) $1",
							  12, t, a, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "retention: finishing the run report failed");
}

/*
 * CALL retention.run(max_rows, max_seconds, dry_run)
 *
 * Called with CALL outside a transaction block (pg_cron, psql), it commits
 * after every batch; inside a transaction block (or from a function) it
 * runs in that transaction.
 */
PG_FUNCTION_INFO_V1(retention_run);
Datum
retention_run(PG_FUNCTION_ARGS)
{
	run_state	r;
	bool		nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	volatile bool locked = false;
	bool		isnull;

	memset(&r, 0, sizeof(r));
	r.max_rows = PG_ARGISNULL(0) ? 100000 : PG_GETARG_INT32(0);
	r.max_seconds = PG_ARGISNULL(1) ? 60 : PG_GETARG_INT32(1);
	r.dry_run = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	r.atomic = !nonatomic;
	if (r.max_rows < 1 || r.max_rows > 100000000)
		sl_raise("invalid_argument", "max_rows must lie between 1 and 100000000.", NULL);
	if (r.max_seconds < 1 || r.max_seconds > 86400)
		sl_raise("invalid_argument", "max_seconds must lie between 1 and 86400.", NULL);
	if (!superuser())
	{
		HeapTuple	rt = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
		bool		bypass = HeapTupleIsValid(rt) && ((Form_pg_authid) GETSTRUCT(rt))->rolbypassrls;

		if (HeapTupleIsValid(rt))
			ReleaseSysCache(rt);
		if (!bypass)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("retention.run must be run by a superuser or a role with BYPASSRLS"),
					 errdetail("The job reads and rewrites every managed table and the retention schema, whose policies deny everyone else."),
					 errhint("Schedule it with retention.schedule() as the extension owner.")));
	}

	/* SPI's procedure context outlives the commits of a non-atomic call */
	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "retention: SPI_connect failed");
	initStringInfo(&r.notes);
	INSTR_TIME_SET_CURRENT(r.started);
	PG_TRY();
	{
		if (SPI_execute("SELECT pg_catalog.pg_try_advisory_lock(" CppAsString2(RETENTION_RUN_LOCK) ")", false, 1) != SPI_OK_SELECT)
			elog(ERROR, "retention: advisory lock failed");
		locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (!locked)
		{
			/* overlapping runs would be harmless (SKIP LOCKED), but one is enough */
			r.run_id = start_report(&r);
			note(&r, "another run was in progress; this one did nothing");
			finish_report(&r, "skipped");
		}
		else
		{
			List	   *tables;
			ListCell   *lc;

			mark_interrupted();
			r.run_id = start_report(&r);
			commit_batch(&r);
			tables = load_managed();
			foreach(lc, tables)
			{
				managed    *m = (managed *) lfirst(lc);

				if (m->problem)
					note(&r, psprintf("%s skipped: %s", m->qname, m->problem));
			}
			run_erasures(&r, tables);
			foreach(lc, tables)
			{
				managed    *m = (managed *) lfirst(lc);

				if (m->problem)
					continue;
				if (out_of_budget(&r))
					break;
				process_table(&r, m);
			}
			if (!r.dry_run)
				forget_finished_subjects(&r, tables);
			finish_report(&r, r.dry_run ? "dry_run" : out_of_budget(&r) ? "limit_reached" : "completed");
			if (SPI_execute("SELECT pg_catalog.pg_advisory_unlock(" CppAsString2(RETENTION_RUN_LOCK) ")", false, 1) != SPI_OK_SELECT)
				elog(ERROR, "retention: advisory unlock failed");
			locked = false;
		}
		commit_batch(&r);
	}
	PG_CATCH();
	{
		if (locked)
			DirectFunctionCall1(pg_advisory_unlock_int8, Int64GetDatum(RETENTION_RUN_LOCK));
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * retention.execute_erasure(request uuid) -> jsonb receipt: run one
 * erasure request now, in the caller's transaction.
 */
PG_FUNCTION_INFO_V1(retention_execute_erasure);
Datum
retention_execute_erasure(PG_FUNCTION_ARGS)
{
	run_state	r;
	List	   *tables;
	char	   *receipt;
	Datum		out;
	char	   *idtext = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));

	memset(&r, 0, sizeof(r));
	r.atomic = true;
	r.max_rows = PG_INT64_MAX;
	r.max_seconds = 1e9;
	initStringInfo(&r.notes);
	INSTR_TIME_SET_CURRENT(r.started);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "retention: SPI_connect failed");
	{
		Oid			t[1] = {UUIDOID};
		Datum		a[1] = {PG_GETARG_DATUM(0)};

		if (SPI_execute_with_args("SELECT 1 FROM retention.erasure_requests e WHERE e.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
								  1, t, a, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			sl_raise("erasure_request_not_found", NULL, NULL);
	}
	tables = load_managed();
	(void) erase_one(&r, tables, PG_GETARG_DATUM(0), idtext);
	if (SPI_execute_with_args("SELECT retention.erasure_request($1)::text", 1,
							  (Oid[]) {UUIDOID}, (Datum[]) {PG_GETARG_DATUM(0)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1 || (receipt = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) == NULL)
		elog(ERROR, "retention: reading the erasure receipt failed");
	out = DirectFunctionCall1(jsonb_in, CStringGetDatum(receipt));
	out = SPI_datumTransfer(out, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(out);
}

/*
 * retention._recompute(organization uuid) -> bigint: recompute
 * retention_until of the organisation's active and archived records after
 * its profile or overrides changed (archived rows included, which the
 * guard would refuse to a client).
 */
PG_FUNCTION_INFO_V1(retention_recompute);
Datum
retention_recompute(PG_FUNCTION_ARGS)
{
	List	   *tables;
	ListCell   *lc;
	int64		total = 0;
	Oid			t[1] = {UUIDOID};
	Datum		a[1] = {PG_GETARG_DATUM(0)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "retention: SPI_connect failed");
	tables = load_managed();
	foreach(lc, tables)
	{
		managed    *m = (managed *) lfirst(lc);
		const sl_table_label *l = &m->lab;

		if (m->problem)
			continue;
		total += engine_exec(psprintf("UPDATE %s t SET %s = %s WHERE t.%s OPERATOR(pg_catalog.=) $1 AND %s IN ('active', 'archived') "
									  "AND t.%s IS DISTINCT FROM %s",
									  m->qname, q(l->until), m->until_expr, q(l->organization), m->status,
									  q(l->until), m->until_expr),
							 1, t, a, NULL, false);
	}
	SPI_finish();
	PG_RETURN_INT64(total);
}
