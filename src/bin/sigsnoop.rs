//! sigsnoop — lesson 6: trace signals, who sends which to whom, and the result.
//!
//! Same flags and columns as libbpf-tools sigsnoop, plus `--json`. By default
//! the `signal:signal_generate` tracepoint (every signal the kernel
//! generates; RESULT is the tracepoint's result code, 0 = delivered); with
//! `-k` the tutorial's kill/tkill/tgkill enter/exit pair (RESULT is the
//! syscall's return value, 0 or -errno).
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::sigsnoop::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::sigsnoop::{SigsnoopSkelBuilder, types::sigsnoop_event};
use bpfkit::{bpf, events, fmt};
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("sigsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse_as_invoked();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(SigsnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.filtered_pid = args.target.pid.unwrap_or(0);
    rodata.target_signals = args.signal_mask();
    rodata.failed_only = args.failed;
    // The tracepoint, or with -k the syscalls' enter/exit programs.
    bpf::autoload_by_name(open.open_object_mut(), |name| {
        (name == "sig_trace") != args.kill
    });
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let table = table(&args);
    events::stream(&skel, &args.common, None, &table, |e: &sigsnoop_event| {
        Some(Signal::from(e))
    })
}

/// One signal sent (or one kill-family syscall, with `-k`).
struct Signal {
    pid: u32,
    tid: u32,
    comm: String,
    sig: i32,
    tpid: i32,
    /// The target's name (signal_generate only).
    tcomm: String,
    /// RESULT: signal_generate's result code, or the syscall's return.
    ret: i32,
    /// Where it was seen: `source` of sigsnoop.h.
    source: &'static str,
}

impl From<&sigsnoop_event> for Signal {
    fn from(e: &sigsnoop_event) -> Self {
        Signal {
            pid: e.pid,
            tid: e.tid,
            comm: fmt::c_chars(&e.comm),
            sig: e.sig,
            tpid: e.tpid,
            tcomm: fmt::c_chars(&e.tcomm),
            ret: e.ret,
            source: ["signal_generate", "kill", "tkill", "tgkill"]
                .get(e.source as usize)
                .unwrap_or(&"unknown"),
        }
    }
}

/// What signal_generate's result codes (`TRACE_SIGNAL_*`) mean.
const DELIVERY: [&str; 5] = [
    "delivered",
    "ignored",
    "already_pending",
    "overflow_fail",
    "lose_info",
];

/// libbpf-tools' columns. SIG holds the number, or with `-n` the name
/// (`N/A` for the null signal of `kill(pid, 0)`): 12 wide as in
/// libbpf-tools, for `SIGRTMIN+16`; numbers keep the 9 of older versions.
fn table(args: &Args) -> Table<'static, Signal> {
    let names = args.name;
    Table::new()
        .time(true)
        .left("PID", 7, "pid", |s: &Signal| s.pid.into())
        .json("tid", |s| s.tid.into())
        .left("COMM", 16, "comm", |s| Cell::text(&s.comm))
        .left("SIG", if names { 12 } else { 9 }, "signal", move |s| {
            let label = if names {
                fmt::signal_label(s.sig)
            } else {
                s.sig.to_string()
            };
            Cell::both(label, s.sig)
        })
        .json("signal_name", |s| {
            Cell::opt_text(fmt::signal_name(s.sig), "-")
        })
        .left("TPID", 7, "tpid", |s| s.tpid.into())
        .json("tcomm", |s| Cell::text(&s.tcomm))
        .only_if(!args.kill)
        .left("RESULT", 6, "ret", |s| s.ret.into())
        .json("delivery", |s| {
            let name = usize::try_from(s.ret).ok().and_then(|i| DELIVERY.get(i));
            Cell::opt_text(name.map(|n| n.to_string()), "-")
        })
        .only_if(!args.kill)
        .errno_of_ret(args.kill, |s| s.ret.into())
        .json("source", |s| Cell::text(s.source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use clap::Parser;

    fn signal(sig: i32, ret: i32, source: u32) -> Signal {
        let mut e = sigsnoop_event {
            pid: 10974,
            tid: 10975,
            tpid: 999999,
            sig,
            ret,
            source,
            ..Default::default()
        };
        fmt::to_c_chars("bash", &mut e.comm);
        fmt::to_c_chars("sleep", &mut e.tcomm);
        Signal::from(&e)
    }

    fn table_of(flags: &[&str]) -> Table<'static, Signal> {
        table(&Args::try_parse_from([&["sigsnoop"], flags].concat()).unwrap())
    }

    /// The line without its TIME column (the clock's now).
    fn line(flags: &[&str], s: &Signal) -> String {
        table_of(flags).table_line(s)[8..].to_string()
    }

    #[test]
    fn rows_match_libbpf_tools_widths() {
        // /usr/sbin/sigsnoop: "%-8s %-7d %-16s %-9s %-7d %-6d".
        assert_eq!(
            table_of(&[]).header_line(),
            "TIME     PID     COMM             SIG       TPID    RESULT"
        );
        assert_eq!(
            line(&["-k"], &signal(12, -3, 1)),
            " 10974   bash             12        999999  -3    "
        );
        assert_eq!(
            line(&[], &signal(10, 0, 0)),
            " 10974   bash             10        999999  0     "
        );
    }

    #[test]
    fn long_signal_names_keep_the_columns_aligned() {
        // libbpf-tools sigsnoop.c: "%-12s" for SIG.
        let rt16 = libc::SIGRTMIN() + 16;
        assert_eq!(
            table_of(&["-n"]).header_line(),
            "TIME     PID     COMM             SIG          TPID    RESULT"
        );
        assert_eq!(
            line(&["-n"], &signal(rt16, 0, 0)),
            " 10974   bash             SIGRTMIN+16  999999  0     "
        );
        assert_eq!(
            line(&["-n", "-k"], &signal(12, -3, 1)),
            " 10974   bash             SIGUSR2      999999  -3    "
        );
        assert_eq!(line(&["-n"], &signal(0, 0, 1))[26..29], *"N/A");
        // glibc reserves 32 and 33: they have no name.
        assert_eq!(line(&["-n"], &signal(32, 0, 0))[26..28], *"32");
        let max = libc::SIGRTMAX();
        let widest = fmt::signal_name(max - 1).unwrap();
        assert!(widest.len() < 12, "{widest}");
    }

    #[test]
    fn json_fields_by_mode() {
        let (out, cap) = Output::captured(true);
        table_of(&["-k", "--json"]).print(&out, &signal(12, -3, 3));
        table_of(&["--json"]).print(&out, &signal(0, 1, 0));
        let v = cap.json_lines();
        assert_eq!(v[0]["time"].as_str().map(str::len), Some(8));
        let mut k = v[0].clone();
        k.as_object_mut().unwrap().remove("time");
        assert_eq!(
            k,
            serde_json::json!({"pid": 10974, "tid": 10975, "comm": "bash", "signal": 12,
                "signal_name": "SIGUSR2", "tpid": 999999, "ret": -3, "errno": 3,
                "error": "ESRCH", "source": "tgkill"})
        );
        assert_eq!(v[1]["signal"], 0);
        assert_eq!(v[1]["signal_name"], serde_json::Value::Null);
        assert_eq!(v[1]["tcomm"], "sleep");
        assert_eq!(v[1]["delivery"], "ignored");
        assert_eq!(v[1]["source"], "signal_generate");
        assert!(v[1].get("errno").is_none() && v[0].get("tcomm").is_none());
    }

    #[test]
    fn delivery_names_the_result_code() {
        let (out, cap) = Output::captured(true);
        let t = table_of(&["--json"]);
        for ret in [0, 2, 4, 9, -1] {
            t.print(&out, &signal(10, ret, 0));
        }
        let names: Vec<_> = cap
            .json_lines()
            .iter()
            .map(|v| v["delivery"].clone())
            .collect();
        assert_eq!(
            names,
            ["delivered", "already_pending", "lose_info"]
                .map(serde_json::Value::from)
                .into_iter()
                .chain([serde_json::Value::Null, serde_json::Value::Null])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("sigsnoop", &table_of(&["-n"]).keys());
        bpfkit::row::assert_keys_in_schema("sigsnoop", &table_of(&["-k"]).keys());
    }
}
