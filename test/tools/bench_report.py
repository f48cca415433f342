#!/usr/bin/env python3
"""make bench's report: one summary table from test/results/bench/results.tsv.

    python3 test/tools/bench_report.py RESULTS.tsv [--docs DIR]

Prints the summary table (workload, clients, our figure, each baseline
measured in the same run with the ratio ours / baseline, our share of the
write floor, the invariant checks). With --docs it also writes
DIR/benchmarks.md (the table, the machine, the settings, the warnings) and an
SVG chart of throughput against clients per workload in DIR/bench/.

The output depends on the TSV alone (its order, its figures, its meta lines:
the date is the run's), so a report can be regenerated from a kept TSV. The
TSV is written by test/tools/bench.sh; one tab-separated line each:

    meta    <key> <value>
    result  <part> <workload> <clients> <series> <role> <value> <unit>
    check   <part> <workload or -> <clients or -> <name> <ok|FAIL> <detail>

role: ours, baseline, floor (the fastest any implementation writing our
rows can be) or info (a figure shown beside, not compared).
"""
import argparse
import math
import os
import re
import sys
from xml.sax.saxutils import escape, quoteattr

FLOOR_SHARE = 0.9      # below this share of its write floor a workload is flagged
SMOKE_SECONDS = 5      # BENCH_SECONDS below this: a smoke run, not results

# where each part's docs explain the time above the floor (links relative to docs/)
FLOOR_DOCS = {
    'audit': ('audit.md#performance', 'docs/audit.md, "Performance"'),
    'capacity': ('capacity.md#known-limits', 'docs/capacity.md, "Known limits"'),
    'checkout': ('checkout.md#throughput', 'docs/checkout.md, "Throughput"'),
    'payments': ('payments.md#benchmark', 'docs/payments.md, "Benchmark"'),
}

# what the series are, per part (the report's legend)
SERIES_NOTES = {
    'audit': 'trail: a table with `trail.enable()`; plain: the same table without audit; chain: a PL/pgSQL '
             'trigger extending one SHA-256 hash chain; supa_audit: a supa_audit-style PL/pgSQL trigger writing '
             '`to_jsonb(NEW)` with operation, table and time to a log table, no hashing; floor: the row and an '
             'entry-sized row written by one statement, no trigger, encoding or hashing. One row per transaction, '
             '`pgbench -M prepared`.',
    'tokens': 'verify_code: a signed code checked; lookup: the same round trip without verification; redeem: '
              '`tokens.redeem` of a fresh single-use token; sql_redeem: SHA-256 and one UPDATE in plain SQL, '
              'no throttling or audit.',
    'capacity': 'capacity: buyers per second, each a hold and its confirm (70%), release (20%) or expiry (10%), '
                'two transactions; floor: the same rows written by one statement per transaction, no logic; '
                'same_work: the same buyers on one counter row locked until commit, with a hold row and an audit '
                'row per step; pretix: the same buyers on a pretix-style quota check (lock the quota rows, count '
                'their sold and held positions, insert a position below the size); naive: one counter UPDATE per '
                'sale; plain: one INSERT per sale (sales/s, one transaction each).',
    'retention': 'retention.run: rows expired or anonymised per second in committed batches; one UPDATE: the '
                 'whole table in one statement, every row locked until its commit, no pseudonyms or audit.',
    'payments': 'C: `payments.receive`, signed Stripe webhooks (30% delivered twice, shuffled); plpgsql: the same '
                'rules in PL/pgSQL with pgcrypto; floor: the same rows by one prepared statement, every decision '
                'made ahead.',
    'checkout': 'e2e: buyers per second, each reserve, checkout, the relay\'s provider id and the signed paid '
                'webhook as PostgREST makes them; capacity_only: the capacity engine\'s hold and confirm for as '
                'many buyers; floor: as many rows, as wide, written by four plain INSERTs, no rules.',
}

MACHINE = [('cpu', 'CPU'), ('cores', 'cores (nproc)'), ('ram', 'RAM'), ('server_version', 'PostgreSQL'),
           ('fsync', 'fsync'), ('synchronous_commit', 'synchronous_commit'), ('full_page_writes', 'full_page_writes'),
           ('wal_level', 'wal_level'), ('shared_buffers', 'shared_buffers'), ('max_wal_size', 'max_wal_size'),
           ('commit', 'commit'), ('date', 'date')]


class Report:
    def __init__(self):
        self.meta = {}
        self.results = []   # dicts: part workload clients series role value unit
        self.checks = []    # dicts: part workload clients name status detail


def number(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def parse(lines):
    rep = Report()
    for no, line in enumerate(lines, 1):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        f = line.split('\t')
        if f[0] == 'meta' and len(f) >= 2:
            rep.meta[f[1]] = f[2] if len(f) > 2 else ''
        elif f[0] == 'result' and len(f) == 8:
            rep.results.append(dict(part=f[1], workload=f[2], clients=f[3], series=f[4], role=f[5],
                                    value=number(f[6]), raw=f[6], unit=f[7]))
        elif f[0] == 'check' and len(f) == 7:
            rep.checks.append(dict(part=f[1], workload=f[2], clients=f[3], name=f[4], status=f[5], detail=f[6]))
        else:
            raise ValueError('line %d: not a meta, result or check line: %r' % (no, line))
    return rep


def fmt(v):
    if v is None:
        return '–'
    a = abs(v)
    if a >= 100:
        return '{:,.0f}'.format(v)
    if a >= 10:
        return '{:.1f}'.format(v)
    if a >= 1:
        return '{:.2f}'.format(v)
    return '{:.3f}'.format(v)


def clients(n):
    return 'all clients' if n == '-' else '%s client%s' % (n, '' if n == '1' else 's')


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def smoke(rep):
    secs = number(rep.meta.get('BENCH_SECONDS'))
    return secs is not None and secs < SMOKE_SECONDS


def ordered_unique(items):
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def rows(rep):
    """One row per (part, workload, clients): workloads in the order of the TSV, each one's client
    counts in the order measured."""
    workloads = ordered_unique((r['part'], r['workload']) for r in rep.results)
    keys = sorted(ordered_unique((r['part'], r['workload'], r['clients']) for r in rep.results),
                  key=lambda k: workloads.index(k[:2]))
    out = []
    for key in keys:
        rs = [r for r in rep.results if (r['part'], r['workload'], r['clients']) == key]
        ours = next((r for r in rs if r['role'] == 'ours'), None)
        row = dict(part=key[0], workload=key[1], clients=key[2], ours=ours,
                   baselines=[r for r in rs if r['role'] == 'baseline'],
                   floor=next((r for r in rs if r['role'] == 'floor'), None),
                   info=[r for r in rs if r['role'] == 'info'],
                   checks=[c for c in rep.checks if (c['part'], c['workload'], c['clients']) == key])
        row['floor_share'] = ratio(ours and ours['value'], row['floor'] and row['floor']['value'])
        out.append(row)
    return out


def check_cell(checks):
    if not checks:
        return ''
    bad = [c for c in checks if c['status'] != 'ok']
    if not bad:
        return 'ok' if len(checks) == 1 else 'ok (%d)' % len(checks)
    return 'FAIL: ' + '; '.join('%s (%s)' % (c['name'], c['detail']) for c in bad)


def table(rep):
    """The summary table: a header and one list of cells per row."""
    head = ['part', 'workload', 'clients', 'ours', 'baselines (ours / baseline)', 'floor (ours / floor)', 'checks']
    body = []
    for row in rows(rep):
        ours = row['ours']
        unit = ours['unit'] if ours else ''
        cell = '%s %s %s' % (ours['series'], fmt(ours['value']), unit) if ours else '–'
        bases = []
        for b in row['baselines']:
            u = '' if b['unit'] == unit else ' ' + b['unit']
            r = ratio(ours and ours['value'], b['value'])
            bases.append('%s %s%s (%s)' % (b['series'], fmt(b['value']), u, '%.2f×' % r if r is not None else '–'))
        fl = row['floor']
        floor = '%s (%.2f)' % (fmt(fl['value']), row['floor_share']) if fl and row['floor_share'] is not None else \
            (fmt(fl['value']) if fl else '')
        body.append([row['part'], row['workload'], row['clients'], cell, ', '.join(bases) or '–', floor,
                     check_cell(row['checks'])])
    return head, body


def floor_warnings(rep):
    out = []
    for row in rows(rep):
        s = row['floor_share']
        if s is not None and s < FLOOR_SHARE:
            link, name = FLOOR_DOCS.get(row['part'], ('%s.md' % row['part'], 'docs/%s.md' % row['part']))
            out.append(dict(part=row['part'], workload=row['workload'], clients=row['clients'], share=s,
                            link=link, doc=name))
    return out


def text_table(head, body):
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    line = lambda cells: '  '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return '\n'.join([line(head), line(['-' * w for w in widths])] + [line(r) for r in body])


def md_cell(s):
    return s.replace('|', '\\|') if s else ' '


def md_table(head, body):
    out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    out += ['| ' + ' | '.join(md_cell(c) for c in r) + ' |' for r in body]
    return '\n'.join(out)


def slug(text):
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')


# ---- charts -------------------------------------------------------------------

PALETTE = ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#e377c2', '#bcbd22']


def nice_ticks(top, n=5):
    if top <= 0:
        top = 1.0
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    count = int(math.ceil(top / step - 1e-9))
    return [i * step for i in range(count + 1)]


def charts(rep):
    """(file name, title, unit, clients, [(series, role, [(clients, value)])]) per workload measured at
    two or more client counts."""
    out = []
    for key in ordered_unique((r['part'], r['workload']) for r in rep.results):
        rs = [r for r in rep.results if (r['part'], r['workload']) == key and r['role'] != 'info'
              and r['value'] is not None and number(r['clients'])]
        clients = sorted(set(int(number(r['clients'])) for r in rs))
        if len(clients) < 2:
            continue
        ours = next((r for r in rs if r['role'] == 'ours'), rs[0])
        series = []
        for name in ordered_unique(r['series'] for r in rs):
            pts = sorted((int(number(r['clients'])), r['value']) for r in rs if r['series'] == name)
            first = next(r for r in rs if r['series'] == name)
            label = name if first['unit'] == ours['unit'] else '%s (%s)' % (name, first['unit'])
            series.append((label, first['role'], pts))
        # ours first, then the baselines as recorded, the floor last
        series.sort(key=lambda x: {'ours': 0, 'baseline': 1}.get(x[1], 2))
        out.append(('%s-%s.svg' % (key[0], slug(key[1])), '%s: %s' % key, ours['unit'], clients, series))
    return out


def svg(title, unit, clients, series, smoke_run):
    W, H, L, R, T, B = 760, 420, 78, 200, 48, 58
    pw, ph = W - L - R, H - T - B
    top = max(v for _, _, pts in series for _, v in pts)
    ticks = nice_ticks(top * 1.05)
    ymax = ticks[-1]
    lo, hi = math.log2(clients[0]), math.log2(clients[-1])
    x = lambda c: L + (math.log2(c) - lo) / (hi - lo) * pw
    y = lambda v: T + ph - v / ymax * ph
    o = ['<?xml version="1.0" encoding="UTF-8"?>',
         '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="12">' % (W, H, W, H),
         '<title>%s</title>' % escape(title),
         '<rect width="100%" height="100%" fill="#ffffff"/>',
         '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (L, escape(title))]
    if smoke_run:
        o.append('<text x="%d" y="40" font-size="13" font-weight="bold" fill="#d62728">SMOKE RUN, NOT RESULTS</text>' % L)
    step = ticks[1] - ticks[0]
    label = (lambda t: '{:,.0f}'.format(t)) if step >= 1 else (lambda t: '{:g}'.format(round(t, 6)))
    for t in ticks:
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>' % (L, y(t), L + pw, y(t)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (L - 6, y(t) + 4, escape(label(t))))
    for c in clients:
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>' % (x(c), T, x(c), T + ph))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(c), T + ph + 18, c))
    o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (L, T + ph, L + pw, T + ph))
    o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (L, T, L, T + ph))
    o.append('<text x="%.1f" y="%d" text-anchor="middle">clients (log scale)</text>' % (L + pw / 2, H - 12))
    o.append('<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">%s</text>'
             % (T + ph / 2, escape(unit)))
    k = 0
    for i, (name, role, pts) in enumerate(series):
        # data-series: the series' name as recorded (a unit differing from ours follows it in the legend)
        if role == 'ours':
            color, width, dash = '#1f4e9c', 3, ''
        elif role == 'floor':
            color, width, dash = '#555555', 2, ' stroke-dasharray="6 4"'
        else:
            color, width, dash = PALETTE[k % len(PALETTE)], 2, ''
            k += 1
        label = name + {'ours': ' (ours)', 'floor': ' (write floor)'}.get(role, '')
        o.append('<g class="series" data-series=%s data-role=%s>' % (quoteattr(name.split(' (')[0]), quoteattr(role)))
        o.append('<polyline fill="none" stroke="%s" stroke-width="%d"%s points="%s"/>'
                 % (color, width, dash, ' '.join('%.1f,%.1f' % (x(c), y(v)) for c, v in pts)))
        for c, v in pts:
            o.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s, %d clients: %s %s</title></circle>'
                     % (x(c), y(v), color, escape(name), c, escape(fmt(v)), escape(unit)))
        ly = T + 10 + i * 20
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%d"%s/>'
                 % (L + pw + 14, ly, L + pw + 40, ly, color, width, dash))
        o.append('<text x="%d" y="%d">%s</text>' % (L + pw + 46, ly + 4, escape(label)))
        o.append('</g>')
    o.append('</svg>')
    return '\n'.join(o) + '\n'


# ---- the document -------------------------------------------------------------

HOW_TO = """\
Generated by `make bench` (`test/tools/bench.sh`, then `test/tools/bench_report.py`): do not edit by hand,
run it again. It builds the extensions into a private copy of PostgreSQL, starts a throwaway cluster configured
as production (fsync and synchronous commit on), runs every workload beside its baselines in the same run,
printing each part's table while it runs, then this summary.

- `make bench`: every part (audit, tokens, capacity, retention, payments, checkout); figures worth keeping
  come from a full run on a quiet machine.
- `BENCH_PARTS="audit capacity" make bench`: some parts only (the report then holds those parts only).
- `BENCH_SECONDS=10`: seconds per timed pgbench run (audit, tokens, capacity's naive and plain
  baselines; the other runs are sized); below %d the report is marked a smoke run. Sizes: `BENCH_LOG_SIZE` (proof log, 1,000,000), `BENCH_TOKEN_STOCK`, `BENCH_DROP_UNITS`
  (ticket drop, 10,000), `BENCH_RETENTION_ROWS` (1,000,000), `BENCH_PAY_PAYMENTS` (4,000),
  `BENCH_CHECKOUT_BUYERS` (2,000). `BENCH_DOCS=` prints the summary without writing this file.
- Every figure and invariant of the run is in `test/results/bench/results.tsv` (`BENCH_OUT`);
  `python3 test/tools/bench_report.py test/results/bench/results.tsv --docs docs` writes this report
  again from it.
""" % SMOKE_SECONDS


def markdown(rep, chart_files):
    head, body = table(rep)
    smoke_run = smoke(rep)
    o = ['# Benchmarks', '']
    if smoke_run:
        o += ['> **SMOKE RUN, NOT RESULTS.** `BENCH_SECONDS=%s` (below %d): this report only shows that the '
              'benchmark and its report work. Its figures say nothing about performance. '
              'Regenerate on a quiet machine with `make bench`.' % (rep.meta.get('BENCH_SECONDS'), SMOKE_SECONDS), '']
    o += [HOW_TO, '## Summary', '']
    o += ['Ratios are ours / baseline (above 1: ours is faster) and ours / write floor (the floor is the fastest '
          'any implementation writing the same rows can be). Checks: the run\'s invariants, listed below.', '']
    o += [md_table(head, body), '']
    warns = floor_warnings(rep)
    if warns:
        o += ['### Below %.1f of the write floor' % FLOOR_SHARE, '']
        for w in warns:
            o.append('- **%s, %s, %s: %.2f of the floor.** What the rest of the time is, and what would '
                     'lower the floor itself: [%s](%s).' % (w['part'], w['workload'], clients(w['clients']),
                                                            w['share'], w['doc'], w['link']))
        o.append('')
    info = [r for r in rep.results if r['role'] == 'info']
    if info:
        o += ['### Other figures', '', '| part | workload | clients | figure | value |', '|---|---|---|---|---|']
        o += ['| %s | %s | %s | %s | %s %s |' % (r['part'], md_cell(r['workload']), r['clients'], md_cell(r['series']),
                                                   fmt(r['value']), r['unit']) for r in info]
        o.append('')
    o += ['### Invariant checks', '']
    bad = [c for c in rep.checks if c['status'] != 'ok']
    o.append('%d checked, %d failed.' % (len(rep.checks), len(bad)))
    o += ['', '| part | workload | clients | check | result | detail |', '|---|---|---|---|---|---|']
    o += ['| %s | %s | %s | %s | %s | %s |' % (c['part'], md_cell(c['workload']), c['clients'], md_cell(c['name']),
                                                '**FAIL**' if c['status'] != 'ok' else 'ok', md_cell(c['detail']))
          for c in rep.checks]
    o.append('')
    if chart_files:
        o += ['## Throughput against clients', '']
        for name, title in chart_files:
            o += ['### %s' % title, '', '![%s](bench/%s)' % (title, name), '']
    parts = ordered_unique(r['part'] for r in rep.results)
    o += ['## The series', '']
    o += ['- **%s**: %s' % (p, SERIES_NOTES[p]) for p in parts if p in SERIES_NOTES]
    o += ['', '## Machine and settings', '', '| | |', '|---|---|']
    o += ['| %s | %s |' % (label, md_cell(rep.meta[k])) for k, label in MACHINE if k in rep.meta]
    o += ['| %s | %s |' % (k, md_cell(v) or ' ') for k, v in rep.meta.items() if k.startswith('BENCH_')]
    o.append('')
    return '\n'.join(o)


def write_docs(rep, docs):
    chart_dir = os.path.join(docs, 'bench')
    os.makedirs(chart_dir, exist_ok=True)
    made = []
    for name, title, unit, clients, series in charts(rep):
        with open(os.path.join(chart_dir, name), 'w', encoding='utf-8') as f:
            f.write(svg(title, unit, clients, series, smoke(rep)))
        made.append((name, title))
    # charts of workloads this run did not measure would be left from another run: remove them
    for old in sorted(os.listdir(chart_dir)):
        if old.endswith('.svg') and old not in {n for n, _ in made}:
            os.remove(os.path.join(chart_dir, old))
    with open(os.path.join(docs, 'benchmarks.md'), 'w', encoding='utf-8') as f:
        f.write(markdown(rep, made))
    return made


def summary_text(rep):
    head, body = table(rep)
    o = []
    if smoke(rep):
        o += ['*** SMOKE RUN, NOT RESULTS (BENCH_SECONDS=%s < %d) ***' % (rep.meta.get('BENCH_SECONDS'),
                                                                         SMOKE_SECONDS)]
    o += ['== summary: ours beside each baseline measured in the same run (ratios: ours / baseline; floor: ours / '
          'write floor)', text_table(head, body)]
    for w in floor_warnings(rep):
        o.append('below %.1f of the write floor: %s, %s, %s: %.2f (the rest of the time: %s)'
                 % (FLOOR_SHARE, w['part'], w['workload'], clients(w['clients']), w['share'], w['doc']))
    bad = [c for c in rep.checks if c['status'] != 'ok']
    o.append('invariant checks: %d ok, %d failed' % (len(rep.checks) - len(bad), len(bad)))
    o += ['  FAIL %s, %s, %s: %s (%s)' % (c['part'], c['workload'], clients(c['clients']), c['name'], c['detail'])
          for c in bad]
    return '\n'.join(o)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('tsv')
    ap.add_argument('--docs', help='write DIR/benchmarks.md and DIR/bench/*.svg')
    args = ap.parse_args(argv)
    with open(args.tsv, encoding='utf-8') as f:
        rep = parse(f)
    print(summary_text(rep))
    if args.docs:
        made = write_docs(rep, args.docs)
        print('report: %s (%d charts in %s)' % (os.path.join(args.docs, 'benchmarks.md'), len(made),
                                               os.path.join(args.docs, 'bench')))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
