#!/usr/bin/env python3
"""Read a /v1/metrics reply on stdin and parse ALL of it with
prometheus_client's parser of the text format.  Prints one line per
sample, `name{k=v,...} value` with the labels sorted, and exits 1 (the
reasons on stderr) when the text breaks a rule an operator relies on:
every line parsed into a sample, every family named once with secretd_,
with HELP and TYPE, histograms cumulative and ending in +Inf == _count."""

import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def fmt(v):
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def check_histogram(fam, errs):
    series = {}
    for s in fam.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != 'le'))
        series.setdefault(key, {'buckets': [], 'count': None})
        if s.name.endswith('_bucket'):
            series[key]['buckets'].append((float(s.labels['le']), s.value))
        elif s.name.endswith('_count'):
            series[key]['count'] = s.value
    for key, h in series.items():
        b = h['buckets']
        if not b or not math.isinf(b[-1][0]):
            errs.append('%s%s: no +Inf bucket last' % (fam.name, key))
            continue
        if [x[0] for x in b] != sorted(x[0] for x in b):
            errs.append('%s%s: buckets out of order' % (fam.name, key))
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            errs.append('%s%s: buckets not cumulative' % (fam.name, key))
        if h['count'] != b[-1][1]:
            errs.append('%s%s: +Inf %s != count %s' %
                        (fam.name, key, b[-1][1], h['count']))


def main():
    text = sys.stdin.read()
    errs = []
    try:
        fams = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own refusal
        print('parse error: %s' % e, file=sys.stderr)
        return 1
    lines = [l for l in text.split('\n') if l and not l.startswith('#')]
    helps = [l.split()[2] for l in text.split('\n')
             if l.startswith('# HELP ')]
    if len(helps) != len(set(helps)):
        errs.append('a family has two HELP lines')
    seen = set()
    n = 0
    out = []
    for f in fams:
        if f.name in seen:
            errs.append('family twice: ' + f.name)
        seen.add(f.name)
        if not f.name.startswith('secretd_'):
            errs.append('no secretd_ prefix: ' + f.name)
        if f.type == 'unknown':
            errs.append('no TYPE: ' + f.name)
        if not f.documentation:
            errs.append('no HELP: ' + f.name)
        if f.type == 'histogram':
            check_histogram(f, errs)
        for s in f.samples:
            n += 1
            labels = ','.join('%s=%s' % (k, s.labels[k])
                              for k in sorted(s.labels))
            out.append('%s{%s} %s' % (s.name, labels, fmt(s.value)))
    if n != len(lines):
        errs.append('%d sample lines, %d samples parsed' % (len(lines), n))
    print('\n'.join(out))
    if errs:
        print('\n'.join(errs), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
