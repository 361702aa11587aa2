#!/usr/bin/env bash
# Installs what `make vmtest` needs (qemu, busybox, virtme-ng, the Debian
# kernels of the matrix) if missing, then prints one line per kernel:
#   LABEL VMLINUZ
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
updated=
apt_install() {
    [ -n "$updated" ] || { apt-get update -qq; updated=1; }
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
have_pkg qemu-system-x86 || missing+=(qemu-system-x86)
have_pkg busybox-static || missing+=(busybox-static)
[ ${#missing[@]} -eq 0 ] || { echo "installing ${missing[*]}" >&2; apt_install "${missing[@]}"; }

if ! command -v vng >/dev/null 2>&1; then
    echo "installing virtme-ng (PyPI)" >&2
    python3 -m pip install -q virtme-ng >&2 2>/dev/null \
        || python3 -m pip install -q --break-system-packages virtme-ng >&2
    hash -r
fi

# The full -amd64 flavour (the cloud one has no 9p); newest installed, else newest available.
pick_kernel() {
    local pattern=$1 installed available
    installed=$(ls /boot 2>/dev/null | sed -n 's/^vmlinuz-//p' | grep -E "^${pattern}$" | sort -V | tail -n 1 || true)
    if [ -n "$installed" ]; then
        echo "$installed"
        return
    fi
    [ -n "$updated" ] || { apt-get update -qq; updated=1; }
    available=$(apt-cache search --names-only "^linux-image-${pattern}\$" | awk '{print $1}' \
        | sed 's/^linux-image-//' | sort -V | tail -n 1)
    [ -n "$available" ] || { echo "no Debian kernel package matches linux-image-${pattern}" >&2; exit 1; }
    echo "installing linux-image-${available}" >&2
    apt_install "linux-image-${available}" >&2
    echo "$available"
}

for pattern in '6\.1\.0-[0-9]+-amd64' '6\.12\.[0-9]+\+deb12-amd64'; do
    version=$(pick_kernel "$pattern")
    echo "$version /boot/vmlinuz-$version"
done
