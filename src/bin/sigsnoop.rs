//! sigsnoop — lesson 6: trace signals, who sends which to whom, and the result.
//!
//! Same flags and columns as libbpf-tools sigsnoop, plus `--json`. By default
//! the `signal:signal_generate` tracepoint (every signal the kernel
//! generates; RESULT is the tracepoint's result code, 0 = delivered); with
//! `-k` the tutorial's kill/tkill/tgkill enter/exit pair (RESULT is the
//! syscall's return value, 0 or -errno).

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::sigsnoop::Args;
use bpfkit::cli::{self};
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::sigsnoop::{SigsnoopSkelBuilder, types::sigsnoop_event};
use bpfkit::{Output, bpf, fmt};
use clap::Parser;
use serde_json::json;

/// Where an event came from (`source` in `sigsnoop.h`).
const SOURCE_GENERATE: u32 = 0;
const SOURCE_KILL: u32 = 1;
const SOURCE_TKILL: u32 = 2;
const SOURCE_TGKILL: u32 = 3;

fn main() -> ExitCode {
    bpfkit::main("sigsnoop", run)
}

fn run() -> Result<()> {
    let mut args = Args::parse();
    // libbpf-tools installs the same tool as `killsnoop`, which means `-k`.
    if invoked_as_killsnoop(std::env::args_os().next()) {
        args.kill = true;
    }
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(SigsnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.filtered_pid = args.pid.unwrap_or(0);
    rodata.target_signals = signal_mask(&args.signal);
    rodata.failed_only = args.failed;
    let progs = &mut open.progs;
    progs.sig_trace.set_autoload(!args.kill);
    for prog in [
        &mut progs.kill_entry,
        &mut progs.kill_exit,
        &mut progs.tkill_entry,
        &mut progs.tkill_exit,
        &mut progs.tgkill_entry,
        &mut progs.tgkill_exit,
    ] {
        prog.set_autoload(args.kill);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!(
        "{:<8} {:<7} {:<16} {:<9} {:<7} {:<6}",
        "TIME", "PID", "COMM", "SIG", "TPID", "RESULT"
    ));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &sigsnoop_event| print_event(&out, &args, e)),
    )?
    .count_drops(&skel.maps.drops)
    .run()
}

fn invoked_as_killsnoop(argv0: Option<std::ffi::OsString>) -> bool {
    argv0
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .is_some_and(|n| n.to_string_lossy().contains("killsnoop"))
}

/// The kernel-side filter: bit `sig - 1` for each wanted signal, 0 for all.
fn signal_mask(signals: &[i32]) -> u64 {
    signals
        .iter()
        .filter(|&&s| (1..=64).contains(&s))
        .fold(0, |mask, &s| mask | 1u64 << (s - 1))
}

/// The SIG column: the number, or with `-n` the name (`N/A` for the null
/// signal of `kill(pid, 0)`, the number for signals without a name).
fn sig_label(sig: i32, names: bool) -> String {
    if !names {
        return sig.to_string();
    }
    if sig == 0 {
        return "N/A".to_string();
    }
    fmt::signal_name(sig).unwrap_or_else(|| sig.to_string())
}

/// What RESULT means, for JSON: the signal_generate outcome, or for the
/// syscalls `ok` / the errno name.
fn outcome(source: u32, ret: i32) -> String {
    if source == SOURCE_GENERATE {
        match ret {
            0 => "delivered",
            1 => "ignored",
            2 => "already_pending",
            3 => "overflow_fail",
            4 => "lose_info",
            _ => return format!("result {ret}"),
        }
        .to_string()
    } else if ret == 0 {
        "ok".to_string()
    } else if (-4095..0).contains(&ret) {
        fmt::errno_name(-ret)
    } else {
        // Not an error code: kill(2) returns only 0 or -errno.
        ret.to_string()
    }
}

fn source_name(source: u32) -> &'static str {
    match source {
        SOURCE_GENERATE => "signal_generate",
        SOURCE_KILL => "kill",
        SOURCE_TKILL => "tkill",
        SOURCE_TGKILL => "tgkill",
        _ => "unknown",
    }
}

fn format_row(time: &str, e: &sigsnoop_event, names: bool) -> String {
    format!(
        "{:<8} {:<7} {:<16} {:<9} {:<7} {:<6}",
        time,
        e.pid,
        fmt::c_chars(&e.comm),
        sig_label(e.sig, names),
        e.tpid,
        e.ret
    )
}

fn event_json(time: &str, e: &sigsnoop_event) -> serde_json::Value {
    let mut v = json!({
        "time": time,
        "pid": e.pid,
        "tid": e.tid,
        "comm": fmt::c_chars(&e.comm),
        "sig": e.sig,
        "signal": fmt::signal_name(e.sig),
        "tpid": e.tpid,
        "result": e.ret,
        "outcome": outcome(e.source, e.ret),
        "source": source_name(e.source),
    });
    if e.source == SOURCE_GENERATE {
        v["tcomm"] = json!(fmt::c_chars(&e.tcomm));
    }
    v
}

fn print_event(out: &Output, args: &Args, e: &sigsnoop_event) {
    let time = fmt::hms_now();
    if out.is_json() {
        out.json(&event_json(&time, e));
    } else {
        out.line(format_args!("{}", format_row(&time, e, args.name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comm(s: &str) -> [i8; 16] {
        let mut c = [0i8; 16];
        for (d, b) in c.iter_mut().zip(s.bytes()) {
            *d = b as i8;
        }
        c
    }

    fn event(sig: i32, ret: i32, source: u32) -> sigsnoop_event {
        sigsnoop_event {
            pid: 10974,
            tid: 10975,
            tpid: 999999,
            sig,
            ret,
            source,
            comm: comm("bash"),
            tcomm: comm("sleep"),
        }
    }

    #[test]
    fn rows_match_libbpf_tools_widths() {
        // From /usr/sbin/sigsnoop -k -n: "%-8s %-7d %-16s %-9s %-7d %-6d".
        assert_eq!(
            format_row("03:31:05", &event(12, -3, SOURCE_KILL), true),
            "03:31:05 10974   bash             SIGUSR2   999999  -3    "
        );
        assert_eq!(
            format_row("03:30:58", &event(10, 0, SOURCE_GENERATE), false),
            "03:30:58 10974   bash             10        999999  0     "
        );
    }

    #[test]
    fn signal_labels() {
        assert_eq!(sig_label(10, false), "10");
        assert_eq!(sig_label(10, true), "SIGUSR1");
        assert_eq!(sig_label(9, true), "SIGKILL");
        assert_eq!(sig_label(0, true), "N/A");
        assert_eq!(sig_label(0, false), "0");
        // glibc reserves 32 and 33: they have no name.
        assert_eq!(sig_label(32, true), "32");
        assert_eq!(sig_label(libc::SIGRTMIN() + 1, true), "SIGRTMIN+1");
    }

    #[test]
    fn signal_masks() {
        assert_eq!(signal_mask(&[]), 0);
        assert_eq!(signal_mask(&[1]), 1);
        assert_eq!(signal_mask(&[9, 15]), (1 << 8) | (1 << 14));
        assert_eq!(signal_mask(&[64]), 1 << 63);
        assert_eq!(signal_mask(&[0, 65]), 0, "out of range signals are ignored");
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(SOURCE_GENERATE, 0), "delivered");
        assert_eq!(outcome(SOURCE_GENERATE, 1), "ignored");
        assert_eq!(outcome(SOURCE_GENERATE, 2), "already_pending");
        assert_eq!(outcome(SOURCE_GENERATE, 9), "result 9");
        assert_eq!(outcome(SOURCE_KILL, 0), "ok");
        assert_eq!(outcome(SOURCE_KILL, -3), "ESRCH");
        assert_eq!(outcome(SOURCE_TGKILL, -1), "EPERM");
        assert_eq!(outcome(SOURCE_TKILL, i32::MIN), "-2147483648");
        assert_eq!(outcome(SOURCE_TKILL, 7), "7");
    }

    #[test]
    fn json_fields() {
        let v = event_json("03:31:05", &event(12, -3, SOURCE_TGKILL));
        assert_eq!(v["pid"], 10974);
        assert_eq!(v["tid"], 10975);
        assert_eq!(v["comm"], "bash");
        assert_eq!(v["sig"], 12);
        assert_eq!(v["signal"], "SIGUSR2");
        assert_eq!(v["tpid"], 999999);
        assert_eq!(v["result"], -3);
        assert_eq!(v["outcome"], "ESRCH");
        assert_eq!(v["source"], "tgkill");
        assert!(v.get("tcomm").is_none(), "syscalls do not know the target");
        let v = event_json("03:31:05", &event(0, 0, SOURCE_GENERATE));
        assert_eq!(v["signal"], serde_json::Value::Null);
        assert_eq!(v["tcomm"], "sleep");
        assert_eq!(v["source"], "signal_generate");
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from(["sigsnoop", "-x", "-k", "-n", "-p", "5", "-s", "9"]).unwrap();
        assert!(a.failed && a.kill && a.name);
        assert_eq!(a.pid, Some(5));
        assert_eq!(a.signal, [9]);
        let a = Args::try_parse_from(["sigsnoop", "-s", "SIGUSR1,term", "-s", "2"]).unwrap();
        assert_eq!(a.signal, [10, 15, 2]);
        assert!(!a.kill && !a.failed && !a.name && a.pid.is_none());
        let a = Args::try_parse_from(["sigsnoop", "--json", "-v"]).unwrap();
        assert!(a.common.json && a.common.verbose && a.signal.is_empty());
        assert!(Args::try_parse_from(["sigsnoop", "-s", "SIGNOPE"]).is_err());
        assert!(Args::try_parse_from(["sigsnoop", "-s", "0"]).is_err());
        assert!(Args::try_parse_from(["sigsnoop", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["sigsnoop", "-d", "1"]).is_err());
    }

    #[test]
    fn killsnoop_alias() {
        assert!(invoked_as_killsnoop(Some("/usr/sbin/killsnoop".into())));
        assert!(!invoked_as_killsnoop(Some("/usr/sbin/sigsnoop".into())));
        assert!(!invoked_as_killsnoop(None));
    }
}
