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
 *
 * sl_as_owner() is the one way an engine's SQL-callable function does this:
 * SPI connected and checked, the switch, the body, the way back.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
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

/*
 * Run body as the owner of the call's schema, connected to SPI (see
 * sl_core.h). The shape follows fmgr_security_definer: switch, run, switch
 * back on the way out. On an error nothing is restored here: the
 * (sub)transaction abort that follows restores the user and the GUC nest
 * level (calling AtEOXact_GUC before the abort would pop settings that
 * belong to the abort's own unwinding) and ends the SPI connection. What
 * the catch block does do: wipe the secrets made during the call
 * (sl_secret.c) and turn a lock wait that ran out (lock_timeout) into the
 * business error try_again when the call asks for it.
 */
Datum
sl_as_owner(sl_call *call, sl_body body, FunctionCallInfo fcinfo)
{
	Oid			nsp = sl_schema_oid(call->schema, call->extension);
	sl_owner_ctx owner;
	uint64		secrets = sl_secret_mark();
	Datum		result = (Datum) 0;

	call->caller_cxt = CurrentMemoryContext;
	if (SPI_connect_ext(call->spi_options) != SPI_OK_CONNECT)
		elog(ERROR, "%s: SPI_connect failed", call->extension);
	sl_as_schema_owner(nsp, &owner);
	PG_TRY();
	{
		result = body(fcinfo, call);
	}
	PG_CATCH();
	{
		sl_secret_wipe_since(secrets);
		if (call->busy_detail != NULL)
		{
			ErrorData  *ed;

			MemoryContextSwitchTo(call->caller_cxt);
			ed = CopyErrorData();
			if (ed->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
			{
				FlushErrorState();
				sl_raise("try_again", call->busy_detail, "Retry in a moment.");
			}
			FreeErrorData(ed);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	sl_restore_user(&owner);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "%s: SPI_finish failed", call->extension);
	return result;
}
