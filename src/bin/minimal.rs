//! minimal — lesson 1: every write(2) on the system, or of one process.
//!
//! The tutorial's `sys_enter_write` tracepoint with its `pid_filter`, sending
//! the fields through a ring buffer instead of `bpf_printk`.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::minimal::Args;
use bpfkit::cli::{self};
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::minimal::{MinimalSkelBuilder, types::minimal_event};
use bpfkit::{Output, bpf, fmt};
use clap::Parser;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("minimal", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(MinimalSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.pid_filter = args.pid.unwrap_or(0);
    rodata.self_pid = std::process::id() as i32;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!(
        "{:<7} {:<7} {:<16} {:>4} {:>8}",
        "PID", "TID", "COMM", "FD", "BYTES"
    ));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &minimal_event| print_event(&out, e)),
    )?
    .count_drops(&skel.maps.drops)
    .duration(args.duration)
    .run()
}

fn print_event(out: &Output, e: &minimal_event) {
    let comm = fmt::c_chars(&e.comm);
    if out.is_json() {
        out.json(&json!({"pid": e.pid, "tid": e.tid, "comm": comm, "fd": e.fd, "bytes": e.count}));
    } else {
        out.line(format_args!(
            "{:<7} {:<7} {:<16} {:>4} {:>8}",
            e.pid, e.tid, comm, e.fd, e.count
        ));
    }
}
