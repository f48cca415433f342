/*
 * sl_query.c - statements prepared once per backend, from a table.
 *
 * Each engine keeps its statements in a static array of sl_query (the SQL
 * text, its parameter types and how it is planned) and runs them by index
 * with sl_exec(). The first execution in a backend prepares the statement
 * with SPI_prepare_cursor and keeps the plan (SPI_keepplan) for the life of
 * the backend; the plan cache re-plans it by itself when a table it reads
 * changes.
 *
 * Statements are prepared and run while the caller runs as the extension's
 * owner (sl_as_owner), so search_path is pinned to "pg_catalog, pg_temp"
 * both when they are parsed and when the plan cache re-parses them.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "nodes/parsenodes.h"

#include "sl_core.h"

static int
cursor_options(sl_plan_mode mode)
{
	switch (mode)
	{
		case SL_PLAN_GENERIC:
			return CURSOR_OPT_GENERIC_PLAN;
		case SL_PLAN_CUSTOM:
			return CURSOR_OPT_CUSTOM_PLAN;
		case SL_PLAN_CHOOSE:
			break;
	}
	return 0;
}

SPIPlanPtr
sl_plan(const sl_query_table *t, int q)
{
	const sl_query *query;

	if (q < 0 || q >= t->count)
		elog(ERROR, "%s: no statement %d", t->name, q);
	if (t->plans[q] == NULL)
	{
		SPIPlanPtr	p;

		query = &t->queries[q];
		p = SPI_prepare_cursor(query->sql, query->nargs, (Oid *) query->types,
							   cursor_options(query->plan));
		if (p == NULL)
			elog(ERROR, "%s: SPI_prepare failed (%s): %s",
				 t->name, SPI_result_code_string(SPI_result), query->sql);
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "%s: SPI_keepplan failed", t->name);
		t->plans[q] = p;
	}
	return t->plans[q];
}

int
sl_exec(const sl_query_table *t, int q, Datum *values, const char *nulls, long count)
{
	SPIPlanPtr	plan = sl_plan(t, q);
	int			rc;

	rc = SPI_execute_plan(plan, values, nulls, t->queries[q].read_only, count);
	if (rc < 0)
		elog(ERROR, "%s: statement %d failed: %s", t->name, q, SPI_result_code_string(rc));
	return rc;
}

Datum
sl_col(uint64 row, int col, bool *isnull)
{
	if (SPI_tuptable == NULL || row >= SPI_processed)
		elog(ERROR, "startlijn: no row " UINT64_FORMAT " in the statement's result", row);
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

Datum
sl_col_nn(uint64 row, int col)
{
	bool		isnull;
	Datum		d = sl_col(row, col, &isnull);

	if (isnull)
		elog(ERROR, "startlijn: unexpected NULL in column %d", col);
	return d;
}
