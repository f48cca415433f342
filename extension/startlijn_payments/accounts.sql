-- startlijn_payments/accounts.sql: provider accounts and their webhook secrets.

-------------------------------------------------------------------------------
-- Provider accounts and secrets
-------------------------------------------------------------------------------

CREATE FUNCTION payments._verify(provider text, body text, h1 text, h2 text, h3 text,
                                 OUT result text, OUT account_id uuid)
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'payments_verify';

CREATE FUNCTION payments._decode_secret(provider text, secret text, OUT kind text, OUT key bytea)
  LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'payments_decode_secret';

CREATE FUNCTION payments.create_account(provider text, name text) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  aid uuid;
BEGIN
  IF provider IS NULL OR provider NOT IN ('stripe', 'mollie', 'standard') THEN
    PERFORM payments.raise('invalid_argument', 'The provider must be stripe, mollie or standard.');
  END IF;
  IF name IS NULL OR name !~ '^[a-z0-9][a-z0-9._-]{0,62}$' THEN
    PERFORM payments.raise('invalid_argument', 'An account name has 1 to 63 lowercase letters, digits, dots, dashes or underscores.');
  END IF;
  INSERT INTO payments.accounts AS a (provider, name) VALUES (create_account.provider, create_account.name)
  RETURNING a.id INTO aid;
  PERFORM trail.log(NULL, 'payments.account_created', 'payment_account:' || aid::text,
                    pg_catalog.jsonb_build_object('provider', provider, 'name', name));
  RETURN aid;
END
$$;

-- Add a webhook secret as the provider shows it (Stripe whsec_..., Standard
-- Webhooks whsec_... or whpk_..., Mollie's shared secret). Older secrets
-- stay active until retired: deliveries signed with either verify.
CREATE FUNCTION payments.add_secret(account_id uuid, secret text) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  a payments.accounts;
  d record;
  sid uuid;
BEGIN
  SELECT * INTO a FROM payments.accounts x WHERE x.id = add_secret.account_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM payments.raise('account_not_found');
  END IF;
  IF (SELECT pg_catalog.count(*) FROM payments.secrets s WHERE s.account_id = a.id AND s.state = 'active') >= 5 THEN
    PERFORM payments.raise('invalid_argument', 'An account has at most 5 active secrets.', 'Retire an old secret first.');
  END IF;
  d := payments._decode_secret(a.provider, secret);
  INSERT INTO payments.secrets AS s (account_id, kind, secret) VALUES (a.id, d.kind, d.key)
  RETURNING s.id INTO sid;
  PERFORM trail.log(NULL, 'payments.secret_added', 'payment_account:' || a.id::text,
                    pg_catalog.jsonb_build_object('secret_id', sid, 'kind', d.kind));
  RETURN sid;
END
$$;

CREATE FUNCTION payments.retire_secret(secret_id uuid) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  aid uuid;
BEGIN
  UPDATE payments.secrets s SET state = 'retired', secret = NULL, retired_at = pg_catalog.now()
   WHERE s.id = retire_secret.secret_id AND s.state = 'active'
  RETURNING s.account_id INTO aid;
  IF NOT FOUND THEN
    PERFORM payments.raise('invalid_argument', 'No active secret has this id.');
  END IF;
  PERFORM trail.log(NULL, 'payments.secret_retired', 'payment_account:' || aid::text,
                    pg_catalog.jsonb_build_object('secret_id', secret_id));
END
$$;

-- The secrets an operator may see: never the key.
CREATE FUNCTION payments.secrets_status()
  RETURNS TABLE (account_id uuid, provider text, account text, secret_id uuid, kind text, state text,
                 created_at timestamptz, retired_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT a.id, a.provider, a.name, s.id, s.kind, s.state, s.created_at, s.retired_at
      FROM payments.accounts a JOIN payments.secrets s ON s.account_id = a.id
     ORDER BY a.provider, a.name, s.created_at
  $$;
