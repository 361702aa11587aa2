//! bootstrap — lesson 11, libbpf-bootstrap's "bootstrap" demo: process execs
//! and exits, with how long each process ran since its exec.
//!
//! Same flags and columns as the libbpf-bootstrap C tool, plus `--json`.
//! `-d` is a *minimum process duration* in milliseconds (exits of shorter
//! processes, and all exec events, are not reported), not a tracing time.
//!
//! Differences from the tutorial (see bootstrap.bpf.c): the whole wait status
//! is kept, so a process killed by a signal shows `[signal 9 (Killed)]`
//! instead of `[0]`; a process is reported once, when its last thread exits
//! (a non-leader thread's execve no longer yields a bogus EXIT).

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::bootstrap::Args;
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::bootstrap::{BootstrapSkelBuilder, types::bootstrap_event};
use bpfkit::{Output, bpf, fmt};
use clap::Parser;
use serde_json::{Value, json};

fn main() -> ExitCode {
    bpfkit::main("bootstrap", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(BootstrapSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    // The parser guarantees this cannot overflow.
    rodata.min_duration_ns = args.min_duration_ms.unwrap_or(0) * 1_000_000;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!(
        "{:<8} {:<5} {:<16} {:<7} {:<7} {}",
        "TIME", "EVENT", "COMM", "PID", "PPID", "FILENAME/EXIT CODE"
    ));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &bootstrap_event| print_event(&out, e)),
    )?
    .count_drops(&skel.maps.drops)
    .run()
}

/// The C tool's `[code]`; a signal death (which the tutorial showed as
/// `[0]`) is spelled out like exitsnoop does.
fn exit_text(status: u32) -> String {
    let (code, sig, _) = fmt::decode_wait_status(status);
    if sig == 0 {
        format!("[{code}]")
    } else {
        format!("[{}]", fmt::exit_status_text(status))
    }
}

fn row(e: &bootstrap_event, time: &str) -> String {
    let comm = fmt::c_chars(&e.comm);
    if e.exit_event != 0 {
        let mut r = format!(
            "{:<8} {:<5} {:<16} {:<7} {:<7} {}",
            time,
            "EXIT",
            comm,
            e.pid,
            e.ppid,
            exit_text(e.exit_status)
        );
        if e.duration_ns != 0 {
            r.push_str(&format!(" ({}ms)", e.duration_ns / 1_000_000));
        }
        r
    } else {
        format!(
            "{:<8} {:<5} {:<16} {:<7} {:<7} {}",
            time,
            "EXEC",
            comm,
            e.pid,
            e.ppid,
            fmt::c_chars(&e.filename)
        )
    }
}

fn to_json(e: &bootstrap_event, time: &str) -> Value {
    let mut v = json!({
        "time": time,
        "comm": fmt::c_chars(&e.comm),
        "pid": e.pid,
        "ppid": e.ppid,
    });
    if e.exit_event != 0 {
        let (code, sig, core) = fmt::decode_wait_status(e.exit_status);
        v["event"] = json!("exit");
        v["exit_code"] = json!(code);
        v["signal"] = json!(sig);
        v["core_dumped"] = json!(core);
        v["status"] = json!(e.exit_status);
        // Unknown when the tool did not see the exec (it ran before the tool).
        let known = e.duration_ns != 0;
        v["duration_ns"] = if known {
            json!(e.duration_ns)
        } else {
            Value::Null
        };
        v["duration_ms"] = if known {
            json!(e.duration_ns / 1_000_000)
        } else {
            Value::Null
        };
    } else {
        v["event"] = json!("exec");
        v["filename"] = json!(fmt::c_chars(&e.filename));
    }
    v
}

fn print_event(out: &Output, e: &bootstrap_event) {
    let time = fmt::hms_now();
    if out.is_json() {
        out.json(&to_json(e, &time));
    } else {
        out.line(format_args!("{}", row(e, &time)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(dst: &mut [i8], s: &str) {
        for (d, b) in dst.iter_mut().zip(s.bytes()) {
            *d = b as i8;
        }
    }

    fn exec(comm: &str, filename: &str) -> bootstrap_event {
        let mut e = bootstrap_event {
            pid: 4242,
            ppid: 17,
            ..Default::default()
        };
        fill(&mut e.comm, comm);
        fill(&mut e.filename, filename);
        e
    }

    fn exit(status: u32, duration_ns: u64) -> bootstrap_event {
        let mut e = bootstrap_event {
            pid: 4242,
            ppid: 17,
            exit_event: 1,
            exit_status: status,
            duration_ns,
            ..Default::default()
        };
        fill(&mut e.comm, "sleep");
        e
    }

    #[test]
    fn rows_match_the_c_tool() {
        assert_eq!(
            row(&exec("sleep", "/usr/bin/sleep"), "10:00:00"),
            "10:00:00 EXEC  sleep            4242    17      /usr/bin/sleep"
        );
        assert_eq!(
            row(&exit(7 << 8, 812_345_678), "10:00:01"),
            "10:00:01 EXIT  sleep            4242    17      [7] (812ms)"
        );
        // No exec seen: no duration, as the C tool.
        assert_eq!(
            row(&exit(0, 0), "10:00:01"),
            "10:00:01 EXIT  sleep            4242    17      [0]"
        );
    }

    #[test]
    fn signals_are_not_a_clean_exit() {
        assert_eq!(exit_text(0), "[0]");
        assert_eq!(exit_text(3 << 8), "[3]");
        assert_eq!(exit_text(9), "[signal 9 (Killed)]");
        assert_eq!(exit_text(6 | 0x80), "[signal 6 (Aborted), core dumped]");
    }

    #[test]
    fn json_shapes() {
        let v = to_json(&exec("sleep", "/tmp/x"), "10:00:00");
        assert_eq!(v["event"], json!("exec"));
        assert_eq!(v["filename"], json!("/tmp/x"));
        assert_eq!(v["pid"], json!(4242));
        assert!(v.get("exit_code").is_none());
        let v = to_json(&exit(9, 2_500_000_000), "10:00:00");
        assert_eq!(v["event"], json!("exit"));
        assert_eq!(v["exit_code"], json!(0));
        assert_eq!(v["signal"], json!(9));
        assert_eq!(v["duration_ms"], json!(2500));
        assert_eq!(v["duration_ns"], json!(2_500_000_000u64));
        let v = to_json(&exit(1 << 8, 0), "10:00:00");
        assert_eq!(v["exit_code"], json!(1));
        assert_eq!(v["duration_ms"], Value::Null);
    }

    #[test]
    fn min_duration_flag() {
        let a = Args::try_parse_from(["bootstrap", "-d", "500", "-v"]).unwrap();
        assert_eq!(a.min_duration_ms, Some(500));
        assert!(a.common.verbose);
        let a = Args::try_parse_from(["bootstrap", "--duration", "1"]).unwrap();
        assert_eq!(a.min_duration_ms, Some(1));
        assert_eq!(
            Args::try_parse_from(["bootstrap"]).unwrap().min_duration_ms,
            None
        );
        for bad in ["0", "-5", "1.5", "abc", "99999999999999999"] {
            assert!(
                Args::try_parse_from(["bootstrap", "-d", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
