#!/usr/bin/env bash
# Installs what building and testing bpfkit needs on Debian, if missing.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the ones before)
#        scripts/deps.sh static   (build, plus the static libraries of `make STATIC=1`)
set -euo pipefail
level=${1:-build}

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Build: clang compiles the BPF C; libbpf-sys builds libbpf against libelf and zlib.
have_cmd clang || need+=(clang)
have_cmd pkg-config || need+=(pkg-config)
have_pkg libelf-dev || need+=(libelf-dev)
have_pkg zlib1g-dev || need+=(zlib1g-dev)
have_pkg linux-libc-dev || need+=(linux-libc-dev)   # <asm/errno.h> for usdt.bpf.h
have_cmd make || need+=(make)
# STATIC=1 links libelf, zlib, zstd (libelf's compression on newer Debian) and
# glibc statically: their .a files.
if [ "$level" = static ] || [ "$level" = test ] || [ "$level" = bench ]; then
    have_pkg libzstd-dev || need+=(libzstd-dev)
    have_pkg libc6-dev || need+=(libc6-dev)
fi
if [ "$level" = test ] || [ "$level" = bench ]; then
    have_cmd bpftool || need+=(bpftool)          # tests check `bpftool prog list`
    have_cmd setpriv || need+=(util-linux)       # tests run tools as an unprivileged user
    have_cmd python3 || need+=(python3)
    have_cmd cc || need+=(gcc)                    # memleak's test compiles a leaking C program
    have_cmd java || need+=(default-jre-headless) # javagc's test runs a JVM (USDT probes)
    have_cmd script || need+=(bsdutils)           # bashreadline's test types into a pty
    have_pkg libreadline-dev || need+=(libreadline-dev) # bashreadline's test builds a readline program
    have_cmd curl || need+=(curl)                 # make docs: tcpconnlat/tcprtt examples
    have_cmd dpkg-shlibdeps || need+=(dpkg-dev)   # packaging test: `make deb` computes Depends
    have_cmd man || need+=(man-db)                # packaging test: `man -l` renders each page
    have_cmd groff || need+=(groff-base)
    have_cmd ip || need+=(iproute2)               # packet tools' tests: netns, veth, tc
    have_cmd tc || need+=(iproute2)
    have_cmd promtool || need+=(prometheus)       # exporter's test: promtool and a real server
    have_cmd prometheus || need+=(prometheus)
    have_cmd go || need+=(golang-go)              # profile/memleak --pprof tests: `go tool pprof -top`
    have_cmd losetup || need+=(mount)             # disk tools' tests: a loop device per test
    have_cmd mkfs.ext4 || need+=(e2fsprogs)       # ... formatted ext4
    have_cmd mkfs.xfs || need+=(xfsprogs)         # ... and xfs
fi
if [ "$level" = bench ]; then
    have_pkg libbpf-tools || need+=(libbpf-tools) # the C reference tools in /usr/sbin
fi

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
    echo "installing: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! have_cmd cargo; then
    echo "cargo not found: install a Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi
