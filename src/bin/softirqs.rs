//! softirqs — lesson 10: summarize the time spent in each softirq vector
//! (`net_rx`, `timer`, `rcu`...).
//!
//! Same flags and output as libbpf-tools softirqs (`-d` histograms, `-C`
//! counts beside the time, `-N` nanoseconds, `-T`, `interval [count]`),
//! plus `--json`. The kernel side hooks the `softirq_entry`/`exit`
//! tracepoints as tp_btf programs, or raw_tp ones where tp_btf is refused.

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use bpfkit::args::softirqs::Args;
use bpfkit::hist::{Histogram, IntervalLoop, Tick};
use bpfkit::skel::softirqs::SoftirqsSkelBuilder;
use bpfkit::skel::softirqs::types::bss;
use bpfkit::{Output, bpf, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::{Map, Value, json};

/// Softirq vectors, in the kernel's order (include/linux/interrupt.h).
const VEC_NAMES: [&str; NR_SOFTIRQS] = [
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
];
const NR_SOFTIRQS: usize = 10;
const MAX_SLOTS: usize = 20;

fn main() -> ExitCode {
    bpfkit::main("softirqs", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(SoftirqsSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_dist = args.distributed;
    rodata.targ_ns = args.nanoseconds;
    probe::apply_raw_tp_style(open.open_object_mut(), &["softirq_entry", "softirq_exit"]);
    let mut skel = bpf::load(open)?;
    // The programs add to these arrays while we read them: only ever go
    // through raw pointers and atomics, never through a `&mut`.
    let shared: *mut bss = skel
        .maps
        .bss_data
        .as_deref_mut()
        .map(|b| b as *mut bss)
        .context("the BPF .bss is not memory-mapped (needs Linux 5.7 or later)")?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.times)
        .timestamp(args.timestamp)
        .banner("Tracing soft irq event time... Hit Ctrl-C to end.")
        .run(|tick| {
            // SAFETY: `shared` points into the .bss mapping, which lives as
            // long as `skel` (alive for the whole loop); u64 fields are
            // 8-byte aligned, and every access is atomic.
            let snap = unsafe { take(shared) };
            print_snapshot(&out, &args, tick, &snap);
            Ok(())
        })
}

/// One interval's numbers per vector.
#[derive(Clone, Debug, PartialEq)]
struct Snapshot {
    counts: [u64; NR_SOFTIRQS],
    times: [u64; NR_SOFTIRQS],
    hists: [[u64; MAX_SLOTS]; NR_SOFTIRQS],
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            counts: [0; NR_SOFTIRQS],
            times: [0; NR_SOFTIRQS],
            hists: [[0; MAX_SLOTS]; NR_SOFTIRQS],
        }
    }
}

/// Reads and zeroes a counter the BPF programs update concurrently.
///
/// # Safety
/// `p` must be valid, 8-byte aligned, and only ever accessed atomically.
unsafe fn swap_zero(p: *mut u64) -> u64 {
    // SAFETY: as the caller promises.
    unsafe { AtomicU64::from_ptr(p) }.swap(0, Ordering::Relaxed)
}

/// Takes this interval's numbers out of the .bss, zeroing each counter in
/// the same atomic step (no run is lost between the read and the reset).
///
/// # Safety
/// `shared` must point to the live, mmapped .bss of a loaded softirqs object.
unsafe fn take(shared: *mut bss) -> Snapshot {
    let mut s = Snapshot::default();
    for v in 0..NR_SOFTIRQS {
        // SAFETY: in-bounds fields of the live mapping (see the caller).
        unsafe {
            s.counts[v] = swap_zero(std::ptr::addr_of_mut!((*shared).counts[v]));
            s.times[v] = swap_zero(std::ptr::addr_of_mut!((*shared).times[v]));
            for i in 0..MAX_SLOTS {
                s.hists[v][i] = swap_zero(std::ptr::addr_of_mut!((*shared).hists[v].slots[i]));
            }
        }
    }
    s
}

/// `SOFTIRQ          TOTAL_usecs`, and with `-C` `  TOTAL_count` after it.
fn header(unit: &str, with_count: bool) -> String {
    if with_count {
        format!(
            "{:<16} {:<6}{:<5}  {:<11}",
            "SOFTIRQ", "TOTAL_", unit, "TOTAL_count"
        )
    } else {
        format!("{:<16} {:>6}{:>5}", "SOFTIRQ", "TOTAL_", unit)
    }
}

/// `%-16s %11llu`, and with `-C` `  %11llu`.
fn row(name: &str, time: u64, count: Option<u64>) -> String {
    match count {
        Some(c) => format!("{name:<16} {time:>11}  {c:>11}"),
        None => format!("{name:<16} {time:>11}"),
    }
}

fn print_snapshot(out: &Output, args: &Args, tick: &Tick, s: &Snapshot) {
    let unit = if args.nanoseconds { "nsecs" } else { "usecs" };
    let time_field = |m: &mut Map<String, Value>| {
        if let Some(t) = &tick.time {
            m.insert("time".into(), json!(t));
        }
    };
    if args.distributed {
        for (v, name) in VEC_NAMES.iter().enumerate() {
            let h = Histogram::log2(&s.hists[v], unit).with_sum(s.times[v], s.counts[v]);
            if h.is_empty() {
                continue;
            }
            let mut fields = Map::new();
            time_field(&mut fields);
            fields.insert("softirq".into(), json!(name));
            h.print(
                out,
                Some(&format!("softirq = {name}")),
                Value::Object(fields),
            );
            if !out.is_json() {
                out.line(format_args!(""));
            }
        }
        return;
    }
    out.header(format_args!("{}", header(unit, args.count)));
    for (v, name) in VEC_NAMES.iter().enumerate() {
        if s.counts[v] == 0 {
            continue;
        }
        if out.is_json() {
            let mut m = Map::new();
            time_field(&mut m);
            m.insert("softirq".into(), json!(name));
            m.insert("count".into(), json!(s.counts[v]));
            m.insert("total".into(), json!(s.times[v]));
            m.insert("unit".into(), json!(unit));
            out.json(&Value::Object(m));
        } else {
            let count = args.count.then_some(s.counts[v]);
            out.line(format_args!("{}", row(name, s.times[v], count)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::time::Duration;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("softirqs").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert!(!a.distributed && !a.count && !a.nanoseconds && !a.timestamp);
        assert_eq!((a.interval, a.times), (None, None));
        let a = parse(&["-NT", "1", "10"]).unwrap();
        assert!(a.nanoseconds && a.timestamp);
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.times, Some(10));
        let a = parse(&["-d", "-C", "--json", "5"]).unwrap();
        assert!(a.distributed && a.count && a.common.json);
        assert_eq!(a.times, None);
        let a = parse(&["--distributed", "--count", "--nanoseconds", "--timestamp"]).unwrap();
        assert!(a.distributed && a.count && a.nanoseconds && a.timestamp);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-c", "1"],
            &["-p", "1"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn header_and_rows_like_libbpf_tools() {
        assert_eq!(header("usecs", false), "SOFTIRQ          TOTAL_usecs");
        assert_eq!(header("nsecs", false), "SOFTIRQ          TOTAL_nsecs");
        assert_eq!(
            header("usecs", true),
            "SOFTIRQ          TOTAL_usecs  TOTAL_count"
        );
        assert_eq!(row("net_rx", 85, None), "net_rx                    85");
        assert_eq!(
            row("sched", 973, Some(371)),
            "sched                    973          371"
        );
        // Values line up under the right edge of their headers.
        assert_eq!(row("x", 1, None).len(), header("usecs", false).len());
        assert_eq!(row("x", 1, Some(2)).len(), header("usecs", true).len());
    }

    #[test]
    fn vector_names_follow_the_kernel_enum() {
        assert_eq!(VEC_NAMES[3], "net_rx");
        assert_eq!(VEC_NAMES[9], "rcu");
        // The .bss arrays have one entry per vector.
        let b = zeroed_bss();
        assert_eq!(b.counts.len(), NR_SOFTIRQS);
        assert_eq!(b.hists[0].slots.len(), MAX_SLOTS);
    }

    fn zeroed_bss() -> bss {
        // SAFETY: bss holds only u64 arrays, for which all-zero is valid.
        unsafe { std::mem::zeroed() }
    }

    #[test]
    fn take_reads_and_zeroes() {
        let mut b = zeroed_bss();
        b.counts[3] = 7;
        b.times[3] = 70;
        b.hists[3].slots[2] = 5;
        b.counts[9] = 1;
        // SAFETY: a local bss stands in for the mapping.
        let s = unsafe { take(&mut b) };
        assert_eq!(s.counts[3], 7);
        assert_eq!(s.times[3], 70);
        assert_eq!(s.hists[3][2], 5);
        assert_eq!(s.counts[9], 1);
        assert_eq!(b.counts[3], 0);
        assert_eq!(b.times[3], 0);
        assert_eq!(b.hists[3].slots[2], 0);
        // SAFETY: as above.
        assert_eq!(unsafe { take(&mut b) }, Snapshot::default());
    }
}
