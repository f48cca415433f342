/*
 * sl_core.h - PostgreSQL-side helpers shared by every startlijn extension.
 */
#ifndef SL_CORE_H
#define SL_CORE_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "utils/palloc.h"

/*
 * The C layout (docs/architecture.md, "C layout"):
 *
 *   src/common/   pure C (no postgres.h), unit-tested and fuzzed
 *   src/core/     the PostgreSQL plumbing every engine uses, declared here:
 *                 sl_raise.c      business errors (sl_raise, startlijn.raise)
 *                 sl_owner.c      running as the schema's owner (sl_as_owner)
 *                 sl_query.c      statements prepared once (sl_query, sl_exec)
 *                 sl_secret.c     secrets wiped on every way out (sl_secret)
 *                 sl_timestamps.c the created_at/updated_at trigger
 *   src/<engine>/ one folder per extension; src/core never names them
 *   src/startlijn/ the platform's C, and the module entry (sl_module.c:
 *                 _PG_init, libsodium, then each engine's init from the
 *                 table in sl_engines.h): the only file that names engines
 *
 * SQL in C strings (checked by test/tools/lint_c_sql.py, suite "lint"):
 *
 *   - every function is schema-qualified: pg_catalog.now(),
 *     pg_catalog.count(*), trail.log(...), capacity.pool_status($1);
 *   - every operator is written OPERATOR(pg_catalog.op), in the string
 *     itself (no macro for it): x.id OPERATOR(pg_catalog.=) $1. OPERATOR()
 *     takes the precedence of "any other operator", above comparisons and
 *     below + - * /: parenthesise mixed arithmetic and comparisons;
 *   - upper-case SQL syntax is not a function or operator: COALESCE,
 *     NULLIF, GREATEST, LEAST, CAST, EXISTS, IN, ANY, ARRAY, VALUES,
 *     FILTER, IS [NOT] NULL, IS [NOT] DISTINCT FROM, CASE x WHEN, the
 *     assignments of UPDATE ... SET;
 *   - the comparisons that syntax makes implicitly (IN, CASE x WHEN,
 *     IS DISTINCT FROM) and type names in casts (::uuid) are resolved
 *     through search_path: they are safe because every statement runs
 *     inside sl_as_owner(), which pins search_path to SL_SAFE_SEARCH_PATH
 *     (pg_temp is never searched for functions and operators, and last
 *     for types). Code that runs as its caller (the retention job) follows
 *     the same rules.
 */

/*
 * Raise the business error `code` (see src/common/sl_error_registry.c) as
 * ereport(ERROR) with SQLSTATE PTnnn. detail may be NULL (the registry's
 * default detail is used); hint may be NULL. Never returns.
 *
 * The detail PostgREST returns starts with the stable code followed by a
 * colon, so clients can branch on it: "slug_taken: Another organization ...".
 */
extern void sl_raise(const char *code, const char *detail, const char *hint) pg_attribute_noreturn();

/*
 * The search_path of code that runs with more rights than its caller:
 * pg_catalog first, pg_temp named last (an empty or pg_temp-less path
 * searches pg_temp FIRST for types and relations). SECURITY DEFINER
 * functions set the same in their SET clause.
 */
#define SL_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Switch to the owner of a schema and back (sl_owner.c). In between,
 * search_path is SL_SAFE_SEARCH_PATH.
 */
typedef struct sl_owner_ctx
{
	Oid			saved_user;
	int			saved_sec;
	int			guc_nest;
} sl_owner_ctx;

/* the schema's oid, or ERROR naming the extension to create */
extern Oid	sl_schema_oid(const char *schema, const char *extension);
/* the switch itself; engines call sl_as_owner() below instead */
extern void sl_as_schema_owner(Oid nsp, sl_owner_ctx *ctx);
extern void sl_restore_user(const sl_owner_ctx *ctx);

/*
 * One call of an engine's work as the owner of its schema (sl_owner.c):
 *
 *     static Datum hold_body(FunctionCallInfo fcinfo, sl_call *call) {...}
 *     Datum capacity_hold(PG_FUNCTION_ARGS)
 *     {
 *         sl_call call = {.schema = "capacity", .extension = "startlijn_capacity",
 *                         .busy_detail = "Another request is working on ..."};
 *         return sl_as_owner(&call, hold_body, fcinfo);
 *     }
 *
 * sl_as_owner connects to SPI (checked), switches to the schema's owner
 * with search_path = SL_SAFE_SEARCH_PATH, runs body, and switches back and
 * finishes SPI. On an error the (sub)transaction abort restores user,
 * settings and SPI (as for a SECURITY DEFINER function); before it
 * rethrows, the secrets made during the call are wiped and, when
 * busy_detail is set, a lock wait that hit lock_timeout
 * (ERRCODE_LOCK_NOT_AVAILABLE) becomes the business error try_again with
 * that detail. body runs in SPI's memory: a by-reference result must be
 * copied into call->caller_cxt (or with SPI_datumTransfer). The call may
 * be nested (one engine's function calling another's through SQL).
 */
typedef struct sl_call sl_call;
typedef Datum (*sl_body) (FunctionCallInfo fcinfo, sl_call *call);

struct sl_call
{
	const char *schema;			/* the extension's schema */
	const char *extension;		/* named in the error when the schema is missing */
	const char *busy_detail;	/* try_again's detail for a lock timeout; NULL: raise as is */
	int			spi_options;	/* SPI_connect_ext options (0, SPI_OPT_NONATOMIC) */
	void	   *arg;			/* the body's own in and out */
	MemoryContext caller_cxt;	/* set by sl_as_owner: the caller's memory */
};

extern Datum sl_as_owner(sl_call *call, sl_body body, FunctionCallInfo fcinfo);

/*
 * Statements prepared once per backend (sl_query.c). An engine keeps a
 * static array of sl_query indexed by an enum and one sl_query_table:
 *
 *     static const sl_query cap_queries[Q_COUNT] = {
 *         [Q_LOCK_HOLD] = {"SELECT ... WHERE h.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
 *                          1, {UUIDOID}},
 *         ...
 *     };
 *     static SPIPlanPtr cap_plans[Q_COUNT];
 *     static const sl_query_table cap = {"capacity", cap_queries, Q_COUNT, cap_plans};
 *
 *     sl_exec(&cap, Q_LOCK_HOLD, values, NULL, 0);   -- SPI_tuptable, SPI_processed
 *
 * plan: SL_PLAN_GENERIC (the default: one plan for every call, as the
 * engines' hot paths need), SL_PLAN_CHOOSE (the plan cache decides: custom
 * plans for the first calls, then generic if not costlier; for statements
 * whose best plan depends on the values) or SL_PLAN_CUSTOM (planned for the
 * values every time).
 */
typedef enum sl_plan_mode
{
	SL_PLAN_GENERIC = 0,
	SL_PLAN_CHOOSE,
	SL_PLAN_CUSTOM
} sl_plan_mode;

#define SL_QUERY_MAX_ARGS 12

typedef struct sl_query
{
	const char *sql;
	int			nargs;
	Oid			types[SL_QUERY_MAX_ARGS];
	sl_plan_mode plan;
	bool		read_only;		/* SPI_execute_plan's read_only */
} sl_query;

typedef struct sl_query_table
{
	const char *name;			/* in error messages: "capacity" */
	const sl_query *queries;
	int			count;
	SPIPlanPtr *plans;			/* count entries, NULL until first used */
} sl_query_table;

/* run statement q (prepared on first use); ERROR when SPI fails; returns SPI's code */
extern int	sl_exec(const sl_query_table *t, int q, Datum *values, const char *nulls, long count);
/* the kept plan of statement q (for cursors) */
extern SPIPlanPtr sl_plan(const sl_query_table *t, int q);
/* column col (1-based) of row of the last result; sl_col_nn: ERROR on NULL */
extern Datum sl_col(uint64 row, int col, bool *isnull);
extern Datum sl_col_nn(uint64 row, int col);

/*
 * Secrets wiped on every way out (sl_secret.c): len zeroed bytes at
 * s->data in the current memory context, wiped with sodium_memzero when
 * that context is reset or deleted (normal end, SPI_finish, abort), when
 * sl_as_owner() catches an error, or at sl_secret_wipe().
 */
typedef struct sl_secret
{
	uint8	   *data;
	size_t		len;
	/* private */
	uint64		seq;
	bool		live;
	dlist_node	node;
	MemoryContextCallback cb;
} sl_secret;

extern sl_secret *sl_secret_new(size_t len);
extern void sl_secret_wipe(sl_secret *s);
extern uint64 sl_secret_mark(void);
extern void sl_secret_wipe_since(uint64 mark);
/* wipe the bytes of a (detoasted, writable) bytea in place */
extern void sl_wipe_bytea(bytea *b);

/* a palloc'd bytea holding a copy of n bytes */
extern bytea *sl_bytea(const void *p, size_t n);

/* text datum -> (pointer, length) without copying (detoasted). */
#define SL_TEXT_ARG(n, ptr, len) \
	do { \
		text *t_ = PG_GETARG_TEXT_PP(n); \
		(ptr) = VARDATA_ANY(t_); \
		(len) = VARSIZE_ANY_EXHDR(t_); \
	} while (0)

#endif
