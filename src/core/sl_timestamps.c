/*
 * sl_timestamps.c - the created_at / updated_at trigger.
 *
 * BEFORE INSERT: created_at and updated_at are set to the transaction
 * timestamp whatever the client sent. BEFORE UPDATE: created_at keeps its
 * old value and updated_at becomes the transaction timestamp. Works on any
 * table with those two timestamptz columns; no per-row allocation beyond the
 * returned tuple (heap_modify_tuple_by_cols in the trigger's context).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "catalog/pg_type.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

/* attribute number of a live timestamptz column, 0 when absent */
static int
timestamp_attnum(TupleDesc tupdesc, const char *name)
{
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (att->atttypid != TIMESTAMPTZOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("touch_timestamps: column \"%s\" must be of type timestamptz", name)));
		return i + 1;
	}
	return 0;
}

PG_FUNCTION_INFO_V1(startlijn_touch_timestamps);

Datum
startlijn_touch_timestamps(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	HeapTuple	newtuple;
	int			created_att,
				updated_att;
	int			cols[2];
	Datum		vals[2];
	bool		nulls[2] = {false, false};
	int			ncols = 0;
	Datum		now;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("touch_timestamps: not called by trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("touch_timestamps: must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	tupdesc = trigdata->tg_relation->rd_att;
	created_att = timestamp_attnum(tupdesc, "created_at");
	updated_att = timestamp_attnum(tupdesc, "updated_at");
	now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		newtuple = trigdata->tg_trigtuple;
		if (created_att > 0)
		{
			cols[ncols] = created_att;
			vals[ncols++] = now;
		}
	}
	else
	{
		newtuple = trigdata->tg_newtuple;
		if (created_att > 0)
		{
			bool		isnull;
			Datum		old = heap_getattr(trigdata->tg_trigtuple, created_att, tupdesc, &isnull);

			cols[ncols] = created_att;
			nulls[ncols] = isnull;
			vals[ncols++] = old;
		}
	}
	if (updated_att > 0)
	{
		cols[ncols] = updated_att;
		vals[ncols++] = now;
	}
	if (ncols == 0)
		return PointerGetDatum(newtuple);
	return PointerGetDatum(heap_modify_tuple_by_cols(newtuple, tupdesc, ncols, cols, vals, nulls));
}
