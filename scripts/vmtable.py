#!/usr/bin/env python3
"""Prints the tool x kernel x mode table from OUTDIR/*/summary.tsv (written by
vm-run-tests.sh, one directory per kernel). Exits 1 if any run failed or ran no test, a planned run has
no result (the VM died), or a kernel has no results at all."""
import glob
import sys
from collections import OrderedDict

outdir = sys.argv[1]
expected_labels = sys.argv[2:]
rows = OrderedDict()
labels = list(expected_labels)
bad = []
why = {}  # index in bad -> lines of the failed run's log


def failure_lines(log, most=6):
    """Why a run failed, from its log: each failed test's panic line and the
    line after it (the assertion's message), so CI's tail says what broke."""
    try:
        lines = open(log, errors="replace").read().splitlines()
    except OSError:
        return [f"(no log {log})"]
    out = []
    for i, line in enumerate(lines):
        if line.startswith("---- ") or ("panicked at" in line) or line.startswith("scripts/vmtest-ci.list"):
            out.append(line[:300])
            if "panicked at" in line and i + 1 < len(lines):
                out.append("  " + lines[i + 1][:600])
    return out[:most * 3] or [line[:300] for line in lines[-5:]]


def cell(label, name, mode, text):
    if label not in labels:
        labels.append(label)
    rows.setdefault((name, mode), {})[label] = text


planned = [line.rstrip("\n").split("\t")
           for path in sorted(glob.glob(f"{outdir}/*/planned.tsv")) for line in open(path)]
summary = [line for path in sorted(glob.glob(f"{outdir}/*/summary.tsv")) for line in open(path)]
tests_run = {}
seconds = {}
for line in summary:
    label, name, mode, passed, failed, rc, *secs = line.rstrip("\n").split("\t")
    passed, failed, rc = int(passed), int(failed), int(rc)
    tests_run[label] = tests_run.get(label, 0) + passed + failed
    seconds[label] = seconds.get(label, 0) + sum(int(x) for x in secs)
    ok = rc == 0 and failed == 0 and passed > 0
    cell(label, name, mode, f"{'ok' if ok else 'FAIL'} {passed}/{passed + failed}")
    if not ok:
        bad.append(f"{name} ({mode}) on {label}: {passed} passed, {failed} failed, exit {rc}")
        why[len(bad) - 1] = failure_lines(f"{outdir}/{label}/{name}.{mode}.log")
for label, name, mode in planned:
    if label not in rows.get((name, mode), {}):
        cell(label, name, mode, "DIED")
        bad.append(f"{name} ({mode}) on {label}: planned but no result (the VM died?)")
for label in expected_labels:
    if not any(label in by_label for by_label in rows.values()):
        bad.append(f"kernel {label}: no results (did the VM boot?)")

width = max([len(l) for l in labels] + [12])
print(f"{'tool':<14} {'mode':<11} " + " ".join(f"{l:<{width}}" for l in labels))
for (name, mode), by_label in sorted(rows.items()):
    cells = " ".join(f"{by_label.get(l, '-'):<{width}}" for l in labels)
    print(f"{name:<14} {mode:<11} {cells}")
print(f"{'tests run':<27}" + " ".join(f"{tests_run.get(l, 0):<{width}}" for l in labels))
print(f"{'seconds in tests':<27}" + " ".join(f"{seconds.get(l, 0):<{width}}" for l in labels))
runs = sum(1 for r in rows.values() for c in r.values() if c.startswith("ok"))
print(f"{runs} passed, {len(bad)} failed")
# A guest whose kernel died part-way and was booted again (scripts/vmtest.sh).
for path in sorted(glob.glob(f"{outdir}/*/restarts.txt")):
    print("NOTE: " + open(path, errors="replace").read().rstrip())
for i, b in enumerate(bad):
    print("  " + b)
    for line in why.get(i, []):
        print("      " + line)
sys.exit(1 if bad else 0)
