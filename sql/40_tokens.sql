\set SHOW_CONTEXT never
-- startlijn_tokens end to end, through a minimal ticketing schema of our own
-- (the platform wires tokens into its real tables in its own issue):
-- a holder starts a transfer and passes the token; while it is pending the
-- ticket cannot be checked in; the recipient accepts with the token and her
-- name; the holder changes and the old QR code stops working.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS startlijn_tokens;
RESET client_min_messages;
\set anna '00000000-0000-4000-a000-000000000001'
\set kim '00000000-0000-4000-a000-000000000011'
\set ticket '00000000-0000-4000-c000-0000000000e1'

SELECT tokens.define_purpose('transfer', 'sltr', default_ttl => '2 days', max_ttl => '14 days',
                             max_uses_limit => 1, max_failures => 5);
SELECT key_id FROM tokens.signing_key('event-utrecht-10k');

CREATE SCHEMA ticketing;
CREATE TABLE ticketing.tickets (
  id uuid PRIMARY KEY, holder uuid NOT NULL, holder_name text NOT NULL,
  checked_in boolean NOT NULL DEFAULT false);
CREATE TABLE ticketing.transfers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), ticket_id uuid NOT NULL REFERENCES ticketing.tickets,
  status text NOT NULL DEFAULT 'pending', token_id uuid);
CREATE UNIQUE INDEX ON ticketing.transfers (ticket_id) WHERE status = 'pending';
INSERT INTO ticketing.tickets VALUES (:'ticket', :'anna', 'Anna de Vries');

CREATE FUNCTION ticketing.start_transfer(ticket_id uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE tr uuid; t record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ticketing.tickets k WHERE k.id = ticket_id AND k.holder = auth.uid()) THEN
    PERFORM tokens.raise('insufficient_role', 'Only the ticket holder can transfer it.');
  END IF;
  INSERT INTO ticketing.transfers (ticket_id) VALUES (ticket_id) RETURNING id INTO tr;
  SELECT * INTO t FROM tokens.issue('transfer', tr::text);
  UPDATE ticketing.transfers x SET token_id = t.token_id WHERE x.id = tr;
  RETURN jsonb_build_object('transfer_id', tr, 'token', t.token, 'expires_at', t.expires_at);
END $$;

CREATE FUNCTION ticketing.accept_transfer(transfer_id uuid, token text, holder_name text) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE r record; tk uuid;
BEGIN
  SELECT * INTO r FROM tokens.redeem('transfer', token, subject => transfer_id::text);
  UPDATE ticketing.transfers x SET status = 'accepted' WHERE x.id = transfer_id AND x.status = 'pending'
  RETURNING x.ticket_id INTO tk;
  UPDATE ticketing.tickets k SET holder = auth.uid(), holder_name = accept_transfer.holder_name WHERE k.id = tk;
  RETURN jsonb_build_object('ticket_id', tk,
           'code', tokens.sign_code('event-utrecht-10k', uuid_send(tk)));
END $$;

CREATE FUNCTION ticketing.check_in(code text) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE v record; tk uuid;
BEGIN
  SELECT * INTO v FROM tokens.verify_code('event-utrecht-10k', code);
  IF NOT v.valid THEN
    RETURN jsonb_build_object('admitted', false, 'status', v.status);
  END IF;
  tk := encode(v.payload, 'hex')::uuid;
  IF EXISTS (SELECT 1 FROM ticketing.transfers x WHERE x.ticket_id = tk AND x.status = 'pending') THEN
    RETURN jsonb_build_object('admitted', false, 'status', 'transfer_pending');
  END IF;
  UPDATE ticketing.tickets k SET checked_in = true WHERE k.id = tk AND NOT k.checked_in;
  RETURN jsonb_build_object('admitted', FOUND, 'status', CASE WHEN FOUND THEN 'valid' ELSE 'already_checked_in' END);
END $$;

CREATE FUNCTION api.demo_start_transfer(ticket_id uuid) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT ticketing.start_transfer(ticket_id) $$;
CREATE FUNCTION api.demo_accept_transfer(transfer_id uuid, token text, holder_name text) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT ticketing.accept_transfer(transfer_id, token, holder_name) $$;
CREATE FUNCTION api.demo_check_in(code text) RETURNS jsonb LANGUAGE sql
  AS $$ SELECT ticketing.check_in(code) $$;
GRANT USAGE ON SCHEMA ticketing TO authenticated;
GRANT EXECUTE ON FUNCTION api.demo_start_transfer(uuid), api.demo_accept_transfer(uuid, text, text),
  api.demo_check_in(text), ticketing.start_transfer(uuid), ticketing.accept_transfer(uuid, text, text),
  ticketing.check_in(text) TO authenticated;

-- Anna's ticket has a QR code (version 1)
SELECT tokens.sign_code('event-utrecht-10k', uuid_send(:'ticket')) AS old_code \gset
SELECT length(:'old_code') AS code_chars, (tokens.verify_code('event-utrecht-10k', :'old_code')).status;

-- Kim cannot start a transfer of Anna's ticket; Anna can, and gets the token once
SELECT pgrst.try('kim', 'demo_start_transfer', jsonb_build_object('ticket_id', :'ticket')) -> 'details' AS refused;
SELECT pgrst.call('anna', 'demo_start_transfer', jsonb_build_object('ticket_id', :'ticket')) AS started \gset
SELECT (:'started'::jsonb ->> 'token') ~ '^sltr_[A-Za-z0-9_-]{48}$' AS token_shape,
       (:'started'::jsonb ->> 'expires_at')::timestamptz - now() BETWEEN '47 hours' AND '48 hours' AS two_days;
SELECT :'started'::jsonb ->> 'transfer_id' AS transfer, :'started'::jsonb ->> 'token' AS token \gset

-- while the transfer is pending, the ticket is not admitted
SELECT pgrst.call('anna', 'demo_check_in', jsonb_build_object('code', :'old_code')) AS at_the_gate;

-- bad input: a typo, the token of another transfer's subject, a foreign string
SELECT pgrst.try('kim', 'demo_accept_transfer', jsonb_build_object('transfer_id', :'transfer',
         'token', overlay(:'token' placing (CASE WHEN substr(:'token', 20, 1) = 'A' THEN 'B' ELSE 'A' END) from 20 for 1),
         'holder_name', 'Kim Vos')) - 'message' - 'hint' AS typo;
SELECT pgrst.try('kim', 'demo_accept_transfer', jsonb_build_object('transfer_id', gen_random_uuid(),
         'token', :'token', 'holder_name', 'Kim Vos')) - 'message' - 'hint' AS other_transfer;
SELECT pgrst.try('kim', 'demo_accept_transfer', jsonb_build_object('transfer_id', :'transfer',
         'token', 'ghp_notatokenatall', 'holder_name', 'Kim Vos')) - 'message' - 'hint' AS foreign_text;

-- Kim accepts: she holds the ticket, gets a new code; the old code is superseded
SELECT pgrst.call('kim', 'demo_accept_transfer', jsonb_build_object('transfer_id', :'transfer',
         'token', :'token', 'holder_name', 'Kim Vos')) ->> 'code' AS new_code \gset
SELECT holder = :'kim' AS kim_holds, holder_name FROM ticketing.tickets;
SELECT pgrst.call('anna', 'demo_check_in', jsonb_build_object('code', :'old_code')) AS old_code_at_gate;
SELECT pgrst.call('kim', 'demo_check_in', jsonb_build_object('code', :'new_code')) AS new_code_at_gate;
SELECT pgrst.call('kim', 'demo_check_in', jsonb_build_object('code', :'new_code')) AS scanned_twice;

-- the token works once
SELECT pgrst.try('kim', 'demo_accept_transfer', jsonb_build_object('transfer_id', :'transfer',
         'token', :'token', 'holder_name', 'Kim Vos')) - 'message' - 'hint' AS second_accept;

-- a failed call at top level with the token spelled out in the statement:
-- psql sees the error, the server log gets neither the statement nor the
-- context (make test greps the server log for token-shaped strings)
SELECT * FROM tokens.redeem('transfer', :'token');

-- the offline scanner's view: one key, one revocation (version 1 reissued)
SELECT jsonb_array_length(b -> 'keys') AS keys, (b -> 'revocations' -> 0) - 'payload' AS revocation,
       b ->> 'next_since' AS next_since
  FROM tokens.scanner_bundle('event-utrecht-10k') b;
SELECT count(*) AS nothing_new FROM tokens.revocations('event-utrecht-10k', since => 1);

-- every step is explainable in the trail, and the token text is nowhere in it
SELECT action, (body::jsonb -> 'details') - 'expires_at'::text - 'subject'::text - 'payload'::text AS details
  FROM trail.entries WHERE action ~ '^(token|code)\.' ORDER BY id;
SELECT count(*) AS token_in_trail FROM trail.entries WHERE strpos(body, :'token') > 0
   OR strpos(body, substr(:'token', 6)) > 0;

-- failed attempts were counted (by the background worker, despite the rollbacks)
SELECT sum(failures) AS failures_counted FROM tokens.failures;

-- revocation of a code (refund): the delta feed has it, the scanner refuses it
SELECT tokens.revoke_code('event-utrecht-10k', uuid_send(:'ticket'), 'refunded') AS seq;
SELECT (tokens.verify_code('event-utrecht-10k', :'new_code')).status AS after_refund;
SELECT seq, up_to_version, reason FROM tokens.revocations('event-utrecht-10k', since => 1);

DROP FUNCTION api.demo_start_transfer(uuid), api.demo_accept_transfer(uuid, text, text), api.demo_check_in(text);
DROP SCHEMA ticketing CASCADE;
