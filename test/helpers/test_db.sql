-- A test database: every extension, the PostgREST call helper and the demo
-- data. make test's databases (make_test_db of test/outside/lib.sh) and make
-- installcheck's isolation database (Makefile installcheck-db) load it.
CREATE EXTENSION startlijn CASCADE;
CREATE EXTENSION IF NOT EXISTS startlijn_tokens;
CREATE EXTENSION IF NOT EXISTS startlijn_capacity;
CREATE EXTENSION IF NOT EXISTS startlijn_retention;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
\ir pgrst.sql
\ir ../fixtures/demo.sql
