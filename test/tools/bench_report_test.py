#!/usr/bin/env python3
"""Tests of test/tools/bench_report.py on a fixed TSV (TAP output; run by
make test's lint suite). No database: the report depends on the TSV alone."""
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report as br  # noqa: E402

SVG = '{http://www.w3.org/2000/svg}'


def tsv(seconds):
    lines = ['# a fixed run',
             'meta\tdate\t2026-11-22 10:00 UTC', 'meta\tcores\t2', 'meta\tcpu\tTest CPU @ 2.0GHz',
             'meta\tram\t7.8 GiB', 'meta\tserver_version\t15.14', 'meta\tfsync\ton', 'meta\tsynchronous_commit\ton',
             'meta\tBENCH_SECONDS\t%s' % seconds, 'meta\tBENCH_PARTS\taudit capacity']
    audit = {1: (4957, 6241, 4736, 3000, 5326), 8: (14625, 19858, 3618, 9000, 14634),
             64: (17854, 26535, 1695, 11000, 19108)}
    for c, (t, p, ch, su, fl) in audit.items():
        for series, role, v in (('trail', 'ours', t), ('plain', 'baseline', p), ('chain', 'baseline', ch),
                                ('supa_audit', 'baseline', su), ('floor', 'floor', fl)):
            lines.append('result\taudit\taudited inserts\t%d\t%s\t%s\t%s.123456\ttx/s' % (c, series, role, v))
    lines.append('check\taudit\taudited inserts\t-\ttrail.verify ok for every log\tok\t9 of 9 logs verify')
    lines.append('result\taudit\tsealing (trail.seal)\t1\ttrail.seal\tours\t250000\tentries/s')
    cap = {1: (972, 1234, 2694, 500, 6310, 6200), 16: (2667, 3524, 1685, 400, 4070, 23037),
           64: (2446, 3226, 953, 300, 2335, 25480)}
    for c, (h, fl, sw, px, n, pl) in cap.items():
        w = 'ticket drop, 1 pool'
        lines += ['result\tcapacity\t%s\t%d\tcapacity\tours\t%s\tbuyers/s' % (w, c, h),
                  'result\tcapacity\t%s\t%d\tfloor\tfloor\t%s\tbuyers/s' % (w, c, fl),
                  'result\tcapacity\t%s\t%d\tsame_work\tbaseline\t%s\tbuyers/s' % (w, c, sw),
                  'result\tcapacity\t%s\t%d\tpretix\tbaseline\t%s\tbuyers/s' % (w, c, px),
                  'result\tcapacity\t%s\t%d\tnaive\tbaseline\t%s\tsales/s' % (w, c, n),
                  'result\tcapacity\t%s\t%d\tplain\tbaseline\t%s\tsales/s' % (w, c, pl),
                  'result\tcapacity\t%s\t%d\tp50\tinfo\t1.1\tms' % (w, c),
                  'check\tcapacity\t%s\t%d\toversold = 0, slots agree with holds\t%s\toversold=%d inconsistent=0'
                  % (w, c, 'FAIL' if c == 16 else 'ok', 2 if c == 16 else 0)]
    return '\n'.join(lines) + '\n'


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=''):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%sok %d - %s' % ('' if cond else 'not ', self.n, name))
        if not cond and diag:
            for line in str(diag).splitlines():
                print('#   ' + line)


def series_of(path):
    root = ET.parse(path).getroot()
    return [(g.get('data-series'), g.get('data-role')) for g in root.iter(SVG + 'g') if g.get('class') == 'series']


def main():
    t = Tap()
    rep = br.parse(tsv(10).splitlines(True))
    t.ok(len(rep.results) == 15 + 1 + 21 and len(rep.checks) == 4, 'parse: every result and check line read',
         (len(rep.results), len(rep.checks)))
    try:
        br.parse(['result\taudit\tonly three fields\n'])
        t.ok(False, 'parse: a malformed line is refused')
    except ValueError:
        t.ok(True, 'parse: a malformed line is refused')

    head, body = br.table(rep)
    text = br.summary_text(rep)
    t.ok(head[3] == 'ours' and len(body) == 3 + 1 + 3, 'table: one row per workload and client count', body)
    row64 = [r for r in body if r[1] == 'audited inserts' and r[2] == '64']
    t.ok(row64 and row64[0][3] == 'trail 17,854 tx/s', 'table: our figure, rounded, with its unit', row64)
    t.ok(row64 and 'plain 26,535 (0.67×)' in row64[0][4] and 'supa_audit 11,000 (1.62×)' in row64[0][4]
         and 'chain 1,695 (10.53×)' in row64[0][4], 'table: each baseline with ours / baseline', row64)
    t.ok(row64 and row64[0][5] == '19,108 (0.93)', 'table: the floor with ours / floor', row64)
    cap64 = [r for r in body if r[1] == 'ticket drop, 1 pool' and r[2] == '64'][0]
    t.ok('naive 2,335 sales/s (1.05×)' in cap64[4] and 'pretix 300 (8.15×)' in cap64[4],
         'table: a baseline in another unit says so', cap64)
    cap16 = [r for r in body if r[1] == 'ticket drop, 1 pool' and r[2] == '16'][0]
    t.ok(cap64[6] == 'ok' and cap16[6].startswith('FAIL: oversold = 0') and 'oversold=2' in cap16[6],
         'table: the checks of each row, a failure named', (cap64[6], cap16[6]))
    seal = [r for r in body if r[1] == 'sealing (trail.seal)'][0]
    t.ok(seal[3] == 'trail.seal 250,000 entries/s' and seal[4] == '–' and seal[5] == '',
         'table: a figure without baselines', seal)

    mixed = br.parse(['result\ttokens\tverify_code\t1\tv\tours\t1\tx/s\n', 'result\ttokens\tredeem\t1\tr\tours\t1\tx/s\n',
                      'result\ttokens\tverify_code\t8\tv\tours\t2\tx/s\n', 'result\ttokens\tredeem\t8\tr\tours\t2\tx/s\n'])
    order = [(r['workload'], r['clients']) for r in br.rows(mixed)]
    t.ok(order == [('verify_code', '1'), ('verify_code', '8'), ('redeem', '1'), ('redeem', '8')],
         'table: workloads measured in turns are grouped, client counts in order', order)

    warns = br.floor_warnings(rep)
    t.ok([(w['part'], w['clients']) for w in warns] == [('capacity', '1'), ('capacity', '16'), ('capacity', '64')],
         'floor: capacity (0.76-0.79) flagged below 0.9, audit (0.93-1.00) not', warns)
    t.ok(all(w['link'] == 'capacity.md#known-limits' for w in warns), 'floor: the warning points to Known limits')
    t.ok('below 0.9 of the write floor: capacity, ticket drop, 1 pool, 64 clients: 0.76 '
         '(the rest of the time: docs/capacity.md, "Known limits")' in text, 'floor: the printed warning', text)
    t.ok('invariant checks: 3 ok, 1 failed' in text, 'summary: the checks counted', text)
    t.ok('SMOKE RUN' not in text, 'summary: a 10-second run is not a smoke run')

    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        os.makedirs(os.path.join(d1, 'bench'))
        with open(os.path.join(d1, 'bench', 'stale-workload.svg'), 'w') as f:
            f.write('<svg/>')
        made = br.write_docs(rep, d1)
        br.write_docs(br.parse(tsv(10).splitlines(True)), d2)
        names = sorted(os.listdir(os.path.join(d1, 'bench')))
        t.ok(names == ['audit-audited-inserts.svg', 'capacity-ticket-drop-1-pool.svg'],
             'charts: one per workload measured at several client counts, stale ones removed', names)
        s = series_of(os.path.join(d1, 'bench', 'audit-audited-inserts.svg'))
        t.ok(s == [('trail', 'ours'), ('plain', 'baseline'), ('chain', 'baseline'), ('supa_audit', 'baseline'),
                   ('floor', 'floor')], 'chart: the audit SVG parses, ours and each baseline and the floor', s)
        s = series_of(os.path.join(d1, 'bench', 'capacity-ticket-drop-1-pool.svg'))
        t.ok(s == [('capacity', 'ours'), ('same_work', 'baseline'), ('pretix', 'baseline'), ('naive', 'baseline'),
                   ('plain', 'baseline'), ('floor', 'floor')], 'chart: the capacity SVG parses, 6 series, ours first', s)
        root = ET.parse(os.path.join(d1, 'bench', 'capacity-ticket-drop-1-pool.svg')).getroot()
        texts = [x.text for x in root.iter(SVG + 'text')]
        t.ok('naive (sales/s)' in texts and '0' in texts and 'buyers/s' in texts,
             'chart: a series in another unit says so in the legend', texts)
        root = ET.parse(os.path.join(d1, 'bench', 'audit-audited-inserts.svg')).getroot()
        pts = [len(p.get('points').split()) for p in root.iter(SVG + 'polyline')]
        texts = [x.text for x in root.iter(SVG + 'text')]
        t.ok(pts == [3] * 5 and '64' in texts and 'tx/s' in texts and 'trail (ours)' in texts
             and 'floor (write floor)' in texts, 'chart: three points a curve, client ticks, unit, legend',
             (pts, texts))
        md = open(os.path.join(d1, 'benchmarks.md'), encoding='utf-8').read()
        same = all(open(os.path.join(d1, p), 'rb').read() == open(os.path.join(d2, p), 'rb').read()
                   for p in ['benchmarks.md'] + ['bench/' + n for n, _ in made])
        t.ok(same, 'report: the same TSV gives the same bytes')
        t.ok('| audit | audited inserts | 64 | trail 17,854 tx/s |' in md and '![audit: audited inserts]'
             '(bench/audit-audited-inserts.svg)' in md, 'markdown: the table and the charts linked')
        t.ok('[docs/capacity.md, "Known limits"](capacity.md#known-limits)' in md
             and '64 clients: 0.76 of the floor' in md and '1 client: 0.79 of the floor' in md, 'markdown: the floor warning with its link')
        t.ok('| PostgreSQL | 15.14 |' in md and '| fsync | on |' in md and '| BENCH_SECONDS | 10 |' in md
             and '2026-11-22 10:00 UTC' in md and 'Test CPU' in md, 'markdown: machine, settings and date')
        t.ok('make bench' in md and 'BENCH_PARTS' in md and 'SMOKE RUN' not in md, 'markdown: how to run it')
        t.ok('| **FAIL** | oversold=2 inconsistent=0 |' in md and '4 checked, 1 failed.' in md,
             'markdown: the invariant checks, a failure marked')

    smoke = br.parse(tsv(1).splitlines(True))
    with tempfile.TemporaryDirectory() as d:
        br.write_docs(smoke, d)
        md = open(os.path.join(d, 'benchmarks.md'), encoding='utf-8').read()
        svg = open(os.path.join(d, 'bench', 'audit-audited-inserts.svg'), encoding='utf-8').read()
    t.ok(md.startswith('# Benchmarks\n\n> **SMOKE RUN, NOT RESULTS.**') and 'SMOKE RUN, NOT RESULTS' in svg
         and br.summary_text(smoke).startswith('*** SMOKE RUN'), 'smoke: BENCH_SECONDS=1 is marked everywhere')

    print('1..%d' % t.n)
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
