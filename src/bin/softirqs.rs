//! softirqs — lesson 10: summarize the time spent in each softirq vector
//! (`net_rx`, `timer`, `rcu`...).
//!
//! Same flags and output as libbpf-tools softirqs (`-d` histograms, `-C`
//! counts beside the time, `-N` nanoseconds, `-T`, `-c CPU`,
//! `interval [count]`), plus `--json`. The kernel side hooks the
//! `softirq_entry`/`exit` tracepoints as tp_btf programs, or raw_tp ones
//! where tp_btf is refused.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::softirqs::Args;
use bpfkit::globals::Counters;
use bpfkit::hist::{Histogram, Spacing};
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::row::Table;
use bpfkit::skel::softirqs::SoftirqsSkelBuilder;
use bpfkit::skel::softirqs::types::bss;
use bpfkit::{Output, bpf, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

/// Softirq vectors, in the kernel's order (include/linux/interrupt.h).
const VEC_NAMES: [&str; 10] = [
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
];

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
    rodata.targ_cpu = args.cpu.map_or(-1, |c| c as i32);
    probe::apply_raw_tp_style(open.open_object_mut(), &["softirq_entry", "softirq_exit"]);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    // The programs add to these globals while we read them.
    let counters = Counters::new(skel.maps.bss_data.as_deref_mut())?;
    let out = Output::stdout(args.common.json)?;
    let table = table(&args);
    IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.times)
        .timestamp(args.timestamp)
        .banner("Tracing soft irq event time... Hit Ctrl-C to end.")
        .run(|tick| {
            print(&out, &args, &table, tick, &counters.take());
            Ok(())
        })
}

/// One vector's runs and time in an interval.
struct Vector {
    name: &'static str,
    count: u64,
    time: u64,
}

/// `SOFTIRQ          TOTAL_usecs`, and with `-C` `  TOTAL_count` after it.
fn table(args: &Args) -> Table<'static, Vector> {
    let (header, key) = if args.nanoseconds {
        ("TOTAL_nsecs", "time_ns")
    } else {
        ("TOTAL_usecs", "time_us")
    };
    Table::new()
        .left("SOFTIRQ", 16, "softirq", |v: &Vector| v.name.into())
        .right(header, 11, key, |v| v.time.into())
        .right("TOTAL_count", 11, "count", |v| v.count.into())
        .sep("  ")
        .shown_if(args.count)
}

fn print(out: &Output, args: &Args, table: &Table<Vector>, tick: &Tick, s: &bss) {
    let unit = if args.nanoseconds { "nsecs" } else { "usecs" };
    if !args.distributed {
        let rows: Vec<Vector> = (VEC_NAMES.iter().enumerate())
            .filter(|&(v, _)| s.counts[v] > 0)
            .map(|(v, &name)| Vector {
                name,
                count: s.counts[v],
                time: s.times[v],
            })
            .collect();
        return table.print_interval(out, tick.fields(), &rows);
    }
    for (v, name) in VEC_NAMES.iter().enumerate() {
        let h = Histogram::log2(&s.hists[v].slots, unit).with_sum(s.times[v], s.counts[v]);
        if h.is_empty() {
            continue;
        }
        let mut fields = tick.fields();
        fields["softirq"] = json!(name);
        h.print_spaced(
            out,
            Spacing::After,
            Some(&format!("softirq = {name}")),
            fields,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::args::parse_argv as args;

    fn vector(name: &'static str, time: u64, count: u64) -> Vector {
        Vector { name, count, time }
    }

    #[test]
    fn header_and_rows_like_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(t.header_line(), "SOFTIRQ          TOTAL_usecs");
        assert_eq!(
            t.table_line(&vector("net_rx", 85, 3)),
            "net_rx                    85"
        );
        let t = table(&args(&["-N"]));
        assert_eq!(t.header_line(), "SOFTIRQ          TOTAL_nsecs");
        let t = table(&args(&["-C"]));
        assert_eq!(t.header_line(), "SOFTIRQ          TOTAL_usecs  TOTAL_count");
        assert_eq!(
            t.table_line(&vector("sched", 973, 371)),
            "sched                    973          371"
        );
    }

    #[test]
    fn json_intervals_hold_the_rows_with_units_in_keys() {
        let (out, cap) = Output::captured(true);
        let tick = Tick {
            time: Some("12:00:00".into()),
            number: 1,
            last: false,
        };
        let t = table(&args(&["-N"]));
        t.print_interval(&out, tick.fields(), &[vector("timer", 40, 3)]);
        t.print_interval(&out, tick.fields(), &[]);
        assert_eq!(
            cap.json_lines(),
            [
                json!({"time": "12:00:00", "rows": [{"softirq": "timer", "time_ns": 40, "count": 3}]}),
                json!({"time": "12:00:00", "rows": []})
            ]
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        for argv in [&["-C"][..], &["-C", "-N"]] {
            bpfkit::row::assert_keys_in_schema("softirqs", &table(&args(argv)).keys());
        }
    }

    #[test]
    fn vector_names_follow_the_kernel_enum() {
        assert_eq!(VEC_NAMES[3], "net_rx");
        assert_eq!(VEC_NAMES[9], "rcu");
        // The .bss arrays have one entry per vector.
        let mut b = bpfkit::skel::softirqs::types::bss {
            counts: [0; 10],
            times: [0; 10],
            hists: [Default::default(); 10],
        };
        b.counts[3] = 7;
        let s = Counters::new(Some(&mut b)).unwrap().take();
        assert_eq!((s.counts[3], b.counts[3]), (7, 0));
    }
}
