-- startlijn_retention/holds.sql: legal holds.

-------------------------------------------------------------------------------
-- Legal holds
-------------------------------------------------------------------------------

CREATE FUNCTION retention.place_hold(
    organization_id uuid, reason text, subject uuid DEFAULT NULL,
    tbl regclass DEFAULT NULL, record text DEFAULT NULL)
  RETURNS uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  id uuid;
  scope text := CASE WHEN tbl IS NOT NULL OR record IS NOT NULL THEN 'record'
                     WHEN subject IS NOT NULL THEN 'subject' ELSE 'organization' END;
BEGIN
  IF organization_id IS NULL THEN
    PERFORM retention.raise('missing_argument', 'The organisation is required.');
  END IF;
  IF reason IS NULL OR pg_catalog.length(pg_catalog.btrim(reason)) = 0 OR pg_catalog.length(reason) > 2000 THEN
    PERFORM retention.raise('missing_argument', 'A legal hold needs a reason of 1 to 2000 characters.',
                            'Name the matter, for example the case number of the dispute.');
  END IF;
  IF scope = 'record' AND (tbl IS NULL OR record IS NULL OR subject IS NOT NULL) THEN
    PERFORM retention.raise('invalid_argument', 'A record hold names the table and the primary key of the record, and no subject.');
  END IF;
  INSERT INTO retention.holds (organization_id, scope, subject, relid, record, reason, placed_by)
  VALUES (place_hold.organization_id, scope, place_hold.subject, tbl, place_hold.record, reason, retention.actor())
  RETURNING holds.id INTO id;
  PERFORM trail.log(place_hold.organization_id, 'retention.hold_placed', 'retention.holds:' OPERATOR(pg_catalog.||) id::text,
                    pg_catalog.jsonb_build_object('hold', id, 'scope', scope, 'subject', place_hold.subject,
                                                  'table', tbl::text, 'record', place_hold.record), reason);
  RETURN id;
END
$fn$;

CREATE FUNCTION retention.lift_hold(hold uuid, reason text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE h retention.holds;
BEGIN
  IF reason IS NULL OR pg_catalog.length(pg_catalog.btrim(reason)) = 0 THEN
    PERFORM retention.raise('missing_argument', 'Lifting a legal hold needs a reason.');
  END IF;
  UPDATE retention.holds x SET lifted_at = pg_catalog.now(), lifted_by = retention.actor(), lift_reason = lift_hold.reason
   WHERE x.id = hold AND x.lifted_at IS NULL
  RETURNING * INTO h;
  IF NOT FOUND THEN
    PERFORM retention.raise('legal_hold_not_found');
  END IF;
  -- erasure requests it blocked are retried by the next run
  UPDATE retention.erasure_requests e SET next_attempt_at = NULL WHERE e.status = 'blocked';
  PERFORM trail.log(h.organization_id, 'retention.hold_lifted', 'retention.holds:' OPERATOR(pg_catalog.||) h.id::text,
                    pg_catalog.jsonb_build_object('hold', h.id, 'scope', h.scope), reason);
END
$fn$;
