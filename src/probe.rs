//! What this kernel offers: tracefs, tracepoints, BTF.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub const TRACEFS_FIX: &str = "mount -t tracefs nodev /sys/kernel/tracing";
const TRACEFS_ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The mounted tracefs directory (where libbpf looks up tracepoint ids).
pub fn tracefs() -> Option<PathBuf> {
    TRACEFS_ROOTS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("events").is_dir())
}

/// The tracefs root, or an error that says how to mount it.
pub fn require_tracefs() -> Result<PathBuf> {
    match tracefs() {
        Some(p) => Ok(p),
        None => bail!("tracefs is not mounted (tracepoints need it): run `{TRACEFS_FIX}`"),
    }
}

/// Whether tracepoint `category:name` exists on this kernel.
pub fn tracepoint_exists(category: &str, name: &str) -> Result<bool> {
    let root = require_tracefs()?;
    Ok(root.join("events").join(category).join(name).is_dir())
}

/// Fails with the fix when the kernel has no BTF (CO-RE needs it).
pub fn require_btf() -> Result<()> {
    if !Path::new(VMLINUX_BTF).exists() {
        bail!(
            "kernel BTF not found at {VMLINUX_BTF}: this kernel was built without \
             CONFIG_DEBUG_INFO_BTF=y, which bpfkit's CO-RE programs need"
        );
    }
    Ok(())
}

/// Capability bits from /proc/self/status `CapEff`.
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Fails when this process can neither load nor attach BPF programs:
/// it needs CAP_SYS_ADMIN, or CAP_BPF together with CAP_PERFMON.
pub fn require_bpf_privileges() -> Result<()> {
    let caps = effective_caps();
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    bail!(
        "permission denied: loading BPF programs needs root, or the CAP_BPF and \
         CAP_PERFMON capabilities (run with sudo)"
    )
}
