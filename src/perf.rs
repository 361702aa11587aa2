//! Sampling perf events, one per online CPU, for `SEC("perf_event")`
//! programs (profile, and any tool that samples on a timer).
//!
//! [`open_sampling`] asks for hardware CPU cycles first and falls back to
//! the software `cpu-clock` timer when the machine has no PMU for them
//! (VMs without a virtual PMU, Firecracker, some clouds), saying which in
//! [`Sampling::clock`] so the tool can print it. [`attach`] hands each
//! event to libbpf, which owns (and closes) it from then on.

use std::fmt;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

use anyhow::{Result, anyhow, bail};
use libbpf_rs::{Link, ProgramMut};

/// What the samples count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `PERF_COUNT_HW_CPU_CYCLES`: the PMU's cycle counter (does not tick
    /// while a CPU is halted in idle).
    Cycles,
    /// `PERF_COUNT_SW_CPU_CLOCK`: the kernel's high-resolution timer.
    CpuClock,
}

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Clock::Cycles => "hardware cycles",
            Clock::CpuClock => "software cpu-clock",
        })
    }
}

/// The events opened by [`open_sampling`], not attached yet.
#[derive(Debug)]
pub struct Sampling {
    pub clock: Clock,
    /// Why hardware cycles were not used (`None` when they were).
    pub fallback_reason: Option<String>,
    /// (cpu, perf event fd), one per sampled CPU.
    pub events: Vec<(u32, OwnedFd)>,
}

impl Sampling {
    /// The stderr line saying what samples: `sampling with software
    /// cpu-clock at 49 Hz on 2 CPUs (no hardware cycles: ENOENT)`.
    pub fn describe(&self, freq: u64) -> String {
        let n = self.events.len();
        let mut s = format!(
            "sampling with {} at {freq} Hz on {n} CPU{}",
            self.clock,
            if n == 1 { "" } else { "s" }
        );
        if let Some(why) = &self.fallback_reason {
            s += &format!(" (no hardware cycles: {why})");
        }
        s
    }
}

/// Parses a kernel CPU list (`0-3,5,7-8`, as in
/// `/sys/devices/system/cpu/online`).
pub fn parse_cpu_list(text: &str) -> Result<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let bad = || anyhow!("bad CPU list {:?}", text.trim());
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// The CPUs online now.
pub fn online_cpus() -> Result<Vec<u32>> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("reading {path}: {e}"))?;
    parse_cpu_list(&text)
}

/// `perf_event_open(attr, pid -1, cpu, group -1, CLOEXEC)`.
fn open_one(kind: u32, config: u64, freq: u64, cpu: u32) -> std::result::Result<OwnedFd, i32> {
    let mut attr = libbpf_sys::perf_event_attr {
        type_: kind,
        size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
        config,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_freq = freq;
    attr.set_freq(1);
    // SAFETY: `attr` is a zero-initialised perf_event_attr with its size
    // set; the kernel only reads it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            libbpf_sys::PERF_FLAG_FD_CLOEXEC as libc::c_ulong,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: a new descriptor the kernel just returned, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Errors meaning "no PMU for hardware cycles here", not "you may not".
fn no_hardware(e: i32) -> bool {
    matches!(
        e,
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV | libc::EINVAL
    )
}

/// Opens a sampling event at `freq` Hz on each of `cpus` (all processes),
/// hardware cycles if the first CPU offers them, else the software
/// cpu-clock on every CPU. A CPU gone offline meanwhile (ENODEV) is skipped.
pub fn open_sampling(freq: u64, cpus: &[u32]) -> Result<Sampling> {
    let Some(&first) = cpus.first() else {
        bail!("no CPU to sample");
    };
    let (clock, fallback_reason) = match open_one(
        libbpf_sys::PERF_TYPE_HARDWARE,
        libbpf_sys::PERF_COUNT_HW_CPU_CYCLES as u64,
        freq,
        first,
    ) {
        Ok(fd) => {
            drop(fd);
            (Clock::Cycles, None)
        }
        Err(e) if no_hardware(e) => (Clock::CpuClock, Some(crate::fmt::errno_name(e))),
        Err(e) => return Err(open_error(e, first, freq)),
    };
    let (kind, config) = match clock {
        Clock::Cycles => (
            libbpf_sys::PERF_TYPE_HARDWARE,
            libbpf_sys::PERF_COUNT_HW_CPU_CYCLES as u64,
        ),
        Clock::CpuClock => (
            libbpf_sys::PERF_TYPE_SOFTWARE,
            libbpf_sys::PERF_COUNT_SW_CPU_CLOCK as u64,
        ),
    };
    let mut events = Vec::with_capacity(cpus.len());
    for &cpu in cpus {
        match open_one(kind, config, freq, cpu) {
            Ok(fd) => events.push((cpu, fd)),
            Err(libc::ENODEV) => continue,
            Err(e) => return Err(open_error(e, cpu, freq)),
        }
    }
    if events.is_empty() {
        bail!("no CPU to sample: every CPU asked for is offline");
    }
    Ok(Sampling {
        clock,
        fallback_reason,
        events,
    })
}

/// Opens the software `cpu-clock` timer at `freq` Hz on each of `cpus`,
/// never hardware cycles: for samplers that must also see idle CPUs
/// (runqlen), where cycles stop counting. A CPU gone offline is skipped.
pub fn open_cpu_clock(freq: u64, cpus: &[u32]) -> Result<Sampling> {
    let mut events = Vec::with_capacity(cpus.len());
    for &cpu in cpus {
        match open_one(
            libbpf_sys::PERF_TYPE_SOFTWARE,
            libbpf_sys::PERF_COUNT_SW_CPU_CLOCK as u64,
            freq,
            cpu,
        ) {
            Ok(fd) => events.push((cpu, fd)),
            Err(libc::ENODEV) => continue,
            Err(e) => return Err(open_error(e, cpu, freq)),
        }
    }
    if events.is_empty() {
        bail!("no CPU to sample: every CPU asked for is offline");
    }
    Ok(Sampling {
        clock: Clock::CpuClock,
        fallback_reason: None,
        events,
    })
}

fn open_error(e: i32, cpu: u32, freq: u64) -> anyhow::Error {
    let err = std::io::Error::from_raw_os_error(e);
    match e {
        libc::EACCES | libc::EPERM => anyhow!(
            "opening a perf event on CPU {cpu}: {err}: needs root, or CAP_PERFMON \
             (and kernel.perf_event_paranoid allowing it)"
        ),
        libc::EINVAL => {
            let max = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
                .map(|m| format!(" ({})", m.trim()))
                .unwrap_or_default();
            anyhow!(
                "opening a perf event on CPU {cpu} at {freq} Hz: {err}: the frequency may exceed \
                 kernel.perf_event_max_sample_rate{max}"
            )
        }
        _ => anyhow!("opening a perf event on CPU {cpu}: {err}"),
    }
}

/// Attaches `prog` to every event of `sampling`; the links own the events
/// (libbpf closes them when a link is dropped).
pub fn attach(prog: &ProgramMut<'_>, sampling: Sampling) -> Result<Vec<Link>> {
    let mut links = Vec::with_capacity(sampling.events.len());
    for (cpu, fd) in sampling.events {
        let raw = fd.into_raw_fd();
        match prog.attach_perf_event(raw) {
            Ok(link) => links.push(link),
            Err(e) => {
                // libbpf takes the descriptor only on success.
                // SAFETY: `raw` came from into_raw_fd above and was not taken.
                drop(unsafe { OwnedFd::from_raw_fd(raw) });
                return Err(crate::bpf::explain(
                    e,
                    &format!("attaching to the perf event of CPU {cpu}"),
                ));
            }
        }
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n").unwrap(), vec![0, 1]);
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(parse_cpu_list("0-2,4,6-7").unwrap(), vec![0, 1, 2, 4, 6, 7]);
        assert_eq!(parse_cpu_list("3,1,1").unwrap(), vec![1, 3]);
        assert_eq!(parse_cpu_list("").unwrap(), Vec::<u32>::new());
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("a").is_err());
        assert!(parse_cpu_list("0-").is_err());
    }

    #[test]
    fn online_cpus_include_this_one() {
        let cpus = online_cpus().unwrap();
        assert!(!cpus.is_empty());
        // SAFETY: sched_getcpu has no preconditions.
        let me = unsafe { libc::sched_getcpu() };
        assert!(cpus.contains(&(me as u32)), "{cpus:?} {me}");
    }

    #[test]
    fn describe_says_which_clock() {
        let s = Sampling {
            clock: Clock::CpuClock,
            fallback_reason: Some("ENOENT".into()),
            events: Vec::new(),
        };
        assert_eq!(
            s.describe(49),
            "sampling with software cpu-clock at 49 Hz on 0 CPUs (no hardware cycles: ENOENT)"
        );
        let s = Sampling {
            clock: Clock::Cycles,
            fallback_reason: None,
            events: Vec::new(),
        };
        assert!(
            s.describe(99)
                .starts_with("sampling with hardware cycles at 99 Hz")
        );
    }
}
