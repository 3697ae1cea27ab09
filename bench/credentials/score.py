#!/usr/bin/env python3
"""Score a tool's findings against the hand-labelled sample in labels.csv.

Usage: score.py FINDINGS.csv [--labels labels.csv] [--src NOVA_ROOT] [--exact]

FINDINGS.csv: one finding per row, columns (file, line). A header row is
optional. 'file' may be absolute or relative; everything from 'nova/tests/'
onward is used. A labelled item counts as flagged when the tool reported its
file and a line within the item's string literal (the literal's first line,
or, for a literal spread over several lines, any of its lines - needed for
detect-secrets, which reports the line where the secret text sits). The span
is read from the source tree given by --src; with --exact (or if the tree is
missing) only the first line matches.
Findings on lines that are not in the sample are ignored (counted separately).
"""
import argparse, ast, csv, os

DEFAULT_SRC = os.environ.get('NOVA_ROOT', '.')  # the folder `fetch.sh nova 34.0.0` prints


def norm(path):
    path = path.strip().replace('\\', '/')
    i = path.find('nova/tests/')
    return path[i:] if i >= 0 else path


def spans(src, files):
    """file -> {start_line: max end_line} for string/bytes constants."""
    out = {}
    for f in files:
        p = os.path.join(src, f)
        d = {}
        try:
            tree = ast.parse(open(p, encoding='utf-8').read())
        except (OSError, SyntaxError):
            out[f] = d
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, (str, bytes)):
                d[n.lineno] = max(d.get(n.lineno, n.lineno), n.end_lineno)
        out[f] = d
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('findings')
    ap.add_argument('--labels', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'labels.csv'))
    ap.add_argument('--src', default=DEFAULT_SRC)
    ap.add_argument('--exact', action='store_true')
    ap.add_argument('--name', default=None)
    a = ap.parse_args()

    items = list(csv.DictReader(open(a.labels, newline='')))
    found = set()
    with open(a.findings, newline='') as f:
        for row in csv.reader(f):
            if len(row) < 2:
                continue
            try:
                found.add((norm(row[0]), int(row[1])))
            except ValueError:
                continue  # header
    sp = {} if a.exact or not os.path.isdir(a.src) else spans(a.src, {i['file'] for i in items})
    tp = fp = fn = tn = 0
    used = set()
    for it in items:
        f, ln = it['file'], int(it['line'])
        end = sp.get(f, {}).get(ln, ln)
        hit = [(f, l) for l in range(ln, end + 1) if (f, l) in found]
        used.update(hit)
        pos = it['label'].strip() == '1'
        if hit and pos: tp += 1
        elif hit: fp += 1
        elif pos: fn += 1
        else: tn += 1
    p = tp / (tp + fp) if tp + fp else float('nan')
    r = tp / (tp + fn) if tp + fn else float('nan')
    f1 = 2 * p * r / (p + r) if tp else 0.0
    name = a.name or os.path.basename(a.findings)
    print(f'{name}: TP={tp} FP={fp} FN={fn} TN={tn} precision={p:.3f} recall={r:.3f} F1={f1:.3f}')
    print(f'  sample: {len(items)} items ({tp + fn} positive); findings: {len(found)} (file,line) pairs, '
          f'{len(found) - len(used)} not on a sampled item')


if __name__ == '__main__':
    main()
