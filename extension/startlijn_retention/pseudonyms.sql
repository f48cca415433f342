-- startlijn_retention/pseudonyms.sql: stable pseudonyms (Persoon A, Bedrijf B).

-------------------------------------------------------------------------------
-- Pseudonyms
-------------------------------------------------------------------------------

-- 1 -> A, 26 -> Z, 27 -> AA
CREATE FUNCTION retention.letters(n bigint) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'retention_letters';

-- The number of a subject's pseudonym in an organisation (stable). A row
-- without a subject is numbered by its value (fallback), so the same text
-- gets the same pseudonym.
CREATE FUNCTION retention._pseudonym(organization_id uuid, subject uuid, class text, fallback text)
  RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  who uuid := COALESCE(subject, pg_catalog.md5(pg_catalog.lower(pg_catalog.btrim(COALESCE(fallback, ''))))::uuid);
  n integer;
BEGIN
  SELECT p.seq INTO n FROM retention.pseudonyms p
   WHERE p.organization_id = _pseudonym.organization_id AND p.class = _pseudonym.class AND p.subject = who;
  IF FOUND THEN
    RETURN n;
  END IF;
  INSERT INTO retention.pseudonym_counters AS c (organization_id, class, last)
  VALUES (_pseudonym.organization_id, _pseudonym.class, 1)
  ON CONFLICT ON CONSTRAINT pseudonym_counters_pkey DO UPDATE SET last = c.last + 1
  RETURNING c.last INTO n;
  INSERT INTO retention.pseudonyms (organization_id, class, subject, seq)
  VALUES (_pseudonym.organization_id, _pseudonym.class, who, n)
  ON CONFLICT ON CONSTRAINT pseudonyms_pkey DO NOTHING;
  IF NOT FOUND THEN
    -- a concurrent run numbered the subject first; its number wins (ours is a gap)
    SELECT p.seq INTO n FROM retention.pseudonyms p
     WHERE p.organization_id = _pseudonym.organization_id AND p.class = _pseudonym.class AND p.subject = who;
  END IF;
  RETURN n;
END
$fn$;
