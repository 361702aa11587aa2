//! opensnoop — lesson 4 and seed 002: trace the open family of syscalls.
//!
//! Same flags and columns as libbpf-tools opensnoop, plus `--json`.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::opensnoop::Args;
use bpfkit::cli::{self};
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::opensnoop::{OpensnoopSkelBuilder, types::open_event};
use bpfkit::{Output, bpf, fmt, kernel, probe};
use clap::Parser;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("opensnoop", run)
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
    let mut open = bpf::open(
        OpensnoopSkelBuilder::default(),
        &mut object,
        args.common.verbose,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.pid.unwrap_or(0);
    rodata.targ_pid = args.tid.unwrap_or(0);
    rodata.targ_uid = args.uid.unwrap_or(u32::MAX);
    rodata.targ_failed = args.failed;
    rodata.targ_success = args.success;
    // open(2) and openat2(2) are not on every kernel/architecture. Before
    // 5.15 (no bpf_task_pt_regs) the enter+exit pairs replace the exit-only programs.
    let exit_only = kernel::TASK_PT_REGS.available();
    let progs = &mut open.progs;
    for (syscall, exit, enter_paired, exit_paired) in [
        (
            "open",
            &mut progs.exit_open,
            &mut progs.enter_open_paired,
            &mut progs.exit_open_paired,
        ),
        (
            "openat",
            &mut progs.exit_openat,
            &mut progs.enter_openat_paired,
            &mut progs.exit_openat_paired,
        ),
        (
            "openat2",
            &mut progs.exit_openat2,
            &mut progs.enter_openat2_paired,
            &mut progs.exit_openat2_paired,
        ),
    ] {
        let exists = probe::tracepoint_exists("syscalls", &format!("sys_exit_{syscall}"))?;
        exit.set_autoload(exists && exit_only);
        enter_paired.set_autoload(exists && !exit_only);
        exit_paired.set_autoload(exists && !exit_only);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    print_header(&out, &args);
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &open_event| print_event(&out, &args, e)),
    )?
    .count_drops(&skel.maps.drops)
    .duration(args.duration)
    .run()
}

fn print_header(out: &Output, args: &Args) {
    let mut h = String::new();
    if args.timestamp {
        h.push_str(&format!("{:<8} ", "TIME"));
    }
    if args.print_uid {
        h.push_str(&format!("{:<7} ", "UID"));
    }
    h.push_str(&format!(
        "{:<6} {:<16} {:>3} {:>3} ",
        "PID", "COMM", "FD", "ERR"
    ));
    if args.extended {
        h.push_str(&format!("{:<8} ", "FLAGS"));
    }
    h.push_str("PATH");
    out.header(format_args!("{h}"));
}

/// libbpf-tools convention: FD is -1 and ERR the errno on failure.
fn fd_and_err(ret: i32) -> (i32, i32) {
    if ret >= 0 { (ret, 0) } else { (-1, -ret) }
}

fn print_event(out: &Output, args: &Args, e: &open_event) {
    let comm = fmt::c_chars(&e.comm);
    if args
        .name
        .as_ref()
        .is_some_and(|name| !comm.contains(name.as_str()))
    {
        return;
    }
    let path = fmt::c_chars(&e.path);
    let (fd, err) = fd_and_err(e.ret);
    if out.is_json() {
        let mut v = json!({
            "pid": e.pid, "tid": e.tid, "uid": e.uid, "comm": comm,
            "fd": fd, "err": err, "flags": e.flags, "path": path,
        });
        if args.timestamp {
            v["time"] = json!(fmt::hms_now());
        }
        out.json(&v);
        return;
    }
    // Optional columns are empty strings (no allocation) when off.
    let time = if args.timestamp {
        format!("{:<8} ", fmt::hms_now())
    } else {
        String::new()
    };
    let uid = if args.print_uid {
        format!("{:<7} ", e.uid)
    } else {
        String::new()
    };
    let flags = if args.extended {
        format!("{:08o} ", e.flags)
    } else {
        String::new()
    };
    out.line(format_args!(
        "{time}{uid}{:<6} {:<16} {:>3} {:>3} {flags}{path}",
        e.pid, comm, fd, err
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_open_shows_minus_one_and_errno() {
        assert_eq!(fd_and_err(3), (3, 0));
        assert_eq!(fd_and_err(-2), (-1, 2));
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from([
            "opensnoop",
            "-T",
            "-U",
            "-x",
            "-p",
            "5",
            "-u",
            "0",
            "-n",
            "cat",
            "-e",
        ])
        .unwrap();
        assert!(a.timestamp && a.print_uid && a.failed && a.extended);
        assert_eq!(a.pid, Some(5));
        assert_eq!(a.uid, Some(0));
        assert!(Args::try_parse_from(["opensnoop", "-p", "zero"]).is_err());
        assert!(Args::try_parse_from(["opensnoop", "-d", "0"]).is_err());
    }

    #[test]
    fn success_and_failed_only_exclude_each_other() {
        let a = Args::try_parse_from(["opensnoop", "-p", "1234", "-s"]).unwrap();
        assert!(a.success && !a.failed);
        assert!(
            Args::try_parse_from(["opensnoop", "--success"])
                .unwrap()
                .success
        );
        let e = Args::try_parse_from(["opensnoop", "-s", "-x"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(e.exit_code(), 2);
    }
}
