//! biotop — top processes by block device I/O, each interval: requests,
//! kilobytes and mean time from issue to completion per process, direction
//! and disk.
//!
//! Same flags and columns as libbpf-tools biotop (`-C`, `-r ROWS`, `-s
//! SORT`, `-p PID`, `[interval] [count]`), plus `-d`, `--json` and
//! `--probe`: fentry or kprobe on the block layer's accounting functions and
//! blk_mq_start_request, or the block_io_start/block_rq_issue/block_io_done
//! tracepoints (6.5+).
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::biotop::Args;
use bpfkit::biotop::{self, Row};
use bpfkit::disks::Partitions;
use bpfkit::interval::IntervalLoop;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::biotop::BiotopSkelBuilder;
use bpfkit::skel::biotop::types::{info_t, val_t};
use bpfkit::{Output, bpf, fmt, probe};
use clap::Parser;
use libbpf_rs::MapCore;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("biotop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(BiotopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.target_pid = args.target.pid.unwrap_or(0);
    let needs = biotop::needs();
    probe::apply(open.open_object_mut(), args.probe.mechanism, &needs)?;
    biotop::select_account_programs(open.open_object_mut(), &needs);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let clear = !args.noclear && !args.common.json && std::io::stdout().is_terminal();
    let table = table(&args);
    IntervalLoop::new(&out)
        .every(Some(args.interval))
        .count(args.count)
        .duration(args.duration)
        .banner(format!(
            "Tracing block I/O, printing every {}s... Hit Ctrl-C to end.",
            args.interval.as_secs()
        ))
        .run(|_tick| {
            let entries = bpf::drain_map::<info_t, val_t>(&skel.maps.counts)?;
            // Read each time: disks come and go (loop devices).
            let disks = Partitions::load().unwrap_or_default();
            let rows = entries
                .into_iter()
                .map(|e| Row::from_map(e, &disks))
                .collect();
            if clear {
                out.line(format_args!("\x1b[H\x1b[2J"));
            }
            let rows = biotop::top(rows, args.sort, args.max_rows());
            biotop::print(&out, &table, &fmt::hms_now(), &biotop::loadavg(), &rows);
            Ok(())
        })?;
    let dropped = bpf::percpu_sum(&skel.maps.drops)?;
    if dropped > 0 {
        bpfkit::output::note(format_args!(
            "{dropped} requests not counted: a map of {} entries was full",
            skel.maps.counts.max_entries()
        ));
    }
    Ok(())
}

/// libbpf-tools' columns: `%-7d %-16s %1s %-3d %-3d %-8s %5d %7lld %6.2f`.
fn table(_args: &Args) -> Table<'static, Row> {
    Table::new()
        .left("PID", 7, "pid", |r: &Row| r.pid.into())
        .left("COMM", 16, "comm", |r| Cell::text(&r.comm))
        .left("D", 1, "rw", |r| (if r.write { "W" } else { "R" }).into())
        .left("MAJ", 3, "major", |r| r.major.into())
        .left("MIN", 3, "minor", |r| r.minor.into())
        .left("DISK", 8, "disk", |r| Cell::opt_text(r.disk.clone(), "?"))
        .right("I/O", 5, "count", |r| r.io.into())
        .right("Kbytes", 7, "bytes", |r| {
            Cell::both((r.bytes / 1024).to_string(), r.bytes)
        })
        .right("AVGms", 6, "avg_ms", |r| Cell::float(r.avg_ms(), 2))
        .json("time_us", |r| r.us.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dd() -> Row {
        Row {
            pid: 4242,
            comm: "dd".into(),
            write: true,
            major: 7,
            minor: 3,
            disk: Some("loop3".into()),
            io: 100,
            bytes: 6400 * 1024,
            us: 250_000,
        }
    }

    #[test]
    fn columns_like_libbpf_tools() {
        let t = table(&Args::parse_from(["biotop"]));
        assert_eq!(
            t.header_line(),
            format!(
                "{:<7} {:<16} {:1} {:<3} {:<3} {:<8} {:>5} {:>7} {:>6}",
                "PID", "COMM", "D", "MAJ", "MIN", "DISK", "I/O", "Kbytes", "AVGms"
            )
        );
        assert_eq!(
            t.table_line(&dd()),
            format!(
                "{:<7} {:<16} {:1} {:<3} {:<3} {:<8} {:>5} {:>7} {:>6.2}",
                4242, "dd", "W", 7, 3, "loop3", 100, 6400, 2.5
            )
        );
        let gone = Row {
            disk: None,
            write: false,
            ..dd()
        };
        assert!(t.table_line(&gone).contains(" R 7   3   ?        "));
    }

    #[test]
    fn json_interval_objects() {
        let t = table(&Args::parse_from(["biotop", "--json"]));
        bpfkit::row::assert_keys_in_schema("biotop", &t.keys());
        bpfkit::row::assert_keys_in_schema("biotop", &["time", "loadavg", "rows"]);
        let (out, cap) = Output::captured(true);
        biotop::print(&out, &t, "12:00:00", "0.10 0.20 0.30 1/99 7", &[dd()]);
        biotop::print(&out, &t, "12:00:01", "0.10 0.20 0.30 1/99 7", &[]);
        let row = json!({"pid": 4242, "comm": "dd", "rw": "W", "major": 7, "minor": 3,
            "disk": "loop3", "count": 100, "bytes": 6553600, "avg_ms": 2.5, "time_us": 250000});
        assert_eq!(
            cap.json_lines(),
            [
                json!({"time": "12:00:00", "loadavg": "0.10 0.20 0.30 1/99 7", "rows": [row]}),
                json!({"time": "12:00:01", "loadavg": "0.10 0.20 0.30 1/99 7", "rows": []}),
            ]
        );
        // A table: the time and load line, then the header and rows.
        let (out, cap) = Output::captured(false);
        biotop::print(&out, &t, "12:00:00", "0.10", &[dd()]);
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "12:00:00 0.10");
        assert!(lines[1].starts_with("PID     COMM"), "{text}");
        assert_eq!(lines.len(), 3, "{text}");
    }
}
