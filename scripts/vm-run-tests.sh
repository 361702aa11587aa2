#!/usr/bin/env bash
# Runs the integration test binaries listed in OUTDIR/tests.list on the
# running kernel, once per mode, and appends one summary line per run to
# OUTDIR/LABEL/summary.tsv:  LABEL  BINARY  MODE  PASSED  FAILED  STATUS
# (one directory per kernel: guests running side by side never share a file).
# Used on the host and inside each virtme-ng VM (same filesystem).
#   usage: vm-run-tests.sh LABEL OUTDIR EXPECTED_MECHANISMS "MODES"
# MODES: `default` and/or mechanisms forced through BPFKIT_PROBE, which only
# the multi-mechanism test binaries (MULTI below) take.
set -u
label=$1 outdir=$2 expect=$3 modes=$4
MULTI=" unlink tcpconnlat tcprtt "
# Test binaries that are not about the kernel (docs pages; make install,
# make deb, static builds): `make test` runs them once; neither the host pass
# nor the guests here.
NOT_KERNEL=" docs packaging "
# In an emulated guest (EXPECTED_MECHANISMS given) the harness's timeouts are
# tripled: there attaching kprobes alone has taken over a minute.
slowdown=1
[ -z "$expect" ] || slowdown=3
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
dir="$outdir/$label"
mkdir -p "$dir"
echo "[$label] kernel $(uname -r)" | tee -a "$dir/progress.log" >&2

modes_of() {
    case "$MULTI" in *" $1 "*) echo "$modes" ;; *) echo default ;; esac
}

# What this run will do, so a run that dies part-way shows what is missing.
while read -r bin; do
    name=$(basename "$bin" | sed 's/-[0-9a-f]*$//')
    case "$NOT_KERNEL" in *" $name "*) continue ;; esac
    for mode in $(modes_of "$name"); do printf '%s\t%s\t%s\n' "$label" "$name" "$mode" >>"$dir/planned.tsv"; done
done <"$outdir/tests.list"

while read -r bin; do
    name=$(basename "$bin" | sed 's/-[0-9a-f]*$//')
    case "$NOT_KERNEL" in *" $name "*) continue ;; esac
    for mode in $(modes_of "$name"); do
        log="$dir/$name.$mode.log"
        start=$(date +%s)
        forced=()
        [ "$mode" = default ] || forced=(BPFKIT_PROBE="$mode")
        env BPFKIT_EXPECT_MECHANISMS="$expect" BPFKIT_TEST_SLOWDOWN="$slowdown" "${forced[@]}" \
            timeout 900 "$bin" --test-threads=2 >"$log" 2>&1
        rc=$?
        result=$(grep -E '^test result:' "$log" | tail -n 1)
        passed=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$result")
        failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$result")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$name" "$mode" "${passed:-0}" "${failed:-0}" "$rc" >>"$dir/summary.tsv"
        echo "[$label] $name ($mode): ${passed:-0} passed, ${failed:-0} failed, exit $rc, $(( $(date +%s) - start )) s" \
            | tee -a "$dir/progress.log" >&2
    done
done <"$outdir/tests.list"
