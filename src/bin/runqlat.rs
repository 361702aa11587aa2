//! runqlat — lesson 9: summarize run queue (scheduler) latency, the time
//! runnable tasks wait for a CPU, as a log2 histogram.
//!
//! Same flags and output as libbpf-tools runqlat, plus `--json`. The kernel
//! side hooks sched_wakeup, sched_wakeup_new and sched_switch as BTF-typed
//! tracepoints, or raw tracepoints where the kernel lacks tp_btf.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::runqlat::{Args, Per};
use bpfkit::hist::{Histogram, Spacing};
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::skel::runqlat::RunqlatSkelBuilder;
use bpfkit::skel::runqlat::types::hist;
use bpfkit::{Output, bpf, cgroup, fmt, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

/// The tracepoints the programs hook (tp_btf or raw_tp).
const TRACEPOINTS: [&str; 3] = ["sched_wakeup", "sched_wakeup_new", "sched_switch"];

fn main() -> ExitCode {
    bpfkit::main("runqlat", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let per = args.per();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(RunqlatSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_per_process = per == Per::Process;
    rodata.targ_per_thread = per == Per::Thread;
    rodata.targ_per_pidns = per == Per::PidNs;
    rodata.targ_ms = args.milliseconds;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.filter_cg = cgroup.is_on();
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let hists = &skel.maps.hists;
    let unit = if args.milliseconds { "msecs" } else { "usecs" };
    IntervalLoop::new(&out)
        .every(args.prints.interval)
        .count(args.prints.count)
        .timestamp(args.timestamp)
        .banner("Tracing run queue latency... Hit Ctrl-C to end.")
        .run(|tick| {
            // Read and delete: each interval starts afresh, as in libbpf-tools.
            let mut entries: Vec<(u32, hist)> = bpf::drain_map(hists)?;
            entries.sort_by_key(|e| e.0);
            for (key, h) in &entries {
                print_hist(&out, per, unit, tick, *key, h);
            }
            Ok(())
        })
}

/// One histogram; in a table, a per-key one after an empty line and its
/// section header, as libbpf-tools' `printf("\npid = %d %s\n", ...)`.
fn print_hist(out: &Output, per: Per, unit: &str, tick: &Tick, key: u32, h: &hist) {
    let comm = fmt::c_chars(&h.comm);
    let section = section(per, key, &comm);
    let spacing = section.as_ref().map_or(Spacing::None, |_| Spacing::Before);
    let mut fields = tick.fields();
    if let Some((name, _)) = &section {
        fields[name] = json!(key);
        fields["comm"] = json!(comm);
    }
    Histogram::log2(&h.slots, unit).print_spaced(
        out,
        spacing,
        section.as_ref().map(|s| s.1.as_str()),
        fields,
    );
}

/// The JSON key of a per-process/thread/namespace histogram and the line
/// libbpf-tools prints above it; none for the single system-wide one.
fn section(per: Per, key: u32, comm: &str) -> Option<(&'static str, String)> {
    match per {
        Per::All => None,
        Per::Process => Some(("pid", format!("pid = {} {comm}", key as i32))),
        Per::Thread => Some(("tid", format!("tid = {} {comm}", key as i32))),
        Per::PidNs => Some(("pidns", format!("pidns = {key} {comm}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn section_headers_like_libbpf_tools() {
        assert_eq!(section(Per::All, u32::MAX, "x"), None);
        let line = |per, key, comm| section(per, key, comm).unwrap().1;
        assert_eq!(line(Per::Process, 123, "bash"), "pid = 123 bash");
        assert_eq!(line(Per::Thread, 7, "worker"), "tid = 7 worker");
        assert_eq!(
            line(Per::PidNs, 4026531836, "systemd"),
            "pidns = 4026531836 systemd"
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let keys = [Per::Process, Per::Thread, Per::PidNs].map(|p| section(p, 1, "x").unwrap().0);
        bpfkit::row::assert_keys_in_schema("runqlat", &keys);
    }

    fn tick(time: Option<&str>) -> Tick {
        Tick {
            time: time.map(String::from),
            number: 1,
            last: true,
        }
    }

    fn busy() -> hist {
        let mut h = hist::default();
        h.slots[2] = 3;
        for (d, s) in h.comm.iter_mut().zip(b"busy") {
            *d = *s as i8;
        }
        h
    }

    #[test]
    fn json_key_fields() {
        let fields = |per, key, time| {
            let (out, cap) = Output::captured(true);
            print_hist(&out, per, "usecs", &tick(time), key, &busy());
            let mut v: Value = cap.json_lines().remove(0);
            for k in ["unit", "buckets", "count"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        };
        assert_eq!(fields(Per::All, u32::MAX, None), json!({}));
        assert_eq!(
            fields(Per::Process, 42, Some("12:00:00")),
            json!({"time": "12:00:00", "pid": 42, "comm": "busy"})
        );
        assert_eq!(
            fields(Per::Thread, 43, None),
            json!({"tid": 43, "comm": "busy"})
        );
        assert_eq!(
            fields(Per::PidNs, 4026531836, None),
            json!({"pidns": 4026531836u32, "comm": "busy"})
        );
    }

    #[test]
    fn tables_with_headers_and_blank_lines() {
        let (out, cap) = Output::captured(false);
        print_hist(&out, Per::Process, "usecs", &tick(None), 9, &busy());
        print_hist(&out, Per::All, "msecs", &tick(None), u32::MAX, &busy());
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "pid = 9 busy");
        assert_eq!(lines[2], "     usecs               : count    distribution");
        assert_eq!(
            lines[5],
            format!("         4 -> 7          : 3        |{}|", "*".repeat(40))
        );
        // The system-wide histogram has neither blank line nor header.
        assert_eq!(lines[6], "     msecs               : count    distribution");
        assert_eq!(lines.len(), 10);
        // JSON: one object with the key fields.
        let (out, cap) = Output::captured(true);
        print_hist(&out, Per::Thread, "usecs", &tick(None), 9, &busy());
        let v = &cap.json_lines()[0];
        assert_eq!(v["tid"], 9);
        assert_eq!(v["comm"], "busy");
        assert_eq!(v["count"], 3);
        assert_eq!(v["buckets"][2], json!({"low": 4, "high": 7, "count": 3}));
    }
}
