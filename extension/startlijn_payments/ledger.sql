-- startlijn_payments/ledger.sql: the double-entry ledger: append-only journal and
-- postings balanced at commit, the fee split and the posting helpers, balances.
--
-- The statements of the posting helpers are PL/pgSQL, which prepares each
-- statement once per backend; they keep SET search_path = pg_catalog, pg_temp.

CREATE FUNCTION payments._append_only() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM payments.raise('append_only',
    pg_catalog.format('The ledger (%s) is append-only: post a correcting entry instead.', TG_TABLE_NAME));
  RETURN NULL;
END
$$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON payments.journal
  FOR EACH ROW EXECUTE FUNCTION payments._append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON payments.journal
  FOR EACH STATEMENT EXECUTE FUNCTION payments._append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON payments.postings
  FOR EACH ROW EXECUTE FUNCTION payments._append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON payments.postings
  FOR EACH STATEMENT EXECUTE FUNCTION payments._append_only();

-- Balanced at commit: every entry's postings sum to zero and carry the
-- entry's currency and organisation. Checked once per entry (its line 1).
-- A deferred trigger runs at COMMIT as whatever role is current then (under
-- PostgREST: anon, authenticated or service_role, none of which may read
-- this schema), so the function is SECURITY DEFINER with a pinned path.
CREATE FUNCTION payments._balanced() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  total numeric;
  wrong bigint;
BEGIN
  SELECT COALESCE(pg_catalog.sum(x.amount), 0),
         pg_catalog.count(*) FILTER (WHERE x.currency <> j.currency OR x.organization_id <> j.organization_id)
    INTO total, wrong
    FROM payments.postings x JOIN payments.journal j ON j.id = x.journal_id
   WHERE x.journal_id = NEW.journal_id;
  IF total <> 0 OR wrong <> 0 THEN
    RAISE EXCEPTION 'unbalanced ledger entry %', NEW.journal_id
      USING ERRCODE = 'check_violation',
            DETAIL = pg_catalog.format('The postings sum to %s (must be 0); %s carry another currency or organisation.', total, wrong);
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON payments.postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.line = 1)
  EXECUTE FUNCTION payments._balanced();

-------------------------------------------------------------------------------
-- Money helpers
-------------------------------------------------------------------------------

-- Split amount by fee rules: [{"account", "amount"}] in rule order, then
-- organiser_payable with the rest. The parts always sum to amount.
CREATE FUNCTION payments.split(organization_id uuid, amount bigint) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r record;
  left_over bigint := amount;
  share bigint;
  parts jsonb := '[]'::jsonb;
BEGIN
  IF amount IS NULL OR amount <= 0 THEN
    PERFORM payments.raise('invalid_amount', 'The amount must be a positive number of minor units.');
  END IF;
  FOR r IN SELECT f.account, f.basis_points, f.fixed FROM payments.fee_rules f
            WHERE f.organization_id = split.organization_id ORDER BY f.position, f.name LOOP
    share := LEAST(r.fixed + (amount * r.basis_points + 5000) / 10000, left_over);
    IF share > 0 THEN
      parts := parts || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('account', r.account, 'amount', share));
      left_over := left_over - share;
    END IF;
  END LOOP;
  IF left_over > 0 THEN
    parts := parts || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('account', 'organiser_payable', 'amount', left_over));
  END IF;
  RETURN parts;
END
$$;

-- The part of `parts` (summing to total) that x of total carries:
-- largest-remainder rounding, ties to the earlier part. The result sums
-- to x exactly and equals parts when x = total.
CREATE FUNCTION payments._portion(parts jsonb, total bigint, x bigint)
  RETURNS TABLE (ord bigint, account text, amount bigint)
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    WITH p AS (
      SELECT e.ord, e.v->>'account' AS account, (e.v->>'amount')::bigint AS share
        FROM pg_catalog.jsonb_array_elements(parts) WITH ORDINALITY AS e(v, ord)
    ), q AS (
      SELECT p.ord, p.account, (p.share::numeric * x) / total AS exact FROM p
    ), f AS (
      SELECT q.ord, q.account, pg_catalog.floor(q.exact)::bigint AS base, q.exact - pg_catalog.floor(q.exact) AS rest FROM q
    ), r AS (
      SELECT f.*, pg_catalog.row_number() OVER (ORDER BY f.rest DESC, f.ord) AS rk FROM f
    )
    SELECT r.ord, r.account, r.base + CASE WHEN r.rk <= x - (SELECT pg_catalog.sum(r2.base) FROM r r2) THEN 1 ELSE 0 END
      FROM r ORDER BY r.ord;
END
$$;

-- Post one balanced journal entry: lines is [[account, amount], ...]
-- (debit positive); lines with amount 0 are dropped.
CREATE FUNCTION payments._post(p payments.payments, kind text, lines jsonb,
                               refund_id uuid DEFAULT NULL, chargeback_id uuid DEFAULT NULL)
  RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  jid bigint;
BEGIN
  INSERT INTO payments.journal (organization_id, kind, payment_id, refund_id, chargeback_id, currency)
  VALUES (p.organization_id, kind, p.id, refund_id, chargeback_id, p.currency)
  RETURNING id INTO jid;
  INSERT INTO payments.postings (journal_id, line, organization_id, account, currency, amount)
  SELECT jid, pg_catalog.row_number() OVER (ORDER BY l.ord), p.organization_id, l.account, p.currency, l.amount
    FROM (SELECT e.ord, e.v->>0 AS account, pg_catalog.sum((e.v->>1)::bigint) OVER (PARTITION BY e.v->>0) AS amount,
                 pg_catalog.row_number() OVER (PARTITION BY e.v->>0 ORDER BY e.ord) AS first
            FROM pg_catalog.jsonb_array_elements(lines) WITH ORDINALITY AS e(v, ord)) l
   WHERE l.first = 1 AND l.amount <> 0;
  RETURN jid;
END
$$;

-- lines crediting (sign -1) or debiting (sign 1) a portion of the split
-- lines crediting (sign -1) or debiting (sign 1) a portion of the split
CREATE FUNCTION payments._split_lines(p payments.payments, x bigint, sign integer) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(s.account, sign * s.amount)), '[]'::jsonb)
            FROM payments._portion(p.split, p.amount, x) s);
END
$$;

-- the sale of p (sign 1: receivable against the split) or its reversal (-1)
CREATE FUNCTION payments._post_sale(p payments.payments, sign integer) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN payments._post(p, CASE WHEN sign > 0 THEN 'sale' ELSE 'sale_reversed' END,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('receivable', sign * p.amount))
    || payments._split_lines(p, p.amount, -sign));
END
$$;

-- amount moves from the credit account to the debit account
CREATE FUNCTION payments._post_move(p payments.payments, kind text, debit text, credit text, amount bigint,
                                    refund_id uuid DEFAULT NULL, chargeback_id uuid DEFAULT NULL)
  RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RETURN payments._post(p, kind, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(debit, amount),
                                                              pg_catalog.jsonb_build_array(credit, -amount)),
                        refund_id, chargeback_id);
END
$$;

CREATE FUNCTION payments.balances(organization_id uuid)
  RETURNS TABLE (account text, currency text, balance bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT x.account, x.currency, pg_catalog.sum(x.amount)::bigint
      FROM payments.postings x WHERE x.organization_id = balances.organization_id
     GROUP BY x.account, x.currency ORDER BY x.currency, x.account
  $$;

-- Entries that do not balance, and organisations whose ledger does not sum
-- to zero: empty when the ledger is sound.
CREATE FUNCTION payments.ledger_problems()
  RETURNS TABLE (organization_id uuid, journal_id bigint, currency text, total numeric)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT x.organization_id, x.journal_id, x.currency, pg_catalog.sum(x.amount)
      FROM payments.postings x GROUP BY x.organization_id, x.journal_id, x.currency
    HAVING pg_catalog.sum(x.amount) <> 0
    UNION ALL
    SELECT j.organization_id, j.id, j.currency, 0 FROM payments.journal j
     WHERE NOT EXISTS (SELECT 1 FROM payments.postings x WHERE x.journal_id = j.id)
  $$;

-- the organisation of a payment (NULL: no such payment)
