-- startlijn_capacity 0.1 -> 0.2
--
-- A person's own waitlist entries are looked up by holder (the platform's
-- api.my_waitlist, in every organisation): an index instead of a scan of
-- every waitlist.

\echo Use "ALTER EXTENSION startlijn_capacity UPDATE TO '0.2'" to load this file. \quit

CREATE INDEX waitlist_holder ON capacity.waitlist (holder);
