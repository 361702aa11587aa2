//! runqslower — seed 004: trace tasks that waited on a run queue longer
//! than a threshold before they got a CPU, one line per slow wait.
//!
//! Same flags and columns as libbpf-tools runqslower, plus `--json`. The
//! kernel side hooks sched_wakeup, sched_wakeup_new and sched_switch as
//! BTF-typed tracepoints, or raw tracepoints where the kernel lacks tp_btf.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::runqslower::Args;
use bpfkit::cli::{self};
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::runqslower::{RunqslowerSkelBuilder, types::event};
use bpfkit::{Output, bpf, fmt, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

/// The tracepoints the programs hook (tp_btf or raw_tp).
const TRACEPOINTS: [&str; 3] = ["sched_wakeup", "sched_wakeup_new", "sched_switch"];

fn main() -> ExitCode {
    bpfkit::main("runqslower", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    if let Some(tid) = args.tid {
        cli::require_thread(tid)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(RunqslowerSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.min_us = args.min_us;
    rodata.targ_tgid = args.pid.unwrap_or(0);
    rodata.targ_pid = args.tid.unwrap_or(0);
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!(
        "Tracing run queue latency higher than {} us",
        args.min_us
    ));
    out.header(format_args!("{}", header(args.previous)));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &event| print_event(&out, &args, e, &fmt::hms_now())),
    )?
    .count_drops(&skel.maps.drops)
    .run()
}

/// The column header, as libbpf-tools prints it.
fn header(previous: bool) -> String {
    let mut h = format!(
        "{:<8} {:<16} {:<6} {:>14}",
        "TIME", "COMM", "TID", "LAT(us)"
    );
    if previous {
        h.push_str(&format!(" {:<16} {:<6}", "PREV COMM", "PREV TID"));
    }
    h
}

/// One row (`%-8s %-16s %-6d %14llu`, then `%-16s %-6d` with -P) or JSON object.
fn print_event(out: &Output, args: &Args, e: &event, time: &str) {
    let comm = fmt::c_chars(&e.comm);
    let prev_comm = fmt::c_chars(&e.prev_comm);
    if out.is_json() {
        out.json(&json!({
            "time": time, "comm": comm, "tid": e.tid, "pid": e.pid,
            "lat_us": e.delta_us, "cpu": e.cpu,
            "prev_comm": prev_comm, "prev_tid": e.prev_tid,
        }));
        return;
    }
    if args.previous {
        out.line(format_args!(
            "{time:<8} {comm:<16} {:<6} {:>14} {prev_comm:<16} {:<6}",
            e.tid, e.delta_us, e.prev_tid
        ));
    } else {
        out.line(format_args!(
            "{time:<8} {comm:<16} {:<6} {:>14}",
            e.tid, e.delta_us
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::rc::Rc;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("runqslower").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.min_us, 10000);
        assert!(!a.previous && a.pid.is_none() && a.tid.is_none());
        let a = parse(&["-P", "-p", "12", "-t", "13", "1000"]).unwrap();
        assert_eq!(a.min_us, 1000);
        assert!(a.previous);
        assert_eq!((a.pid, a.tid), (Some(12), Some(13)));
        let a = parse(&["--previous", "--pid=1", "--tid", "2", "--json", "1"]).unwrap();
        assert!(a.previous && a.common.json);
        assert_eq!(a.min_us, 1);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["-5"],
            &["ten"],
            &["1", "2"],
            &["-p", "0"],
            &["-t", "x"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

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

    fn chars(s: &str) -> [i8; 16] {
        let mut a = [0i8; 16];
        for (i, b) in s.bytes().take(15).enumerate() {
            a[i] = b as i8;
        }
        a
    }

    fn sample() -> event {
        event {
            delta_us: 12345,
            tid: 4321,
            pid: 4300,
            prev_tid: 77,
            cpu: 1,
            comm: chars("busy"),
            prev_comm: chars("kworker/1:0"),
        }
    }

    fn printed(argv: &[&str], json: bool) -> String {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, json);
        print_event(&out, &parse(argv).unwrap(), &sample(), "12:34:56");
        String::from_utf8(cap.0.borrow().clone()).unwrap()
    }

    #[test]
    fn columns_like_libbpf_tools() {
        assert_eq!(
            header(false),
            "TIME     COMM             TID           LAT(us)"
        );
        assert_eq!(
            header(true),
            "TIME     COMM             TID           LAT(us) PREV COMM        PREV TID"
        );
        assert_eq!(
            printed(&[], false),
            "12:34:56 busy             4321            12345\n"
        );
        assert_eq!(
            printed(&["-P"], false),
            "12:34:56 busy             4321            12345 kworker/1:0      77    \n"
        );
    }

    #[test]
    fn json_fields() {
        let v: serde_json::Value = serde_json::from_str(printed(&[], true).trim()).unwrap();
        assert_eq!(
            v,
            json!({
                "time": "12:34:56", "comm": "busy", "tid": 4321, "pid": 4300,
                "lat_us": 12345, "cpu": 1, "prev_comm": "kworker/1:0", "prev_tid": 77
            })
        );
    }
}
