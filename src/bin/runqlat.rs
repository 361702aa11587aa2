//! runqlat — lesson 9: summarize run queue (scheduler) latency, the time
//! runnable tasks wait for a CPU, as a log2 histogram.
//!
//! Same flags and output as libbpf-tools runqlat, plus `--json`. The kernel
//! side hooks sched_wakeup, sched_wakeup_new and sched_switch as BTF-typed
//! tracepoints, or raw tracepoints where the kernel lacks tp_btf.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::runqlat::Args;
use bpfkit::cli::{self};
use bpfkit::hist::{Histogram, IntervalLoop, Tick};
use bpfkit::skel::runqlat::RunqlatSkelBuilder;
use bpfkit::skel::runqlat::types::hist;
use bpfkit::{Output, bpf, cgroup, fmt, probe};
use clap::Parser;
use libbpf_rs::MapCore;
use libbpf_rs::skel::OpenSkel;
use serde_json::{Map, Value, json};

/// The tracepoints the programs hook (tp_btf or raw_tp).
const TRACEPOINTS: [&str; 3] = ["sched_wakeup", "sched_wakeup_new", "sched_switch"];

/// What the histograms are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Per {
    All,
    Process,
    Thread,
    PidNs,
}

impl Per {
    fn of(args: &Args) -> Per {
        if args.pids {
            Per::Process
        } else if args.tids {
            Per::Thread
        } else if args.pidnss {
            Per::PidNs
        } else {
            Per::All
        }
    }
}

fn main() -> ExitCode {
    bpfkit::main("runqlat", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    if let Some(path) = &args.cgroup {
        // Fail before loading anything when the path is wrong.
        cgroup::open_cgroup(path)?;
    }
    let per = Per::of(&args);
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(RunqlatSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_per_process = per == Per::Process;
    rodata.targ_per_thread = per == Per::Thread;
    rodata.targ_per_pidns = per == Per::PidNs;
    rodata.targ_ms = args.milliseconds;
    rodata.targ_tgid = args.pid.unwrap_or(0);
    rodata.filter_cg = args.cgroup.is_some();
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    let mut skel = bpf::load(open)?;
    if let Some(path) = &args.cgroup {
        cgroup::set_filter(&skel.maps.cgroup_map, path)?;
    }
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let hists = &skel.maps.hists;
    IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.count)
        .timestamp(args.timestamp)
        .banner("Tracing run queue latency... Hit Ctrl-C to end.")
        .run(|tick| print_map(&out, hists, &args, per, tick))
}

/// Reads every histogram, prints it, and deletes it (each interval starts
/// afresh, as in libbpf-tools).
fn print_map(out: &Output, map: &dyn MapCore, args: &Args, per: Per, tick: &Tick) -> Result<()> {
    let mut entries: Vec<(u32, hist)> = bpf::drain_map(map)?;
    entries.sort_by_key(|e| e.0);
    let unit = if args.milliseconds { "msecs" } else { "usecs" };
    for (key, h) in &entries {
        print_hist(out, per, unit, tick, *key, h);
    }
    Ok(())
}

/// One histogram; in a table, a per-key one after an empty line and its
/// section header, as libbpf-tools' `printf("\npid = %d %s\n", ...)`.
fn print_hist(out: &Output, per: Per, unit: &str, tick: &Tick, key: u32, h: &hist) {
    let comm = fmt::c_chars(&h.comm);
    let header = section_header(per, key, &comm);
    if header.is_some() && !out.is_json() {
        out.line(format_args!(""));
    }
    Histogram::log2(&h.slots, unit).print(
        out,
        header.as_deref(),
        json_fields(per, key, &comm, tick),
    );
}

/// The line above a per-process/thread/namespace histogram, as libbpf-tools
/// prints it; none for the single system-wide histogram.
fn section_header(per: Per, key: u32, comm: &str) -> Option<String> {
    match per {
        Per::All => None,
        Per::Process => Some(format!("pid = {} {comm}", key as i32)),
        Per::Thread => Some(format!("tid = {} {comm}", key as i32)),
        Per::PidNs => Some(format!("pidns = {key} {comm}")),
    }
}

/// The JSON key fields of one histogram.
fn json_fields(per: Per, key: u32, comm: &str, tick: &Tick) -> Value {
    let mut m = Map::new();
    if let Some(t) = &tick.time {
        m.insert("time".into(), json!(t));
    }
    let name = match per {
        Per::All => None,
        Per::Process => Some("pid"),
        Per::Thread => Some("tid"),
        Per::PidNs => Some("pidns"),
    };
    if let Some(name) = name {
        m.insert(name.into(), json!(key));
        m.insert("comm".into(), json!(comm));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::PathBuf;
    use std::time::Duration;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("runqlat").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&["-mT", "1", "10"]).unwrap();
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.count, Some(10));
        assert!(a.milliseconds && a.timestamp);
        assert_eq!(Per::of(&a), Per::All);
        let a = parse(&["-P", "-p", "185", "-c", "/sys/fs/cgroup/x"]).unwrap();
        assert_eq!(Per::of(&a), Per::Process);
        assert_eq!(a.pid, Some(185));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert_eq!((a.interval, a.count), (None, None));
        assert_eq!(Per::of(&parse(&["-L"]).unwrap()), Per::Thread);
        assert_eq!(Per::of(&parse(&["--pidnss"]).unwrap()), Per::PidNs);
        let a = parse(&["--pids", "--milliseconds", "--pid=3", "--json", "5"]).unwrap();
        assert!(a.pids && a.milliseconds && a.common.json);
        assert_eq!(a.interval, Some(Duration::from_secs(5)));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-P", "-L"][..],
            &["-P", "--pidnss"],
            &["-L", "--pidnss"],
            &["0"],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-p", "0"],
            &["-p", "abc"],
            &["-c"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn section_headers_like_libbpf_tools() {
        assert_eq!(section_header(Per::All, u32::MAX, "x"), None);
        assert_eq!(
            section_header(Per::Process, 123, "bash").as_deref(),
            Some("pid = 123 bash")
        );
        assert_eq!(
            section_header(Per::Thread, 7, "worker").as_deref(),
            Some("tid = 7 worker")
        );
        assert_eq!(
            section_header(Per::PidNs, 4026531836, "systemd").as_deref(),
            Some("pidns = 4026531836 systemd")
        );
    }

    fn tick(time: Option<&str>) -> Tick {
        Tick {
            time: time.map(String::from),
            number: 1,
            last: true,
        }
    }

    #[test]
    fn json_key_fields() {
        assert_eq!(json_fields(Per::All, u32::MAX, "x", &tick(None)), json!({}));
        assert_eq!(
            json_fields(Per::Process, 42, "sh", &tick(Some("12:00:00"))),
            json!({"time": "12:00:00", "pid": 42, "comm": "sh"})
        );
        assert_eq!(
            json_fields(Per::Thread, 43, "t", &tick(None)),
            json!({"tid": 43, "comm": "t"})
        );
        assert_eq!(
            json_fields(Per::PidNs, 4026531836, "init", &tick(None)),
            json!({"pidns": 4026531836u32, "comm": "init"})
        );
    }

    #[test]
    fn tables_with_headers_and_blank_lines() {
        use std::cell::RefCell;
        use std::io::{self, Write};
        use std::rc::Rc;

        #[derive(Clone, Default)]
        struct Capture(Rc<RefCell<Vec<u8>>>);
        impl Write for Capture {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, false);
        let mut h = hist::default();
        h.slots[2] = 3;
        for (i, c) in b"busy".iter().enumerate() {
            h.comm[i] = *c as i8;
        }
        print_hist(&out, Per::Process, "usecs", &tick(None), 9, &h);
        print_hist(&out, Per::All, "msecs", &tick(None), u32::MAX, &h);
        let text = String::from_utf8(cap.0.borrow().clone()).unwrap();
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
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, true);
        print_hist(&out, Per::Thread, "usecs", &tick(None), 9, &h);
        let text = String::from_utf8(cap.0.borrow().clone()).unwrap();
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["tid"], 9);
        assert_eq!(v["comm"], "busy");
        assert_eq!(v["count"], 3);
        assert_eq!(v["buckets"][2], json!({"low": 4, "high": 7, "count": 3}));
    }
}
