#!/usr/bin/env python3
"""Prints the tool x kernel x mode table from OUTDIR/summary.tsv (written by
vm-run-tests.sh); exits 1 if any run failed or ran no test, or a kernel is
missing from the table."""
import sys
from collections import OrderedDict

outdir = sys.argv[1]
expected_labels = sys.argv[2:]
rows = OrderedDict()
labels = []
bad = []
for line in open(f"{outdir}/summary.tsv"):
    label, name, mode, passed, failed, rc = line.rstrip("\n").split("\t")
    if label not in labels:
        labels.append(label)
    passed, failed, rc = int(passed), int(failed), int(rc)
    ok = rc == 0 and failed == 0 and passed > 0
    rows.setdefault((name, mode), {})[label] = f"{'ok' if ok else 'FAIL'} {passed}/{passed + failed}"
    if not ok:
        bad.append(f"{name} ({mode}) on {label}: {passed} passed, {failed} failed, exit {rc}")

width = max([len(l) for l in labels] + [12])
print(f"{'tool':<14} {'mode':<11} " + " ".join(f"{l:<{width}}" for l in labels))
for (name, mode), by_label in rows.items():
    cells = " ".join(f"{by_label.get(l, '-'):<{width}}" for l in labels)
    print(f"{name:<14} {mode:<11} {cells}")
missing = [l for l in expected_labels if l not in labels]
for l in missing:
    bad.append(f"kernel {l}: no results (did the VM boot?)")
total = sum(1 for r in rows.values() for c in r.values() if c.startswith("ok"))
print(f"{total} passed, {len(bad)} failed")
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
