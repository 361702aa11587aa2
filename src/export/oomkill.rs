//! OOM kills (oomkill's programs: fentry or kprobe on oom_kill_process, or
//! the oom:mark_victim tracepoint).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::probe::{self, ProbeMode};
use crate::skel::oomkill::types::oom_event;
use crate::skel::oomkill::{OomkillSkel, OomkillSkelBuilder};
use crate::{bpf, hooks};

pub const SPEC: Spec = Spec {
    name: "oomkill",
    about: "processes killed by the OOM killer",
    default: true,
    load,
};

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        OomkillSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::apply(open.open_object_mut(), ProbeMode::Auto, &hooks::oomkill())?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    super::folding(skel, |kills: &mut u64, _: &oom_event| *kills += 1, report)
}

fn report(_: &OomkillSkel<'static>, kills: &mut u64, out: &mut Metrics) -> Result<()> {
    // No victim labels: comms and pids are unbounded.
    out.counter(
        "oom_kills",
        "Processes killed by the OOM killer (a cgroup's or the system's).",
        vec![],
        *kills,
    );
    Ok(())
}
