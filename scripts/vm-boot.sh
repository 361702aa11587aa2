#!/usr/bin/env bash
# Boots VMLINUZ under qemu TCG with virtme-ng (host filesystem shared) and
# runs CMD in it; exits with CMD's status. The one place guests are started
# (`make vmtest`, the VM benchmark).
#   usage: vm-boot.sh VMLINUZ [vng options...] -- CMD...
#
# Single-threaded TCG (`thread=single`): with one host thread per vCPU
# (MTTCG, qemu's default), attaching or detaching a probe while another vCPU
# runs the patched function oopsed the 6.12 guest ("Oops: int3" at
# tcp_rcv_established+0x5, panic in interrupt): the kernel's int3-based text
# patching relies on cross-CPU instruction-cache sync that MTTCG does not give
# a vCPU still running a stale translation. Round-robin TCG still gives the
# guest 2 CPUs and, on a 2-core host, measured no slower for these tests.
# --verbose puts the guest kernel's messages (an oops, a stall) in our output.
set -euo pipefail
vmlinuz=$1
shift
exec vng --run "$vmlinuz" --disable-kvm --cpus 2 --qemu-opts="-accel tcg,thread=single" --verbose "$@"
