//! The shared runtime's error paths, seen from a real tool (minimal).
mod common;

use common::{bin, shell};

#[test]
fn not_root_message() {
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("minimal"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("CAP_BPF") && err.contains("CAP_PERFMON"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn missing_tracefs_names_the_mount_command() {
    // A private mount namespace where tracefs is not mounted, and no
    // CAP_SYS_ADMIN to mount it (with it, the tool mounts tracefs itself).
    let (status, _out, err) = shell(&format!(
        "unshare -m sh -c 'umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null; setpriv --bounding-set=-sys_admin {} -d 1'",
        bin("opensnoop").display()
    ));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("mount -t tracefs nodev /sys/kernel/tracing"),
        "{err}"
    );
}

#[test]
fn verbose_routes_libbpf_log_to_stderr() {
    let fin = common::run("minimal", &["-v", "-d", "1"]);
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.starts_with("libbpf:")),
        "{:?}",
        fin.stderr
    );
    let quiet = common::run("minimal", &["-d", "1"]);
    assert!(
        !quiet.stderr.iter().any(|l| l.starts_with("libbpf:")),
        "{:?}",
        quiet.stderr
    );
}

#[test]
fn missing_btf_is_a_clear_error() {
    // A private mount namespace where /sys/kernel/btf is empty.
    let (status, _out, err) = shell(&format!(
        "unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && {} -d 1'",
        bin("minimal").display()
    ));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("kernel BTF not found at /sys/kernel/btf/vmlinux"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}
