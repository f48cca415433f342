/*
 * apply.c - startlijn_payments: receiving provider webhooks and applying
 * their events exactly once (schema payments).
 *
 *   payments.receive(provider, body json)   a signed webhook, end to end
 *   payments._interpret(provider, body, header_event_id)
 *                                           what an authenticated body means
 *   payments._apply(provider, account_id, event_id, kind, payment_ref, ref,
 *                   status, amount, currency)
 *                                           one event, exactly once
 *
 * Exactly once: an event is applied under the lock of the payment row it
 * concerns (SELECT ... FOR UPDATE), and its (provider, event id) is the
 * primary key of payments.events, inserted in the same transaction. A
 * concurrent duplicate waits for the lock, then finds the event and is
 * recorded as a duplicate delivery.
 *
 * The work runs connected to SPI as the owner of schema payments (every
 * table has forced row security and no grants), with statements prepared
 * once per backend as generic plans and written with schema-qualified
 * operators, so the caller's search_path changes nothing. Payment status
 * changes, their ledger entries and audit entries are written here; refund
 * and chargeback events, rarer and with more rules, go to the PL/pgSQL
 * functions payments._refund_event and payments._chargeback_event.
 * The rules are those of docs/payments.md ("State machine", "Ledger").
 */
#include "postgres.h"

#include "access/xact.h"

#include <sodium.h>

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "core/sl_core.h"
#include "common/sl_jsontext.h"
#include "common/sl_money.h"
#include "common/sl_payment_status.h"
#include "common/sl_webhook.h"
#include "payments/payments.h"

/* ---- prepared statements ------------------------------------------------- */

enum
{
	Q_SETTINGS,
	Q_LOCK,
	Q_SEEN,
	Q_MISMATCH,
	Q_PAID,
	Q_STATUS,
	Q_POST,
	Q_LOG,
	Q_EVENT,
	Q_UNQUEUE,
	Q_DELIVERY,
	Q_REFUND,
	Q_CHARGEBACK,
	Q_QUEUE,
	Q_COUNT
};

/* every statement has a generic plan (sl_query's default) */
static const sl_query pay_queries[Q_COUNT] = {
	[Q_SETTINGS] = {
		"SELECT s.max_body_bytes FROM payments.settings s", 0, {0}
	},
	[Q_LOCK] = {
		"SELECT x.id, x.organization_id, x.account_id, x.amount, x.currency, x.status, x.captured,"
		"       x.exception IS NULL, x.sale_posted, x.split"
		"  FROM payments.payments x"
		" WHERE x.provider OPERATOR(pg_catalog.=) $1 AND x.provider_ref OPERATOR(pg_catalog.=) $2 FOR UPDATE",
		2, {TEXTOID, TEXTOID}
	},
	[Q_SEEN] = {
		"SELECT 1 FROM payments.events e WHERE e.provider OPERATOR(pg_catalog.=) $1 AND e.event_id OPERATOR(pg_catalog.=) $2"
		"   AND e.organization_id OPERATOR(pg_catalog.=) $3",
		3, {TEXTOID, TEXTOID, UUIDOID}
	},
	[Q_MISMATCH] = {
		"UPDATE payments.payments x SET exception = 'amount_mismatch', exception_at = pg_catalog.now()"
		" WHERE x.id OPERATOR(pg_catalog.=) $1 AND x.organization_id OPERATOR(pg_catalog.=) $2",
		2, {UUIDOID, UUIDOID}
	},
	/* $3: the exception of money that arrived after a final status, or NULL */
	[Q_PAID] = {
		"UPDATE payments.payments x SET status = $2,"
		"       exception = COALESCE($3, x.exception),"
		"       exception_at = CASE WHEN $3 IS NULL THEN x.exception_at ELSE pg_catalog.now() END,"
		"       captured = x.amount, paid_at = pg_catalog.now()"
		" WHERE x.id OPERATOR(pg_catalog.=) $1 AND x.organization_id OPERATOR(pg_catalog.=) $4",
		4, {UUIDOID, TEXTOID, TEXTOID, UUIDOID}
	},
	[Q_STATUS] = {
		"UPDATE payments.payments x SET status = $2, sale_posted = x.sale_posted AND $3"
		" WHERE x.id OPERATOR(pg_catalog.=) $1 AND x.organization_id OPERATOR(pg_catalog.=) $4",
		4, {UUIDOID, TEXTOID, BOOLOID, UUIDOID}
	},
	/* one balanced journal entry: the journal row and its postings */
	[Q_POST] = {
		"WITH j AS (INSERT INTO payments.journal (organization_id, kind, payment_id, currency)"
		"           VALUES ($1, $2, $3, $4) RETURNING id)"
		" INSERT INTO payments.postings (journal_id, line, organization_id, account, currency, amount)"
		" SELECT j.id, CAST(l.n AS pg_catalog.int2), $1, l.a, $4, l.m"
		"   FROM j, ROWS FROM (pg_catalog.unnest($5), pg_catalog.unnest($6)) WITH ORDINALITY AS l(a, m, n)",
		6, {UUIDOID, TEXTOID, UUIDOID, TEXTOID, TEXTARRAYOID, INT8ARRAYOID}
	},
	[Q_LOG] = {
		"SELECT trail.log($1, $2, $3, CAST($4 AS pg_catalog.jsonb))",
		4, {UUIDOID, TEXTOID, TEXTOID, TEXTOID}
	},
	[Q_EVENT] = {
		"INSERT INTO payments.events (provider, event_id, organization_id, payment_id, kind, status, outcome)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)",
		7, {TEXTOID, TEXTOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID}
	},
	[Q_UNQUEUE] = {
		"DELETE FROM payments.fetch_queue q WHERE q.payment_id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	/* credentials are not kept (payments._kept_headers, inlined by the planner) */
	[Q_DELIVERY] = {
		"INSERT INTO payments.deliveries (provider, account_id, event_id, payment_id, headers, body,"
		"                                 body_bytes, body_sha256, outcome, detail)"
		" VALUES ($1, $2, $3, $4, payments._kept_headers($5), $6, $7, $8, $9, $10)"
		" RETURNING id",
		10, {TEXTOID, UUIDOID, TEXTOID, UUIDOID, JSONBOID, TEXTOID, INT4OID, BYTEAOID, TEXTOID, TEXTOID}
	},
	[Q_REFUND] = {
		"SELECT payments._refund_event(x, $2, $3, $4, $5, CAST($6 AS pg_catalog.jsonb))"
		"  FROM payments.payments x WHERE x.id OPERATOR(pg_catalog.=) $1 AND x.organization_id OPERATOR(pg_catalog.=) $7",
		7, {UUIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, UUIDOID}
	},
	[Q_CHARGEBACK] = {
		"SELECT payments._chargeback_event(x, $2, $3, $4, $5, CAST($6 AS pg_catalog.jsonb))"
		"  FROM payments.payments x WHERE x.id OPERATOR(pg_catalog.=) $1 AND x.organization_id OPERATOR(pg_catalog.=) $7",
		7, {UUIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, UUIDOID}
	},
	[Q_QUEUE] = {
		"SELECT o.outcome, o.payment_id FROM payments._queue_fetch($1, $2) o",
		2, {TEXTOID, UUIDOID}
	},
};

static SPIPlanPtr pay_plans[Q_COUNT];
static const sl_query_table pay_sql = {"payments", pay_queries, Q_COUNT, pay_plans};

static Datum
text_or_null(const char *s, char *null_flag)
{
	if (s == NULL)
	{
		*null_flag = 'n';
		return (Datum) 0;
	}
	*null_flag = ' ';
	return CStringGetTextDatum(s);
}

/* ---- JSON ---------------------------------------------------------------- */

/* the member key of an object container; NULL if absent or not an object */
static JsonbValue *
jmember(JsonbContainer *c, const char *key)
{
	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* c -> key when that is an object, else NULL (jsonb_typeof(...) = 'object') */
static JsonbContainer *
jobject(JsonbContainer *c, const char *key)
{
	JsonbValue *v = jmember(c, key);

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return NULL;
	return v->val.binary.data;
}

/* c ->> key: a string's text, a scalar's text, a container's JSON, or NULL */
static char *
jtext(JsonbContainer *c, const char *key)
{
	JsonbValue *v = jmember(c, key);

	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			return NULL;
	}
}

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static char *
upper_or_null(const char *s)
{
	return s ? str_toupper(s, strlen(s), DEFAULT_COLLATION_OID) : NULL;
}

/* a member separator unless the object was just opened */
static void
json_sep(StringInfo buf)
{
	if (buf->len > 0 && buf->data[buf->len - 1] != '{')
		appendStringInfoChar(buf, ',');
}

static void
json_str(StringInfo buf, const char *key, const char *val)
{
	json_sep(buf);
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	if (val)
		escape_json(buf, val);
	else
		appendStringInfoString(buf, "null");
}

static void
json_int(StringInfo buf, const char *key, const int64 *val)
{
	json_sep(buf);
	escape_json(buf, key);
	if (val)
		appendStringInfo(buf, ":" INT64_FORMAT, *val);
	else
		appendStringInfoString(buf, ":null");
}

/* ---- interpreting an authenticated body ---------------------------------- */

typedef struct PayEvent
{
	const char *event_id;
	const char *kind;			/* payment, refund, chargeback, fetch, ignored */
	const char *payment_ref;
	const char *ref;
	const char *status;
	bool		has_amount;
	int64		amount;
	const char *currency;
} PayEvent;

/* (text)::bigint of a JSON member: false when the text is not an integer */
static bool
member_int(JsonbContainer *c, const char *key, PayEvent *ev)
{
	char	   *s = jtext(c, key);
	int64_t		v;

	ev->has_amount = false;
	if (s == NULL)
		return true;
	if (!sl_parse_int64(s, strlen(s), &v))
		return false;
	ev->amount = v;
	ev->has_amount = true;
	return true;
}

static const char *
stripe_payment_status(const char *t)
{
	static const char *const map[][2] = {
		{"payment_intent.created", "open"},
		{"payment_intent.processing", "pending"},
		{"payment_intent.amount_capturable_updated", "authorized"},
		{"payment_intent.succeeded", "paid"},
		{"payment_intent.payment_failed", "failed"},
		{"payment_intent.canceled", "canceled"},
	};

	for (size_t i = 0; i < lengthof(map); i++)
		if (strcmp(t, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/*
 * What an authenticated body means (docs/payments.md, "What the events
 * mean"). kind "ignored" for events we do not handle or cannot read,
 * "fetch" when only the payment id is known. Fields found before a value
 * that does not read (an amount that is not an integer) are kept.
 */
static void
interpret(const char *provider, Jsonb *body, const char *header_event_id, PayEvent *ev)
{
	JsonbContainer *root = &body->root;
	JsonbContainer *o;
	char	   *t;

	memset(ev, 0, sizeof(*ev));
	ev->kind = "ignored";
	if (!JsonContainerIsObject(root) || JsonContainerIsScalar(root))
		return;
	t = jtext(root, "type");
	if (strcmp(provider, "stripe") == 0)
	{
		ev->event_id = jtext(root, "id");
		o = jobject(jobject(root, "data"), "object");
		if (o == NULL)
			return;
		ev->currency = upper_or_null(jtext(o, "currency"));
		if (t && strncmp(t, "payment_intent.", 15) == 0)
		{
			ev->kind = "payment";
			ev->payment_ref = jtext(o, "id");
			ev->status = stripe_payment_status(t);
			if (!member_int(o, strcmp(t, "payment_intent.succeeded") == 0 ? "amount_received" : "amount", ev))
				ev->kind = "ignored";
			else if (ev->status == NULL)
				ev->kind = "ignored";
		}
		else if (streq(t, "refund.created") || streq(t, "refund.updated") ||
				 streq(t, "refund.failed") || streq(t, "charge.refund.updated"))
		{
			char	   *s;

			ev->kind = "refund";
			ev->payment_ref = jtext(o, "payment_intent");
			ev->ref = jtext(o, "id");
			s = jtext(o, "status");
			ev->status = streq(s, "pending") || streq(s, "requires_action") ? "pending" :
				streq(s, "succeeded") ? "succeeded" :
				streq(s, "failed") ? "failed" :
				streq(s, "canceled") ? "canceled" : NULL;
			if (!member_int(o, "amount", ev))
				ev->kind = "ignored";
		}
		else if (streq(t, "charge.dispute.created") || streq(t, "charge.dispute.closed") ||
				 streq(t, "charge.dispute.funds_reinstated"))
		{
			char	   *s;

			ev->kind = "chargeback";
			ev->payment_ref = jtext(o, "payment_intent");
			ev->ref = jtext(o, "id");
			s = jtext(o, "status");
			ev->status = streq(t, "charge.dispute.created") ? "received" :
				streq(t, "charge.dispute.funds_reinstated") || streq(s, "won") ? "reversed" :
				streq(s, "lost") ? "lost" : NULL;
			if (!member_int(o, "amount", ev))
				ev->kind = "ignored";
		}
	}
	else if (strcmp(provider, "standard") == 0)
	{
		/* our documented payload: {"type": "payment.paid", "data": {"id", "payment_id", "amount", "currency"}} */
		const char *dot;
		JsonbValue *a;

		ev->event_id = header_event_id;
		o = jobject(root, "data");
		if (o == NULL || t == NULL || (dot = strchr(t, '.')) == NULL)
			return;
		ev->kind = pnstrdup(t, dot - t);
		/* split_part(t, '.', 2) */
		ev->status = strchr(dot + 1, '.') ? pnstrdup(dot + 1, strchr(dot + 1, '.') - (dot + 1)) : dot + 1;
		ev->currency = upper_or_null(jtext(o, "currency"));
		a = jmember(o, "amount");
		/*
		 * an amount that is there must be a whole number: "4200" (a string),
		 * null or 42.5 make the event unreadable, never a payment of an
		 * unknown amount (issue 26.3)
		 */
		if (a != NULL && (a->type != jbvNumeric || !member_int(o, "amount", ev)))
		{
			ev->kind = "ignored";
			return;
		}
		if (strcmp(ev->kind, "payment") == 0)
			ev->payment_ref = jtext(o, "id");
		else if (strcmp(ev->kind, "refund") == 0 || strcmp(ev->kind, "chargeback") == 0)
		{
			ev->payment_ref = jtext(o, "payment_id");
			ev->ref = jtext(o, "id");
		}
		else
			ev->kind = "ignored";
	}
	else if (strcmp(provider, "mollie") == 0)
	{
		/* next-gen event; the payment itself when the payload is a snapshot */
		char	   *entity;

		ev->event_id = jtext(root, "id");
		o = jobject(jobject(root, "_embedded"), "entity");
		if (o != NULL && streq(jtext(o, "resource"), "payment"))
		{
			JsonbContainer *amount = NULL;
			JsonbValue *a = jmember(o, "amount");
			char	   *value;
			int64_t		v;

			/* o -> 'amount' ->> key: only an object has members */
			if (a != NULL && a->type == jbvBinary && JsonContainerIsObject(a->val.binary.data))
				amount = a->val.binary.data;
			ev->kind = "payment";
			ev->payment_ref = jtext(o, "id");
			ev->status = jtext(o, "status");
			ev->currency = upper_or_null(jtext(amount, "currency"));
			value = jtext(amount, "value");
			if (value != NULL &&
				sl_minor_units(value, strlen(value), ev->currency,
							   ev->currency ? strlen(ev->currency) : 0, &v))
			{
				ev->amount = v;
				ev->has_amount = true;
			}
		}
		else if ((entity = jtext(root, "entityId")) != NULL && strncmp(entity, "tr_", 3) == 0)
		{
			ev->kind = "fetch";
			ev->payment_ref = entity;
		}
	}
}

/* ---- applying one event -------------------------------------------------- */

typedef struct PayRow
{
	Datum		id;
	Datum		org;
	pg_uuid_t	account;
	int64		amount;
	char	   *currency;
	char	   *status;
	int64		captured;
	bool		no_exception;
	bool		sale_posted;
	Jsonb	   *split;
} PayRow;

/*
 * The status order is sl_payment_status_rank (src/common/sl_payment_status.c),
 * also behind payments._rank, which the guard trigger uses.
 */
#define status_rank(s) sl_payment_status_rank(s)
#define payment_status_known(s) sl_payment_status_known(s)

PG_FUNCTION_INFO_V1(payments_rank);

/*
 * payments._rank(status text) -> integer: created 0, open 1, pending 2,
 * authorized 3, anything else (the final statuses, NULL) 4.
 */
Datum
payments_rank(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(sl_payment_status_rank(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/* ledger lines: accounts with their amounts (debit positive) */
#define PAY_MAX_LINES 100
typedef struct PayLines
{
	int			n;
	int64		amount[PAY_MAX_LINES];
	const char *name[PAY_MAX_LINES];
} PayLines;

/* add amount to account: one line per account, in first-seen order */
static void
add_line(PayLines *l, const char *account, int64 amount)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->name[i], account) == 0)
		{
			l->amount[i] += amount;
			return;
		}
	if (l->n == PAY_MAX_LINES)
		elog(ERROR, "payments: more than %d ledger lines in one entry", PAY_MAX_LINES);
	l->name[l->n] = account;
	l->amount[l->n] = amount;
	l->n++;
}

/* post one balanced journal entry of p (lines of amount 0 are dropped) */
static void
post(const PayRow *p, const char *kind, const PayLines *l)
{
	Datum		accounts[PAY_MAX_LINES];
	Datum		amounts[PAY_MAX_LINES];
	int			n = 0;
	int64		sum = 0;
	Datum		v[6];

	for (int i = 0; i < l->n; i++)
	{
		sum += l->amount[i];
		if (l->amount[i] == 0)
			continue;
		accounts[n] = CStringGetTextDatum(l->name[i]);
		amounts[n] = Int64GetDatum(l->amount[i]);
		n++;
	}
	/* the deferred trigger checks it at commit too; this names the culprit */
	if (sum != 0)
		elog(ERROR, "payments: unbalanced %s entry for a payment (sum " INT64_FORMAT ")", kind, sum);
	v[0] = p->org;
	v[1] = CStringGetTextDatum(kind);
	v[2] = p->id;
	v[3] = CStringGetTextDatum(p->currency);
	v[4] = PointerGetDatum(construct_array(accounts, n, TEXTOID, -1, false, TYPALIGN_INT));
	v[5] = PointerGetDatum(construct_array(amounts, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	sl_exec(&pay_sql, Q_POST, v, NULL, 0);
}

/* the sale of p reversed: receivable credited back, the split debited */
static void
post_sale_reversed(const PayRow *p)
{
	PayLines	l;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	l.n = 0;
	add_line(&l, "receivable", -p->amount);
	if (!JsonContainerIsArray(&p->split->root))
		elog(ERROR, "payments: the split of a payment is not an array");
	it = JsonbIteratorInit(&p->split->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM && v.type == jbvBinary)
		{
			char	   *account = jtext(v.val.binary.data, "account");
			char	   *amount = jtext(v.val.binary.data, "amount");
			int64_t		a;

			if (account == NULL || amount == NULL || !sl_parse_int64(amount, strlen(amount), &a))
				elog(ERROR, "payments: a part of a payment's split has no account or amount");
			add_line(&l, account, a);
		}
	}
	post(p, "sale_reversed", &l);
}

static void
log_change(const PayRow *p, const char *action, const char *details)
{
	Datum		v[4];
	char	   *subject = psprintf("payment:%s",
								   DatumGetCString(DirectFunctionCall1(uuid_out, p->id)));

	v[0] = p->org;
	v[1] = CStringGetTextDatum(action);
	v[2] = CStringGetTextDatum(subject);
	v[3] = CStringGetTextDatum(details);
	sl_exec(&pay_sql, Q_LOG, v, NULL, 0);
}

/* {"provider": ..., "event_id": ...: the start of an entry's details (open) */
static StringInfo
source_json(const char *provider, const char *event_id)
{
	StringInfo	s = makeStringInfo();

	appendStringInfoChar(s, '{');
	json_str(s, "provider", provider);
	json_str(s, "event_id", event_id);
	return s;
}

/* A payment's status changes (p is locked). Returns the outcome. */
static const char *
payment_status(const PayRow *p, const PayEvent *ev, const char *provider)
{
	StringInfo	d;
	Datum		v[4];
	char		n[4] = {' ', ' ', ' ', ' '};

	if (!payment_status_known(ev->status))
		return "out_of_order_ignored";
	if (strcmp(ev->status, "paid") == 0)
	{
		const char *exception = NULL;
		PayLines	l;

		if (!ev->has_amount || ev->amount != p->amount || !streq(ev->currency, p->currency))
		{
			if (p->captured == 0 && p->no_exception)
			{
				v[0] = p->id;
				v[1] = p->org;
				sl_exec(&pay_sql, Q_MISMATCH, v, NULL, 0);
				d = source_json(provider, ev->event_id);
				json_str(d, "exception", "amount_mismatch");
				json_str(d, "status", p->status);
				appendStringInfoString(d, ",\"expected\":{");
				json_int(d, "amount", &p->amount);
				json_str(d, "currency", p->currency);
				appendStringInfoString(d, "},\"received\":{");
				json_int(d, "amount", ev->has_amount ? &ev->amount : NULL);
				json_str(d, "currency", ev->currency);
				appendStringInfoString(d, "}}");
				log_change(p, "payments.exception", d->data);
			}
			return "amount_mismatch";
		}
		if (p->captured > 0)
			return "out_of_order_ignored";	/* already received */

		/*
		 * after expired, canceled or failed the status stays: the money is
		 * recorded and surfaced as an exception case
		 */
		if (status_rank(p->status) == 4)
			exception = psprintf("paid_after_%s", p->status);
		v[0] = p->id;
		v[1] = CStringGetTextDatum(exception ? p->status : "paid");
		v[2] = text_or_null(exception, &n[2]);
		v[3] = p->org;
		sl_exec(&pay_sql, Q_PAID, v, n, 0);
		l.n = 0;
		add_line(&l, "provider_clearing", p->amount);
		add_line(&l, "receivable", -p->amount);
		post(p, "payment_received", &l);
		if (exception)
		{
			d = source_json(provider, ev->event_id);
			json_str(d, "exception", exception);
			json_str(d, "status", p->status);
			json_int(d, "amount", &p->amount);
			appendStringInfoChar(d, '}');
			log_change(p, "payments.exception", d->data);
			return "applied";
		}
	}
	else
	{
		bool		closing;

		if (status_rank(p->status) == 4 || status_rank(ev->status) <= status_rank(p->status))
			return "out_of_order_ignored";
		closing = strcmp(ev->status, "failed") == 0 || strcmp(ev->status, "canceled") == 0 ||
			strcmp(ev->status, "expired") == 0;
		v[0] = p->id;
		v[1] = CStringGetTextDatum(ev->status);
		v[2] = BoolGetDatum(!closing);
		v[3] = p->org;
		sl_exec(&pay_sql, Q_STATUS, v, NULL, 0);
		if (closing && p->sale_posted)
			post_sale_reversed(p);
	}
	d = source_json(provider, ev->event_id);
	json_str(d, "from", p->status);
	json_str(d, "to", ev->status);
	json_int(d, "amount", &p->amount);
	json_str(d, "currency", p->currency);
	appendStringInfoChar(d, '}');
	log_change(p, "payments.status_changed", d->data);
	return "applied";
}

/* a refund or chargeback event, by the PL/pgSQL rules of those objects */
static const char *
other_event(int q, const PayRow *p, const PayEvent *ev, const char *provider)
{
	Datum		v[7];
	char		n[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	StringInfo	d = source_json(provider, ev->event_id);
	bool		isnull;
	Datum		r;

	appendStringInfoChar(d, '}');
	v[0] = p->id;
	v[1] = text_or_null(ev->ref, &n[1]);
	v[2] = text_or_null(ev->status, &n[2]);
	v[3] = Int64GetDatum(ev->amount);
	if (!ev->has_amount)
		n[3] = 'n';
	v[4] = text_or_null(ev->currency, &n[4]);
	v[5] = CStringGetTextDatum(d->data);
	v[6] = p->org;
	sl_exec(&pay_sql, q, v, n, 0);
	if (SPI_processed != 1)
		elog(ERROR, "payments: the locked payment is gone");
	r = sl_col(0, 1, &isnull);
	if (isnull)
		elog(ERROR, "payments: no outcome for a %s event", ev->kind);
	return TextDatumGetCString(r);
}

/*
 * Apply one authenticated event exactly once (inside SPI, as the owner).
 * account may be NULL (the relay). Returns the outcome; *payment_id is set
 * when the payment is known.
 */
static const char *
apply_event(const char *provider, const pg_uuid_t *account, const PayEvent *ev,
			Datum *payment_id, bool *has_payment)
{
	Datum		v[7];
	char		n[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	PayRow		p;
	bool		isnull;
	const char *outcome;

	*has_payment = false;
	v[0] = CStringGetTextDatum(provider);
	v[1] = CStringGetTextDatum(ev->payment_ref);
	sl_exec(&pay_sql, Q_LOCK, v, NULL, 0);
	if (SPI_processed == 0)
		return "unknown_payment";
	p.id = sl_col(0, 1, &isnull);
	p.org = sl_col(0, 2, &isnull);
	memcpy(&p.account, DatumGetUUIDP(sl_col(0, 3, &isnull)), sizeof(pg_uuid_t));
	p.amount = DatumGetInt64(sl_col(0, 4, &isnull));
	p.currency = TextDatumGetCString(sl_col(0, 5, &isnull));
	p.status = TextDatumGetCString(sl_col(0, 6, &isnull));
	p.captured = DatumGetInt64(sl_col(0, 7, &isnull));
	p.no_exception = DatumGetBool(sl_col(0, 8, &isnull));
	p.sale_posted = DatumGetBool(sl_col(0, 9, &isnull));
	p.split = DatumGetJsonbP(sl_col(0, 10, &isnull));
	if (account != NULL && memcmp(&p.account, account, sizeof(pg_uuid_t)) != 0)
		return "unknown_payment";
	*payment_id = p.id;
	*has_payment = true;

	v[1] = CStringGetTextDatum(ev->event_id);
	v[2] = p.org;
	sl_exec(&pay_sql, Q_SEEN, v, NULL, 0);
	if (SPI_processed > 0)
		return "duplicate";

	if (strcmp(ev->kind, "payment") == 0)
		outcome = payment_status(&p, ev, provider);
	else if (strcmp(ev->kind, "refund") == 0)
		outcome = other_event(Q_REFUND, &p, ev, provider);
	else if (strcmp(ev->kind, "chargeback") == 0)
		outcome = other_event(Q_CHARGEBACK, &p, ev, provider);
	else
		elog(ERROR, "payments: cannot apply an event of kind %s", ev->kind);

	v[0] = CStringGetTextDatum(provider);
	v[1] = CStringGetTextDatum(ev->event_id);
	v[2] = p.org;
	v[3] = p.id;
	v[4] = CStringGetTextDatum(ev->kind);
	v[5] = text_or_null(ev->status, &n[5]);
	v[6] = CStringGetTextDatum(outcome);
	sl_exec(&pay_sql, Q_EVENT, v, n, 0);
	/* a queued Mollie fetch is answered by any status report for the payment */
	if (strcmp(ev->kind, "payment") == 0)
		sl_exec(&pay_sql, Q_UNQUEUE, &p.id, NULL, 0);
	return outcome;
}

/* ---- recording a delivery ------------------------------------------------ */

static int64
record_delivery(const char *provider, const pg_uuid_t *account, const char *event_id,
				Datum payment_id, bool has_payment, Datum headers,
				const char *body, int blen, bool keep_body, const char *outcome, const char *detail)
{
	Datum		v[10];
	char		n[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	unsigned char digest[crypto_hash_sha256_BYTES];
	const char *utf8 = body;
	int			kept = keep_body ? blen : pg_mbcharcliplen(body, blen, 4096);
	bool		isnull;

	/* the SHA-256 of the body's UTF-8 bytes, as convert_to(body, 'UTF8') */
	if (GetDatabaseEncoding() != PG_UTF8)
		utf8 = pg_server_to_any(body, blen, PG_UTF8);
	crypto_hash_sha256(digest, (const unsigned char *) utf8,
					   utf8 == body ? (unsigned long long) blen : strlen(utf8));

	v[0] = CStringGetTextDatum(provider);
	if (account)
		v[1] = UUIDPGetDatum(account);
	else
		n[1] = 'n';
	v[2] = text_or_null(event_id, &n[2]);
	v[3] = payment_id;
	if (!has_payment)
		n[3] = 'n';
	v[4] = headers;
	v[5] = PointerGetDatum(cstring_to_text_with_len(body, kept));
	v[6] = Int32GetDatum(blen);
	v[7] = PointerGetDatum(sl_bytea(digest, sizeof digest));
	v[8] = CStringGetTextDatum(outcome);
	v[9] = text_or_null(detail, &n[9]);
	sl_exec(&pay_sql, Q_DELIVERY, v, n, 0);
	return DatumGetInt64(sl_col(0, 1, &isnull));
}

/*
 * A verified body as jsonb, or NULL with *why set when json accepts it and
 * jsonb does not (a lone \\ud800 escape, 1e1000000). When the text can fail
 * (sl_json_may_fail_jsonb), the parse runs in a subtransaction so that its
 * error can be recorded instead of raised: a
 * signed body that is raised about is never recorded, and the provider
 * retries it for days.
 */
static Jsonb *
read_body(const char *text, char **why)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Jsonb	   *volatile doc = NULL;

	/* the subtransaction only when the text can fail (a surrogate escape, a huge exponent) */
	if (!sl_json_may_fail_jsonb(text, strlen(text)))
		return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		/* only input errors of the body; anything else (out of memory) is raised */
		if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(ed);
		*why = pstrdup(ed->message);
		FreeErrorData(ed);
		doc = NULL;
	}
	PG_END_TRY();
	return doc;
}

/* the HTTP status a provider should see for an outcome */
static int
http_status(const char *outcome, const char *detail)
{
	if (strcmp(outcome, "bad_signature") == 0)
	{
		if (streq(detail, "body_too_large"))
			return 413;
		if (streq(detail, "missing_header") || streq(detail, "malformed_header"))
			return 400;
		return 401;
	}
	/* not ours yet (the checkout may still be committing): ask for a retry */
	if (strcmp(outcome, "unknown_payment") == 0)
		return 404;
	return 200;
}

PG_FUNCTION_INFO_V1(payments_kept_headers);

/*
 * payments._kept_headers(h jsonb) -> jsonb: the request headers a delivery
 * record keeps (sl_wh_header_kept: no credentials; at most
 * SL_WH_HEADERS_MAX headers, string values cut to SL_WH_HEADER_VALUE_MAX
 * bytes at a character boundary). A refused delivery stores what anyone
 * sent, so what it stores is bounded.
 */
Datum
payments_kept_headers(PG_FUNCTION_ARGS)
{
	Jsonb	   *in;
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	int			kept = 0;

	if (PG_ARGISNULL(0) || !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(0)))
		PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT,
														   pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL))));
	in = PG_GETARG_JSONB_P(0);
	(void) pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);	/* the value (skipNested: a container is one token) */
		if (kept >= SL_WH_HEADERS_MAX || !sl_wh_header_kept(k.val.string.val, k.val.string.len))
			continue;
		if (v.type == jbvString && v.val.string.len > SL_WH_HEADER_VALUE_MAX)
			v.val.string.len = pg_mbcliplen(v.val.string.val, v.val.string.len, SL_WH_HEADER_VALUE_MAX);
		else if (v.type == jbvBinary)
			continue;			/* headers are strings */
		(void) pushJsonbValue(&st, WJB_KEY, &k);
		(void) pushJsonbValue(&st, WJB_VALUE, &v);
		kept++;
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

PG_FUNCTION_INFO_V1(payments_http_status);

/* payments._http_status(outcome text, detail text): the same mapping for SQL */
Datum
payments_http_status(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(200);
	PG_RETURN_INT32(http_status(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

static bool
provider_ok(const char *p)
{
	return strcmp(p, "stripe") == 0 || strcmp(p, "mollie") == 0 || strcmp(p, "standard") == 0;
}

/* ---- SQL-callable functions ---------------------------------------------- */

PG_FUNCTION_INFO_V1(payments_receive);

/*
 * payments.receive(provider text, body json) RETURNS jsonb
 *
 * A signed webhook. body is the raw request body (a json value keeps its
 * text byte for byte); headers come from request.headers as PostgREST sets
 * them. Records the delivery, applies the event once, sets response.status.
 */
/* what payments.receive hands its body and gets back */
typedef struct ReceiveCall
{
	const char *provider;
	const char *raw;
	int			blen;
	Datum		hdr;
	Jsonb	   *hdrj;
	const char *outcome;		/* out, in the caller's memory */
	const char *detail;
	int64		did;
} ReceiveCall;

/* the receiving itself, as the owner of schema payments */
static Datum
receive_body(FunctionCallInfo fcinfo, sl_call *call)
{
	ReceiveCall *rc = (ReceiveCall *) call->arg;
	const char *provider = rc->provider;
	const char *raw = rc->raw;
	int			blen = rc->blen;
	Datum		hdr = rc->hdr;
	Jsonb	   *hdrj = rc->hdrj;
	const char *outcome = NULL;
	const char *detail = NULL;
	int64		did;

	{
		bool		isnull;
		int32		max_body;

		sl_exec(&pay_sql, Q_SETTINGS, NULL, NULL, 0);
		max_body = DatumGetInt32(sl_col(0, 1, &isnull));
		if (blen > max_body)
		{
			outcome = "bad_signature";
			detail = "body_too_large";
			did = record_delivery(provider, NULL, NULL, (Datum) 0, false, hdr, raw, blen, false,
								  outcome, detail);
		}
		else
		{
			/* stripe: Stripe-Signature; mollie: X-Mollie-Signature; standard: id, timestamp, signature */
			bool		std = strcmp(provider, "standard") == 0;
			char	   *h1 = jtext(&hdrj->root, strcmp(provider, "stripe") == 0 ? "stripe-signature" :
								   std ? "webhook-id" : "x-mollie-signature");
			char	   *h2 = std ? jtext(&hdrj->root, "webhook-timestamp") : NULL;
			char	   *h3 = std ? jtext(&hdrj->root, "webhook-signature") : NULL;
			pg_uuid_t	account;
			bool		matched;
			sl_wh_result r;

			r = pay_verify(provider, raw, blen, h1, h1 ? strlen(h1) : 0, h2, h2 ? strlen(h2) : 0,
						   h3, h3 ? strlen(h3) : 0, &account, &matched);
			if (r != SL_WH_OK)
			{
				outcome = "bad_signature";
				detail = sl_wh_result_name(r);
				did = record_delivery(provider, matched ? &account : NULL, NULL, (Datum) 0, false,
									  hdr, raw, blen, false, outcome, detail);
			}
			else
			{
				Jsonb	   *doc;
				char	   *unreadable = NULL;
				PayEvent	ev;
				Datum		payment_id = (Datum) 0;
				bool		has_payment = false;

				/*
				 * The body is read as jsonb, which cannot hold U+0000: a
				 * \u0000 (in metadata a customer typed) is read as U+FFFD.
				 * The delivery keeps the body as sent.
				 */
				if (strstr(raw, "\\u0000") == NULL)
					doc = read_body(raw, &unreadable);
				else
				{
					char	   *masked = pstrdup(raw);

					sl_json_mask_nul_escapes(masked, blen);
					doc = read_body(masked, &unreadable);
				}
				if (doc != NULL)
					interpret(provider, doc, std ? h1 : NULL, &ev);
				else
				{
					memset(&ev, 0, sizeof ev);
					ev.kind = "ignored";
				}
				/*
				 * An event without a status we know (a Stripe refund status
				 * added after this was written, a Mollie payment without
				 * one) is recorded and ignored: applied, it could only fail.
				 * So is a signed body that is json but cannot be read as
				 * jsonb (a lone surrogate escape, a number beyond numeric's
				 * range): answered 200, the provider stops retrying it.
				 */
				if (doc == NULL)
				{
					outcome = "ignored";
					detail = psprintf("unreadable body: %s", unreadable);
				}
				else if (strcmp(ev.kind, "ignored") == 0 || ev.event_id == NULL || ev.payment_ref == NULL ||
					(ev.status == NULL && strcmp(ev.kind, "fetch") != 0) ||
					pg_mbstrlen(ev.event_id) > 255)
				{
					char	   *t = jtext(&doc->root, "type");

					outcome = "ignored";
					detail = t ? t : "unrecognised body";
				}
				else if (strcmp(ev.kind, "fetch") == 0)
				{
					Datum		qv[2];

					qv[0] = CStringGetTextDatum(ev.payment_ref);
					qv[1] = UUIDPGetDatum(&account);
					sl_exec(&pay_sql, Q_QUEUE, qv, NULL, 0);
					outcome = TextDatumGetCString(sl_col(0, 1, &isnull));
					payment_id = sl_col(0, 2, &isnull);
					has_payment = !isnull;
				}
				else
				{
					outcome = apply_event(provider, &account, &ev, &payment_id, &has_payment);
					detail = psprintf("%s.%s", ev.kind, ev.status ? ev.status : "?");
				}
				did = record_delivery(provider, &account, ev.event_id, payment_id, has_payment,
									  hdr, raw, blen, true, outcome, detail);
			}
		}
	}
	rc->did = did;
	rc->outcome = MemoryContextStrdup(call->caller_cxt, outcome);
	rc->detail = detail ? MemoryContextStrdup(call->caller_cxt, detail) : NULL;
	return (Datum) 0;
}

Datum
payments_receive(PG_FUNCTION_ARGS)
{
	char	   *provider;
	const char *hdr_text;
	char	   *raw;
	int			code;
	char		codebuf[8];
	StringInfoData res;
	ReceiveCall rc;
	sl_call		call = {.schema = "payments", .extension = "startlijn_payments", .arg = &rc};

	if (PG_ARGISNULL(0) || !provider_ok(provider = text_to_cstring(PG_GETARG_TEXT_PP(0))))
		sl_raise("invalid_argument", "The provider must be stripe, mollie or standard.", NULL);
	raw = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	hdr_text = GetConfigOption("request.headers", true, false);
	if (hdr_text == NULL || hdr_text[0] == '\0')
		hdr_text = "{}";
	rc.provider = provider;
	rc.raw = raw;
	rc.blen = strlen(raw);
	rc.hdr = DirectFunctionCall1(jsonb_in, CStringGetDatum(hdr_text));
	rc.hdrj = DatumGetJsonbP(rc.hdr);
	(void) sl_as_owner(&call, receive_body, fcinfo);

	code = http_status(rc.outcome, rc.detail);
	initStringInfo(&res);
	appendStringInfo(&res, "{\"received\": %s, \"outcome\": \"%s\", \"delivery_id\": " INT64_FORMAT,
					 code == 200 ? "true" : "false", rc.outcome, rc.did);
	if (strcmp(rc.outcome, "bad_signature") == 0)
	{
		appendStringInfoString(&res, ", \"reason\": ");
		escape_json(&res, rc.detail);
	}
	appendStringInfoChar(&res, '}');
	snprintf(codebuf, sizeof codebuf, "%d", code);
	(void) set_config_option("response.status", codebuf,
							 superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(res.data)));
}

PG_FUNCTION_INFO_V1(payments_interpret);

/*
 * payments._interpret(provider text, body jsonb, header_event_id text,
 *   OUT event_id text, OUT kind text, OUT payment_ref text, OUT ref text,
 *   OUT status text, OUT amount bigint, OUT currency text)
 */
Datum
payments_interpret(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		v[7];
	bool		n[7];
	char		nn[7];
	PayEvent	ev;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(&ev, 0, sizeof ev);
	ev.kind = "ignored";
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
		interpret(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_JSONB_P(1),
				  PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)), &ev);
	v[0] = text_or_null(ev.event_id, &nn[0]);
	v[1] = text_or_null(ev.kind, &nn[1]);
	v[2] = text_or_null(ev.payment_ref, &nn[2]);
	v[3] = text_or_null(ev.ref, &nn[3]);
	v[4] = text_or_null(ev.status, &nn[4]);
	v[5] = Int64GetDatum(ev.amount);
	nn[5] = ev.has_amount ? ' ' : 'n';
	v[6] = text_or_null(ev.currency, &nn[6]);
	for (int i = 0; i < 7; i++)
		n[i] = nn[i] == 'n';
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), v, n)));
}

PG_FUNCTION_INFO_V1(payments_apply);

/*
 * payments._apply(provider text, account_id uuid, event_id text, kind text,
 *   payment_ref text, ref text, status text, amount bigint, currency text,
 *   OUT outcome text, OUT payment_id uuid)
 *
 * Apply one authenticated event exactly once: the relay's reports
 * (payments.record_status) come this way.
 */
/* what payments._apply hands its body and gets back */
typedef struct ApplyCall
{
	const char *provider;
	const pg_uuid_t *account;
	PayEvent   *ev;
	const char *outcome;		/* out, in the caller's memory */
	pg_uuid_t  *payment_id;		/* out, NULL when the payment is unknown */
} ApplyCall;

static Datum
apply_body(FunctionCallInfo fcinfo, sl_call *call)
{
	ApplyCall  *ac = (ApplyCall *) call->arg;
	Datum		payment_id = (Datum) 0;
	bool		has_payment = false;
	const char *outcome;

	outcome = apply_event(ac->provider, ac->account, ac->ev, &payment_id, &has_payment);
	ac->outcome = MemoryContextStrdup(call->caller_cxt, outcome);
	if (has_payment)
	{
		ac->payment_id = MemoryContextAlloc(call->caller_cxt, sizeof(pg_uuid_t));
		memcpy(ac->payment_id, DatumGetUUIDP(payment_id), sizeof(pg_uuid_t));
	}
	return (Datum) 0;
}

Datum
payments_apply(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PayEvent	ev;
	pg_uuid_t	account;
	char	   *provider;
	Datum		v[2];
	bool		n[2] = {false, true};
	ApplyCall	ac;
	sl_call		call = {.schema = "payments", .extension = "startlijn_payments", .arg = &ac};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0) || !provider_ok(provider = text_to_cstring(PG_GETARG_TEXT_PP(0))))
		sl_raise("invalid_argument", "The provider must be stripe, mollie or standard.", NULL);
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		sl_raise("missing_argument", "The arguments event_id, kind and payment_ref are required.", NULL);
	memset(&ev, 0, sizeof ev);
	ev.event_id = text_to_cstring(PG_GETARG_TEXT_PP(2));
	ev.kind = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (strcmp(ev.kind, "payment") != 0 && strcmp(ev.kind, "refund") != 0 &&
		strcmp(ev.kind, "chargeback") != 0)
		sl_raise("invalid_argument", "The kind must be payment, refund or chargeback.", NULL);
	ev.payment_ref = text_to_cstring(PG_GETARG_TEXT_PP(4));
	ev.ref = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	ev.status = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	ev.has_amount = !PG_ARGISNULL(7);
	ev.amount = ev.has_amount ? PG_GETARG_INT64(7) : 0;
	ev.currency = PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8));
	if (!PG_ARGISNULL(1))
		memcpy(&account, PG_GETARG_UUID_P(1), sizeof account);

	ac.provider = provider;
	ac.account = PG_ARGISNULL(1) ? NULL : &account;
	ac.ev = &ev;
	ac.payment_id = NULL;
	(void) sl_as_owner(&call, apply_body, fcinfo);
	v[0] = CStringGetTextDatum(ac.outcome);
	if (ac.payment_id != NULL)
	{
		v[1] = UUIDPGetDatum(ac.payment_id);
		n[1] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), v, n)));
}
