#!/usr/bin/env python3
"""lint_c_sql.py - the SQL hardening rules that make test checks (suite "lint").

Rule 1 (src/**/*.c): every SQL string literal follows the convention of
src/core/sl_core.h, "SQL in C strings":
  - a function is called schema-qualified: pg_catalog.now(), trail.log(...);
    SQL syntax in upper case is not a function (COALESCE, EXISTS, ANY, ARRAY,
    CAST, VALUES, FILTER, ...), nor is a column list after AS or a table name;
  - an operator is written OPERATOR(pg_catalog.op); the assignments of an
    UPDATE ... SET list, named arguments (=>) and the * of count(*),
    SELECT * and x.* are syntax, not operators.
  Adjacent literals (C concatenation, also across a macro name) are read as
  one statement. A C comment containing "lint-sql:" and the reason, just
  before a literal, exempts that statement (for operators on an
  integrator's column types, which need not live in pg_catalog). A literal is SQL when it holds an upper-case SQL keyword
  (SELECT, FROM, WHERE, ...), which is how every statement in src/ is
  written; printf placeholders (%s, %d) stand for identifiers or values.

Rule 2 (extension/**/*.sql): every CREATE FUNCTION/PROCEDURE (or ALTER
FUNCTION) with SECURITY DEFINER also has SET search_path = pg_catalog, pg_temp.

Rule 3 (src/**/*.c, *.h): the C layers point one way, src/startlijn ->
engines (audit, capacity, payments, retention, tokens) -> src/core ->
src/common. A file includes our headers only from its own folder or the
layers below it: src/common nothing but src/common (and never postgres.h),
src/core src/common, an engine src/core and src/common (not another engine,
not the platform), src/startlijn anything.

Prints one line per finding ("file:line: message") and a summary
"lint: N passed, M failed" (N: files checked without a finding, M: findings);
exits 1 when something was found. `--self-test` plants violations in a copy
of the rules' inputs and checks that each is caught.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# ---------------------------------------------------------------------------
# C: string literals
# ---------------------------------------------------------------------------

C_TOKEN = re.compile(
    r'''(?P<comment>//[^\n]*|/\*.*?\*/)'''
    r'''|(?P<string>"(?:\\.|[^"\\\n])*")'''
    r'''|(?P<char>'(?:\\.|[^'\\\n])+')'''
    r'''|(?P<ident>[A-Za-z_][A-Za-z_0-9]*)'''
    r'''|(?P<space>\s+)'''
    r'''|(?P<other>.)''', re.S)


def c_string_runs(src):
    """Yield (line, text) for runs of adjacent string literals; a macro name
    between two literals (e.g. "SELECT " HOLD_JSON " FROM") joins the run
    and stands for an expression."""
    run, start, line, pending_ident, exempt = [], None, 1, None, False
    for m in C_TOKEN.finditer(src):
        kind = m.lastgroup
        text = m.group()
        if kind == "comment" and "lint-sql:" in text:
            exempt = True
        if kind == "string":
            if run and pending_ident:
                run.append(" x ")
            if not run:
                start = line
            run.append(bytes(text[1:-1], "utf-8").decode("unicode_escape", errors="replace"))
            pending_ident = None
        elif kind in ("space", "comment"):
            pass
        elif kind == "ident" and run and text.isupper() and pending_ident is None:
            pending_ident = text   # a macro between literals
        else:
            if run:
                if not exempt:
                    yield start, "".join(run)
                exempt = False
            run, pending_ident = [], None
        line += text.count("\n")
    if run and not exempt:
        yield start, "".join(run)


SQL_MARK = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|WHERE|FROM|JOIN|RETURNING|VALUES|"
                      r"CASE WHEN|ON CONFLICT|IS NULL|IS NOT NULL|AND|OR)\b")

# upper-case words followed by "(" that are syntax, not functions
SYNTAX = set("""IN EXISTS ANY ALL SOME ARRAY VALUES COALESCE NULLIF GREATEST LEAST CAST ROW ROWS FROM
FILTER OVER WITHIN AS USING CONFLICT JOIN ON AND OR NOT WHERE SELECT THEN ELSE WHEN CASE BY
RETURNING SET INTO DISTINCT LATERAL OPERATOR EXCEPT UNION INTERSECT IF ORDINALITY LIMIT OFFSET
GROUPING""".split())

OPERATOR_CHARS = "+-*/<>=~!@#%^&|`?"
SQL_TOKEN = re.compile(
    r"""(?P<str>'(?:''|[^'])*')"""
    r"""|(?P<qident>"(?:""|[^"])*")"""
    r"""|(?P<dollar>\$\d+)"""
    r"""|(?P<fmt>%(?:\d+\$)?[-0-9.]*(?:ll|l|z)?[sdiuxX]|%%)"""
    r"""|(?P<qualop>OPERATOR\s*\(\s*pg_catalog\s*\.\s*[^)\s]+\s*\))"""
    r"""|(?P<cast>::)"""
    r"""|(?P<named>=>)"""
    r"""|(?P<num>\d+(?:\.\d+)?)"""
    r"""|(?P<ident>[A-Za-z_][A-Za-z_0-9]*)"""
    r"""|(?P<op>[+\-*/<>=~!@#%^&|`?]+)"""
    r"""|(?P<space>\s+)"""
    r"""|(?P<other>.)""", re.S)


def sql_findings(sql):
    toks = [(m.lastgroup, m.group()) for m in SQL_TOKEN.finditer(sql) if m.lastgroup != "space"]
    out = []
    depth = 0
    set_depth = None      # paren depth of an UPDATE ... SET list
    for i, (kind, text) in enumerate(toks):
        prev = toks[i - 1] if i > 0 else ("", "")
        prev2 = toks[i - 2] if i > 1 else ("", "")
        nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
        if kind == "other" and text == "(":
            depth += 1
        elif kind == "other" and text == ")":
            depth -= 1
            if set_depth is not None and depth < set_depth:
                set_depth = None
        if kind == "ident":
            if text == "SET" and prev[1] != "DO" or (text == "SET" and prev[1] == "DO"):
                set_depth = depth
            elif text in ("WHERE", "FROM", "RETURNING") and set_depth is not None and depth == set_depth:
                set_depth = None
            if nxt == ("other", "("):
                if prev == ("other", "."):
                    continue                    # schema.function( or table.column list
                if text.isupper() and text in SYNTAX:
                    continue
                if prev[1] in ("AS", "INTO", ")") or prev[0] == "fmt":
                    continue                    # alias(columns), (subquery) alias(columns), INTO table(columns)
                if prev[1] == "JOIN" or prev[1] == "FROM" and not text.islower():
                    continue
                out.append("unqualified function %s()" % text)
        elif kind == "op":
            if text == "*" and (prev[1] in ("(", ".", "SELECT", ",") or nxt[1] in (")", ",", "FROM")):
                continue                        # count(*), x.*, SELECT *
            if text == "=" and set_depth is not None and depth == set_depth and \
                    prev[0] in ("ident", "qident", "fmt") and (prev2[1] in ("SET", ",") or prev2[0] == "fmt"):
                continue                        # UPDATE ... SET col = value (col may be a %s)
            if text == "=" and prev[1] == "search_path":
                continue
            out.append("unqualified operator %s" % text)
    return out


OURS = ("common", "core", "audit", "capacity", "payments", "retention", "tokens", "startlijn")
ENGINES = ("audit", "capacity", "payments", "retention", "tokens")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def allowed_layers(folder):
    if folder == "common":
        return {"common"}
    if folder == "core":
        return {"core", "common"}
    if folder in ENGINES:
        return {folder, "core", "common"}
    return set(OURS)


def layer_findings(rel, src):
    """(line, message) for every include that points up or sideways."""
    parts = rel.replace(os.sep, "/").split("/")
    folder = parts[-2] if len(parts) >= 2 else ""
    if folder not in OURS:
        return []
    out = []
    for m in INCLUDE.finditer(src):
        inc = m.group(1)
        line = src.count("\n", 0, m.start()) + 1
        if folder == "common" and inc == "postgres.h":
            out.append((line, "src/common includes postgres.h"))
            continue
        comp = inc.split("/")
        if comp[0] == "..":
            target = comp[1] if len(comp) > 2 else None
        elif len(comp) > 1 and comp[0] in OURS and (comp[0] != "common" or comp[1].startswith("sl_")):
            target = comp[0]    # "common/pg_prng.h" is PostgreSQL's, "common/sl_*.h" ours
        else:
            target = None       # a header of the same folder or of PostgreSQL
        if target is not None and target not in allowed_layers(folder):
            out.append((line, "src/%s includes src/%s (%s): the layers point startlijn -> engines -> core -> common"
                        % (folder, target, inc)))
    return out


def lint_c(path, rel, findings):
    src = open(path, encoding="utf-8", errors="replace").read()
    n = 0
    for line, msg in layer_findings(rel, src):
        findings.append("%s:%d: %s" % (rel, line, msg))
        n += 1
    for line, text in c_string_runs(src):
        if not SQL_MARK.search(text):
            continue
        for f in sql_findings(text):
            findings.append("%s:%d: %s in SQL string: %s" % (rel, line, f, " ".join(text.split())[:160]))
            n += 1
    return n


# ---------------------------------------------------------------------------
# SQL: SECURITY DEFINER needs the pinned search_path
# ---------------------------------------------------------------------------

DOLLAR = re.compile(r"\$([A-Za-z_]*)\$.*?\$\1\$", re.S)
LINE_COMMENT = re.compile(r"--[^\n]*")
STATEMENT_START = re.compile(r"\b(CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)|ALTER\s+(?:FUNCTION|PROCEDURE))\b", re.I)
PINNED = re.compile(r"\bSET\s+search_path\s*(?:=|TO)\s*pg_catalog\s*,\s*pg_temp\b(?!\s*,)", re.I)


def lint_sql(path, rel, findings):
    src = open(path, encoding="utf-8", errors="replace").read()
    # blank out bodies and comments but keep the line numbers
    keep = lambda m: re.sub(r"[^\n]", " ", m.group())
    text = DOLLAR.sub(keep, src)
    text = LINE_COMMENT.sub(keep, text)
    text = re.sub(r"'(?:''|[^'])*'", keep, text)
    n = 0
    starts = [m.start() for m in STATEMENT_START.finditer(text)]
    for s in starts:
        end = text.find(";", s)
        stmt = text[s:end if end >= 0 else len(text)]
        if re.search(r"\bSECURITY\s+DEFINER\b", stmt, re.I) and not PINNED.search(stmt):
            line = src.count("\n", 0, s) + 1
            name = " ".join(stmt.split())[:100]
            findings.append("%s:%d: SECURITY DEFINER without SET search_path = pg_catalog, pg_temp: %s"
                            % (rel, line, name))
            n += 1
    return n


def run(root):
    findings = []
    checked = 0
    clean = 0
    for base, exts, fn in (("src", (".c", ".h"), lint_c), ("extension", (".sql",), lint_sql)):
        for d, _, files in sorted(os.walk(os.path.join(root, base))):
            for f in sorted(files):
                if not f.endswith(exts):
                    continue
                if base == "extension" and os.path.dirname(os.path.join(d, f)) == os.path.join(root, "extension"):
                    continue    # generated install scripts (extension/<ext>--<v>.sql)
                p = os.path.join(d, f)
                checked += 1
                if fn(p, os.path.relpath(p, root), findings) == 0:
                    clean += 1
    return checked, clean, findings


PLANTED = [
    ("c:src/core/x.c", '#include "../retention/retention.h"', "core includes an engine"),
    ("c:src/core/x.c", '#include "startlijn/sl_engines.h"', "core includes the platform"),
    ("c:src/capacity/x.c", '#include "payments/payments.h"', "an engine includes another engine"),
    ("c:src/tokens/x.c", '#include "../startlijn/sl_engines.h"', "an engine includes the platform"),
    ("c:src/common/x.c", '#include "postgres.h"', "common includes postgres.h"),
    ("c:src/common/x.c", '#include "../core/sl_core.h"', "common includes core"),
    ("c", 'static const char *q = "SELECT x.a FROM capacity.pools x WHERE x.id = $1";', "operator ="),
    ("c", 'static const char *q = "SELECT now() FROM capacity.pools x";', "function now()"),
    ("c", 'static const char *q = "SELECT count(*) FROM capacity.pools x";', "function count()"),
    ("c", 'static const char *q = "UPDATE t.x SET a = a + 1 WHERE b OPERATOR(pg_catalog.=) $1";', "operator +"),
    ("c", 'static const char *q = "SELECT \'a\' || x.b FROM t.x";', "operator ||"),
    ("c", 'static const char *q = "SELECT x.j ->> \'k\' FROM t.x";', "operator ->>"),
    ("sql", "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;",
     "definer without search_path"),
    ("sql", "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$ SELECT 1 $$;",
     "definer with another search_path"),
    ("sql", "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql SECURITY DEFINER\n"
            "  SET search_path = pg_catalog, pg_temp, public AS $$ SELECT 1 $$;", "pg_temp not last"),
]
CLEAN = [
    ("c:src/capacity/x.c", '#include "core/sl_core.h"\n#include "common/pg_prng.h"\n#include "common/sl_money.h"'),
    ("c:src/startlijn/x.c", '#include "../retention/retention.h"\n#include "../core/sl_core.h"'),
    ("c:src/payments/x.c", '#include "payments/payments.h"\n#include "utils/builtins.h"'),
    ("c", 'static const char *q = "UPDATE t.x SET a = $2, b = pg_catalog.now() WHERE x.id OPERATOR(pg_catalog.=) $1";'),
    ("c", 'static const char *q = "SELECT pg_catalog.count(*), COALESCE(x.a, 0) FROM t.x WHERE EXISTS (SELECT 1)";'),
    ("c", 'elog(ERROR, "capacity: allocation has fewer units in pool %s than recorded", p);'),
    ("sql", "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp\n"
            "  AS $$ SELECT 1 $$;"),
    ("sql", "CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS $$ SELECT 'SECURITY DEFINER' $$;"),
]


def self_test():
    import tempfile
    bad = 0
    cases = [(k, t, True, why) for k, t, why in PLANTED] + [(k, t, False, "clean") for k, t in CLEAN]
    for kind, text, expect, why in cases:
        kind, _, rel = kind.partition(":")
        with tempfile.NamedTemporaryFile("w", suffix="." + kind, delete=False) as f:
            f.write(text + "\n")
        findings = []
        (lint_c if kind == "c" else lint_sql)(f.name, rel or "planted." + kind, findings)
        os.unlink(f.name)
        got = bool(findings)
        print("%s - %s: %s" % ("ok" if got == expect else "not ok", why, text.splitlines()[0][:90]))
        bad += got != expect
    return bad


def main():
    if "--self-test" in sys.argv:
        sys.exit(1 if self_test() else 0)
    root = sys.argv[1] if len(sys.argv) > 1 else ROOT
    checked, clean, findings = run(root)
    for f in findings:
        print(f)
    print("lint: %d passed, %d failed" % (clean, len(findings)))
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
