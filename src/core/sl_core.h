/*
 * sl_core.h - PostgreSQL-side helpers shared by every startlijn extension.
 */
#ifndef SL_CORE_H
#define SL_CORE_H

#include "postgres.h"

/*
 * Raise the business error `code` (see src/common/sl_errors.c) as
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
extern void sl_as_schema_owner(Oid nsp, sl_owner_ctx *ctx);
extern void sl_restore_user(const sl_owner_ctx *ctx);

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
