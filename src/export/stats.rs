//! The exporter's own metrics: collectors up, programs loaded, events lost,
//! scrape time, and per-program BPF run time and count (the kernel counts
//! those only while `kernel.bpf_stats_enabled` is 1).

use std::os::fd::RawFd;

const BPF_STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Whether the kernel is counting BPF program run time right now.
pub fn bpf_stats_enabled() -> bool {
    std::fs::read_to_string(BPF_STATS_SYSCTL).is_ok_and(|s| s.trim() == "1")
}

/// A program's (run time in ns, run count) from bpf_prog_info.
pub fn program_run_stats(fd: RawFd) -> Option<(u64, u64)> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a zeroed bpf_prog_info of `len` bytes; the kernel
    // fills at most that much (no pointers set, so no arrays are written).
    let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    (rc == 0).then_some((info.run_time_ns, info.run_cnt))
}
