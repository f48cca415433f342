/*
 * sl_owner.c - run as the owner of an extension's schema; bytea datums.
 *
 * Every table of our generic extensions has forced RLS and no grants: their
 * C functions read and write them as the owner of the schema (the
 * installing superuser or BYPASSRLS role), whoever calls, and check
 * authorisation themselves.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
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
}

void
sl_restore_user(const sl_owner_ctx *ctx)
{
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
