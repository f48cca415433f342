-- startlijn/privileges.sql: function privileges. Last in the install script: nothing
-- for PUBLIC on any function of schemas startlijn and api; each file grants
-- what its callers need.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA startlijn FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
