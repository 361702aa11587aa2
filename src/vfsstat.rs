//! vfsstat's shared logic: the counted operations (libbpf-tools' columns),
//! which programs load, and the totals read from BPF. The binary prints
//! them per interval; the exporter's `vfsstat` collector serves them as
//! counters.

use anyhow::{Result, anyhow};
use libbpf_rs::{MapCore, MapFlags, OpenObject};

use crate::probe::{Mechanism, ProbeMode};

/// The operations, in libbpf-tools' column order (`enum stat_types` in
/// src/bpf/vfsstat.h).
pub const OPERATIONS: [&str; 8] = [
    "read", "write", "fsync", "open", "create", "unlink", "mkdir", "rmdir",
];

/// The kernel functions counted with fentry or kprobes, by operation.
pub const FUNCTIONS: [&str; 8] = [
    "vfs_read",
    "vfs_write",
    "vfs_fsync",
    "vfs_open",
    "vfs_create",
    "vfs_unlink",
    "vfs_mkdir",
    "vfs_rmdir",
];

/// What the columns count on syscall tracepoints (said on stderr with the
/// mechanism line).
pub const SYSCALLS_NOTE: &str = "on syscall tracepoints the columns count syscalls at their entry, \
     not VFS calls: READ read/readv/pread64/preadv/preadv2, WRITE their write forms, \
     FSYNC fsync/fdatasync, OPEN open/openat/openat2/creat/open_by_handle_at, \
     CREATE mknod/mknodat of a regular file, UNLINK unlink/unlinkat, MKDIR mkdir/mkdirat, \
     RMDIR rmdir/unlinkat(AT_REMOVEDIR)";

/// Chooses the mechanism (`--probe`), turns on its programs (on
/// tracepoints, those of the syscalls this kernel has) and says which on
/// stderr, with what the columns count on tracepoints.
pub fn select_programs(object: &mut OpenObject, mode: ProbeMode) -> Result<Mechanism> {
    let mechanism = crate::probe::apply(object, mode, &crate::hooks::vfsstat())?;
    if mechanism == Mechanism::Tracepoint {
        for mut prog in object.progs_mut() {
            let section = prog.section().to_string_lossy().into_owned();
            if let Some((cat, name)) = crate::progs::tracepoint_of(&section) {
                let present = crate::probe::tracepoint_exists(cat, name)?;
                prog.set_autoload(present);
            }
        }
        crate::output::note(format_args!("vfsstat: {SYSCALLS_NOTE}"));
    }
    Ok(mechanism)
}

/// The totals counted since the programs were attached, by operation.
pub fn totals(counts: &dyn MapCore) -> Result<[u64; 8]> {
    let mut out = [0u64; 8];
    for (i, total) in out.iter_mut().enumerate() {
        let values = counts
            .lookup_percpu(&(i as u32).to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| anyhow!("reading map counts: {e}"))?
            .unwrap_or_default();
        *total = values
            .iter()
            .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_ne_bytes)
            .sum();
    }
    Ok(out)
}

/// Turns the ever-growing totals into counts per interval.
#[derive(Debug, Default)]
pub struct Deltas {
    last: [u64; 8],
}

impl Deltas {
    /// What was counted since the last call (or since attach).
    pub fn next(&mut self, totals: [u64; 8]) -> [u64; 8] {
        let mut d = [0u64; 8];
        for i in 0..8 {
            d[i] = totals[i].saturating_sub(self.last[i]);
        }
        self.last = totals;
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_are_per_interval() {
        let mut d = Deltas::default();
        assert_eq!(d.next([5, 0, 1, 0, 0, 0, 0, 2]), [5, 0, 1, 0, 0, 0, 0, 2]);
        assert_eq!(d.next([7, 3, 1, 0, 0, 0, 0, 2]), [2, 3, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn functions_match_operations() {
        for (f, op) in FUNCTIONS.iter().zip(OPERATIONS) {
            assert_eq!(*f, format!("vfs_{op}"));
        }
    }
}
