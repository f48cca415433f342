-- startlijn_payments 0.3 -> 0.4: webhooks received and applied in C
--
-- payments.receive, payments._interpret and payments._apply become C
-- functions of startlijn.so (src/payments/apply.c) with the same rules,
-- arguments and results. The webhook path no longer runs PL/pgSQL: the
-- body is read as jsonb in C, the payment is locked, its status change,
-- ledger entry, audit entry, event and delivery are written with
-- statements prepared once per backend. Refund and chargeback events still
-- go to payments._refund_event and payments._chargeback_event.
--
-- Two rules are new. An authenticated event whose status is missing or not
-- one we know (a refund status Stripe adds later, a Mollie payment
-- without a status) is recorded as `ignored` (HTTP 200). 0.3 tried to
-- apply it and failed on a NOT NULL column, so the provider retried it
-- for days. And a body with a \u0000 escape in a string is read with
-- U+FFFD in its place (jsonb cannot hold U+0000; the delivery keeps the
-- body as sent); 0.3 failed on it, and the provider retried.
--
-- payments._http_status becomes C too, so the status a provider sees for
-- an outcome has one definition, shared with receive.
--
-- The C functions are SECURITY INVOKER: like capacity's they switch to the
-- owner of schema payments for their statements, which are written with
-- schema-qualified names and operators only, so no search path changes
-- what they mean.

\echo Use "ALTER EXTENSION startlijn_payments UPDATE TO '0.4'" to load this file. \quit

CREATE OR REPLACE FUNCTION payments._interpret(provider text, body jsonb, header_event_id text,
                                               OUT event_id text, OUT kind text, OUT payment_ref text, OUT ref text,
                                               OUT status text, OUT amount bigint, OUT currency text)
  LANGUAGE c IMMUTABLE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_interpret';
ALTER FUNCTION payments._interpret(text, jsonb, text) RESET ALL;

CREATE OR REPLACE FUNCTION payments._apply(provider text, account_id uuid, event_id text, kind text,
                                           payment_ref text, ref text, status text, amount bigint, currency text,
                                           OUT outcome text, OUT payment_id uuid)
  LANGUAGE c VOLATILE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_apply';
ALTER FUNCTION payments._apply(text, uuid, text, text, text, text, text, bigint, text) RESET ALL;

CREATE OR REPLACE FUNCTION payments.receive(provider text, body json) RETURNS jsonb
  LANGUAGE c VOLATILE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_receive';
ALTER FUNCTION payments.receive(text, json) RESET ALL;

-- what the C functions replaced
DROP FUNCTION payments._payment_status(payments.payments, text, bigint, text, jsonb);
DROP FUNCTION payments._minor_units(text, text);

-- the HTTP status of an outcome has one definition, in C (receive uses it
-- directly; receive_mollie_classic and record_status call this)
CREATE OR REPLACE FUNCTION payments._http_status(outcome text, detail text) RETURNS integer
  LANGUAGE c IMMUTABLE PARALLEL SAFE SECURITY INVOKER
  AS 'MODULE_PATHNAME', 'payments_http_status';
