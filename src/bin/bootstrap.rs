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
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::bootstrap::Args;
use bpfkit::row::{Align, Cell, Table};
use bpfkit::skel::bootstrap::{BootstrapSkelBuilder, types::bootstrap_event};
use bpfkit::{bpf, events, fmt};
use clap::Parser;

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
    events::stream(
        &skel,
        &args.common,
        None,
        &table(),
        |e: &bootstrap_event| Some(Event::from(e)),
    )
}

/// An exec (with its file) or a process exit (with its wait status).
struct Event {
    comm: String,
    pid: u32,
    ppid: u32,
    /// `None` for an exec.
    exit_status: Option<u32>,
    filename: String,
    /// Since the exec; `None` when the tool did not see the exec.
    duration_ns: Option<u64>,
}

impl From<&bootstrap_event> for Event {
    fn from(e: &bootstrap_event) -> Self {
        Event {
            comm: fmt::c_chars(&e.comm),
            pid: e.pid,
            ppid: e.ppid,
            exit_status: (e.exit_event != 0).then_some(e.exit_status),
            filename: fmt::c_chars(&e.filename),
            duration_ns: (e.duration_ns != 0).then_some(e.duration_ns),
        }
    }
}

/// The C tool's `[code]`; a signal death (which the tutorial showed as
/// `[0]`) is spelled out like exitsnoop does; then `(Nms)` when known.
fn exit_text(status: u32, duration_ns: Option<u64>) -> String {
    let (code, sig, _) = fmt::decode_wait_status(status);
    let mut text = match sig {
        0 => format!("[{code}]"),
        _ => format!("[{}]", fmt::exit_status_text(status)),
    };
    if let Some(ns) = duration_ns {
        text.push_str(&format!(" ({}ms)", ns / 1_000_000));
    }
    text
}

/// The C tool's columns; JSON has every key on every line, `null` where the
/// event kind has no such value.
fn table() -> Table<'static, Event> {
    Table::new()
        .time(true)
        .left("EVENT", 5, "event", |e: &Event| match e.exit_status {
            Some(_) => Cell::both("EXIT", "exit"),
            None => Cell::both("EXEC", "exec"),
        })
        .left("COMM", 16, "comm", |e| Cell::text(&e.comm))
        .left("PID", 7, "pid", |e| e.pid.into())
        .left("PPID", 7, "ppid", |e| e.ppid.into())
        .table_only("FILENAME/EXIT CODE", 0, Align::Left, |e| {
            match e.exit_status {
                Some(status) => Cell::text(exit_text(status, e.duration_ns)),
                None => Cell::text(&e.filename),
            }
        })
        .json("filename", |e| match e.exit_status {
            Some(_) => Cell::Null("-"),
            None => Cell::text(&e.filename),
        })
        .wait_status(|e| e.exit_status)
        .json("duration_ns", |e| {
            e.duration_ns.map_or(Cell::Null("-"), Cell::from)
        })
        .json("duration_ms", |e| {
            e.duration_ns
                .map_or(Cell::Null("-"), |ns| (ns / 1_000_000).into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use serde_json::json;

    fn exec(comm: &str, filename: &str) -> Event {
        let mut e = bootstrap_event {
            pid: 4242,
            ppid: 17,
            ..Default::default()
        };
        fmt::to_c_chars(comm, &mut e.comm);
        fmt::to_c_chars(filename, &mut e.filename);
        Event::from(&e)
    }

    fn exit(status: u32, duration_ns: u64) -> Event {
        let mut e = bootstrap_event {
            pid: 4242,
            ppid: 17,
            exit_event: 1,
            exit_status: status,
            duration_ns,
            ..Default::default()
        };
        fmt::to_c_chars("sleep", &mut e.comm);
        Event::from(&e)
    }

    /// A table line without its TIME column (the clock's now).
    fn line(e: &Event) -> String {
        table().table_line(e)[8..].to_string()
    }

    #[test]
    fn rows_match_the_c_tool() {
        assert_eq!(
            table().header_line(),
            "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE"
        );
        assert_eq!(
            line(&exec("sleep", "/usr/bin/sleep")),
            " EXEC  sleep            4242    17      /usr/bin/sleep"
        );
        assert_eq!(
            line(&exit(7 << 8, 812_345_678)),
            " EXIT  sleep            4242    17      [7] (812ms)"
        );
        // No exec seen: no duration, as the C tool.
        assert_eq!(
            line(&exit(0, 0)),
            " EXIT  sleep            4242    17      [0]"
        );
    }

    #[test]
    fn signals_are_not_a_clean_exit() {
        assert_eq!(exit_text(0, None), "[0]");
        assert_eq!(exit_text(3 << 8, None), "[3]");
        assert_eq!(exit_text(9, Some(2_000_000)), "[signal 9 (Killed)] (2ms)");
        assert_eq!(
            exit_text(6 | 0x80, None),
            "[signal 6 (Aborted), core dumped]"
        );
    }

    fn json_of(e: &Event) -> serde_json::Value {
        let (out, cap) = Output::captured(true);
        table().print(&out, e);
        let mut v = cap.json_lines().remove(0);
        assert_eq!(v["time"].as_str().map(str::len), Some(8));
        v.as_object_mut().unwrap().remove("time");
        v
    }

    #[test]
    fn json_shapes() {
        assert_eq!(
            json_of(&exec("sleep", "/tmp/x")),
            json!({"event": "exec", "comm": "sleep", "pid": 4242, "ppid": 17,
                "filename": "/tmp/x", "exit_code": null, "signal": null, "signal_name": null,
                "core_dumped": null,
                "status": null, "duration_ns": null, "duration_ms": null})
        );
        assert_eq!(
            json_of(&exit(9, 2_500_000_000)),
            json!({"event": "exit", "comm": "sleep", "pid": 4242, "ppid": 17,
                "filename": null, "exit_code": 0, "signal": 9, "signal_name": "SIGKILL",
                "core_dumped": false,
                "status": 9, "duration_ns": 2_500_000_000u64, "duration_ms": 2500})
        );
        let v = json_of(&exit(1 << 8, 0));
        assert_eq!(v["exit_code"], json!(1));
        assert_eq!(v["duration_ms"], serde_json::Value::Null);
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("bootstrap", &table().keys());
    }
}
