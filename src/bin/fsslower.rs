//! fsslower — file reads, writes, opens and fsyncs slower than a threshold
//! on one file-system type; installed also as ext4slower, xfsslower,
//! btrfsslower, nfsslower and f2fsslower, which pick the type.
//!
//! Same flags and columns as libbpf-tools fsslower, plus `--json` and
//! `--probe`: fentry/fexit or kprobes on the file system's functions, else
//! the syscalls tracepoints with the file found from the fd (src/fsops.rs).
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::fsslower::Args;
use bpfkit::fsops::{self, FsOp, FsType, OP_LETTERS, OP_NAMES};
use bpfkit::row::{Cell, Table};
use bpfkit::skel::fsslower::FsslowerSkelBuilder;
use bpfkit::skel::fsslower::types::fs_event;
use bpfkit::{bpf, events};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, Skel};

fn main() -> ExitCode {
    bpfkit::main("fsslower", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let fs = FsType::chosen(args.fs, "slower")?;
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(FsslowerSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.min_lat_ns = args.min.saturating_mul(1_000_000);
    rodata.targ_fs = fsops::c_name(Some(fs.name()));
    rodata.targ_fs_alt = fsops::c_name(fs.alt_name());
    let mechanism = fsops::prepare(open.open_object_mut(), args.probe.mechanism, fs, false)?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let _kprobes = fsops::attach_kprobes(skel.object_mut(), fs, mechanism)?;
    let table = table(&args, fs);
    events::stream(
        &skel,
        &args.common,
        args.duration,
        &table,
        |e: &fs_event| Some(FsOp::from(e)),
    )
}

/// libbpf-tools' title line ("... for N secs." with `-d`).
fn title(args: &Args, fs: FsType) -> String {
    let what = match args.min {
        0 => format!("Tracing {} operations", fs.name()),
        ms => format!("Tracing {} operations slower than {ms} ms", fs.name()),
    };
    match args.duration {
        Some(d) => format!("{what} for {} secs.", d.as_secs()),
        None => format!("{what}... Hit Ctrl-C to end."),
    }
}

/// libbpf-tools' columns, or its `-c` csv (not with `--json`, whose keys
/// are the same either way).
fn table(args: &Args, fs: FsType) -> Table<'static, FsOp> {
    if args.csv && !args.common.json {
        return FsOp::csv();
    }
    Table::new()
        .title(title(args, fs))
        .time(true)
        .left("COMM", 16, "comm", |o: &FsOp| Cell::text(&o.comm))
        .left("PID", 7, "pid", |o| o.pid.into())
        .json("tid", |o| o.tid.into())
        .left("T", 1, "op", |o| {
            Cell::both(OP_LETTERS[o.op], OP_NAMES[o.op])
        })
        .left("BYTES", 7, "bytes", FsOp::bytes_cell)
        .left("OFF_KB", 8, "offset_bytes", |o| {
            Cell::both((o.offset / 1024).to_string(), o.offset)
        })
        .right("LAT(ms)", 7, "lat_ms", |o| {
            Cell::float(o.delta_us as f64 / 1000.0, 2)
        })
        .json("lat_us", |o| o.delta_us.into())
        .last("FILENAME", "filename", |o| Cell::text(&o.file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn op(op: usize, bytes: Option<i64>) -> FsOp {
        FsOp {
            pid: 181,
            tid: 182,
            comm: "dd".into(),
            op,
            bytes,
            offset: 8192,
            delta_us: 12345,
            end_ns: 99,
            file: "big\nfile".into(),
        }
    }

    #[test]
    fn rows_like_libbpf_tools() {
        // "%-8s %-16s %-7s %1s %-7s %-8s %7s %s"
        let t = table(&args(&["-t", "ext4"]), FsType::Ext4);
        let line = t.table_line(&op(0, Some(4096)));
        assert_eq!(
            &line[9..],
            "dd               181     R 4096    8          12.35 big\\nfile"
        );
        assert!(
            t.header_line()
                .ends_with("COMM             PID     T BYTES   OFF_KB   LAT(ms) FILENAME")
        );
        let line = t.table_line(&op(3, None));
        assert!(line.contains(" F LL_MAX  8 "), "{line}");
        assert_eq!(
            title(&args(&["-m", "0", "-d", "2"]), FsType::Xfs),
            "Tracing xfs operations for 2 secs."
        );
        assert_eq!(
            title(&args(&[]), FsType::Ext4),
            "Tracing ext4 operations slower than 10 ms... Hit Ctrl-C to end."
        );
    }

    #[test]
    fn csv_like_libbpf_tools() {
        let t = table(&args(&["-c"]), FsType::Ext4);
        assert_eq!(
            t.header_line(),
            "ENDTIME_ns,TASK,PID,TYPE,BYTES,OFFSET_b,LATENCY_us,FILE"
        );
        assert_eq!(
            t.table_line(&op(3, None)),
            "99,dd,181,F,LL_MAX,8192,12345,big\\nfile"
        );
    }

    #[test]
    fn json_has_names_and_exact_values() {
        let (out, capture) = Output::captured(true);
        let t = table(&args(&["--json", "-c"]), FsType::Ext4);
        t.print(&out, &op(1, Some(10)));
        t.print(&out, &op(3, None));
        let v = capture.json_lines();
        assert_eq!(v[0]["op"], "write");
        assert_eq!(
            (v[0]["bytes"].as_i64(), v[0]["offset_bytes"].as_i64()),
            (Some(10), Some(8192))
        );
        assert_eq!(
            (v[0]["lat_us"].as_u64(), v[0]["tid"].as_u64()),
            (Some(12345), Some(182))
        );
        assert_eq!(v[0]["filename"], "big\nfile");
        assert!(v[1]["bytes"].is_null());
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let keys = table(&args(&["--json"]), FsType::Ext4).keys();
        bpfkit::row::assert_keys_in_schema("fsslower", &keys);
    }
}
