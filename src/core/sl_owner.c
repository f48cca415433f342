/*
 * sl_owner.c - run as the owner of an extension's schema; bytea datums.
 *
 * Every table of our generic extensions has forced RLS and no grants: their
 * C functions read and write them as the owner of the schema (the
 * installing superuser or BYPASSRLS role), whoever calls, and check
 * authorisation themselves.
 *
 * While they run as the owner, search_path is pinned to "pg_catalog,
 * pg_temp" (as a function's SET clause would pin it): the caller's path
 * names schemas the caller may write, and an unqualified or empty path
 * searches pg_temp first for types and relations, where a client role can
 * plant a type named uuid or jsonb whose cast functions would then run as
 * the owner. Naming pg_temp last makes it searched last.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "sl_core.h"

Oid
sl_schema_oid(const char *schema, const char *extension)
{
	Oid			nsp = get_namespace_oid(schema, true);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema %s does not exist", schema),
				 errhint("CREATE EXTENSION %s.", extension)));
	return nsp;
}

void
sl_as_schema_owner(Oid nsp, sl_owner_ctx *ctx)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	GetUserIdAndSecContext(&ctx->saved_user, &ctx->saved_sec);
	SetUserIdAndSecContext(owner, ctx->saved_sec | SECURITY_LOCAL_USERID_CHANGE);
	ctx->guc_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", SL_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/*
 * Back to the caller's user and search_path. On an error the transaction's
 * (or subtransaction's) abort restores both, as it does for a SECURITY
 * DEFINER function's SET clause.
 */
void
sl_restore_user(const sl_owner_ctx *ctx)
{
	AtEOXact_GUC(true, ctx->guc_nest);
	SetUserIdAndSecContext(ctx->saved_user, ctx->saved_sec);
}

bytea *
sl_bytea(const void *p, size_t n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return b;
}
