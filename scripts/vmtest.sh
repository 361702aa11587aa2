#!/usr/bin/env bash
# `make vmtest`: the root integration tests on the host kernel and, under
# qemu TCG with virtme-ng, on Debian's 6.1 and 6.12 kernels (where kprobes
# and fentry work), each multi-mechanism tool once per forced mechanism.
# Test binaries are built once on the host and run inside each VM.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/target/vmtest"

scripts/deps.sh test
mapfile -t kernels < <(scripts/vm-deps.sh)

cargo build --bins
rm -rf "$out"
mkdir -p "$out"
cargo test --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["executable"])
' | sort >"$out/tests.list"
[ -s "$out/tests.list" ] || { echo "vmtest: no test binaries built" >&2; exit 1; }

labels=("host-$(uname -r)")
scripts/vm-run-tests.sh "host-$(uname -r)" "$out" "" "default"
for k in "${kernels[@]}"; do
    version=${k%% *}
    vmlinuz=${k#* }
    labels+=("$version")
    echo "booting $version under qemu (TCG)" >&2
    timeout 2400 vng --run "$vmlinuz" --disable-kvm --cpus 2 --memory 3G --rwdir "$out" -- \
        "$root/scripts/vm-run-tests.sh" "$version" "$out" "fentry,kprobe,tracepoint" \
        "default fentry kprobe tracepoint" </dev/null || echo "vng for $version exited with $?" >&2
done
python3 scripts/vmtable.py "$out" "${labels[@]}"
