#!/usr/bin/env bash
# `make vmtest`: the root integration tests on the host kernel and, under
# qemu TCG with virtme-ng, on Debian's 5.10 (Debian 11), 6.1 and 6.12 kernels
# (where kprobes and fentry work), each multi-mechanism tool once per forced
# mechanism. `make vmtest-ci`: only the kernel tests (scripts/vmtest-ci.list),
# in the guests only. Test binaries are built once on the host and run inside
# each VM.
#   VMTEST_HOST=0        no host column
#   VMTEST_KERNELS="5.10 6.12"   only these guests (version prefixes)
#   VMTEST_SUBSET=ci     only the listed kernel tests, default mode
#   VMTEST_SLOWDOWN=4    the harness's timeouts in a guest, times this
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/target/vmtest"

scripts/deps.sh test
mapfile -t all_kernels < <(scripts/vm-deps.sh)
# VMTEST_KERNELS="5.10 6.12": only the guests whose version starts so.
kernels=()
for k in "${all_kernels[@]}"; do
    keep=${VMTEST_KERNELS:-all}
    [ "$keep" = all ] && { kernels+=("$k"); continue; }
    for prefix in $keep; do
        case "$k" in "$prefix"*) kernels+=("$k"); break ;; esac
    done
done
[ ${#kernels[@]} -gt 0 ] || { echo "vmtest: no kernel matches VMTEST_KERNELS=$VMTEST_KERNELS" >&2; exit 1; }

cargo build --bins
rm -rf "$out"
mkdir -p "$out/bin/deps"
cargo test --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])
' | sort >"$out/built.list"
[ -s "$out/built.list" ] || { echo "vmtest: no test binaries built" >&2; exit 1; }
# Private copies: the guest sees the host's files live, so a rebuild during
# the run must not change the binaries under test. The harness finds the
# tools next to its own deps/ directory.
while read -r t; do cp "$t" "$out/bin/deps/"; echo "$out/bin/deps/$(basename "$t")"; done \
    <"$out/built.list" >"$out/tests.list"
find target/debug -maxdepth 1 -type f -perm -u+x -exec cp {} "$out/bin/" \;

# The host column: the same test binaries on the running kernel. CI sets
# VMTEST_HOST=0 because `make test` has just run them there.
subset=${VMTEST_SUBSET:-all}
labels=()
if [ "${VMTEST_HOST:-1}" != 0 ]; then
    labels+=("host-$(uname -r)")
    scripts/vm-run-tests.sh "host-$(uname -r)" "$out" "" "default" "$subset"
fi
# The guests all run at once: single-threaded TCG (scripts/vm-boot.sh) keeps
# each on one host core, so the host's cores stay busy until the last guest
# ends (3 guests on 2 cores: about 1.5 times one guest's CPU time, the least
# any order can take). In a guest, auto-detection picks fentry, so in the full
# run the multi-mechanism tools run once per forced mechanism (their
# mechanism_auto test still covers `--probe auto`).
# VMTEST_SUBSET=ci (make vmtest-ci, CI): only the tests scripts/vmtest-ci.list
# names, once each (their mechanism_* tests force every mechanism).
modes="fentry kprobe tracepoint"
[ "$subset" = all ] || modes=default
pids=()
start=$(date +%s)
for k in "${kernels[@]}"; do
    version=${k%% *}
    vmlinuz=${k#* }
    labels+=("$version")
    echo "booting $version under qemu (TCG); progress in $out/$version/progress.log" >&2
    # The guest's console (kernel messages, an oops) goes to console-<version>.log.
    # The guest's wall and CPU time (qemu is vng's child) go to guest-times.txt.
    # A kernel unpacked outside /boot (5.10, scripts/vm-deps.sh) has its
    # modules next to it, under /var/cache: virtme-ng links the guest's
    # /lib/modules/VERSION there, but the guest's /var/cache is an empty
    # tmpfs, so the directory is shared into the guest at the same path.
    moddir=()
    case "$vmlinuz" in
        /boot/*) ;;
        *) moddir=(--rodir "$(dirname "$(dirname "$vmlinuz")")/lib/modules/$version") ;;
    esac
    # A guest whose kernel dies part-way (CI saw one 6.12 guest double-fault
    # in the slab allocator under a 9p read, no BPF on the stack) is booted
    # once more and runs what has no result yet; vmtable.py names the death
    # (the binary it interrupted runs again from its start).
    ( TIMEFORMAT="$version	%R	%U	%S"
      for boot in 1 2; do
        { time timeout 5400 scripts/vm-boot.sh "$vmlinuz" --memory 3G --rwdir "$out" "${moddir[@]}" -- \
          env VMTEST_SLOWDOWN="${VMTEST_SLOWDOWN:-4}" \
          "$root/scripts/vm-run-tests.sh" "$version" "$out" "fentry,kprobe,tracepoint" \
          "$modes" "$subset" </dev/null >>"$out/console-$version.log" 2>&1 ; } 2>>"$out/guest-times.txt" \
          || echo "vng for $version exited with $? (see $out/console-$version.log)" >&2
        planned=$(cat "$out/$version/planned.tsv" 2>/dev/null | wc -l || true)
        done_runs=$(cat "$out/$version/summary.tsv" 2>/dev/null | wc -l || true)
        [ "$planned" -gt 0 ] && [ "$done_runs" -lt "$planned" ] || break
        [ "$boot" = 1 ] || break
        { echo "the $version guest died after $done_runs of $planned runs (last: $(tail -n 1 "$out/$version/progress.log"));"
          echo "  its console (console-$version.log):"
          grep -E 'Kernel panic|double fault|Oops|BUG:|RIP:' "$out/console-$version.log" | head -n 5 | sed 's/^/    /'
          echo "  booted again for the runs without a result"; } | tee -a "$out/$version/restarts.txt" >&2
      done ) &
    pids+=($!)
done
wait "${pids[@]}"
echo "guests: $(( $(date +%s) - start )) s wall; per guest (label, wall, user, sys seconds):" >&2
cat "$out/guest-times.txt" >&2
python3 scripts/vmtable.py "$out" "${labels[@]}"
