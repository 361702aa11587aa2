//! fsdist — latency histograms of file reads, writes, opens, fsyncs and
//! getattrs on one file-system type; installed also as ext4dist, xfsdist,
//! btrfsdist, nfsdist and f2fsdist, which pick the type.
//!
//! Same flags and output as libbpf-tools fsdist, plus `--json` and
//! `--probe`: fentry/fexit or kprobes on the file system's functions, else
//! the syscalls tracepoints with the file found from the fd (src/fsops.rs;
//! getattr is then not seen).
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::fsdist::Args;
use bpfkit::fsops::{self, FsType, OP_NAMES};
use bpfkit::globals::Counters;
use bpfkit::hist::{Histogram, Spacing};
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::skel::fsdist::FsdistSkelBuilder;
use bpfkit::skel::fsdist::types::fs_hist;
use bpfkit::{Output, bpf};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, Skel};
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("fsdist", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let fs = FsType::chosen(args.fs, "dist")?;
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(FsdistSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.in_ms = args.milliseconds;
    rodata.targ_fs = fsops::c_name(Some(fs.name()));
    rodata.targ_fs_alt = fsops::c_name(fs.alt_name());
    let mechanism = fsops::prepare(open.open_object_mut(), args.probe.mechanism, fs, true)?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let _kprobes = fsops::attach_kprobes(skel.object_mut(), fs, mechanism)?;
    // The programs add to these globals while we read them.
    let counters = Counters::new(skel.maps.bss_data.as_deref_mut())?;
    let out = Output::stdout(args.common.json)?;
    let unit = if args.milliseconds { "msecs" } else { "usecs" };
    IntervalLoop::new(&out)
        .every(args.prints.interval)
        .count(args.prints.count)
        .duration(args.duration)
        .timestamp(args.timestamp)
        .banner(format!(
            "Tracing {} operation latency... Hit Ctrl-C to end.",
            fs.name()
        ))
        .run(|tick| {
            print_hists(&out, fs, unit, tick, &counters.take().hists);
            Ok(())
        })
}

/// libbpf-tools' `print_hists`: each operation seen, as `operation = 'read'`
/// and its histogram, then an empty line; JSON: one object per operation.
fn print_hists(out: &Output, fs: FsType, unit: &str, tick: &Tick, hists: &[fs_hist]) {
    for (op, h) in hists.iter().enumerate().take(OP_NAMES.len()) {
        let hist = Histogram::log2(&h.slots, unit);
        if hist.is_empty() {
            continue;
        }
        let mut fields = tick.fields();
        fields["fs"] = json!(fs.name());
        fields["op"] = json!(OP_NAMES[op]);
        let header = format!("operation = '{}'", OP_NAMES[op]);
        hist.print_spaced(out, Spacing::After, Some(&header), fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick() -> Tick {
        Tick {
            time: None,
            number: 1,
            last: true,
        }
    }

    fn hists() -> [fs_hist; 5] {
        let mut h = [fs_hist::default(); 5];
        h[0].slots[3] = 7;
        h[3].slots[10] = 1;
        h
    }

    #[test]
    fn operations_like_libbpf_tools() {
        let (out, cap) = Output::captured(false);
        print_hists(&out, FsType::Ext4, "usecs", &tick(), &hists());
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "operation = 'read'");
        assert_eq!(lines[1], "     usecs               : count    distribution");
        assert_eq!(
            lines[5],
            format!("         8 -> 15         : 7        |{}|", "*".repeat(40))
        );
        assert_eq!(lines[6], "");
        assert_eq!(lines[7], "operation = 'fsync'");
        assert!(!text.contains("'write'"), "empty histograms are left out");
    }

    #[test]
    fn json_names_the_operation_and_file_system() {
        let (out, cap) = Output::captured(true);
        print_hists(&out, FsType::Xfs, "msecs", &tick(), &hists());
        let v = cap.json_lines();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0]["fs"].as_str(), v[0]["op"].as_str()),
            (Some("xfs"), Some("read"))
        );
        assert_eq!(
            (v[1]["op"].as_str(), v[1]["count"].as_u64()),
            (Some("fsync"), Some(1))
        );
        assert_eq!(v[0]["unit"], "msecs");
        bpfkit::row::assert_keys_in_schema("fsdist", &["fs", "op"]);
    }
}
