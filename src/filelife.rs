//! filelife's choice of programs: fentry, or kprobes, or a one-line error.
//!
//! No tracepoint set can give filelife a right answer: the syscall
//! tracepoints of unlink and unlinkat carry a path that the kernel resolves
//! only after them (through symlinks, `..`, mounts and concurrent renames),
//! and their exit sees only the result, so nothing there names the inode
//! removed; the filesystems' own tracepoints (ext4_unlink_enter...) cover
//! one filesystem each. Without fentry or kprobes the tool says so and
//! exits 1 rather than guess.

use anyhow::{Result, bail};
use libbpf_rs::OpenObject;

use crate::probe::{self, Mechanism, ProbeMode};

/// Chooses fentry or kprobes (or the forced one), turns on its programs
/// and says which on stderr; fails with one line where neither works.
pub fn select_programs(object: &mut OpenObject, mode: ProbeMode) -> Result<Mechanism> {
    let needs = crate::hooks::filelife();
    if mode == ProbeMode::Auto {
        let mut why = Vec::new();
        for m in [Mechanism::Fentry, Mechanism::Kprobe] {
            match probe::unavailable_reason(m, &needs) {
                None => {
                    probe::select_programs(object, m);
                    let skipped = if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", why.join(", "))
                    };
                    crate::output::note(format_args!("using {m}{skipped}"));
                    return Ok(m);
                }
                Some(w) => why.push(w),
            }
        }
        bail!(
            "needs fentry or kprobes on {} (no tracepoint names the file an unlink removes); \
             this kernel has neither: {}",
            needs.kprobe.join(", "),
            why.join(", ")
        );
    }
    probe::apply(object, mode, &needs)
}
