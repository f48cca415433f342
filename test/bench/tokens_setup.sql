-- Benchmark schema for startlijn_tokens: 10,000 signed codes, a stock of
-- single-use tokens, and the same stock as a plain SQL baseline (SHA-256 of
-- the token text in an indexed column, used with one UPDATE).
CREATE EXTENSION IF NOT EXISTS startlijn_tokens CASCADE;
CREATE SCHEMA IF NOT EXISTS bench;
SELECT tokens.define_purpose('bench', 'slb', '1 day', '1 day', 1, 10000, '1 day');
SELECT tokens.signing_key('bench-event');
CREATE TABLE bench.codes AS
  SELECT i, tokens.sign_code('bench-event', uuid_send(gen_random_uuid())) AS code FROM generate_series(1, 10000) i;
ALTER TABLE bench.codes ADD PRIMARY KEY (i);
CREATE TABLE bench.tok AS
  SELECT i, (tokens.issue('bench', 'ticket:' || i)).token FROM generate_series(1, :stock) i;
ALTER TABLE bench.tok ADD PRIMARY KEY (i);
CREATE SEQUENCE bench.tok_seq;
-- the baseline's own, cheaper stock (random texts of the same length)
CREATE TABLE bench.sqltok_text AS
  SELECT i, 'slb_' || left(md5(random()::text) || md5(random()::text), 48) AS token FROM generate_series(1, :sqlstock) i;
ALTER TABLE bench.sqltok_text ADD PRIMARY KEY (i);
CREATE TABLE bench.sqltok AS SELECT i, sha256(convert_to(token, 'UTF8')) AS hash, 'ticket:' || i AS subject,
                                    0 AS uses FROM bench.sqltok_text;
ALTER TABLE bench.sqltok ADD PRIMARY KEY (hash);
CREATE SEQUENCE bench.sqltok_seq;
ANALYZE;
