//! Process execs and exits, exits by terminating signal (bootstrap's
//! programs: sched_process_exec and sched_process_exit).

use std::collections::BTreeMap;

use anyhow::Result;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::skel::bootstrap::types::bootstrap_event;
use crate::skel::bootstrap::{BootstrapSkel, BootstrapSkelBuilder};
use crate::{bpf, fmt, probe};

pub const SPEC: Spec = Spec {
    name: "exec",
    about: "process execs, and process exits by terminating signal",
    default: true,
    load,
};

#[derive(Default)]
struct Seen {
    execs: u64,
    /// Terminating signal number (0: a normal exit) → exits.
    exits: BTreeMap<u32, u64>,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let open = bpf::open(
        BootstrapSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    super::folding(skel, count, report)
}

fn count(s: &mut Seen, e: &bootstrap_event) {
    if e.exit_event == 0 {
        s.execs += 1;
    } else {
        let (_code, sig, _core) = fmt::decode_wait_status(e.exit_status);
        *s.exits.entry(sig).or_default() += 1;
    }
}

/// The `signal` label of an exit: `none` for a normal exit.
fn signal_label(sig: u32) -> String {
    if sig == 0 {
        return "none".into();
    }
    fmt::signal_name(sig as i32).unwrap_or_else(|| "unknown".into())
}

fn report(_: &BootstrapSkel<'static>, s: &mut Seen, out: &mut Metrics) -> Result<()> {
    out.counter(
        "process_execs",
        "Successful execve/execveat calls (sched_process_exec).",
        vec![],
        s.execs,
    );
    // Signal numbers are at most 64: bounded without a cap.
    for (&sig, &n) in &s.exits {
        out.counter(
            "process_exits",
            "Process exits (the last thread), by terminating signal (none: exit()).",
            vec![("signal", signal_label(sig))],
            n,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_signal_labels() {
        assert_eq!(super::signal_label(0), "none");
        assert_eq!(super::signal_label(9), "SIGKILL");
        assert_eq!(super::signal_label(100), "unknown");
    }
}
