-- startlijn_payments 0.2 -> 0.3: the helpers of the apply path stop being
-- parsed and planned on every call
--
-- PostgreSQL inlines an SQL function only when it has no SET clause; with
-- one (SET search_path = '', which every helper of 0.1 had) it parses and
-- plans the body on every call and keeps nothing. A webhook delivery
-- called eight of them, some several times: 1.45 s of the 4.0 s that
-- 5,715 deliveries spent in payments.receive (pg_stat_user_functions,
-- track_functions = all; docs/payments.md, "Benchmark"). Same rules, same
-- results:
--   - the small pure expressions (_rank, _kept_headers, _http_status) are
--     SQL without a SET clause, written with schema-qualified operators
--     only, so the planner inlines them into the caller and the search
--     path cannot change what they mean;
--   - the statements (_portion, _split_lines, _post_sale, _post_move,
--     _delivery) are PL/pgSQL, which prepares each statement once per
--     backend, and keep SET search_path = ''.

\echo Use "ALTER EXTENSION startlijn_payments UPDATE TO '0.3'" to load this file. \quit

-- created 0, open 1, pending 2, authorized 3, terminal 4
CREATE OR REPLACE FUNCTION payments._rank(status text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN status OPERATOR(pg_catalog.=) 'created' THEN 0
                WHEN status OPERATOR(pg_catalog.=) 'open' THEN 1
                WHEN status OPERATOR(pg_catalog.=) 'pending' THEN 2
                WHEN status OPERATOR(pg_catalog.=) 'authorized' THEN 3
                ELSE 4 END
  $$;

-- The headers worth keeping: everything but credentials.
CREATE OR REPLACE FUNCTION payments._kept_headers(h jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE
  AS $$
    SELECT COALESCE(h, '{}'::jsonb) OPERATOR(pg_catalog.-)
           ARRAY['authorization', 'apikey', 'cookie', 'prefer']::text[]
  $$;

-- The HTTP status a provider should see for an outcome.
CREATE OR REPLACE FUNCTION payments._http_status(outcome text, detail text) RETURNS integer
  LANGUAGE sql IMMUTABLE
  AS $$
    SELECT CASE
      WHEN outcome OPERATOR(pg_catalog.=) 'bad_signature' AND detail OPERATOR(pg_catalog.=) 'body_too_large' THEN 413
      WHEN outcome OPERATOR(pg_catalog.=) 'bad_signature'
           AND detail OPERATOR(pg_catalog.=) ANY (ARRAY['missing_header', 'malformed_header']::text[]) THEN 400
      WHEN outcome OPERATOR(pg_catalog.=) 'bad_signature' THEN 401
      -- not ours yet (the checkout may still be committing): ask for a retry
      WHEN outcome OPERATOR(pg_catalog.=) 'unknown_payment' THEN 404
      ELSE 200 END
  $$;

-- The part of `parts` (summing to total) that x of total carries:
-- largest-remainder rounding, ties to the earlier part. The result sums
-- to x exactly and equals parts when x = total.
CREATE OR REPLACE FUNCTION payments._portion(parts jsonb, total bigint, x bigint)
  RETURNS TABLE (ord bigint, account text, amount bigint)
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
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

-- lines crediting (sign -1) or debiting (sign 1) a portion of the split
CREATE OR REPLACE FUNCTION payments._split_lines(p payments.payments, x bigint, sign integer) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE SET search_path = ''
  AS $$
BEGIN
  RETURN (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(s.account, sign * s.amount)), '[]'::jsonb)
            FROM payments._portion(p.split, p.amount, x) s);
END
$$;

-- the sale of p (sign 1: receivable against the split) or its reversal (-1)
CREATE OR REPLACE FUNCTION payments._post_sale(p payments.payments, sign integer) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
BEGIN
  RETURN payments._post(p, CASE WHEN sign > 0 THEN 'sale' ELSE 'sale_reversed' END,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array('receivable', sign * p.amount))
    || payments._split_lines(p, p.amount, -sign));
END
$$;

-- amount moves from the credit account to the debit account
CREATE OR REPLACE FUNCTION payments._post_move(p payments.payments, kind text, debit text, credit text, amount bigint,
                                               refund_id uuid DEFAULT NULL, chargeback_id uuid DEFAULT NULL)
  RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
BEGIN
  RETURN payments._post(p, kind, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(debit, amount),
                                                              pg_catalog.jsonb_build_array(credit, -amount)),
                        refund_id, chargeback_id);
END
$$;

CREATE OR REPLACE FUNCTION payments._delivery(provider text, account_id uuid, event_id text, payment_id uuid,
                                              headers jsonb, body text, keep_body boolean, outcome text, detail text)
  RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = ''
  AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO payments.deliveries AS d (provider, account_id, event_id, payment_id, headers, body,
                                        body_bytes, body_sha256, outcome, detail)
  VALUES (_delivery.provider, _delivery.account_id, _delivery.event_id, _delivery.payment_id,
          payments._kept_headers(_delivery.headers),
          CASE WHEN _delivery.keep_body THEN _delivery.body ELSE pg_catalog.left(_delivery.body, 4096) END,
          COALESCE(pg_catalog.octet_length(_delivery.body), 0),
          pg_catalog.sha256(pg_catalog.convert_to(COALESCE(_delivery.body, ''), 'UTF8')),
          _delivery.outcome, _delivery.detail)
  RETURNING d.id INTO id;
  RETURN id;
END
$$;
