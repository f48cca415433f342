/*
 * capacity.c - startlijn_capacity: the write paths (schema capacity).
 *
 * A pool's units are rows of capacity.slots. A slot is free when
 * held_until < now(), held while held_until lies in the future, allocated
 * when it is 'infinity'. Holding claims free slots with
 *
 *     SELECT ... WHERE pool_id = $1 AND held_until < now()
 *      ORDER BY held_until LIMIT n FOR UPDATE SKIP LOCKED
 *
 * from a random start in the pool, and stamps them with the hold and its
 * expiry in the same statement. Why this is exact and fast
 * (docs/capacity.md has the long form):
 *
 *  - a unit is one row, and a row is claimed only under its row lock by a
 *    statement that re-checks it is free on the newest version, so two
 *    holds never get the same unit: no interleaving oversells;
 *  - buyers never wait for each other (SKIP LOCKED), so there is no
 *    deadlock and no queue on one hot row; pools are visited in id order;
 *  - expiry needs no job: an expired hold's slots satisfy held_until <
 *    now() and are claimable at once; confirm, extend and release only
 *    touch slots still stamped with their hold and not yet expired, so
 *    a confirm racing a claim of the same expired unit loses cleanly;
 *  - every lock wait left (confirm or release meeting a claimer on an
 *    expired unit, an idempotency key in flight) is bounded by the
 *    functions' lock_timeout and reported as try_again.
 *
 * Every table has forced RLS and no grants: these functions run their SQL
 * as the owner of schema capacity and leave authorisation to the caller
 * (the platform's api functions).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "access/xact.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/sl_core.h"

#define CAP_MAX_LINES_HARD 200
#define CAP_MAX_UNITS 10000		/* slots one hold may claim */
#define CAP_MAX_NEEDS (CAP_MAX_LINES_HARD * 20)
#define CAP_QUEUE_BATCH 200		/* waitlist entries looked at per promote */

/* 'epoch' (1970-01-01 UTC) in PostgreSQL's microseconds since 2000 */
#define CAP_FREE_BASE (-INT64CONST(946684800000000))

typedef struct CapLine
{
	pg_uuid_t	id;
	bool		is_item;
	int32		quantity;
} CapLine;

/* units to claim from one pool for one line */
typedef struct CapNeed
{
	pg_uuid_t	pool;
	pg_uuid_t	item;
	bool		has_item;
	int32		units;
} CapNeed;

/* ---- prepared statements ------------------------------------------------ */

enum
{
	Q_SETTINGS,
	Q_ITEMS,
	Q_POOLS,
	Q_INSERT_HOLD,
	Q_FIND_IDEM,
	Q_CLAIM_FROM,
	Q_CLAIM_BELOW,
	Q_FREE_VISIBLE,
	Q_UNDO_HOLD,
	Q_HOLD_DONE,
	Q_LOCK_HOLD,
	Q_HOLD_JSON,
	Q_CONFIRM_SLOTS,
	Q_CONFIRM_HOLD,
	Q_FREE_HOLD_SLOTS,
	Q_CLOSE_HOLD,
	Q_EXTEND_CHECK,
	Q_EXTEND_SLOTS,
	Q_EXTEND_HOLD,
	Q_LOCK_ALLOC,
	Q_ITEM_POOLS,
	Q_RETURN_SLOTS,
	Q_RETURN_ALLOC,
	Q_LOG,
	Q_LOCK_POOL,
	Q_ADD_SLOTS,
	Q_DROP_SLOTS,
	Q_SET_POOL,
	Q_REFRESH,
	Q_POOL_STATUS,
	Q_PROMOTE_POOL,
	Q_QUEUE,
	Q_OFFER,
	Q_SKIPPED,
	Q_COUNT
};

/* the JSON of allocation a / hold h, inlined into the queries below */
#define ALLOC_JSON \
	"pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(" \
	"'allocation_id', a.id, 'hold_id', a.hold_id, 'item_id', a.item_id, 'pool_id', a.pool_id," \
	"'quantity', a.quantity, 'returned', a.returned))"
#define HOLD_STATE \
	"CASE WHEN h.state OPERATOR(pg_catalog.=) 'held' AND h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()" \
	" THEN 'expired' ELSE h.state END"
#define HOLD_JSON \
	"pg_catalog.jsonb_build_object(" \
	"'hold_id', h.id, 'organization_id', h.organization_id, 'holder', h.holder," \
	"'state', " HOLD_STATE ", 'lines', h.lines, 'units', h.units," \
	"'created_at', h.created_at, 'expires_at', h.expires_at, 'closed_at', h.closed_at," \
	"'waitlist_entry_id', h.waitlist_entry_id," \
	"'allocations', CASE WHEN h.state OPERATOR(pg_catalog.=) 'confirmed' THEN" \
	" (SELECT COALESCE(pg_catalog.jsonb_agg(" ALLOC_JSON " ORDER BY a.item_id, a.pool_id), '[]')" \
	"    FROM capacity.allocations a WHERE a.hold_id OPERATOR(pg_catalog.=) h.id" \
	"     AND a.organization_id OPERATOR(pg_catalog.=) h.organization_id) END)"
/*
 * trail.log(org, action, subject, details, reason) for an event of holder.
 * A holder that is a uuid (a user id) is the data subject: it is stored
 * encrypted under that subject's key, so trail.forget_subject shreds it;
 * any other holder is an opaque reference, stored in the details as given.
 */
#define IS_PERSON(holder) \
	"(" holder " OPERATOR(pg_catalog.~*) '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')"
#define TRAIL_LOG(org, action, subject, holder, details, reason) \
	"trail.log(" org ", " action ", " subject ", " \
	"CASE WHEN " holder " IS NULL OR " IS_PERSON(holder) " THEN " details \
	" ELSE " details " OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('holder', " holder ") END, " \
	reason ", " \
	"CASE WHEN " IS_PERSON(holder) " THEN " holder "::uuid END, " \
	"CASE WHEN " IS_PERSON(holder) " THEN pg_catalog.jsonb_build_object('holder', " holder ") END)"

#define FREE_KEY "('epoch'::timestamptz OPERATOR(pg_catalog.+) (s.slot_no OPERATOR(pg_catalog.*) interval '1 microsecond'))"

/*
 * Generic plans (SL_PLAN_GENERIC) unless a statement says otherwise. The
 * plan cache would keep planning some of these again on every call: a
 * LIMIT $n or a subquery makes the generic estimate look costlier than a
 * custom plan although the plan is the same (the slot claim was planned on
 * every hold, 14% of a hold's CPU). The statements marked SL_PLAN_CHOOSE
 * keep planning for their values: counting free units runs only when a
 * claim came up short, and a generic plan built while the table is empty
 * would keep a sequential scan; the other four (returning, adding and
 * dropping units, the waitlist queue) are rare paths whose plans were not
 * checked generic.
 */
static const sl_query cap_queries[Q_COUNT] = {
	[Q_SETTINGS] = {
		"SELECT $1 OPERATOR(pg_catalog.>) interval '0' AND $1 OPERATOR(pg_catalog.<=) s.max_ttl,"
		"       s.max_quantity, s.max_lines, s.offer_ttl, s.max_skips"
		"  FROM capacity.settings s",
		1, {INTERVALOID}
	},
	[Q_ITEMS] = {
		"SELECT ip.item_id, ip.pool_id, ip.units FROM capacity.item_pools ip"
		" WHERE ip.organization_id OPERATOR(pg_catalog.=) $1 AND ip.item_id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {UUIDOID, UUIDARRAYOID}
	},
	[Q_POOLS] = {
		"SELECT p.id, p.waitlist_pending, p.next_slot FROM capacity.pools p"
		" WHERE p.organization_id OPERATOR(pg_catalog.=) $1 AND p.id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {UUIDOID, UUIDARRAYOID}
	},
	[Q_INSERT_HOLD] = {
		"INSERT INTO capacity.holds AS h"
		"   (id, organization_id, holder, idempotency_key, lines, units, expires_at, waitlist_entry_id)"
		" VALUES ($8, $1, $2, $3, $4::pg_catalog.jsonb, $5, $6, $7)"
		" ON CONFLICT (organization_id, holder, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
		" RETURNING h.id",
		8, {UUIDOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, UUIDOID, UUIDOID}
	},
	[Q_FIND_IDEM] = {
		"SELECT h.lines OPERATOR(pg_catalog.=) $4::pg_catalog.jsonb, " HOLD_JSON
		"  FROM capacity.holds h"
		" WHERE h.organization_id OPERATOR(pg_catalog.=) $1 AND h.holder OPERATOR(pg_catalog.=) $2"
		"   AND h.idempotency_key OPERATOR(pg_catalog.=) $3",
		4, {UUIDOID, TEXTOID, TEXTOID, TEXTOID}
	},
	[Q_CLAIM_FROM] = {
		"UPDATE capacity.slots s SET held_until = $4, hold_id = $3, item_id = $5"
		" WHERE s.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
		"   SELECT f.ctid FROM capacity.slots f"
		"    WHERE f.pool_id OPERATOR(pg_catalog.=) $1 AND f.held_until OPERATOR(pg_catalog.>=) $6"
		"      AND f.held_until OPERATOR(pg_catalog.<) pg_catalog.now()"
		"    ORDER BY f.held_until LIMIT $2 FOR UPDATE SKIP LOCKED))",
		6, {UUIDOID, INT4OID, UUIDOID, TIMESTAMPTZOID, UUIDOID, TIMESTAMPTZOID}
	},
	[Q_CLAIM_BELOW] = {
		"UPDATE capacity.slots s SET held_until = $4, hold_id = $3, item_id = $5"
		" WHERE s.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
		"   SELECT f.ctid FROM capacity.slots f"
		"    WHERE f.pool_id OPERATOR(pg_catalog.=) $1 AND f.held_until OPERATOR(pg_catalog.<) $6"
		"      AND f.held_until OPERATOR(pg_catalog.<) pg_catalog.now()"
		"    ORDER BY f.held_until LIMIT $2 FOR UPDATE SKIP LOCKED))",
		6, {UUIDOID, INT4OID, UUIDOID, TIMESTAMPTZOID, UUIDOID, TIMESTAMPTZOID}
	},
	[Q_FREE_VISIBLE] = {
		/*
		 * ORDER BY the index order: without it, once statistics say most
		 * slots are free (as after a pool is created), the planner reads
		 * slots sequentially and stops at the first match, which is cheap
		 * while units are free and a scan of every pool's slots for each
		 * buyer once this pool is sold out. In index order the scan stops
		 * after $2 entries of this pool, whatever the statistics say.
		 */
		"SELECT pg_catalog.count(*)::integer FROM (SELECT 1 FROM capacity.slots f"
		" WHERE f.pool_id OPERATOR(pg_catalog.=) $1 AND f.held_until OPERATOR(pg_catalog.<) pg_catalog.now()"
		" ORDER BY f.held_until LIMIT $2) x",
		2, {UUIDOID, INT4OID}, SL_PLAN_CHOOSE
	},
	[Q_UNDO_HOLD] = {
		"WITH f AS (UPDATE capacity.slots s SET held_until = " FREE_KEY ", hold_id = NULL, item_id = NULL"
		"            WHERE s.hold_id OPERATOR(pg_catalog.=) $1 RETURNING 1)"
		"DELETE FROM capacity.holds h WHERE h.id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[Q_HOLD_DONE] = {
		"SELECT " HOLD_JSON ", "
		TRAIL_LOG("h.organization_id", "$2", "'hold:' OPERATOR(pg_catalog.||) h.id::text", "h.holder",
				  "pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('hold_id', h.id, 'state', " HOLD_STATE ","
				  " 'lines', h.lines, 'units', h.units, 'expires_at', h.expires_at,"
				  " 'waitlist_entry_id', h.waitlist_entry_id))", "$3")
		"  FROM capacity.holds h WHERE h.id OPERATOR(pg_catalog.=) $1",
		3, {UUIDOID, TEXTOID, TEXTOID}
	},
	[Q_LOCK_HOLD] = {
		"SELECT h.state, h.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now(), h.units"
		"  FROM capacity.holds h WHERE h.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
		1, {UUIDOID}
	},
	[Q_HOLD_JSON] = {
		"SELECT " HOLD_JSON " FROM capacity.holds h WHERE h.id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[Q_CONFIRM_SLOTS] = {
		"UPDATE capacity.slots s SET held_until = 'infinity'"
		" WHERE s.hold_id OPERATOR(pg_catalog.=) $1 AND s.held_until OPERATOR(pg_catalog.>) pg_catalog.now()"
		"   AND s.held_until OPERATOR(pg_catalog.<) 'infinity'",
		1, {UUIDOID}
	},
	[Q_CONFIRM_HOLD] = {
		"WITH h AS (UPDATE capacity.holds x SET state = 'confirmed', closed_at = pg_catalog.now()"
		"            WHERE x.id OPERATOR(pg_catalog.=) $1 RETURNING x.*),"
		"     a AS (INSERT INTO capacity.allocations (organization_id, hold_id, item_id, pool_id, quantity)"
		"           SELECT h.organization_id, h.id, (l OPERATOR(pg_catalog.->>) 'item_id')::uuid,"
		"                  (l OPERATOR(pg_catalog.->>) 'pool_id')::uuid, (l OPERATOR(pg_catalog.->>) 'quantity')::integer"
		"             FROM h, pg_catalog.jsonb_array_elements(h.lines) l RETURNING 1),"
		"     w AS (UPDATE capacity.waitlist e SET state = 'accepted', closed_at = pg_catalog.now()"
		"             FROM h WHERE e.id OPERATOR(pg_catalog.=) h.waitlist_entry_id"
		"              AND e.organization_id OPERATOR(pg_catalog.=) h.organization_id RETURNING 1)"
		"SELECT (SELECT pg_catalog.count(*) FROM a), (SELECT pg_catalog.count(*) FROM w)",
		1, {UUIDOID}
	},
	[Q_FREE_HOLD_SLOTS] = {
		"WITH f AS (UPDATE capacity.slots s SET held_until = " FREE_KEY ", hold_id = NULL, item_id = NULL"
		"            WHERE s.hold_id OPERATOR(pg_catalog.=) $1 AND s.held_until OPERATOR(pg_catalog.<) 'infinity'"
		"            RETURNING s.pool_id)"
		"SELECT DISTINCT f.pool_id FROM f ORDER BY 1",
		1, {UUIDOID}
	},
	[Q_CLOSE_HOLD] = {
		"WITH h AS (UPDATE capacity.holds x SET state = $2, closed_at = pg_catalog.now()"
		"            WHERE x.id OPERATOR(pg_catalog.=) $1 RETURNING x.waitlist_entry_id, x.organization_id)"
		"UPDATE capacity.waitlist e"
		"   SET state = CASE WHEN $2 OPERATOR(pg_catalog.=) 'expired' THEN 'expired' ELSE 'declined' END,"
		"       closed_at = pg_catalog.now()"
		"  FROM h WHERE e.id OPERATOR(pg_catalog.=) h.waitlist_entry_id AND e.organization_id OPERATOR(pg_catalog.=) h.organization_id"
		"   AND e.state OPERATOR(pg_catalog.=) 'offered'",
		2, {UUIDOID, TEXTOID}
	},
	[Q_EXTEND_CHECK] = {
		"SELECT $2 OPERATOR(pg_catalog.>) interval '0' AND $2 OPERATOR(pg_catalog.<=) s.max_ttl,"
		/* only a valid ttl is added: now() + '1000000 years' overflows (issue 26.3) */
		"       CASE WHEN $2 OPERATOR(pg_catalog.>) interval '0' AND $2 OPERATOR(pg_catalog.<=) s.max_ttl"
		"            THEN pg_catalog.now() OPERATOR(pg_catalog.+) $2 END,"
		"       h.created_at OPERATOR(pg_catalog.+) CASE WHEN h.waitlist_entry_id IS NULL"
		"                         THEN s.max_hold_lifetime ELSE s.offer_ttl END,"
		"       h.expires_at"
		"  FROM capacity.holds h, capacity.settings s WHERE h.id OPERATOR(pg_catalog.=) $1",
		2, {UUIDOID, INTERVALOID}
	},
	[Q_EXTEND_SLOTS] = {
		"UPDATE capacity.slots s SET held_until = $2"
		" WHERE s.hold_id OPERATOR(pg_catalog.=) $1 AND s.held_until OPERATOR(pg_catalog.>) pg_catalog.now()"
		"   AND s.held_until OPERATOR(pg_catalog.<) 'infinity'",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	[Q_EXTEND_HOLD] = {
		"UPDATE capacity.holds h SET expires_at = $2 WHERE h.id OPERATOR(pg_catalog.=) $1",
		2, {UUIDOID, TIMESTAMPTZOID}
	},
	[Q_LOCK_ALLOC] = {
		"SELECT a.organization_id, a.hold_id, a.item_id, a.pool_id,"
		"       a.quantity OPERATOR(pg_catalog.-) a.returned, h.holder"
		"  FROM capacity.allocations a JOIN capacity.holds h ON h.id OPERATOR(pg_catalog.=) a.hold_id"
		"   AND h.organization_id OPERATOR(pg_catalog.=) a.organization_id"
		" WHERE a.id OPERATOR(pg_catalog.=) $1 FOR UPDATE OF a",
		1, {UUIDOID}
	},
	[Q_ITEM_POOLS] = {
		"SELECT ip.pool_id, ip.units FROM capacity.item_pools ip"
		" WHERE ip.item_id OPERATOR(pg_catalog.=) $1 ORDER BY ip.pool_id",
		1, {UUIDOID}
	},
	[Q_RETURN_SLOTS] = {
		"UPDATE capacity.slots s SET held_until = " FREE_KEY ", hold_id = NULL, item_id = NULL"
		" WHERE s.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
		"   SELECT f.ctid FROM capacity.slots f"
		"    WHERE f.hold_id OPERATOR(pg_catalog.=) $2 AND f.pool_id OPERATOR(pg_catalog.=) $1"
		"      AND f.item_id IS NOT DISTINCT FROM $3 AND f.held_until OPERATOR(pg_catalog.=) 'infinity'"
		"    ORDER BY f.slot_no LIMIT $4 FOR UPDATE))",
		4, {UUIDOID, UUIDOID, UUIDOID, INT4OID}, SL_PLAN_CHOOSE
	},
	[Q_RETURN_ALLOC] = {
		"UPDATE capacity.allocations a SET returned = a.returned OPERATOR(pg_catalog.+) $2"
		" WHERE a.id OPERATOR(pg_catalog.=) $1 RETURNING " ALLOC_JSON,
		2, {UUIDOID, INT4OID}
	},
	[Q_LOG] = {
		"SELECT " TRAIL_LOG("$1", "$2", "$3", "$4", "$5::pg_catalog.jsonb", "$6"),
		6, {UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}
	},
	[Q_LOCK_POOL] = {
		"SELECT p.organization_id, p.capacity, p.next_slot, s.max_capacity, s.max_growth"
		"  FROM capacity.pools p, capacity.settings s WHERE p.id OPERATOR(pg_catalog.=) $1 FOR UPDATE OF p",
		1, {UUIDOID}
	},
	[Q_ADD_SLOTS] = {
		"INSERT INTO capacity.slots (organization_id, pool_id, slot_no, held_until)"
		" SELECT $2, $1, s.slot_no, " FREE_KEY
		"   FROM pg_catalog.generate_series($3, $4) AS s(slot_no)",
		4, {UUIDOID, UUIDOID, INT4OID, INT4OID}, SL_PLAN_CHOOSE
	},
	[Q_DROP_SLOTS] = {
		"DELETE FROM capacity.slots s"
		" WHERE s.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
		"   SELECT f.ctid FROM capacity.slots f"
		"    WHERE f.pool_id OPERATOR(pg_catalog.=) $1 AND f.held_until OPERATOR(pg_catalog.<) pg_catalog.now()"
		"    ORDER BY f.held_until DESC LIMIT $2 FOR UPDATE SKIP LOCKED))",
		2, {UUIDOID, INT4OID}, SL_PLAN_CHOOSE
	},
	[Q_SET_POOL] = {
		"UPDATE capacity.pools p SET capacity = $2, next_slot = $3 WHERE p.id OPERATOR(pg_catalog.=) $1",
		3, {UUIDOID, INT4OID, INT4OID}
	},
	[Q_REFRESH] = {
		"SELECT capacity._refresh_approx(ARRAY[$1])",
		1, {UUIDOID}
	},
	[Q_POOL_STATUS] = {
		"SELECT capacity.pool_status($1)",
		1, {UUIDOID}
	},
	[Q_PROMOTE_POOL] = {
		"SELECT p.organization_id, p.waitlist_pending, s.max_skips, s.offer_ttl"
		"  FROM capacity.pools p, capacity.settings s WHERE p.id OPERATOR(pg_catalog.=) $1",
		1, {UUIDOID}
	},
	[Q_QUEUE] = {
		"SELECT w.id, w.holder, w.quantity, w.pool_id, w.item_id, w.skipped FROM capacity.waitlist w"
		" WHERE w.state OPERATOR(pg_catalog.=) 'waiting' AND w.organization_id OPERATOR(pg_catalog.=) $2"
		"   AND (w.pool_id OPERATOR(pg_catalog.=) $1 OR w.item_id IN"
		"        (SELECT ip.item_id FROM capacity.item_pools ip WHERE ip.pool_id OPERATOR(pg_catalog.=) $1"
		"            AND ip.organization_id OPERATOR(pg_catalog.=) $2))"
		" ORDER BY w.priority DESC, w.created_at, w.id LIMIT " CppAsString2(CAP_QUEUE_BATCH)
		" FOR UPDATE OF w SKIP LOCKED",
		2, {UUIDOID, UUIDOID}, SL_PLAN_CHOOSE
	},
	[Q_OFFER] = {
		"UPDATE capacity.waitlist w SET state = 'offered', hold_id = $2, offered_at = pg_catalog.now()"
		" WHERE w.id OPERATOR(pg_catalog.=) $1 AND w.organization_id OPERATOR(pg_catalog.=) $3",
		3, {UUIDOID, UUIDOID, UUIDOID}
	},
	[Q_SKIPPED] = {
		"UPDATE capacity.waitlist w SET skipped = w.skipped OPERATOR(pg_catalog.+) 1"
		" WHERE w.id OPERATOR(pg_catalog.=) ANY ($1) AND w.organization_id OPERATOR(pg_catalog.=) $2",
		2, {UUIDARRAYOID, UUIDOID}
	},
};

static SPIPlanPtr cap_plans[Q_COUNT];
static const sl_query_table cap_sql = {"capacity", cap_queries, Q_COUNT, cap_plans};

static Datum
uuid_datum(const pg_uuid_t *u)
{
	pg_uuid_t  *p = palloc(sizeof(pg_uuid_t));

	memcpy(p, u, sizeof(pg_uuid_t));
	return UUIDPGetDatum(p);
}

static char *
uuid_text(const pg_uuid_t *u)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, uuid_datum(u)));
}

static int
cap_uuid_cmp(const pg_uuid_t *a, const pg_uuid_t *b)
{
	return memcmp(a->data, b->data, UUID_LEN);
}

static Datum
uuid_array(const pg_uuid_t *ids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = uuid_datum(&ids[i]);
	return PointerGetDatum(construct_array(d, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
}

/* the jsonb result of a function, copied out of the SPI context */
static Datum
keep_jsonb(Datum d)
{
	return SPI_datumTransfer(d, false, -1);
}

/* ---- calling convention: SPI, as the schema owner, lock waits bounded --- */

/*
 * Run body as the owner of schema capacity (sl_as_owner). A lock wait that
 * hit the functions' lock_timeout becomes try_again: the other party is a
 * short transaction on the same hold or unit. A by-reference result must
 * have been copied out of SPI by body (keep_jsonb).
 */
static Datum
cap_call(sl_body body, FunctionCallInfo fcinfo)
{
	sl_call		call = {
		.schema = "capacity",
		.extension = "startlijn_capacity",
		.busy_detail = "Another request is working on the same hold or units.",
	};

	return sl_as_owner(&call, body, fcinfo);
}

/* the detail of invalid_ttl, naming the configured maximum (error path only) */
static const char *
max_ttl_detail(void)
{
	char	   *max = NULL;

	if (SPI_execute("SELECT s.max_ttl::pg_catalog.text FROM capacity.settings s", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		max = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return psprintf("The time to live must be positive and at most %s (capacity.settings.max_ttl).",
					max ? max : "the configured maximum");
}

/* ---- input checks -------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* canonical 8-4-4-4-12 hex uuid text */
static bool
parse_uuid(const char *s, int len, pg_uuid_t *out)
{
	int			j = 0;

	if (len != 36)
		return false;
	for (int i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
			continue;
		}
		{
			int			hi = hexval(s[i]),
						lo = (i + 1 < 36) ? hexval(s[i + 1]) : -1;

			if (hi < 0 || lo < 0)
				return false;
			out->data[j++] = (unsigned char) (hi << 4 | lo);
			i++;
		}
	}
	return j == UUID_LEN;
}

static void
bad_lines(int idx, const char *what)
{
	char		buf[160];

	if (idx >= 0)
		snprintf(buf, sizeof(buf), "Line %d: %s.", idx + 1, what);
	else
		snprintf(buf, sizeof(buf), "%s.", what);
	sl_raise("invalid_lines", buf,
			 "Send lines as [{\"item_id\": \"<uuid>\", \"quantity\": 1}] or with \"pool_id\".");
}

/* a positive whole JSON number up to max, or -1 */
static int32
json_quantity(const JsonbValue *v, int32 max)
{
	char	   *s;
	long		n;
	char	   *end;

	if (v->type != jbvNumeric)
		return -1;
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	if (*s == '\0' || strspn(s, "-0123456789") != strlen(s) || strlen(s) > 9)
		return -2;
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < 1 || n > max)
		return -2;
	return (int32) n;
}

static int
line_cmp(const void *a, const void *b)
{
	const CapLine *x = a,
			   *y = b;

	if (x->is_item != y->is_item)
		return x->is_item ? 1 : -1;
	return cap_uuid_cmp(&x->id, &y->id);
}

/*
 * Parse lines [{"item_id"|"pool_id": uuid, "quantity": n}, ...] into
 * out[] sorted (pools first, then items, each by id). Errors name the line.
 */
static int
parse_lines(Jsonb *jb, CapLine *out, int max_lines, int32 max_quantity)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			n = 0;

	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		bad_lines(-1, "The lines must be a JSON array");
	it = JsonbIteratorInit(&jb->root);
	r = JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_ARRAY */
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbIterator *eit;
		JsonbValue	k,
					ev;
		JsonbIteratorToken er;
		bool		have_id = false,
					have_q = false;
		CapLine    *l;

		if (r == WJB_END_ARRAY)
			continue;
		if (n >= max_lines)
		{
			char		buf[80];

			snprintf(buf, sizeof(buf), "A hold has at most %d lines", max_lines);
			bad_lines(-1, buf);
		}
		l = &out[n];
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			bad_lines(n, "each line must be an object");
		eit = JsonbIteratorInit(v.val.binary.data);
		er = JsonbIteratorNext(&eit, &k, true); /* WJB_BEGIN_OBJECT */
		while ((er = JsonbIteratorNext(&eit, &k, true)) != WJB_DONE)
		{
			if (er != WJB_KEY)
				continue;
			er = JsonbIteratorNext(&eit, &ev, true);
			if (k.val.string.len == 7 &&
				(memcmp(k.val.string.val, "item_id", 7) == 0 ||
				 memcmp(k.val.string.val, "pool_id", 7) == 0))
			{
				if (have_id)
					bad_lines(n, "give exactly one of item_id and pool_id");
				if (ev.type != jbvString ||
					!parse_uuid(ev.val.string.val, ev.val.string.len, &l->id))
					bad_lines(n, "the id must be a uuid");
				l->is_item = (k.val.string.val[0] == 'i');
				have_id = true;
			}
			else if (k.val.string.len == 8 && memcmp(k.val.string.val, "quantity", 8) == 0)
			{
				int32		q = json_quantity(&ev, max_quantity);

				if (q == -1)
					bad_lines(n, "the quantity must be a number");
				if (q < 0)
				{
					char		buf[120];

					snprintf(buf, sizeof(buf), "Line %d: the quantity must be a whole number from 1 to %d.",
							 n + 1, max_quantity);
					sl_raise("invalid_quantity", buf, NULL);
				}
				l->quantity = q;
				have_q = true;
			}
			else
				bad_lines(n, "only item_id, pool_id and quantity are allowed");
		}
		if (!have_id)
			bad_lines(n, "item_id or pool_id is required");
		if (!have_q)
			bad_lines(n, "quantity is required");
		n++;
	}
	if (n == 0)
		bad_lines(-1, "At least one line is required");
	qsort(out, n, sizeof(CapLine), line_cmp);
	for (int i = 1; i < n; i++)
		if (line_cmp(&out[i - 1], &out[i]) == 0)
		{
			char		buf[120];

			snprintf(buf, sizeof(buf), "The %s %s appears in more than one line.",
					 out[i].is_item ? "item" : "pool", uuid_text(&out[i].id));
			sl_raise("duplicate_line", buf, "Add the quantities up in one line.");
		}
	return n;
}

/* the canonical JSON text of sorted lines: what holds.lines stores */
static char *
lines_json(const CapLine *lines, int n)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoChar(&s, '[');
	for (int i = 0; i < n; i++)
		appendStringInfo(&s, "%s{\"%s\": \"%s\", \"quantity\": %d}", i ? ", " : "",
						 lines[i].is_item ? "item_id" : "pool_id", uuid_text(&lines[i].id),
						 lines[i].quantity);
	appendStringInfoChar(&s, ']');
	return s.data;
}

static int
need_cmp(const void *a, const void *b)
{
	const CapNeed *x = a,
			   *y = b;
	int			c = cap_uuid_cmp(&x->pool, &y->pool);

	if (c != 0)
		return c;
	if (x->has_item != y->has_item)
		return x->has_item ? 1 : -1;
	return x->has_item ? cap_uuid_cmp(&x->item, &y->item) : 0;
}

/* ---- claiming units ------------------------------------------------------ */

/*
 * Claim up to `want` free units of one pool for a hold, starting at a
 * random free key so concurrent buyers spread over the pool instead of
 * all skipping the same locked rows. Returns the units claimed.
 */
static int32
claim_units(const CapNeed *need, int32 want, int32 next_slot, Datum hold, Datum until)
{
	Datum		v[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int32		got = 0;
	TimestampTz start;

	start = CAP_FREE_BASE + (next_slot > 1 ?
							 (int64) pg_prng_uint64_range(&pg_global_prng_state, 0, next_slot - 1) : 0);
	v[0] = uuid_datum(&need->pool);
	v[2] = hold;
	v[3] = until;
	if (need->has_item)
		v[4] = uuid_datum(&need->item);
	else
	{
		v[4] = (Datum) 0;
		nulls[4] = 'n';
	}
	v[5] = TimestampTzGetDatum(start);
	/*
	 * From the random start to the end, then from the beginning. A row that
	 * a concurrent release changed after this statement's snapshot is
	 * locked by the subquery but not seen by the UPDATE; the second round,
	 * with a new snapshot, takes it (the lock is ours already).
	 */
	for (int pass = 0; pass < 4 && got < want; pass++)
	{
		v[1] = Int32GetDatum(want - got);
		sl_exec(&cap_sql, pass % 2 == 0 ? Q_CLAIM_FROM : Q_CLAIM_BELOW, v, nulls, 0);
		got += (int32) SPI_processed;
	}
	return got;
}

/*
 * The hold placed earlier with this request's idempotency key (v as for
 * Q_INSERT_HOLD): false if there is none; its JSON in *result if it was
 * for the same lines; idempotency_key_reused if not.
 */
static bool
earlier_hold(Datum *v, const char *nulls, Datum *result)
{
	bool		isnull;

	sl_exec(&cap_sql, Q_FIND_IDEM, v, nulls, 0);
	if (SPI_processed == 0)
		return false;
	if (!DatumGetBool(sl_col(0, 1, &isnull)))
		sl_raise("idempotency_key_reused",
				 "This idempotency key was used before for other lines.",
				 "Use a new idempotency key for a new request.");
	*result = sl_col_nn(0, 2);
	return true;
}

/* a new hold id: PostgreSQL's own gen_random_uuid(), the column's default */
static Datum
new_uuid(void)
{
	LOCAL_FCINFO(fcinfo, 0);

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	return gen_random_uuid(fcinfo);
}

/*
 * Hold lines for holder. With entry (a waitlist offer) the waitlist
 * reservation of the pools does not apply and a shortfall is not an
 * error: the partial claim is undone and false returned. Otherwise a
 * shortfall raises sold_out (or try_again when the missing units are only
 * locked by buyers in flight). On success *result is the hold's JSON.
 */
static bool
do_hold(Datum org, CapLine *lines, int nlines, Datum ttl, text *holder, text *key,
		const pg_uuid_t *entry, const char *action, Datum *result, Datum *hold_out)
{
	CapNeed    *needs = palloc(sizeof(CapNeed) * CAP_MAX_NEEDS);
	int			nneeds = 0;
	pg_uuid_t  *ids = palloc(sizeof(pg_uuid_t) * Max(nlines, CAP_MAX_NEEDS));
	int			nids = 0;
	int32	   *next_slot;
	int64		total = 0;
	char	   *canon = lines_json(lines, nlines);
	Datum		v[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Datum		hold_id,
				until;

	/* items -> (pool, units) */
	for (int i = 0; i < nlines; i++)
		if (lines[i].is_item)
			ids[nids++] = lines[i].id;
	if (nids > 0)
	{
		v[0] = org;
		v[1] = uuid_array(ids, nids);
		sl_exec(&cap_sql, Q_ITEMS, v, NULL, 0);
		for (int i = 0; i < nlines; i++)
		{
			bool		found = false;

			if (!lines[i].is_item)
				continue;
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				pg_uuid_t  *item = DatumGetUUIDP(sl_col_nn(r, 1));

				if (cap_uuid_cmp(item, &lines[i].id) != 0)
					continue;
				if (nneeds >= CAP_MAX_NEEDS)
					sl_raise("invalid_lines", "The items draw from too many pools in total.", NULL);
				needs[nneeds].pool = *DatumGetUUIDP(sl_col_nn(r, 2));
				needs[nneeds].item = lines[i].id;
				needs[nneeds].has_item = true;
				needs[nneeds].units = lines[i].quantity * DatumGetInt32(sl_col_nn(r, 3));
				total += needs[nneeds].units;
				nneeds++;
				found = true;
			}
			if (!found)
				sl_raise("item_not_found",
						 psprintf("No item %s exists in this organization.", uuid_text(&lines[i].id)), NULL);
		}
	}
	for (int i = 0; i < nlines; i++)
		if (!lines[i].is_item)
		{
			needs[nneeds].pool = lines[i].id;
			needs[nneeds].has_item = false;
			needs[nneeds].units = lines[i].quantity;
			total += lines[i].quantity;
			nneeds++;
		}
	if (total > CAP_MAX_UNITS)
		sl_raise("invalid_quantity",
				 psprintf("The lines need %lld units; a hold covers at most %d.", (long long) total, CAP_MAX_UNITS),
				 "Split the request.");
	qsort(needs, nneeds, sizeof(CapNeed), need_cmp);

	/* the pools: all in this organization; reserved for the waitlist? */
	nids = 0;
	for (int i = 0; i < nneeds; i++)
		if (nids == 0 || cap_uuid_cmp(&ids[nids - 1], &needs[i].pool) != 0)
			ids[nids++] = needs[i].pool;
	next_slot = palloc(sizeof(int32) * nids);
	v[0] = org;
	v[1] = uuid_array(ids, nids);
	sl_exec(&cap_sql, Q_POOLS, v, NULL, 0);
	for (int i = 0; i < nids; i++)
	{
		bool		found = false;

		for (uint64 r = 0; r < SPI_processed; r++)
		{
			if (cap_uuid_cmp(DatumGetUUIDP(sl_col_nn(r, 1)), &ids[i]) != 0)
				continue;
			found = true;
			next_slot[i] = DatumGetInt32(sl_col_nn(r, 3));
			if (entry == NULL && DatumGetInt32(sl_col_nn(r, 2)) > 0)
				sl_raise("sold_out",
						 psprintf("The units of pool %s that come free are offered to its waitlist first.",
								  uuid_text(&ids[i])),
						 "Join the waitlist.");
		}
		if (!found)
			sl_raise("pool_not_found",
					 psprintf("No pool %s exists in this organization.", uuid_text(&ids[i])), NULL);
	}

	/*
	 * The hold's id and expiry are chosen here and its units claimed before
	 * its row is written: a buyer who finds the pools sold out has written
	 * nothing (no transaction id, no WAL, no dead row), so a crowd retrying
	 * a sold-out drop only reads. Slots name their hold without a foreign
	 * key; the row follows in this transaction or the claims are undone.
	 */
	v[0] = org;
	v[1] = PointerGetDatum(holder);
	if (key != NULL)
		v[2] = PointerGetDatum(key);
	else
		nulls[2] = 'n';
	v[3] = CStringGetTextDatum(canon);
	v[4] = Int32GetDatum((int32) total);
	if (entry != NULL)
		v[6] = uuid_datum(entry);
	else
		nulls[6] = 'n';
	/* a replay with the same idempotency key answers with the earlier hold */
	if (key != NULL && earlier_hold(v, nulls, result))
	{
		if (hold_out)
			*hold_out = (Datum) 0;
		return true;
	}
	hold_id = new_uuid();
	until = DirectFunctionCall2(timestamptz_pl_interval,
								TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), ttl);

	/* claim every pool in id order */
	for (int i = 0, p = 0; i < nneeds; i++)
	{
		int32		got;

		while (cap_uuid_cmp(&ids[p], &needs[i].pool) != 0)
			p++;
		got = claim_units(&needs[i], needs[i].units, next_slot[p], hold_id, until);
		if (got < needs[i].units)
		{
			Datum		fv[2];
			int32		visible;

			if (entry != NULL)
			{
				Datum		uv[1] = {hold_id};

				sl_exec(&cap_sql, Q_UNDO_HOLD, uv, NULL, 0);
				return false;
			}
			fv[0] = uuid_datum(&needs[i].pool);
			fv[1] = Int32GetDatum(needs[i].units - got);
			sl_exec(&cap_sql, Q_FREE_VISIBLE, fv, NULL, 0);
			visible = DatumGetInt32(sl_col_nn(0, 1));
			if (visible >= needs[i].units - got)
				sl_raise("try_again",
						 psprintf("The last units of pool %s are being taken by other buyers right now.",
								  uuid_text(&needs[i].pool)),
						 "Retry in a moment: if their holds fail, the units come back.");
			sl_raise("sold_out",
					 psprintf("Pool %s has fewer than %d units left.", uuid_text(&needs[i].pool),
							  needs[i].units),
					 "Lower the quantity or join the waitlist.");
		}
	}

	/* the hold row */
	v[5] = until;
	v[7] = hold_id;
	sl_exec(&cap_sql, Q_INSERT_HOLD, v, nulls, 0);
	if (SPI_processed == 0)
	{
		/*
		 * A concurrent request with this idempotency key committed its hold
		 * first: give these units back and answer with that hold.
		 */
		Datum		uv[1] = {hold_id};

		sl_exec(&cap_sql, Q_UNDO_HOLD, uv, NULL, 0);
		if (!earlier_hold(v, nulls, result))
			elog(ERROR, "capacity: idempotency key conflict without a hold");
		if (hold_out)
			*hold_out = (Datum) 0;
		return true;
	}

	{
		Datum		dv[3] = {hold_id, CStringGetTextDatum(action), (Datum) 0};
		char		dn[3] = {' ', ' ', 'n'};

		sl_exec(&cap_sql, Q_HOLD_DONE, dv, dn, 0);
		*result = sl_col_nn(0, 1);
	}
	if (hold_out)
		*hold_out = hold_id;
	return true;
}

static text *
holder_arg(FunctionCallInfo fcinfo, int n)
{
	text	   *t;
	int			len;

	if (PG_ARGISNULL(n))
		sl_raise("missing_argument", "The holder is required.", NULL);
	t = PG_GETARG_TEXT_PP(n);
	len = VARSIZE_ANY_EXHDR(t);
	if (len < 1 || len > 200)
		sl_raise("invalid_argument", "The holder has 1 to 200 characters.", NULL);
	return t;
}

static Datum
hold_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Datum		result = (Datum) 0;
	text	   *holder;
	text	   *key = NULL;
	Datum		v[1];
	CapLine    *lines = palloc(sizeof(CapLine) * CAP_MAX_LINES_HARD);
	int			nlines;
	int32		max_q,
				max_lines;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The argument organization_id is required.", NULL);
	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The argument lines is required.", NULL);
	if (PG_ARGISNULL(2))
		sl_raise("missing_argument", "The argument ttl is required.", "For example '15 minutes'.");
	holder = holder_arg(fcinfo, 3);
	if (!PG_ARGISNULL(4))
	{
		key = PG_GETARG_TEXT_PP(4);
		if (VARSIZE_ANY_EXHDR(key) < 1 || VARSIZE_ANY_EXHDR(key) > 200)
			sl_raise("invalid_argument", "The idempotency key has 1 to 200 characters.", NULL);
	}

	v[0] = PG_GETARG_DATUM(2);
	sl_exec(&cap_sql, Q_SETTINGS, v, NULL, 0);
	if (!DatumGetBool(sl_col_nn(0, 1)))
		sl_raise("invalid_ttl", max_ttl_detail(),
				 "Hold for the time a payment may take: 15 minutes for iDEAL, 30 for cards.");
	max_q = DatumGetInt32(sl_col_nn(0, 2));
	max_lines = DatumGetInt32(sl_col_nn(0, 3));
	nlines = parse_lines(PG_GETARG_JSONB_P(1), lines, Min(max_lines, CAP_MAX_LINES_HARD), max_q);
	do_hold(PG_GETARG_DATUM(0), lines, nlines, PG_GETARG_DATUM(2), holder, key, NULL,
			"capacity.held", &result, NULL);
	result = keep_jsonb(result);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(capacity_hold);
Datum
capacity_hold(PG_FUNCTION_ARGS)
{
	return cap_call(hold_body, fcinfo);
}

/* ---- waitlist promotion --------------------------------------------------- */

/*
 * Offer free units of pool to its waitlist, best entry first (priority,
 * then age). An entry that does not fit yet may be overtaken by later
 * entries that do, but at most settings.max_skips times; after that no
 * later entry is served until it fits, so freed units accumulate for it.
 */
static int
do_promote(Datum pool)
{
	Datum		v[2];
	Datum		org,
				offer_ttl;
	int			max_skips;
	int			offers = 0;
	SPITupleTable *queue;
	uint64		nqueue;
	pg_uuid_t  *passed;
	int			npassed = 0;

	v[0] = pool;
	sl_exec(&cap_sql, Q_PROMOTE_POOL, v, NULL, 1);
	if (SPI_processed != 1 || DatumGetInt32(sl_col_nn(0, 2)) == 0)
		return 0;
	org = sl_col_nn(0, 1);
	max_skips = DatumGetInt32(sl_col_nn(0, 3));
	offer_ttl = sl_col_nn(0, 4);

	v[1] = org;
	sl_exec(&cap_sql, Q_QUEUE, v, NULL, 0);
	queue = SPI_tuptable;
	nqueue = SPI_processed;
	passed = palloc(sizeof(pg_uuid_t) * (nqueue + 1));
	for (uint64 r = 0; r < nqueue; r++)
	{
		HeapTuple	tup = queue->vals[r];
		TupleDesc	desc = queue->tupdesc;
		bool		isnull;
		pg_uuid_t	entry = *DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
		text	   *holder = DatumGetTextPP(SPI_getbinval(tup, desc, 2, &isnull));
		int32		qty = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		Datum		pool_id = SPI_getbinval(tup, desc, 4, &isnull);
		bool		is_item = isnull;
		Datum		item_id = SPI_getbinval(tup, desc, 5, &isnull);
		int32		skipped = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		CapLine		line;
		Datum		json,
					hold;

		line.is_item = is_item;
		line.id = *DatumGetUUIDP(is_item ? item_id : pool_id);
		line.quantity = qty;
		if (do_hold(org, &line, 1, offer_ttl, holder, NULL, &entry, "capacity.offered", &json, &hold))
		{
			Datum		ov[3] = {uuid_datum(&entry), hold, org};

			sl_exec(&cap_sql, Q_OFFER, ov, NULL, 0);
			offers++;
			if (npassed > 0)
			{
				Datum		sv[2] = {uuid_array(passed, npassed), org};

				sl_exec(&cap_sql, Q_SKIPPED, sv, NULL, 0);
			}
		}
		else
		{
			passed[npassed++] = entry;
			if (skipped >= max_skips)
				break;			/* it has waited long enough: nobody overtakes it */
		}
	}
	return offers;
}

static Datum
promote_body(FunctionCallInfo fcinfo, sl_call *call)
{
	int			n = 0;

	n = do_promote(PG_GETARG_DATUM(0));
	PG_RETURN_INT32(n);
}

PG_FUNCTION_INFO_V1(capacity_promote);
Datum
capacity_promote(PG_FUNCTION_ARGS)
{
	return cap_call(promote_body, fcinfo);
}

/* ---- confirm, release/expire, extend ------------------------------------ */

typedef struct LockedHold
{
	char	   *state;
	bool		expired;
	int32		units;
	Datum		hold;
} LockedHold;

static void
lock_hold(Datum hold, LockedHold *h)
{
	Datum		v[1] = {hold};

	sl_exec(&cap_sql, Q_LOCK_HOLD, v, NULL, 0);
	if (SPI_processed != 1)
		sl_raise("hold_not_found", NULL, NULL);
	h->state = TextDatumGetCString(sl_col_nn(0, 1));
	h->expired = DatumGetBool(sl_col_nn(0, 2));
	h->units = DatumGetInt32(sl_col_nn(0, 3));
	h->hold = hold;
}

/* the hold as it stands, for answers that change nothing */
static Datum
hold_json(const LockedHold *h)
{
	Datum		v[1] = {h->hold};

	sl_exec(&cap_sql, Q_HOLD_JSON, v, NULL, 0);
	return sl_col_nn(0, 1);
}

static void
raise_closed(const LockedHold *h)
{
	if (strcmp(h->state, "released") == 0)
		sl_raise("hold_released", NULL, "Place a new hold.");
	if (strcmp(h->state, "confirmed") == 0)
		sl_raise("hold_confirmed", NULL,
				 "Give confirmed units back by returning them (through the API: return_capacity_units).");
	sl_raise("hold_expired", NULL, "Place a new hold.");
}

static Datum
hold_done(Datum hold, const char *action, text *reason)
{
	Datum		v[3] = {hold, CStringGetTextDatum(action), reason ? PointerGetDatum(reason) : (Datum) 0};
	char		n[3] = {' ', ' ', reason ? ' ' : 'n'};

	sl_exec(&cap_sql, Q_HOLD_DONE, v, n, 0);
	return sl_col_nn(0, 1);
}

static Datum
confirm_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Datum		hold = PG_GETARG_DATUM(0);
	Datum		result = (Datum) 0;

	LockedHold	h;
	Datum		v[1] = {hold};

	lock_hold(hold, &h);
	if (strcmp(h.state, "confirmed") == 0)
		result = hold_json(&h);	/* confirmed before: the same allocations */
	else
	{
		if (strcmp(h.state, "held") != 0 || h.expired)
			raise_closed(&h);
		sl_exec(&cap_sql, Q_CONFIRM_SLOTS, v, NULL, 0);
		if (SPI_processed != (uint64) h.units)
			sl_raise("hold_expired", "The hold expired while it was being confirmed.", "Place a new hold.");
		sl_exec(&cap_sql, Q_CONFIRM_HOLD, v, NULL, 0);
		result = hold_done(hold, "capacity.confirmed", NULL);
	}
	result = keep_jsonb(result);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(capacity_confirm);
Datum
capacity_confirm(PG_FUNCTION_ARGS)
{
	return cap_call(confirm_body, fcinfo);
}

/*
 * Release a hold (expiring = false) or mark an expired one (the sweep):
 * its units still stamped with it go back to the pool, an offer's entry
 * is declined or expired, and the pools' waitlists get their turn.
 */
static Datum
close_hold(FunctionCallInfo fcinfo, bool expiring)
{
	Datum		hold;
	text	   *reason = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	Datum		result = (Datum) 0;
	LockedHold	h;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The argument hold is required.", NULL);
	hold = PG_GETARG_DATUM(0);
	if (reason && VARSIZE_ANY_EXHDR(reason) > 2000)
		sl_raise("invalid_argument", "The reason has at most 2000 bytes.", NULL);

	lock_hold(hold, &h);
	if (strcmp(h.state, "held") != 0 || (expiring && !h.expired))
	{
		if (strcmp(h.state, "confirmed") == 0 && !expiring)
			raise_closed(&h);
		result = hold_json(&h);	/* closed before, or not due: nothing to do */
	}
	else
	{
		Datum		v[2] = {hold, CStringGetTextDatum(h.expired ? "expired" : "released")};
		SPITupleTable *pools;
		uint64		npools;

		sl_exec(&cap_sql, Q_FREE_HOLD_SLOTS, v, NULL, 0);
		pools = SPI_tuptable;
		npools = SPI_processed;
		sl_exec(&cap_sql, Q_CLOSE_HOLD, v, NULL, 0);
		for (uint64 i = 0; i < npools; i++)
		{
			bool		isnull;

			do_promote(SPI_getbinval(pools->vals[i], pools->tupdesc, 1, &isnull));
		}
		result = hold_done(hold, h.expired ? "capacity.expired" : "capacity.released", reason);
	}
	result = keep_jsonb(result);
	PG_RETURN_DATUM(result);
}

/* capacity._close(hold, reason, expiring): the sweep's entry */
static Datum
close_body(FunctionCallInfo fcinfo, sl_call *call)
{
	return close_hold(fcinfo, !PG_ARGISNULL(2) && PG_GETARG_BOOL(2));
}

PG_FUNCTION_INFO_V1(capacity_close);
Datum
capacity_close(PG_FUNCTION_ARGS)
{
	return cap_call(close_body, fcinfo);
}

/*
 * capacity.release(hold, reason) since 0.3: called directly instead of
 * through an SQL wrapper around _close, which was parsed and planned
 * again on every call.
 */
static Datum
release_body(FunctionCallInfo fcinfo, sl_call *call)
{
	return close_hold(fcinfo, false);
}

PG_FUNCTION_INFO_V1(capacity_release);
Datum
capacity_release(PG_FUNCTION_ARGS)
{
	return cap_call(release_body, fcinfo);
}

static Datum
extend_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Datum		hold;
	Datum		result = (Datum) 0;
	LockedHold	h;
	Datum		v[2];
	TimestampTz until,
				cap,
				current;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The argument hold is required.", NULL);
	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The argument ttl is required.", "For example '10 minutes'.");
	hold = PG_GETARG_DATUM(0);
	v[0] = hold;
	v[1] = PG_GETARG_DATUM(1);

	lock_hold(hold, &h);
	if (strcmp(h.state, "held") != 0 || h.expired)
		raise_closed(&h);
	sl_exec(&cap_sql, Q_EXTEND_CHECK, v, NULL, 0);
	if (!DatumGetBool(sl_col_nn(0, 1)))
		sl_raise("invalid_ttl", max_ttl_detail(), NULL);
	until = DatumGetTimestampTz(sl_col_nn(0, 2));
	cap = DatumGetTimestampTz(sl_col_nn(0, 3));
	current = DatumGetTimestampTz(sl_col_nn(0, 4));
	if (until > cap)
		sl_raise("hold_extension_limit",
				 psprintf("This hold can be kept until %s at the latest.", timestamptz_to_str(cap)),
				 "Extend by less, or complete the payment first.");
	if (until <= current)
		result = hold_json(&h);	/* never shortens a hold */
	else
	{
		v[1] = TimestampTzGetDatum(until);
		sl_exec(&cap_sql, Q_EXTEND_SLOTS, v, NULL, 0);
		if (SPI_processed != (uint64) h.units)
			sl_raise("hold_expired", "The hold expired while it was being extended.", "Place a new hold.");
		sl_exec(&cap_sql, Q_EXTEND_HOLD, v, NULL, 0);
		result = hold_done(hold, "capacity.extended", NULL);
	}
	result = keep_jsonb(result);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(capacity_extend);
Datum
capacity_extend(PG_FUNCTION_ARGS)
{
	return cap_call(extend_body, fcinfo);
}

/* ---- returns and capacity changes ---------------------------------------- */

static void
log_event(Datum org, const char *action, const char *subject, Datum holder, bool holder_null,
		  const char *details, text *reason)
{
	Datum		v[6];
	char		n[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	v[0] = org;
	v[1] = CStringGetTextDatum(action);
	v[2] = CStringGetTextDatum(subject);
	v[3] = holder;
	if (holder_null)
		n[3] = 'n';
	v[4] = CStringGetTextDatum(details);
	v[5] = reason ? PointerGetDatum(reason) : (Datum) 0;
	if (!reason)
		n[5] = 'n';
	sl_exec(&cap_sql, Q_LOG, v, n, 0);
}

static Datum
return_units_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Datum		alloc;
	int32		qty;
	text	   *reason = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	Datum		result = (Datum) 0;
	Datum		v[4];
	char		n[4] = {' ', ' ', ' ', ' '};
	Datum		org,
				hold,
				holder;
	bool		item_null,
				isnull;
	pg_uuid_t	item = {{0}},
				pool = {{0}};
	int32		left;
	CapNeed    *needs;
	int			nneeds = 0;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The argument allocation is required.", NULL);
	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The argument quantity is required.", NULL);
	alloc = PG_GETARG_DATUM(0);
	qty = PG_GETARG_INT32(1);
	if (qty < 1 || qty > CAP_MAX_UNITS)
		sl_raise("invalid_quantity", "The quantity to return must be at least 1.", NULL);
	if (reason && VARSIZE_ANY_EXHDR(reason) > 2000)
		sl_raise("invalid_argument", "The reason has at most 2000 bytes.", NULL);

	v[0] = alloc;
	sl_exec(&cap_sql, Q_LOCK_ALLOC, v, NULL, 0);
	if (SPI_processed != 1)
		sl_raise("allocation_not_found", NULL, NULL);
	org = sl_col_nn(0, 1);
	hold = sl_col_nn(0, 2);
	{
		Datum		d = sl_col(0, 3, &item_null);

		if (!item_null)
			item = *DatumGetUUIDP(d);
		else
			pool = *DatumGetUUIDP(sl_col_nn(0, 4));
	}
	left = DatumGetInt32(sl_col_nn(0, 5));
	holder = sl_col(0, 6, &isnull);
	if (qty > left)
		sl_raise("return_exceeds_allocation",
				 psprintf("The allocation has %d unit%s left to return.", left, left == 1 ? "" : "s"), NULL);

	if (!item_null)
	{
		v[0] = uuid_datum(&item);
		sl_exec(&cap_sql, Q_ITEM_POOLS, v, NULL, 0);
		needs = palloc(sizeof(CapNeed) * Max(SPI_processed, 1));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			needs[nneeds].pool = *DatumGetUUIDP(sl_col_nn(r, 1));
			needs[nneeds].units = qty * DatumGetInt32(sl_col_nn(r, 2));
			nneeds++;
		}
	}
	else
	{
		needs = palloc(sizeof(CapNeed));
		needs[0].pool = pool;
		needs[0].units = qty;
		nneeds = 1;
	}
	for (int i = 0; i < nneeds; i++)
	{
		v[0] = uuid_datum(&needs[i].pool);
		v[1] = hold;
		if (item_null)
		{
			v[2] = (Datum) 0;
			n[2] = 'n';
		}
		else
			v[2] = uuid_datum(&item);
		v[3] = Int32GetDatum(needs[i].units);
		sl_exec(&cap_sql, Q_RETURN_SLOTS, v, n, 0);
		if (SPI_processed != (uint64) needs[i].units)
			elog(ERROR, "capacity: allocation has fewer units in pool %s than recorded",
				 uuid_text(&needs[i].pool));
	}
	v[0] = alloc;
	v[1] = Int32GetDatum(qty);
	sl_exec(&cap_sql, Q_RETURN_ALLOC, v, NULL, 0);
	result = sl_col_nn(0, 1);
	for (int i = 0; i < nneeds; i++)
		do_promote(uuid_datum(&needs[i].pool));
	log_event(org, "capacity.returned",
			  psprintf("hold:%s", DatumGetCString(DirectFunctionCall1(uuid_out, hold))),
			  holder, isnull,
			  psprintf("{\"allocation_id\": \"%s\", \"quantity\": %d}",
					   DatumGetCString(DirectFunctionCall1(uuid_out, alloc)), qty),
			  reason);
	result = keep_jsonb(result);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(capacity_return_units);
Datum
capacity_return_units(PG_FUNCTION_ARGS)
{
	return cap_call(return_units_body, fcinfo);
}

static Datum
set_capacity_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Datum		pool;
	int32		target;
	text	   *reason = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	Datum		result = (Datum) 0;
	Datum		v[4];
	Datum		org;
	int32		current,
				next_slot,
				max_capacity,
				max_growth;

	if (PG_ARGISNULL(0))
		sl_raise("missing_argument", "The argument pool is required.", NULL);
	if (PG_ARGISNULL(1))
		sl_raise("missing_argument", "The argument capacity is required.", NULL);
	pool = PG_GETARG_DATUM(0);
	target = PG_GETARG_INT32(1);
	if (reason && VARSIZE_ANY_EXHDR(reason) > 2000)
		sl_raise("invalid_argument", "The reason has at most 2000 bytes.", NULL);

	v[0] = pool;
	sl_exec(&cap_sql, Q_LOCK_POOL, v, NULL, 0);
	if (SPI_processed != 1)
		sl_raise("pool_not_found", NULL, NULL);
	org = sl_col_nn(0, 1);
	current = DatumGetInt32(sl_col_nn(0, 2));
	next_slot = DatumGetInt32(sl_col_nn(0, 3));
	max_capacity = DatumGetInt32(sl_col_nn(0, 4));
	max_growth = DatumGetInt32(sl_col_nn(0, 5));
	if (target < 0 || target > max_capacity)
		sl_raise("invalid_capacity",
				 psprintf("The capacity must be 0 to %d.", max_capacity), NULL);
	/* every unit is a row: one call writes at most max_growth of them */
	if ((int64) target - current > max_growth)
		sl_raise("invalid_capacity",
				 psprintf("A pool grows by at most %d units in one call (capacity.settings.max_growth).", max_growth),
				 "Raise the capacity in steps.");
	if ((int64) next_slot + (target - current) > PG_INT32_MAX)
		sl_raise("invalid_capacity", "This pool has used up its unit numbers.", "Create a new pool.");
	if (target > current)
	{
		v[0] = pool;
		v[1] = org;
		v[2] = Int32GetDatum(next_slot);
		v[3] = Int32GetDatum(next_slot + (target - current) - 1);
		sl_exec(&cap_sql, Q_ADD_SLOTS, v, NULL, 0);
		next_slot += target - current;
	}
	else if (target < current)
	{
		int32		drop = current - target;

		v[0] = pool;
		v[1] = Int32GetDatum(drop);
		sl_exec(&cap_sql, Q_DROP_SLOTS, v, NULL, 0);
		if (SPI_processed < (uint64) drop)
		{
			int32		dropped = (int32) SPI_processed;
			int32		visible;

			v[1] = Int32GetDatum(drop - dropped);
			sl_exec(&cap_sql, Q_FREE_VISIBLE, v, NULL, 0);
			visible = DatumGetInt32(sl_col_nn(0, 1));
			if (visible >= drop - dropped)
				sl_raise("try_again", "Buyers are taking units of this pool right now.",
						 "Retry in a moment.");
			sl_raise("capacity_in_use",
					 psprintf("%d units are allocated or held; the capacity cannot go below that.",
							  current - (dropped + visible)),
					 "Wait for holds to expire, or return allocations first.");
		}
	}
	v[0] = pool;
	v[1] = Int32GetDatum(target);
	v[2] = Int32GetDatum(next_slot);
	sl_exec(&cap_sql, Q_SET_POOL, v, NULL, 0);
	if (target > current)
		do_promote(pool);
	if (target != current)
		log_event(org, "capacity.capacity_changed",
				  psprintf("pool:%s", DatumGetCString(DirectFunctionCall1(uuid_out, pool))),
				  (Datum) 0, true,
				  psprintf("{\"pool_id\": \"%s\", \"from\": %d, \"to\": %d}",
						   DatumGetCString(DirectFunctionCall1(uuid_out, pool)), current, target),
				  reason);
	v[0] = pool;
	sl_exec(&cap_sql, Q_REFRESH, v, NULL, 0);
	sl_exec(&cap_sql, Q_POOL_STATUS, v, NULL, 0);
	result = keep_jsonb(sl_col_nn(0, 1));
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(capacity_set_capacity);
Datum
capacity_set_capacity(PG_FUNCTION_ARGS)
{
	return cap_call(set_capacity_body, fcinfo);
}

/* the hold's JSON, as the write functions return it */
static Datum
hold_info_body(FunctionCallInfo fcinfo, sl_call *call)
{
	Datum		v[1] = {PG_GETARG_DATUM(0)};

	sl_exec(&cap_sql, Q_HOLD_JSON, v, NULL, 0);
	if (SPI_processed != 1)
		return (Datum) 0;
	return keep_jsonb(sl_col_nn(0, 1));
}

/* NULL when there is no such hold */
PG_FUNCTION_INFO_V1(capacity_hold_info);
Datum
capacity_hold_info(PG_FUNCTION_ARGS)
{
	Datum		result = cap_call(hold_info_body, fcinfo);

	if (result == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
