#!/usr/bin/env bash
# `make deb`: builds target/debian/bpfkit_<version>_<arch>.deb from what
# `make install PREFIX=/usr` installs (binaries, man pages, completions),
# with Depends computed from the binaries' shared libraries by
# dpkg-shlibdeps (none for a STATIC=1 build). Prints the package's path.
#   usage: scripts/mkdeb.sh APP_PREFIX STATIC   (the Makefile passes both)
set -euo pipefail
cd "$(dirname "$0")/.."
app_prefix=$1 static=$2
command -v dpkg-shlibdeps >/dev/null || { echo "make deb needs dpkg-dev: apt-get install dpkg-dev" >&2; exit 1; }

version=$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
out=target/debian
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

make --no-print-directory install DESTDIR="$stage" PREFIX=/usr APP_PREFIX="$app_prefix" \
    STATIC="$static" ZSHCOMPDIR=/usr/share/zsh/vendor-completions >/dev/null
# Debian policy: stripped binaries, compressed man pages, a copyright file.
strip --strip-unneeded --remove-section=.comment "$stage"/usr/sbin/*
gzip -9n "$stage"/usr/share/man/man8/*.8
doc=$stage/usr/share/doc/bpfkit
mkdir -p "$doc"
cat >"$doc/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bpfkit
Comment: eBPF observability tools in Rust in the libbpf-tools tradition.
 The BPF programs compiled into the tools carry their licence in an SPDX
 header (src/bpf/*: GPL-2.0, or LGPL-2.1 OR BSD-2-Clause) and declare
 "GPL" or "Dual BSD/GPL" to the kernel. libbpf is linked in statically
 (LGPL-2.1 OR BSD-2-Clause).
EOF

# Depends: the packages holding the shared libraries the binaries need.
# dpkg-shlibdeps wants a debian/control next to it; give it a scratch one.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"
printf 'Source: bpfkit\n\nPackage: bpfkit\nArchitecture: any\n' >"$work/debian/control"
bins=("$(pwd)/$stage"/usr/sbin/*)
depends=
if [ "$static" != 1 ]; then
    depends=$(cd "$work" && dpkg-shlibdeps -O -xbpfkit "${bins[@]}" | sed -n 's/^shlibs:Depends=//p')
    [ -n "$depends" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
fi

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
{
    echo "Package: bpfkit"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: bpfkit developers <bpfkit@localhost>"
    echo "Installed-Size: $size"
    [ -z "$depends" ] || echo "Depends: $depends"
    # Without a prefix the names are libbpf-tools' own (/usr/sbin/opensnoop).
    [ -n "$app_prefix" ] || echo "Conflicts: libbpf-tools"
    echo "Section: admin"
    echo "Priority: optional"
    echo "Description: eBPF observability tools (libbpf-tools compatible, with --json)"
    echo " opensnoop, execsnoop, runqlat, tcpconnlat, memleak and more, built on"
    echo " libbpf CO-RE skeletons, with the flags, columns and histograms of"
    echo " libbpf-tools plus --json on every tool. Installed as"
    echo " /usr/sbin/${app_prefix}<tool>, next to Debian's libbpf-tools."
} >"$stage/DEBIAN/control"
(cd "$stage" && find usr -type f -exec md5sum {} + | sort -k2) >"$stage/DEBIAN/md5sums"

deb=$out/bpfkit_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"
