-- startlijn/checkout_retention.sql: retention of registrations and orders
-- (issue 25, item 11; docs/retention.md, "Registrations and orders").
--
-- startlijn_retention manages the two checkout tables that hold personal
-- data, through security labels:
--   * registrations: personal data of the participant, anonymised the
--     participant period (6 months by default; profiles participants_3m,
--     participants_6m, participants_12m) after the event's end;
--   * orders: fiscal records kept 7 years from the event's end (AWR art. 52);
--     the buyer's name and e-mail are pseudonymised at the participant
--     period like the registrations (personal_cleared), the books stay.
-- Order items, entitlements, invoice numbers, payments and the ledger hold
-- no personal columns (an add-on's free text goes with its order's buyer:
-- orders_personal_cleared). Entitlements name a registration, not a person.

-------------------------------------------------------------------------------
-- Labels
-------------------------------------------------------------------------------
SELECT retention.label_table('startlijn.registrations',
  'classification=personal;organization=organization_id;anchor=event_ends_at;subject=subject_id;'
  'result=retention_result;in_use=in_use_until');
SELECT retention.label_column('startlijn.registrations', 'first_name', 'pii:name');
SELECT retention.label_column('startlijn.registrations', 'last_name', 'pii:name');
SELECT retention.label_column('startlijn.registrations', 'email', 'pii:email');
SELECT retention.label_column('startlijn.registrations', 'phone', 'pii:phone');
SELECT retention.label_column('startlijn.registrations', 'date_of_birth', 'pii:date_of_birth');
SELECT retention.label_column('startlijn.registrations', 'gender', 'pii:attribute');
SELECT retention.label_column('startlijn.registrations', 'nationality', 'pii:attribute');
SELECT retention.label_column('startlijn.registrations', 'club', 'pii:attribute');
-- jsonb: the engine empties it; registrations_guard puts back the answers
-- to questions that are not personal (startlijn.impersonal_answers)
SELECT retention.label_column('startlijn.registrations', 'answers', 'pii:free_text');
SELECT retention.label_column('startlijn.registrations', 'cancel_reason', 'pii:free_text');
SELECT retention.manage('startlijn.registrations');

SELECT retention.label_table('startlijn.orders',
  'classification=fiscal;organization=organization_id;anchor=event_ends_at;subject=buyer_subject;'
  'result=retention_result;personal_cleared=personal_cleared_at;in_use=in_use_until');
SELECT retention.label_column('startlijn.orders', 'buyer_name', 'pii:name');
SELECT retention.label_column('startlijn.orders', 'buyer_email', 'pii:email');
SELECT retention.manage('startlijn.orders');

-------------------------------------------------------------------------------
-- The anchor follows the event's end
-------------------------------------------------------------------------------
CREATE FUNCTION startlijn.events_retention_anchor() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- records already expired or anonymised are read-only and keep their dates
  UPDATE startlijn.registrations r SET event_ends_at = NEW.ends_at
   WHERE r.event_id = NEW.id AND r.archive_status = 'active';
  UPDATE startlijn.orders o SET event_ends_at = NEW.ends_at
   WHERE o.event_id = NEW.id AND o.archive_status = 'active';
  RETURN NULL;
END
$$;
CREATE TRIGGER events_retention_anchor AFTER UPDATE OF ends_at ON startlijn.events
  FOR EACH ROW WHEN (OLD.ends_at IS DISTINCT FROM NEW.ends_at)
  EXECUTE FUNCTION startlijn.events_retention_anchor();

-------------------------------------------------------------------------------
-- Erasure: live registrations, live accounts
-------------------------------------------------------------------------------

-- Registrations and orders of the subject (in the organisation, or
-- anywhere) for an event that has not ended: erasing them would take a
-- participant off a start list they paid for, or a buyer off the order
-- they are paying. The request is refused (registration_in_use);
-- the registration is cancelled first (api.cancel_registration) or the
-- request made after the event.
CREATE FUNCTION startlijn.require_no_live_registrations(subject uuid, organization_id uuid) RETURNS void
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  n bigint;
  ends timestamptz;
BEGIN
  SELECT pg_catalog.count(*), pg_catalog.max(r.in_use_until) INTO n, ends
    FROM startlijn.registrations r
   WHERE r.subject_id = require_no_live_registrations.subject
     AND (require_no_live_registrations.organization_id IS NULL
          OR r.organization_id = require_no_live_registrations.organization_id)
     AND r.archive_status = 'active' AND r.in_use_until > pg_catalog.now();
  IF n = 0 THEN
    SELECT pg_catalog.count(*), pg_catalog.max(o.in_use_until) INTO n, ends
      FROM startlijn.orders o
     WHERE o.buyer_subject = require_no_live_registrations.subject
       AND (require_no_live_registrations.organization_id IS NULL
            OR o.organization_id = require_no_live_registrations.organization_id)
       AND o.archive_status = 'active' AND o.in_use_until > pg_catalog.now();
  END IF;
  IF n > 0 THEN
    PERFORM startlijn.raise('registration_in_use',
      pg_catalog.format('The person has %s registration(s) or order(s) for events that have not ended (the last ends %s).', n, ends),
      'Cancel them first (cancel_registration, cancel_order), or ask again after the event.');
  END IF;
END
$$;

-- The job keeps the audit-trail key of a subject whose account is live
-- (their profile's and memberships' entries need it), even when all their
-- registrations are anonymised.
CREATE FUNCTION startlijn.subject_is_live(subject uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT EXISTS (SELECT 1 FROM startlijn.profiles p WHERE p.id = subject_is_live.subject AND p.deleted_at IS NULL)
$$;
SELECT retention.add_subject_check('platform', 'startlijn.subject_is_live(uuid)', 'startlijn');
