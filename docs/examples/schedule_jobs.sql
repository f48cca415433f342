-- Schedule every pg_cron job startlijn needs, for the startlijn extensions
-- installed in this database (docs/operations.md):
--
--   trail-seal           every minute   SELECT trail.seal()             integrate entries, sign checkpoints
--   capacity-sweep       every minute   SELECT capacity.sweep()         tidy expired holds, pass waitlist offers on
--   payments-maintain    hourly at :17  SELECT payments.maintain()      prune old idempotency keys
--   tokens-prune         hourly at :17  SELECT tokens.prune()           delete ended tokens and old failure windows
--   startlijn-retention  daily 03:23    CALL retention.run(...)         erasure requests, expiry, anonymisation
--   startlijn-expire-orders            every minute   startlijn.expire_orders(1000)            reservations that ran out
--   startlijn-refund-cancelled-events  every minute   startlijn.refund_cancelled_events(200)   refund cancelled events' orders
--
-- Run it as a superuser in the database pg_cron runs in (cron.database_name;
-- pg_cron lives in one database only): after installing, after a restore
-- (docs/operations.md, "Backup and restore"), and `make run` runs it for the
-- dev database. Safe to run again: pg_cron replaces a job of the same name.
--
--   psql -d startlijn -v ON_ERROR_STOP=1 -f docs/examples/schedule_jobs.sql
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- fails with "can only create extension in database ..." outside the cron database
CREATE EXTENSION IF NOT EXISTS pg_cron;
DO $$
BEGIN
  IF to_regprocedure('trail.schedule_sealing(interval)') IS NOT NULL THEN
    PERFORM trail.schedule_sealing('1 minute');
  END IF;
  IF to_regprocedure('capacity.schedule_sweep(text)') IS NOT NULL THEN
    PERFORM capacity.schedule_sweep();
  END IF;
  IF to_regprocedure('payments.schedule_maintenance(text)') IS NOT NULL THEN
    PERFORM payments.schedule_maintenance();
  END IF;
  IF to_regprocedure('tokens.schedule_pruning(text)') IS NOT NULL THEN
    PERFORM tokens.schedule_pruning();
  END IF;
  IF to_regprocedure('retention.schedule(text, integer, integer)') IS NOT NULL THEN
    PERFORM retention.schedule();
  END IF;
  IF to_regprocedure('startlijn.schedule_checkout_jobs(text)') IS NOT NULL THEN
    PERFORM startlijn.schedule_checkout_jobs();
  END IF;
END
$$;
RESET client_min_messages;
SELECT jobname, schedule, command, database, active FROM cron.job ORDER BY jobname;
