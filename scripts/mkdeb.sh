#!/usr/bin/env bash
# `make deb`: builds target/debian/bpfkit_<version>_<arch>.deb from what
# `make install PREFIX=/usr` installs (binaries, man pages, completions),
# plus bpfkit-exporter's systemd unit (packaging/),
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
# The exporter's systemd unit (installed, not enabled: docs/exporter.md).
install -D -m 644 packaging/bpfkit-exporter.service \
    "$stage/usr/lib/systemd/system/bpfkit-exporter.service"
# No postrm: a package with one stays listed (config-files) after `dpkg -r`.
for script in postinst prerm; do
    install -m 755 "packaging/deb/$script" "$stage/DEBIAN/$script"
done
# Debian policy: stripped binaries, compressed man pages, a copyright file.
# (-type f: the per-file-system names, ext4slower..., are symlinks.)
find "$stage"/usr/sbin -type f -exec strip --strip-unneeded --remove-section=.comment {} +
gzip -9n "$stage"/usr/share/man/man8/*.8
doc=$stage/usr/share/doc/bpfkit
mkdir -p "$doc"
cat >"$doc/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bpfkit
Comment: eBPF observability tools in Rust in the libbpf-tools tradition.
 libbpf is linked in statically (LGPL-2.1 OR BSD-2-Clause).

Files: *
Copyright: bpfkit developers
License: LGPL-2.1 or BSD-2-Clause

Files: src/bpf/*
Copyright: bpfkit developers, the eBPF tutorial's authors
License: GPL-2 or (LGPL-2.1 or BSD-2-Clause)
Comment: each file's SPDX header says which; the BPF programs declare
 "GPL" or "Dual BSD/GPL" to the kernel.

License: LGPL-2.1
 On Debian systems the full text is in /usr/share/common-licenses/LGPL-2.1.

License: GPL-2
 On Debian systems the full text is in /usr/share/common-licenses/GPL-2.

License: BSD-2-Clause
 Copyright (c) bpfkit developers
 .
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are met:
 .
 1. Redistributions of source code must retain the above copyright notice,
    this list of conditions and the following disclaimer.
 2. Redistributions in binary form must reproduce the above copyright notice,
    this list of conditions and the following disclaimer in the documentation
    and/or other materials provided with the distribution.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE
 LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 POSSIBILITY OF SUCH DAMAGE.
EOF

# Depends: the packages holding the shared libraries the binaries need.
# dpkg-shlibdeps wants a debian/control next to it; give it a scratch one.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"
printf 'Source: bpfkit\n\nPackage: bpfkit\nArchitecture: any\n' >"$work/debian/control"
mapfile -t bins < <(find "$(pwd)/$stage"/usr/sbin -type f)
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
    echo " ."
    echo " bpfkit-exporter serves the same programs' data as Prometheus metrics"
    echo " (systemd unit bpfkit-exporter.service, not enabled by default)."
} >"$stage/DEBIAN/control"
(cd "$stage" && find usr -type f -exec md5sum {} + | sort -k2) >"$stage/DEBIAN/md5sums"

deb=$out/bpfkit_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "$deb"
