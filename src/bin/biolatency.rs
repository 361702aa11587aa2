//! biolatency — summarize block device I/O latency as log2 histograms:
//! from issue (or, with `-Q`, from insertion in the I/O scheduler) to
//! completion.
//!
//! Same flags and output as libbpf-tools biolatency, plus `--json`. The
//! kernel side hooks block_rq_insert, block_rq_issue and block_rq_complete as
//! BTF-typed tracepoints, or raw tracepoints where the kernel lacks tp_btf.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::biolatency::Args;
use bpfkit::blk::{self, ReqFlags};
use bpfkit::disks::Partitions;
use bpfkit::hist::{Histogram, Spacing};
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::skel::biolatency::BiolatencySkelBuilder;
use bpfkit::skel::biolatency::types::{hist, hist_key};
use bpfkit::{Output, bpf, cgroup, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

/// The tracepoints the programs hook (tp_btf or raw_tp).
const TRACEPOINTS: [&str; 3] = ["block_rq_insert", "block_rq_issue", "block_rq_complete"];

fn main() -> ExitCode {
    bpfkit::main("biolatency", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let partitions = Partitions::load()?;
    let dev = blk::disk_filter(&partitions, args.disk.as_deref())?;
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(BiolatencySkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_per_disk = args.per_disk;
    rodata.targ_per_flag = args.per_flag;
    rodata.targ_queued = args.queued;
    rodata.targ_ms = args.milliseconds;
    rodata.filter_dev = dev.is_some();
    rodata.targ_dev = dev.unwrap_or(0);
    rodata.filter_cg = cgroup.is_on();
    rodata.blk_rq_takes_queue = blk::rq_tracepoints_take_queue();
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    if !args.queued {
        // Without -Q nothing starts at insert (libbpf-tools loads it only then).
        blk::autoload_off(open.open_object_mut(), |name| {
            name.starts_with("block_rq_insert")
        });
    }
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let labels = Labels {
        partitions,
        flags: ReqFlags::load(),
        per_disk: args.per_disk,
        per_flag: args.per_flag,
    };
    let unit = if args.milliseconds { "msecs" } else { "usecs" };
    IntervalLoop::new(&out)
        .every(args.prints.interval)
        .count(args.prints.count)
        .timestamp(args.timestamp)
        .banner("Tracing block device I/O... Hit Ctrl-C to end.")
        .run(|tick| {
            // Read and delete: each interval starts afresh, as in libbpf-tools.
            let mut entries: Vec<(hist_key, hist)> = bpf::drain_map(&skel.maps.hists)?;
            entries.sort_by_key(|(k, _)| (k.dev, k.cmd_flags));
            for (key, h) in &entries {
                print_hist(&out, &labels, unit, tick, key, h);
            }
            Ok(())
        })
}

/// What names a histogram's key.
struct Labels {
    partitions: Partitions,
    flags: ReqFlags,
    per_disk: bool,
    per_flag: bool,
}

/// One histogram under libbpf-tools' header: `disk = sda` (after an empty
/// line) and/or `flags = Sync-Write`; an empty line when it has neither.
fn print_hist(out: &Output, l: &Labels, unit: &str, tick: &Tick, key: &hist_key, h: &hist) {
    let mut fields = tick.fields();
    let mut header = Vec::new();
    if l.per_disk {
        let disk = l.partitions.name_of(key.dev);
        header.push(format!("disk = {disk}"));
        fields["disk"] = json!(disk);
    }
    if l.per_flag {
        let flags = l.flags.label(key.cmd_flags);
        header.push(format!("flags = {flags}"));
        fields["req_flags"] = json!(flags);
    }
    let spacing = if l.per_disk {
        Spacing::Before
    } else {
        Spacing::None
    };
    Histogram::log2(&h.slots, unit).print_spaced(out, spacing, Some(&header.join("\t")), fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::disks::Partitions;
    use serde_json::Value;

    fn labels(per_disk: bool, per_flag: bool) -> Labels {
        Labels {
            partitions: Partitions::parse("major minor #blocks name\n 7 3 65536 loop3\n"),
            flags: ReqFlags::fallback(),
            per_disk,
            per_flag,
        }
    }

    fn tick() -> Tick {
        Tick {
            time: None,
            number: 1,
            last: true,
        }
    }

    fn sample() -> (hist_key, hist) {
        let mut h = hist::default();
        h.slots[3] = 200;
        let key = hist_key {
            dev: (7 << 20) | 3,
            cmd_flags: 1 | 1 << 11,
        };
        (key, h)
    }

    fn table(per_disk: bool, per_flag: bool) -> Vec<String> {
        let (out, cap) = Output::captured(false);
        let (k, h) = sample();
        print_hist(&out, &labels(per_disk, per_flag), "usecs", &tick(), &k, &h);
        cap.text().lines().map(String::from).collect()
    }

    #[test]
    fn headers_like_libbpf_tools() {
        assert_eq!(
            table(true, false)[..3],
            [
                "",
                "disk = loop3",
                "     usecs               : count    distribution"
            ]
        );
        assert_eq!(table(true, true)[1], "disk = loop3\tflags = Sync-Write");
        assert_eq!(table(false, true)[0], "flags = Sync-Write");
        // Neither: libbpf-tools prints the empty line its header would end.
        assert_eq!(table(false, false)[0], "");
        assert_eq!(
            table(false, false)[1],
            "     usecs               : count    distribution"
        );
    }

    #[test]
    fn json_has_disk_and_flags() {
        let (out, cap) = Output::captured(true);
        let (k, h) = sample();
        print_hist(&out, &labels(true, true), "usecs", &tick(), &k, &h);
        let v: Value = cap.json_lines().remove(0);
        assert_eq!(
            (v["disk"].as_str(), v["req_flags"].as_str()),
            (Some("loop3"), Some("Sync-Write"))
        );
        assert_eq!(v["count"], 200);
        bpfkit::row::assert_value_keys_in_schema("biolatency", &v);
    }
}
