//! biosnoop — trace block device I/O: one row per request, with its issuer,
//! disk, operation, sector, size and latency.
//!
//! Same flags and columns as libbpf-tools biosnoop, plus `--json` and
//! `--probe`: the issuer is taken where the request is accounted as started
//! (fentry or kprobe on blk_account_io_start, or the block_io_start
//! tracepoint of Linux 6.5); the request's times come from the
//! block_rq_insert/issue/complete tracepoints (tp_btf, else raw_tp).
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::biosnoop::Args;
use bpfkit::blk::{self, ReqFlags};
use bpfkit::disks::Partitions;
use bpfkit::probe::{self, Mechanism};
use bpfkit::row::{Align, Cell, Table};
use bpfkit::skel::biosnoop::BiosnoopSkelBuilder;
use bpfkit::skel::biosnoop::types::bio_event;
use bpfkit::{bpf, cgroup, events, fmt, hooks};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("biosnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let partitions = Partitions::load()?;
    let dev = blk::disk_filter(&partitions, args.disk.as_deref())?;
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let choice = probe::choose(args.probe.mechanism, &hooks::biosnoop())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(BiosnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_queued = args.queued;
    rodata.filter_dev = dev.is_some();
    rodata.targ_dev = dev.unwrap_or(0);
    rodata.min_ns = args.min.unwrap_or(0).saturating_mul(1_000_000);
    rodata.filter_cg = cgroup.is_on();
    rodata.blk_rq_takes_queue = blk::rq_tracepoints_take_queue();
    let mut tracepoints = vec!["block_rq_insert", "block_rq_issue", "block_rq_complete"];
    if choice.mechanism == Mechanism::Tracepoint {
        tracepoints.push("block_io_start");
    }
    bpfkit::output::note(format_args!("{}", choice.message));
    probe::apply_raw_tp_style(open.open_object_mut(), &tracepoints);
    let m = choice.mechanism;
    blk::autoload_off(open.open_object_mut(), |name| match name {
        "io_start_fentry" => m != Mechanism::Fentry,
        "io_start_kprobe" => m != Mechanism::Kprobe,
        "io_start_btf" | "io_start_raw" => m != Mechanism::Tracepoint,
        // Nothing starts at insert without -Q (libbpf-tools loads it only then).
        _ => name.starts_with("block_rq_insert") && !args.queued,
    });
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;
    let flags = ReqFlags::load();
    let mut since_first = fmt::SinceFirst::default();
    events::stream(
        &skel,
        &args.common,
        args.duration,
        &table(&args),
        |e: &bio_event| {
            Some(Io {
                elapsed_s: since_first.secs(e.ts_ns / 1000),
                comm: fmt::c_chars(&e.comm),
                pid: e.pid,
                disk: partitions.name_of(e.dev).to_string(),
                rwbs: flags.rwbs(e.cmd_flags),
                op: flags.op(e.cmd_flags).map(str::to_lowercase),
                sector: e.sector,
                bytes: e.len,
                queue_ms: (e.qdelta_ns >= 0).then(|| e.qdelta_ns as f64 / 1e6),
                lat_ms: e.delta_ns as f64 / 1e6,
            })
        },
    )
}

/// One completed request.
struct Io {
    elapsed_s: f64,
    comm: String,
    pid: u32,
    disk: String,
    rwbs: String,
    op: Option<String>,
    sector: u64,
    bytes: u32,
    /// `-Q`: insert to issue; `None` when the insert was not seen.
    queue_ms: Option<f64>,
    lat_ms: f64,
}

/// libbpf-tools' columns: `%-11.6f` TIME(s) (or `-t`'s `%-8s.%03ld`
/// TIMESTAMP), `%-14.14s %-7d %-7s %-4s %-10lld %-7d`, QUE(ms) with `-Q`
/// and LAT(ms) as `%7.3f` (a missed insert shows QUE -1.000).
fn table(args: &Args) -> Table<'static, Io> {
    Table::new()
        .table_only("TIMESTAMP", 12, Align::Left, |_| Cell::text(hms_millis()))
        .only_if(args.timestamp)
        .json("time", |_| Cell::text(fmt::hms_now()))
        .only_if(args.timestamp)
        .left("TIME(s)", 11, "elapsed_s", |r: &Io| {
            Cell::Float(r.elapsed_s, 6)
        })
        .shown_if(!args.timestamp)
        .left("COMM", 14, "comm", |r| Cell::text_cut(&r.comm, 14))
        .left("PID", 7, "pid", |r| r.pid.into())
        .left("DISK", 7, "disk", |r| Cell::text(&r.disk))
        .left("T", 4, "rwbs", |r| Cell::text(&r.rwbs))
        .json("op", |r| Cell::opt_text(r.op.clone(), "-"))
        .left("SECTOR", 10, "sector", |r| r.sector.into())
        .left("BYTES", 7, "bytes", |r| r.bytes.into())
        .table_only("QUE(ms)", 7, Align::Right, |r| {
            Cell::Float(r.queue_ms.unwrap_or(-1.0), 3)
        })
        .only_if(args.queued)
        .json("queue_ms", |r| {
            r.queue_ms.map_or(Cell::Null("-"), |q| Cell::Float(q, 3))
        })
        .only_if(args.queued)
        .right("LAT(ms)", 7, "lat_ms", |r| Cell::Float(r.lat_ms, 3))
}

/// libbpf-tools' `-t`: wall-clock `HH:MM:SS.mmm` when the row is printed.
fn hms_millis() -> String {
    chrono::Local::now().format("%H:%M:%S%.3f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("biosnoop").chain(argv.iter().copied())).unwrap()
    }

    fn io(queue_ms: Option<f64>) -> Io {
        Io {
            elapsed_s: 1.25,
            comm: "dd-with-a-long-name".into(),
            pid: 4242,
            disk: "loop3".into(),
            rwbs: "WS".into(),
            op: Some("write".into()),
            sector: 2048,
            bytes: 8192,
            queue_ms,
            lat_ms: 0.0125,
        }
    }

    #[test]
    fn rows_like_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(
            t.header_line(),
            "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)"
        );
        assert_eq!(
            t.table_line(&io(None)),
            "1.250000    dd-with-a-long 4242    loop3   WS   2048       8192      0.013"
        );
        let t = table(&args(&["-Q"]));
        assert_eq!(
            t.header_line(),
            "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   QUE(ms) LAT(ms)"
        );
        assert!(
            t.table_line(&io(None))
                .ends_with(" 8192     -1.000   0.013"),
            "{}",
            t.table_line(&io(None))
        );
        assert!(t.table_line(&io(Some(0.5))).ends_with("  0.500   0.013"));
        let t = table(&args(&["-t"]));
        assert!(
            t.header_line().starts_with("TIMESTAMP    COMM "),
            "{}",
            t.header_line()
        );
    }

    #[test]
    fn json_rows() {
        let (out, cap) = Output::captured(true);
        table(&args(&["-Q", "--json"])).print(&out, &io(None));
        let v = &cap.json_lines()[0];
        assert_eq!(v["comm"], "dd-with-a-long-name");
        assert_eq!(
            (v["pid"].as_u64(), v["bytes"].as_u64()),
            (Some(4242), Some(8192))
        );
        assert_eq!(
            (v["rwbs"].as_str(), v["op"].as_str()),
            (Some("WS"), Some("write"))
        );
        assert!(v["queue_ms"].is_null());
        assert_eq!(v["elapsed_s"], 1.25);
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("biosnoop", &table(&args(&["-Q", "-t"])).keys());
    }
}
