#!/usr/bin/env bash
# Installs what `make vmtest` needs (qemu, busybox, virtme-ng, the Debian
# kernels of the matrix) if missing, then prints one line per kernel, oldest
# first:
#   LABEL VMLINUZ
# 6.1 and 6.12 (bookworm's own) are installed as packages. 5.10 is Debian 11
# (bullseye)'s: fetched with a private apt configuration (its own sources,
# lists and cache under $BPFKIT_VM_CACHE; the machine's /etc/apt is never
# touched) and unpacked there, with its modules (9p is one), which
# virtme-ng finds next to the image (DIR/boot/vmlinuz-V, DIR/lib/modules/V).
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too
export DEBIAN_FRONTEND=noninteractive
cache=${BPFKIT_VM_CACHE:-/var/cache/bpfkit-vmtest}

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
updated=
# Another apt (another session's install) may hold the lock: wait for it.
apt_lock=(-o DPkg::Lock::Timeout=600)
apt_install() {
    [ -n "$updated" ] || { apt-get "${apt_lock[@]}" update -qq; updated=1; }
    apt-get "${apt_lock[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
have_pkg qemu-system-x86 || missing+=(qemu-system-x86)
have_pkg busybox-static || missing+=(busybox-static)
command -v depmod >/dev/null 2>&1 || missing+=(kmod)
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
    [ -n "$updated" ] || { apt-get "${apt_lock[@]}" update -qq; updated=1; }
    available=$(apt-cache search --names-only "^linux-image-${pattern}\$" | awk '{print $1}' \
        | sed 's/^linux-image-//' | sort -V | tail -n 1)
    [ -n "$available" ] || { echo "no Debian kernel package matches linux-image-${pattern}" >&2; return 1; }
    echo "installing linux-image-${available}" >&2
    apt_install "linux-image-${available}" >&2 || return 1
    echo "$available"
}

# Debian 11's kernel, unpacked under $cache/bullseye/root. The newest
# 5.10.0-N-amd64 there is used as long as it is less than a week old;
# then the lists are fetched again (the security suite moves).
bullseye_kernel() {
    local dir="$cache/bullseye" installed available deb
    local opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
        -o "Dir::State=$dir/state" -o "Dir::State::status=$dir/state/status"
        -o "Dir::Cache=$dir/cache" -o APT::Architecture=amd64 -o APT::Sandbox::User=root)
    installed=$(ls "$dir/root/boot" 2>/dev/null | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1 || true)
    if [ -n "$installed" ] && [ -n "$(find "$dir/root/boot/vmlinuz-$installed" -mtime -7)" ]; then
        echo "$installed"
        return
    fi
    mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" "$dir/deb"
    touch "$dir/state/status"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    cat >"$dir/sources.list" <<SOURCES
deb [signed-by=$keyring] http://deb.debian.org/debian bullseye main
deb [signed-by=$keyring] http://deb.debian.org/debian-security bullseye-security main
SOURCES
    apt-get "${opts[@]}" update -qq >&2 || return 1
    available=$(apt-cache "${opts[@]}" search --names-only '^linux-image-5\.10\.0-[0-9]+-amd64$' \
        | awk '{print $1}' | sed 's/^linux-image-//' | sort -V | tail -n 1)
    [ -n "$available" ] || { echo "no linux-image-5.10.0-N-amd64 in bullseye" >&2; return 1; }
    if [ "$available" != "$installed" ]; then
        echo "fetching Debian 11's linux-image-$available" >&2
        rm -f "$dir/deb/"*.deb
        (cd "$dir/deb" && apt-get "${opts[@]}" download -qq "linux-image-$available" >&2) || return 1
        deb=$(ls "$dir/deb/"*.deb)
        rm -rf "$dir/root.new"
        dpkg-deb -x "$deb" "$dir/root.new"
        # The package leaves modules.dep to its postinst; virtme-ng needs it.
        depmod -a -b "$dir/root.new" "$available"
        rm -rf "$dir/root" && mv "$dir/root.new" "$dir/root"
    fi
    touch "$dir/root/boot/vmlinuz-$available"
    echo "$available"
}

version=$(bullseye_kernel)
echo "$version $cache/bullseye/root/boot/vmlinuz-$version"
for pattern in '6\.1\.0-[0-9]+-amd64' '6\.12\.[0-9]+\+deb12-amd64'; do
    version=$(pick_kernel "$pattern")
    [ -e "/boot/vmlinuz-$version" ] || { echo "vm-deps: /boot/vmlinuz-$version missing" >&2; exit 1; }
    echo "$version /boot/vmlinuz-$version"
done
