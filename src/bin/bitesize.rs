//! bitesize — block device I/O size as log2 histograms in KiB, one per
//! process name.
//!
//! Same flags and output as libbpf-tools bitesize (`-c COMM`, `-d DISK`,
//! `-T`, `[interval] [count]`), plus `--json`. The kernel side hooks
//! block_rq_issue as a BTF-typed tracepoint, or a raw tracepoint where the
//! kernel lacks tp_btf.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::bitesize::Args;
use bpfkit::disks::Partitions;
use bpfkit::hist::{Histogram, Spacing};
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::skel::bitesize::BitesizeSkelBuilder;
use bpfkit::skel::bitesize::types::{hist, hist_key};
use bpfkit::{Output, bpf, fmt, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("bitesize", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    // A wrong disk fails before anything is loaded.
    let disk = match &args.disk {
        Some(name) => Some(Partitions::load()?.by_name(name)?.dev),
        None => None,
    };
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(BitesizeSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    if let Some(comm) = &args.comm {
        fmt::to_c_chars(comm, &mut rodata.targ_comm);
    }
    rodata.filter_dev = disk.is_some();
    rodata.targ_dev = disk.unwrap_or(0);
    probe::apply_raw_tp_style(open.open_object_mut(), &["block_rq_issue"]);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.count)
        .timestamp(args.timestamp)
        .banner("Tracing block device I/O... Hit Ctrl-C to end.")
        .run(|tick| {
            // Read and delete: each interval starts afresh, as in libbpf-tools.
            let mut entries: Vec<(hist_key, hist)> = bpf::drain_map(&skel.maps.hists)?;
            entries.sort_by_key(|(k, _)| fmt::c_chars(&k.comm));
            for (key, h) in &entries {
                print_hist(&out, tick, &fmt::c_chars(&key.comm), h);
            }
            Ok(())
        })
}

/// One process name's histogram after an empty line and libbpf-tools'
/// `Process Name = comm` line; in JSON one object keyed by `comm`.
fn print_hist(out: &Output, tick: &Tick, comm: &str, h: &hist) {
    let mut fields = tick.fields();
    fields["comm"] = json!(comm);
    let header = format!("Process Name = {}", fmt::escape_control(comm));
    Histogram::log2(&h.slots, "Kbytes").print_spaced(out, Spacing::Before, Some(&header), fields);
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

    fn sizes() -> hist {
        let mut h = hist::default();
        h.slots[2] = 30;
        h.slots[6] = 20;
        h
    }

    #[test]
    fn table_like_libbpf_tools() {
        let (out, cap) = Output::captured(false);
        print_hist(&out, &tick(), "dd", &sizes());
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "Process Name = dd");
        assert_eq!(lines[2], "     Kbytes              : count    distribution");
        assert_eq!(
            lines[5],
            format!("         4 -> 7          : 30       |{}|", "*".repeat(40))
        );
        assert_eq!(
            lines[9],
            format!(
                "        64 -> 127        : 20       |{}{}|",
                "*".repeat(26),
                " ".repeat(14)
            )
        );
        assert_eq!(lines.len(), 10);
        // A name with control bytes cannot forge lines.
        let (out, cap) = Output::captured(false);
        print_hist(&out, &tick(), "a\nb", &sizes());
        assert_eq!(cap.text().lines().nth(1), Some("Process Name = a\\nb"));
    }

    #[test]
    fn json_one_object_per_comm() {
        let (out, cap) = Output::captured(true);
        print_hist(&out, &tick(), "dd", &sizes());
        let v = &cap.json_lines()[0];
        assert_eq!(v["comm"], "dd");
        assert_eq!(v["unit"], "Kbytes");
        assert_eq!(v["count"], 50);
        assert_eq!(v["buckets"][2], json!({"low": 4, "high": 7, "count": 30}));
        assert_eq!(
            v["buckets"][6],
            json!({"low": 64, "high": 127, "count": 20})
        );
        bpfkit::row::assert_keys_in_schema("bitesize", &["comm"]);
    }
}
