//! filelife's choice of programs: kprobes (as libbpf-tools), or a
//! one-line error.
//!
//! No tracepoint set can give filelife a right answer: the syscall
//! tracepoints of unlink and unlinkat carry a path that the kernel resolves
//! only after them (through symlinks, `..`, mounts and concurrent renames),
//! and their exit sees only the result, so nothing there names the inode
//! removed; the filesystems' own tracepoints (ext4_unlink_enter...) cover
//! one filesystem each. Without kprobes the tool says so and exits 1
//! rather than guess.

use anyhow::{Result, bail};
use libbpf_rs::OpenObject;

use crate::probe::{self, Mechanism, ProbeMode};

/// Turns on the kprobes (auto, or `--probe kprobe`) and says so on
/// stderr; fails with one line where the kernel has no kprobes.
pub fn select_programs(object: &mut OpenObject, mode: ProbeMode) -> Result<Mechanism> {
    let needs = crate::hooks::filelife();
    if mode == ProbeMode::Auto
        && let Some(why) = probe::unavailable_reason(Mechanism::Kprobe, &needs)
    {
        bail!(
            "needs kprobes on {} (no tracepoint names the file an unlink removes); \
             this kernel has none: {why}",
            needs.kprobe.join(", ")
        );
    }
    let mode = match mode {
        ProbeMode::Auto => ProbeMode::Force(Mechanism::Kprobe),
        forced => forced,
    };
    probe::apply(object, mode, &needs)
}
