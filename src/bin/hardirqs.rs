//! hardirqs — lesson 10: summarize the time spent in hard interrupt
//! handlers, by handler name.
//!
//! Same flags and output as libbpf-tools hardirqs (`-C` counts, `-d`
//! histograms, `-N` nanoseconds, `-T`, `-c CGROUP`, `-s CPU`,
//! `interval [count]`), plus `--json`. The kernel side hooks the
//! `irq_handler_entry`/`exit` tracepoints as tp_btf programs, or raw_tp ones
//! where tp_btf is refused.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::hardirqs::Args;
use bpfkit::hist::Histogram;
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::row::{Cell, Table};
use bpfkit::skel::hardirqs::HardirqsSkelBuilder;
use bpfkit::skel::hardirqs::types::{info, irq_key};
use bpfkit::{Output, bpf, cgroup, fmt, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("hardirqs", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(HardirqsSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.do_count = args.count;
    rodata.targ_dist = args.distributed;
    rodata.targ_ns = args.nanoseconds;
    rodata.targ_cpu = args.cpu.map_or(-1, |c| c as i32);
    rodata.filter_cg = cgroup.is_on();
    probe::apply_raw_tp_style(
        open.open_object_mut(),
        &["irq_handler_entry", "irq_handler_exit"],
    );
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;
    let out = Output::stdout(args.common.json)?;
    let (infos, table) = (&skel.maps.infos, table(&args));
    IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.times)
        .timestamp(args.timestamp)
        .banner(if args.count {
            "Tracing hard irq events... Hit Ctrl-C to end."
        } else {
            "Tracing hard irq event time... Hit Ctrl-C to end."
        })
        .run(|tick| {
            let handlers = bpf::drain_map::<irq_key, info>(infos)?.into_iter();
            let handlers = handlers.map(|(k, info)| Handler {
                name: fmt::c_chars(&k.name),
                info,
            });
            print(&out, &args, &table, tick, handlers.collect());
            Ok(())
        })
}

/// One handler's numbers for this interval.
struct Handler {
    name: String,
    info: info,
}

/// `HARDIRQ                    TOTAL_usecs` (libbpf-tools `%-26s %6s%5s`),
/// rows `%-26s %11llu`: the total time, or with `-C` the count.
fn table(args: &Args) -> Table<'static, Handler> {
    let t = Table::new().left("HARDIRQ", 26, "hardirq", |h: &Handler| Cell::text(&h.name));
    if args.count {
        return t.right("TOTAL_count", 11, "count", |h| h.info.count.into());
    }
    let (header, time_key, max_key) = if args.nanoseconds {
        ("TOTAL_nsecs", "time_ns", "max_ns")
    } else {
        ("TOTAL_usecs", "time_us", "max_us")
    };
    t.right(header, 11, time_key, |h| h.info.total.into())
        .json("count", |h| h.info.count.into())
        .json(max_key, |h| h.info.max.into())
}

fn print(out: &Output, args: &Args, table: &Table<Handler>, tick: &Tick, mut rows: Vec<Handler>) {
    if !args.distributed {
        // Largest first (the count with -C, else the time), ties by name.
        let key = |h: &Handler| {
            if args.count {
                h.info.count
            } else {
                h.info.total
            }
        };
        rows.sort_by(|a, b| (key(b), &a.name).cmp(&(key(a), &b.name)));
        return table.print_interval(out, tick.fields(), &rows);
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    for h in &rows {
        let mut fields = tick.fields();
        fields["hardirq"] = json!(h.name);
        Histogram::log2(&h.info.slots, args.unit())
            .with_sum(h.info.total, h.info.count)
            .print(out, Some(&format!("hardirq = {}", h.name)), fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::args::parse_argv as args;

    fn handler(name: &str, count: u64, total: u64) -> Handler {
        Handler {
            name: name.into(),
            info: info {
                count,
                total,
                max: total / 2,
                ..Default::default()
            },
        }
    }

    #[test]
    fn header_and_rows_like_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(t.header_line(), "HARDIRQ                    TOTAL_usecs");
        assert_eq!(
            table(&args(&["-N"])).header_line(),
            "HARDIRQ                    TOTAL_nsecs"
        );
        assert_eq!(
            t.table_line(&handler("virtio1-req.0", 3, 24)),
            "virtio1-req.0                       24"
        );
        let t = table(&args(&["-C"]));
        assert_eq!(t.header_line(), "HARDIRQ                    TOTAL_count");
        assert_eq!(
            t.table_line(&handler("virtio1-req.0", 24, 99)),
            "virtio1-req.0                       24"
        );
        // Long names are not cut, the value follows after one space.
        let long = "a".repeat(30);
        assert_eq!(
            t.table_line(&handler(&long, 1, 0)),
            format!("{long}           1")
        );
        assert_eq!(
            t.table_line(&handler("x", u64::MAX, 0)),
            format!("{:<26} {}", "x", u64::MAX)
        );
    }

    #[test]
    fn rows_are_sorted_largest_first() {
        let names = |argv: &[&str]| {
            let (out, cap) = Output::captured(false);
            let rows = vec![
                handler("b", 5, 10),
                handler("a", 1, 10),
                handler("c", 9, 99),
            ];
            let tick = Tick {
                time: None,
                number: 1,
                last: false,
            };
            print(&out, &args(argv), &table(&args(argv)), &tick, rows);
            let text = cap.text();
            text.lines()
                .skip(1)
                .map(|l| l[..1].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&[]), ["c", "a", "b"]);
        assert_eq!(names(&["-C"]), ["c", "b", "a"]);
    }

    #[test]
    fn json_intervals_and_units_in_keys() {
        let (out, cap) = Output::captured(true);
        let tick = Tick {
            time: Some("12:00:00".into()),
            number: 1,
            last: false,
        };
        let a = args(&["--json", "-T"]);
        print(
            &out,
            &a,
            &table(&a),
            &tick,
            vec![handler("virtio3-rx", 3, 40)],
        );
        let a = args(&["--json", "-C"]);
        print(&out, &a, &table(&a), &tick, vec![]);
        assert_eq!(
            cap.json_lines(),
            [
                json!({"time": "12:00:00", "rows": [
                    {"hardirq": "virtio3-rx", "time_us": 40, "count": 3, "max_us": 20}]}),
                json!({"time": "12:00:00", "rows": []}),
            ]
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        for argv in [&[][..], &["-N"], &["-C"]] {
            bpfkit::row::assert_keys_in_schema("hardirqs", &table(&args(argv)).keys());
        }
    }
}
