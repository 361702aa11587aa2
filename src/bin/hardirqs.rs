//! hardirqs — lesson 10: summarize the time spent in hard interrupt
//! handlers, by handler name.
//!
//! Same flags and output as libbpf-tools hardirqs (`-C` counts, `-d`
//! histograms, `-N` nanoseconds, `-T`, `-c CGROUP`, `interval [count]`),
//! plus `--json`. The kernel side hooks the `irq_handler_entry`/`exit`
//! tracepoints as tp_btf programs, or raw_tp ones where tp_btf is refused.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::hardirqs::Args;
use bpfkit::hist::{Histogram, IntervalLoop, Tick};
use bpfkit::skel::hardirqs::HardirqsSkelBuilder;
use bpfkit::skel::hardirqs::types::{info, irq_key};
use bpfkit::{Output, bpf, cgroup, probe};
use clap::Parser;
use libbpf_rs::MapCore;
use libbpf_rs::skel::OpenSkel;
use serde_json::{Map, Value, json};

fn main() -> ExitCode {
    bpfkit::main("hardirqs", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.cgroup {
        // Fail before loading anything when the path is no cgroup.
        cgroup::open_cgroup(path)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(HardirqsSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.do_count = args.count;
    rodata.targ_dist = args.distributed;
    rodata.targ_ns = args.nanoseconds;
    rodata.filter_cg = args.cgroup.is_some();
    probe::apply_raw_tp_style(
        open.open_object_mut(),
        &["irq_handler_entry", "irq_handler_exit"],
    );
    let mut skel = bpf::load(open)?;
    if let Some(path) = &args.cgroup {
        cgroup::set_filter(&skel.maps.cgroup_map, path)?;
    }
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let infos = &skel.maps.infos;
    let banner = if args.count {
        "Tracing hard irq events... Hit Ctrl-C to end."
    } else {
        "Tracing hard irq event time... Hit Ctrl-C to end."
    };
    IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.times)
        .timestamp(args.timestamp)
        .banner(banner)
        .run(|tick| {
            let entries = drain(infos)?;
            print_entries(&out, &args, tick, entries);
            Ok(())
        })
}

/// What the table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Total time per handler (the default).
    Time,
    /// Runs per handler (`-C`).
    Count,
    /// A histogram per handler (`-d`).
    Dist,
}

fn mode(args: &Args) -> Mode {
    if args.count {
        Mode::Count
    } else if args.distributed {
        Mode::Dist
    } else {
        Mode::Time
    }
}

fn unit(args: &Args) -> &'static str {
    if args.nanoseconds { "nsecs" } else { "usecs" }
}

/// One handler's numbers for this interval.
#[derive(Clone, Debug, Default)]
struct Entry {
    name: String,
    info: info,
}

/// Takes every entry out of the map (a fresh start for the next interval).
fn drain(map: &dyn MapCore) -> Result<Vec<Entry>> {
    Ok(bpf::drain_map::<irq_key, info>(map)?
        .into_iter()
        .map(|(k, info)| Entry {
            name: bpfkit::fmt::c_chars(&k.name),
            info,
        })
        .collect())
}

/// The value a row shows in `mode`.
fn row_value(mode: Mode, info: &info) -> u64 {
    match mode {
        Mode::Count => info.count,
        _ => info.total,
    }
}

/// Table rows largest first (ties by name); histograms by name.
fn sort_entries(mode: Mode, entries: &mut [Entry]) {
    match mode {
        Mode::Dist => entries.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => entries.sort_by(|a, b| {
            row_value(mode, &b.info)
                .cmp(&row_value(mode, &a.info))
                .then_with(|| a.name.cmp(&b.name))
        }),
    }
}

/// `HARDIRQ                    TOTAL_usecs` (libbpf-tools `%-26s %6s%5s`).
fn header(mode: Mode, unit: &str) -> String {
    match mode {
        Mode::Count => format!("{:<26} {:>11}", "HARDIRQ", "TOTAL_count"),
        _ => format!("{:<26} {:>6}{:>5}", "HARDIRQ", "TOTAL_", unit),
    }
}

/// One row: `%-26s %11llu`.
fn row(name: &str, value: u64) -> String {
    format!("{name:<26} {value:>11}")
}

/// The JSON object of one handler in the `Time` or `Count` modes.
fn row_json(mode: Mode, unit: &str, time: Option<&str>, e: &Entry) -> Value {
    let mut m = Map::new();
    if let Some(t) = time {
        m.insert("time".into(), json!(t));
    }
    m.insert("hardirq".into(), json!(e.name));
    m.insert("count".into(), json!(e.info.count));
    if mode == Mode::Time {
        m.insert("total".into(), json!(e.info.total));
        m.insert("max".into(), json!(e.info.max));
        m.insert("unit".into(), json!(unit));
    }
    Value::Object(m)
}

fn print_entries(out: &Output, args: &Args, tick: &Tick, mut entries: Vec<Entry>) {
    let mode = mode(args);
    let unit = unit(args);
    sort_entries(mode, &mut entries);
    if mode == Mode::Dist {
        for e in &entries {
            let mut fields = Map::new();
            if let Some(t) = &tick.time {
                fields.insert("time".into(), json!(t));
            }
            fields.insert("hardirq".into(), json!(e.name));
            Histogram::log2(&e.info.slots, unit)
                .with_sum(e.info.total, e.info.count)
                .print(
                    out,
                    Some(&format!("hardirq = {}", e.name)),
                    Value::Object(fields),
                );
        }
        return;
    }
    out.header(format_args!("{}", header(mode, unit)));
    for e in &entries {
        if out.is_json() {
            out.json(&row_json(mode, unit, tick.time.as_deref(), e));
        } else {
            out.line(format_args!("{}", row(&e.name, row_value(mode, &e.info))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::PathBuf;
    use std::time::Duration;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("hardirqs").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert_eq!(mode(&a), Mode::Time);
        assert_eq!((a.interval, a.times), (None, None));
        assert_eq!(unit(&a), "usecs");
        let a = parse(&["-NT", "1", "10"]).unwrap();
        assert!(a.nanoseconds && a.timestamp);
        assert_eq!(unit(&a), "nsecs");
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.times, Some(10));
        assert_eq!(mode(&parse(&["-C"]).unwrap()), Mode::Count);
        assert_eq!(mode(&parse(&["--count"]).unwrap()), Mode::Count);
        assert_eq!(mode(&parse(&["-d", "5"]).unwrap()), Mode::Dist);
        let a = parse(&["-c", "/sys/fs/cgroup/x", "--json", "-v"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert!(a.common.json && a.common.verbose);
        let a = parse(&["--cgroup=/cg", "--distributed", "--nanoseconds"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/cg")));
        assert_eq!(mode(&a), Mode::Dist);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-C", "-d"][..],
            &["0"],
            &["x"],
            &["1", "0"],
            &["1", "-3"],
            &["1", "2", "3"],
            &["-c"],
            &["-p", "1"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn header_and_rows_like_libbpf_tools() {
        assert_eq!(
            header(Mode::Time, "usecs"),
            "HARDIRQ                    TOTAL_usecs"
        );
        assert_eq!(
            header(Mode::Time, "nsecs"),
            "HARDIRQ                    TOTAL_nsecs"
        );
        assert_eq!(
            header(Mode::Count, "usecs"),
            "HARDIRQ                    TOTAL_count"
        );
        assert_eq!(
            row("virtio1-req.0", 24),
            "virtio1-req.0                       24"
        );
        assert_eq!(
            row("virtio1-req.0", 24).len(),
            header(Mode::Time, "usecs").len()
        );
        // Long names are not cut, the value follows after one space.
        let long = "a".repeat(30);
        assert_eq!(row(&long, 1), format!("{long}           1"));
        assert_eq!(row("x", u64::MAX), format!("{:<26} {}", "x", u64::MAX));
    }

    fn key(name: &str) -> irq_key {
        let mut k = irq_key::default();
        for (d, s) in k.name.iter_mut().zip(name.bytes()) {
            *d = s as _;
        }
        k
    }

    #[test]
    fn names_stop_at_the_nul() {
        assert_eq!(bpfkit::fmt::c_chars(&key("virtio3-tx").name), "virtio3-tx");
        assert_eq!(bpfkit::fmt::c_chars(&key("").name), "");
        // A full buffer without a NUL still decodes.
        let full = "n".repeat(irq_key::default().name.len());
        assert_eq!(bpfkit::fmt::c_chars(&key(&full).name), full);
    }

    fn entry(name: &str, count: u64, total: u64) -> Entry {
        Entry {
            name: name.into(),
            info: info {
                count,
                total,
                ..Default::default()
            },
        }
    }

    #[test]
    fn rows_are_sorted_largest_first() {
        let mut v = vec![entry("b", 5, 10), entry("a", 1, 10), entry("c", 9, 99)];
        sort_entries(Mode::Time, &mut v);
        let names: Vec<&str> = v.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
        sort_entries(Mode::Count, &mut v);
        let names: Vec<&str> = v.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["c", "b", "a"]);
        sort_entries(Mode::Dist, &mut v);
        let names: Vec<&str> = v.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn json_rows() {
        let mut e = entry("virtio3-rx", 3, 40);
        e.info.max = 20;
        assert_eq!(
            row_json(Mode::Time, "usecs", Some("12:00:00"), &e),
            json!({"time": "12:00:00", "hardirq": "virtio3-rx", "count": 3,
                   "total": 40, "max": 20, "unit": "usecs"})
        );
        assert_eq!(
            row_json(Mode::Count, "usecs", None, &e),
            json!({"hardirq": "virtio3-rx", "count": 3})
        );
    }
}
