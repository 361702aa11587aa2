//! `kprobe-unlink` and `fentry-unlink` (lessons 2 and 3): one implementation,
//! two tools that differ only in the mechanisms they offer. `fentry-unlink`
//! tries fentry → kprobe → tracepoint; `kprobe-unlink` kprobe → tracepoint.

use std::mem::MaybeUninit;
use std::time::Duration;

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

use crate::cli::{self, CommonArgs};
use crate::events::{EventLoop, typed};
use crate::probe::{self, Needs, ProbeArgs};
use crate::skel::unlink::{UnlinkSkelBuilder, types::unlink_event};
use crate::{Output, bpf, fmt};

/// The flags both tools have; each tool's own `Args` (src/args/) flattens
/// them under its name, help and EXAMPLES.
#[derive(clap::Args, Debug)]
pub struct UnlinkArgs {
    /// Process ID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Which tool is running: the mechanisms it offers follow from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Kprobe,
    Fentry,
}

/// What the tool hooks (hooks.rs): fentry only for fentry-unlink.
pub fn needs(flavor: Flavor) -> Needs {
    crate::hooks::unlink(flavor == Flavor::Fentry)
}

pub fn run(flavor: Flavor, args: UnlinkArgs) -> Result<()> {
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(UnlinkSkelBuilder::default(), &mut object, &args.common)?;
    crate::bpf::rodata(open.maps.rodata_data.as_deref_mut())?.targ_tgid = args.pid.unwrap_or(0);
    let mechanism = probe::apply(open.open_object_mut(), args.probe.mechanism, &needs(flavor))?;
    if mechanism == probe::Mechanism::Tracepoint
        && !probe::tracepoint_exists("syscalls", "sys_enter_unlink")?
    {
        open.progs.tp_enter_unlink.set_autoload(false);
        open.progs.tp_exit_unlink.set_autoload(false);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!(
        "{:<7} {:<16} {:<40} {:>4}",
        "PID", "COMM", "FILENAME", "RET"
    ));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &unlink_event| print_event(&out, e)),
    )?
    .count_drops(&skel.maps.drops)
    .duration(args.duration)
    .run()
}

fn print_event(out: &Output, e: &unlink_event) {
    let comm = fmt::c_chars(&e.comm);
    let filename = fmt::c_chars(&e.filename);
    if out.is_json() {
        out.json(
            &json!({"pid": e.pid, "tid": e.tid, "comm": comm, "filename": filename, "ret": e.ret}),
        );
    } else {
        out.line(format_args!(
            "{:<7} {:<16} {:<40} {:>4}",
            e.pid, comm, filename, e.ret
        ));
    }
}
