/*
 * sl_raise.c - raising business errors as PTnnn SQLSTATEs (the codes are
 * those of the registry, src/common/sl_error_registry.c).
 *
 * C code calls sl_raise(); SQL and PL/pgSQL call startlijn_raise() through
 * the SQL wrappers each extension declares (startlijn.raise(...)).
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "sl_core.h"
#include "common/sl_error_registry.h"

void
sl_raise(const char *code, const char *detail, const char *hint)
{
	const sl_error_def *def = sl_error_lookup(code);
	char		state[6];

	if (def == NULL || sl_error_sqlstate(def, state) != 0)
		/* a programming error in our own code: say so loudly */
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("unknown startlijn error code \"%s\"", code ? code : "(null)")));

	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4])),
			 errmsg("%s", def->message),
			 errdetail("%s: %s", def->code, detail ? detail : def->detail),
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

PG_FUNCTION_INFO_V1(startlijn_raise);

/* raise(code text, detail text default null, hint text default null) */
Datum
startlijn_raise(PG_FUNCTION_ARGS)
{
	char	   *code;
	char	   *detail = NULL;
	char	   *hint = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("error code must not be null")));
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
		detail = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		hint = text_to_cstring(PG_GETARG_TEXT_PP(2));
	sl_raise(code, detail, hint);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(startlijn_error_codes);

/* error_codes() returns table(code, sqlstate, http_status, message, detail) */
Datum
startlijn_error_codes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		n,
				i;
	const sl_error_def *tab = sl_error_table(&n);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		char		state[6];

		if (sl_error_sqlstate(&tab[i], state) != 0)
			continue;
		values[0] = CStringGetTextDatum(tab[i].code);
		values[1] = CStringGetTextDatum(state);
		values[2] = Int32GetDatum(tab[i].http_status);
		values[3] = CStringGetTextDatum(tab[i].message);
		values[4] = CStringGetTextDatum(tab[i].detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
