//! Process execs and exits, exits by terminating signal (bootstrap's
//! programs: sched_process_exec and sched_process_exit).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::rc::Rc;

use anyhow::Result;
use libbpf_rs::RingBuffer;
use libbpf_rs::skel::Skel;

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

struct Exec {
    ring: RingBuffer<'static>,
    seen: Rc<RefCell<Seen>>,
    skel: BootstrapSkel<'static>,
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
    let seen: Rc<RefCell<Seen>> = Rc::default();
    let sink = Rc::clone(&seen);
    let ring = super::ring(&skel.maps.events, move |e: &bootstrap_event| {
        if let Ok(mut s) = sink.try_borrow_mut() {
            if e.exit_event == 0 {
                s.execs += 1;
            } else {
                let (_code, sig, _core) = fmt::decode_wait_status(e.exit_status);
                *s.exits.entry(sig).or_default() += 1;
            }
        }
    })?;
    Ok(Box::new(Exec { ring, seen, skel }))
}

/// The `signal` label of an exit: `none` for a normal exit.
fn signal_label(sig: u32) -> String {
    if sig == 0 {
        return "none".into();
    }
    fmt::signal_name(sig as i32).unwrap_or_else(|| "unknown".into())
}

impl Collector for Exec {
    fn programs(&self) -> Vec<(String, RawFd)> {
        super::loaded_programs(self.skel.object())
    }

    fn poll(&mut self) -> Result<()> {
        super::consume(&self.ring)
    }

    fn lost(&self) -> Result<Option<u64>> {
        bpf::percpu_sum(&self.skel.maps.drops).map(Some)
    }

    fn collect(&mut self, out: &mut Metrics) -> Result<()> {
        let s = self.seen.borrow();
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
