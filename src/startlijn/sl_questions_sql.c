/*
 * sl_questions_sql.c - registration questions and answers, judged by the
 * one pure-C validator of src/common/sl_questions.c (docs/catalog.md,
 * "Registration questions"). IMMUTABLE and STRICT: used in CHECK
 * constraints and in the RPCs, so a definition or an answer is judged by
 * the same code wherever it enters.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "../core/sl_core.h"
#include "../common/sl_questions.h"

/* questions_problem(questions text) returns text: NULL when valid, else why */
PG_FUNCTION_INFO_V1(startlijn_questions_problem);
Datum
startlijn_questions_problem(PG_FUNCTION_ARGS)
{
	const char *s;
	size_t		len;
	char		err[256];

	SL_TEXT_ARG(0, s, len);
	if (sl_questions_check(s, len, err, sizeof(err)) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(err));
}

/*
 * answers_problem(questions text, answers text, ticket_type uuid) returns
 * text: the answers of an entry of that ticket type (NULL: of none, so only
 * the questions without ticket_types apply). Not STRICT for the ticket
 * type; NULL questions or answers give NULL, as a STRICT function would.
 */
PG_FUNCTION_INFO_V1(startlijn_answers_problem_for);
Datum
startlijn_answers_problem_for(PG_FUNCTION_ARGS)
{
	const char *q;
	const char *a;
	size_t		qlen;
	size_t		alen;
	char		tt[37];
	char		err[256];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	SL_TEXT_ARG(0, q, qlen);
	SL_TEXT_ARG(1, a, alen);
	if (!PG_ARGISNULL(2))
	{
		pg_uuid_t  *u = PG_GETARG_UUID_P(2);
		static const char hex[] = "0123456789abcdef";
		int			o = 0;

		for (int i = 0; i < UUID_LEN; i++)
		{
			if (i == 4 || i == 6 || i == 8 || i == 10)
				tt[o++] = '-';
			tt[o++] = hex[u->data[i] >> 4];
			tt[o++] = hex[u->data[i] & 0x0F];
		}
		tt[o] = '\0';
	}
	if (sl_answers_check_for(q, qlen, a, alen, PG_ARGISNULL(2) ? NULL : tt, PG_ARGISNULL(2) ? 0 : 36,
							 err, sizeof(err)) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(err));
}
