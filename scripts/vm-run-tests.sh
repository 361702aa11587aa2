#!/usr/bin/env bash
# Runs the integration test binaries listed in OUTDIR/tests.list on the
# running kernel, once per mode, and appends one summary line per run to
# OUTDIR/LABEL/summary.tsv:  LABEL  BINARY  MODE  PASSED  FAILED  STATUS  SECONDS
# (one directory per kernel: guests running side by side never share a file).
# Used on the host and inside each virtme-ng VM (same filesystem).
#   usage: vm-run-tests.sh LABEL OUTDIR EXPECTED_MECHANISMS "MODES" [all|ci]
# MODES: `default` and/or mechanisms forced through BPFKIT_PROBE, which only
# the multi-mechanism test binaries (MULTI below) take.
# all (the default): every test of every binary. ci: only the tests that
# scripts/vmtest-ci.list names for each binary (the ones whose outcome
# depends on the kernel), once each, in default mode.
set -u
label=$1 outdir=$2 expect=$3 modes=$4 subset=${5:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
MULTI=" unlink tcpconnlat tcprtt "
# Test binaries that are not about the kernel (docs pages; make install,
# make deb, static builds): `make test` runs them once; neither the host pass
# nor the guests here.
NOT_KERNEL=" docs packaging "
# In an emulated guest (EXPECTED_MECHANISMS given) the harness's timeouts are
# multiplied: there attaching kprobes alone has taken over a minute, and
# three guests share two host cores.
slowdown=1
[ -z "$expect" ] || slowdown=${VMTEST_SLOWDOWN:-4}
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
# Module autoload (veth, sch_ingress) needs /lib/modules/VERSION; without
# it every veth-based test fails with "Unknown device type".
[ -e "/lib/modules/$(uname -r)/modules.dep" ] \
    || echo "[$label] no /lib/modules/$(uname -r)/modules.dep: modules will not load" >&2
dir="$outdir/$label"
mkdir -p "$dir"
echo "[$label] kernel $(uname -r), $subset tests" | tee -a "$dir/progress.log" >&2

modes_of() {
    if [ "$subset" = ci ]; then echo default; return; fi
    case "$MULTI" in *" $1 "*) echo "$modes" ;; *) echo default ;; esac
}

# The tests of binary $1 that the ci subset runs (its line in the list).
ci_tests_of() {
    sed -e 's/#.*//' "$root/scripts/vmtest-ci.list" | awk -v n="$1" '$1 == n { $1 = ""; print }'
}

# What this run will do, so a run that dies part-way shows what is missing.
# A guest booted again after its kernel died (scripts/vmtest.sh) finds the
# plan written and skips the runs that have a result.
[ -e "$dir/planned.tsv" ] || while read -r bin; do
    name=$(basename "$bin" | sed 's/-[0-9a-f]*$//')
    case "$NOT_KERNEL" in *" $name "*) continue ;; esac
    for mode in $(modes_of "$name"); do printf '%s\t%s\t%s\n' "$label" "$name" "$mode" >>"$dir/planned.tsv"; done
done <"$outdir/tests.list"

while read -r bin; do
    name=$(basename "$bin" | sed 's/-[0-9a-f]*$//')
    case "$NOT_KERNEL" in *" $name "*) continue ;; esac
    filter=()
    if [ "$subset" = ci ]; then
        # shellcheck disable=SC2207
        filter=(--exact $(ci_tests_of "$name"))
    fi
    for mode in $(modes_of "$name"); do
        if [ -e "$dir/summary.tsv" ] && grep -q "^$label	$name	$mode	" "$dir/summary.tsv"; then
            continue
        fi
        log="$dir/$name.$mode.log"
        start=$(date +%s)
        forced=()
        [ "$mode" = default ] || forced=(BPFKIT_PROBE="$mode")
        if [ "$subset" = ci ] && [ ${#filter[@]} -le 1 ]; then
            echo "scripts/vmtest-ci.list has no line for $name: name its kernel tests there" >"$log"
            rc=1
        else
            # --report-time (unstable libtest, hence RUSTC_BOOTSTRAP) puts each
            # test's time in the log, to see what a guest spends where.
            env BPFKIT_EXPECT_MECHANISMS="$expect" BPFKIT_TEST_SLOWDOWN="$slowdown" "${forced[@]}" \
                RUSTC_BOOTSTRAP=1 timeout 1200 "$bin" --test-threads=2 -Z unstable-options --report-time \
                "${filter[@]}" >"$log" 2>&1
            rc=$?
        fi
        result=$(grep -E '^test result:' "$log" | tail -n 1)
        passed=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$result")
        failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$result")
        # --exact with a name that is no test runs nothing for it: a stale list.
        if [ "$subset" = ci ] && [ "$rc" = 0 ] && [ "${passed:-0}" != $((${#filter[@]} - 1)) ]; then
            echo "scripts/vmtest-ci.list names $((${#filter[@]} - 1)) tests of $name, ${passed:-0} ran" >>"$log"
            rc=1
        fi
        secs=$(( $(date +%s) - start ))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$name" "$mode" "${passed:-0}" "${failed:-0}" "$rc" "$secs" \
            >>"$dir/summary.tsv"
        echo "[$label] $name ($mode): ${passed:-0} passed, ${failed:-0} failed, exit $rc, $secs s" \
            | tee -a "$dir/progress.log" >&2
    done
done <"$outdir/tests.list"
