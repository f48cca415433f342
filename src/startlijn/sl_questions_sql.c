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

/* answers_problem(questions text, answers text) returns text: NULL when valid, else why */
PG_FUNCTION_INFO_V1(startlijn_answers_problem);
Datum
startlijn_answers_problem(PG_FUNCTION_ARGS)
{
	const char *q;
	const char *a;
	size_t		qlen;
	size_t		alen;
	char		err[256];

	SL_TEXT_ARG(0, q, qlen);
	SL_TEXT_ARG(1, a, alen);
	if (sl_answers_check(q, qlen, a, alen, err, sizeof(err)) == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(err));
}
