//! statsnoop — trace the stat family of syscalls.
//!
//! Same flags and columns as libbpf-tools statsnoop, plus `-d` and `--json`.
//! A relative path (and fstat's file) is shown from the directory it starts
//! in, read in BPF when the call returns, where libbpf-tools reads
//! /proc/PID/cwd or /proc/PID/fd/N later, when it prints.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::statsnoop::Args;
use bpfkit::row::{Align, Cell, Table};
use bpfkit::skel::statsnoop::StatsnoopSkelBuilder;
use bpfkit::skel::statsnoop::types::stat_event;
use bpfkit::{bpf, events, fmt, progs};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("statsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        StatsnoopSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.targ_failed = args.failed;
    progs::load_present_syscalls(open.open_object_mut())?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let start = fmt::Elapsed::start();
    events::stream(
        &skel,
        &args.run.common,
        args.run.duration,
        &table(&args, start),
        |e: &stat_event| Some(Stat::from(e)),
    )
}

/// One stat call as the kernel reported it.
struct Stat {
    pid: u32,
    tid: u32,
    comm: String,
    ret: i32,
    syscall: u32,
    path: String,
}

impl From<&stat_event> for Stat {
    fn from(e: &stat_event) -> Self {
        let path = fmt::c_chars(&e.path);
        Stat {
            pid: e.pid,
            tid: e.tid,
            comm: fmt::c_chars(&e.comm),
            ret: e.ret,
            syscall: e.syscall,
            path: start_and_path(fmt::join_dir_path(&e.dir, &path), &path),
        }
    }
}

/// An empty path (fstat, `AT_EMPTY_PATH`) names where it starts: the
/// file itself, without the slash a joined path ends in.
fn start_and_path(joined: String, path: &str) -> String {
    match joined.strip_suffix('/') {
        Some(start) if path.is_empty() && !start.is_empty() => start.to_string(),
        _ => joined,
    }
}

/// libbpf-tools' names, by `enum stat_syscall` (src/bpf/statsnoop.h).
fn syscall_name(n: u32) -> &'static str {
    const NAMES: [&str; 7] = [
        "N/A",
        "statfs",
        "newstat",
        "statx",
        "newfstat",
        "newfstatat",
        "newlstat",
    ];
    NAMES.get(n as usize).copied().unwrap_or("N/A")
}

/// libbpf-tools' columns: RET is -1 and ERR the errno when the call failed
/// (JSON: the raw `ret`, `errno` and `error`).
fn table(args: &Args, start: fmt::Elapsed) -> Table<'static, Stat> {
    Table::new()
        .elapsed(args.timestamp, start, "TIME(s)", 14)
        .left("PID", 7, "pid", |s: &Stat| s.pid.into())
        .json("tid", |s| s.tid.into())
        .left("COMM", 20, "comm", |s| Cell::text(&s.comm))
        .table_only("RET", 4, Align::Left, |s| s.ret.max(-1).into())
        .json("ret", |s| s.ret.into())
        .table_only("ERR", 4, Align::Left, |s| (-s.ret).max(0).into())
        .errno_of_ret(true, |s| s.ret.into())
        .left("SYSCALL", 10, "syscall", |s| syscall_name(s.syscall).into())
        .shown_if(args.sysname)
        .last("PATH", "path", |s| Cell::text(&s.path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn stat(ret: i32, syscall: u32, path: &str) -> Stat {
        Stat {
            pid: 181,
            tid: 182,
            comm: "ls".into(),
            ret,
            syscall,
            path: path.into(),
        }
    }

    #[test]
    fn rows_like_libbpf_tools() {
        // printf("%-7d %-20s %-4d %-4d", pid, comm, fd, err); " %-10s" sysname; " %s" path.
        let t = table(&args(&["-s"]), fmt::Elapsed::start());
        assert_eq!(
            t.header_line(),
            "PID     COMM                 RET  ERR  SYSCALL    PATH"
        );
        assert_eq!(
            t.table_line(&stat(-2, 5, "/nonexistent")),
            "181     ls                   -1   2    newfstatat /nonexistent"
        );
        let t = table(&args(&[]), fmt::Elapsed::start());
        assert_eq!(
            t.table_line(&stat(0, 3, "/etc")),
            "181     ls                   0    0    /etc"
        );
    }

    #[test]
    fn json_has_the_raw_return_and_the_error_name() {
        let (out, capture) = Output::captured(true);
        table(&args(&["--json"]), fmt::Elapsed::start()).print(&out, &stat(-2, 6, "a\nb"));
        let v = &capture.json_lines()[0];
        assert_eq!(v["ret"], -2);
        assert_eq!(
            (v["errno"].as_i64(), v["error"].as_str()),
            (Some(2), Some("ENOENT"))
        );
        assert_eq!(v["syscall"], "newlstat");
        assert_eq!(
            (v["pid"].as_u64(), v["tid"].as_u64()),
            (Some(181), Some(182))
        );
    }

    #[test]
    fn an_empty_path_is_the_file_it_starts_from() {
        assert_eq!(start_and_path("/etc/hostname/".into(), ""), "/etc/hostname");
        assert_eq!(start_and_path("/".into(), ""), "/");
        assert_eq!(start_and_path("/tmp/a".into(), "a"), "/tmp/a");
    }

    #[test]
    fn syscall_names_like_libbpf_tools() {
        assert_eq!(syscall_name(1), "statfs");
        assert_eq!(syscall_name(6), "newlstat");
        assert_eq!(syscall_name(0), "N/A");
        assert_eq!(syscall_name(99), "N/A");
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let keys = table(&args(&["-t", "-s"]), fmt::Elapsed::start()).keys();
        bpfkit::row::assert_keys_in_schema("statsnoop", &keys);
    }
}
