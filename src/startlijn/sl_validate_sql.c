/*
 * sl_validate_sql.c - SQL-callable validators of the platform extension.
 *
 * These are IMMUTABLE, STRICT and used in CHECK constraints and in the RPC
 * functions, so a value is judged by exactly one piece of code wherever it
 * enters.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "../core/sl_core.h"
#include "../common/sl_validate.h"

#define SL_VALIDATOR(sqlname, call) \
PG_FUNCTION_INFO_V1(sqlname); \
Datum \
sqlname(PG_FUNCTION_ARGS) \
{ \
	const char *s; \
	size_t		len; \
	SL_TEXT_ARG(0, s, len); \
	PG_RETURN_BOOL(call); \
}

SL_VALIDATOR(startlijn_valid_slug, sl_valid_slug(s, len))
SL_VALIDATOR(startlijn_valid_kvk, sl_valid_kvk(s, len))
SL_VALIDATOR(startlijn_valid_country, sl_valid_country(s, len))
SL_VALIDATOR(startlijn_valid_email, sl_valid_email(s, len))
SL_VALIDATOR(startlijn_valid_phone, sl_valid_phone(s, len))
SL_VALIDATOR(startlijn_valid_locale, sl_valid_locale(s, len))
SL_VALIDATOR(startlijn_valid_name, sl_valid_name(s, len, SL_NAME_MAX_CHARS))
