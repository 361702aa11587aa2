//! vfsstat — count some VFS calls: reads, writes, fsyncs, opens, creates,
//! unlinks, mkdirs and rmdirs per second, one line per interval.
//!
//! Same arguments and columns as libbpf-tools vfsstat (`interval [count]`),
//! plus `--json` and `--probe`: fentry or kprobes on the vfs_* functions
//! (as libbpf-tools), or syscall tracepoints, which count syscalls.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use bpfkit::args::vfsstat::Args;
use bpfkit::interval::IntervalLoop;
use bpfkit::row::{Align, Cell, Table};
use bpfkit::skel::vfsstat::VfsstatSkelBuilder;
use bpfkit::vfsstat::{Deltas, select_programs, totals};
use bpfkit::{Output, bpf, stop};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("vfsstat", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(VfsstatSkelBuilder::default(), &mut object, &args.common)?;
    select_programs(open.open_object_mut(), args.probe.mechanism)?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let out = Output::stdout(args.common.json)?;
    let table = table();
    table.print_header(&out);
    let (mut deltas, every) = (Deltas::default(), Duration::from_secs(args.interval));
    let mut since = Instant::now();
    IntervalLoop::new(&out)
        .every(Some(every))
        .count(args.count)
        .duration(args.duration)
        .no_blank_line()
        .run(|_| {
            let counted = deltas.next(totals(&skel.maps.counts)?);
            // An interval cut short (a stop, the end of -d) gets no line:
            // its rate would be divided by the whole interval.
            let whole = since.elapsed() >= every.mul_f64(0.95);
            since = Instant::now();
            if whole && !stop::requested() {
                let row = Rates {
                    time: bpfkit::fmt::hms_now(),
                    per_s: counted.map(|n| n / args.interval),
                };
                table.print(&out, &row);
            }
            Ok(())
        })
}

/// One interval: the time it ended and each operation per second.
struct Rates {
    time: String,
    per_s: [u64; 8],
}

/// libbpf-tools' columns: `%-8s: ` (TIME) and ` %8llu` per operation,
/// headed `%-8s  ` and ` %6s/s`.
fn table() -> Table<'static, Rates> {
    const HEADERS: [&str; 8] = [
        "READ/s", "WRITE/s", "FSYNC/s", "OPEN/s", "CREATE/s", "UNLINK/s", "MKDIR/s", "RMDIR/s",
    ];
    const KEYS: [&str; 8] = [
        "read_per_s",
        "write_per_s",
        "fsync_per_s",
        "open_per_s",
        "create_per_s",
        "unlink_per_s",
        "mkdir_per_s",
        "rmdir_per_s",
    ];
    let mut t = Table::new()
        .table_only("TIME", 9, Align::Left, |r: &Rates| {
            Cell::text(format!("{}:", r.time))
        })
        .json("time", |r| Cell::text(&r.time));
    for i in 0..HEADERS.len() {
        t = t.right(HEADERS[i], 8, KEYS[i], move |r| r.per_s[i].into());
        if i == 0 {
            t = t.sep("  ");
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn rates() -> Rates {
        Rates {
            time: "10:11:12".into(),
            per_s: [1234, 567, 0, 89, 1, 2, 3, 4],
        }
    }

    #[test]
    fn rows_like_libbpf_tools() {
        let t = table();
        // printf("%-8s  ", "TIME"); printf(" %6s/s", name) per operation.
        assert_eq!(
            t.header_line(),
            "TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s UNLINK/s  MKDIR/s  RMDIR/s"
        );
        // printf("%-8s: ", time); printf(" %8llu", rate) per operation.
        assert_eq!(
            t.table_line(&rates()),
            "10:11:12:      1234      567        0       89        1        2        3        4"
        );
    }

    #[test]
    fn json_is_one_object_per_interval() {
        let (out, capture) = Output::captured(true);
        table().print(&out, &rates());
        let v = &capture.json_lines()[0];
        assert_eq!(v["time"], "10:11:12");
        assert_eq!(
            (v["read_per_s"].as_u64(), v["rmdir_per_s"].as_u64()),
            (Some(1234), Some(4))
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("vfsstat", &table().keys());
    }
}
