-- startlijn_audit/personal.sql: personal data in entries: opening an entry,
-- crypto-shredding a data subject.

-------------------------------------------------------------------------------
-- Personal data
-------------------------------------------------------------------------------
-- The entry as JSON with its personal part decrypted when the key still
-- exists ("personal": {"subject", "forgotten": true} once it does not).
CREATE FUNCTION trail.open_entry(entry trail.entries) RETURNS jsonb
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'trail_open_entry';

CREATE FUNCTION trail.forget_subject(subject uuid, reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'trail_forget_subject';
COMMENT ON FUNCTION trail.forget_subject(uuid, text) IS
  'crypto-shredding: destroy the subject''s key; its personal values in entries become unreadable, every proof still verifies';
