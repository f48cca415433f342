#!/usr/bin/env bash
# No token text in the server log (docs/tokens.md): the regress, isolation
# and pgTAP suites issue tokens and fail redeems with the token spelled out
# in top-level statements; errors of calls that carry a token hide their
# STATEMENT and CONTEXT lines (src/tokens/tokens.c). Reads the log of the
# server those suites ran on: SERVER_LOG=<file> (make test: its cluster's
# log; make run: .pgdata/server.log after make installcheck). Without
# SERVER_LOG it skips.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUTSIDE_NO_SERVER=1 outside_begin
[ -n "${SERVER_LOG:-}" ] || skip_all "SERVER_LOG names no server log"
if [ ! -r "$SERVER_LOG" ]; then
  fail "the server log can be read" "cannot read SERVER_LOG=$SERVER_LOG"; done_testing; exit
fi
leaked=$(grep -coE '\bsl[a-z0-9]{0,10}_[A-Za-z0-9_-]{48}' "$SERVER_LOG" || true)
failed=$(grep -c 'token already used' "$SERVER_LOG" || true)
note "$failed failed redeems logged, $leaked lines with token text"
if [ "$failed" -gt 0 ]; then
  pass "failed redeems were logged ('token already used')"
else
  cp "$SERVER_LOG" "$OUT/server.log"
  fail "failed redeems were logged ('token already used')" "none in $SERVER_LOG (copied to $REL/server.log): did the regress, isolation or pgTAP suites run on this server?"
fi
if [ "$leaked" -eq 0 ]; then
  pass "no token text in the server log"
else
  cp "$SERVER_LOG" "$OUT/server.log"
  fail "no token text in the server log" "$leaked lines of $SERVER_LOG (copied to $REL/server.log) hold token text: grep -nE '\\bsl[a-z0-9]{0,10}_[A-Za-z0-9_-]{48}'"
fi
done_testing
