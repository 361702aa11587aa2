//! Signals generated, by signal (sigsnoop's signal_generate program).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::rc::Rc;

use anyhow::Result;
use libbpf_rs::RingBuffer;
use libbpf_rs::skel::Skel;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::skel::sigsnoop::types::sigsnoop_event;
use crate::skel::sigsnoop::{SigsnoopSkel, SigsnoopSkelBuilder};
use crate::{bpf, fmt, probe};

pub const SPEC: Spec = Spec {
    name: "signals",
    about: "signals sent, by signal name",
    default: true,
    load,
};

struct Signals {
    ring: RingBuffer<'static>,
    /// Signal number → signals generated (at most 64 numbers).
    seen: Rc<RefCell<BTreeMap<i32, u64>>>,
    skel: SigsnoopSkel<'static>,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        SigsnoopSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    // Only signal_generate (every signal, however sent), as sigsnoop without -k.
    let progs = &mut open.progs;
    for prog in [
        &mut progs.kill_entry,
        &mut progs.kill_exit,
        &mut progs.tkill_entry,
        &mut progs.tkill_exit,
        &mut progs.tgkill_entry,
        &mut progs.tgkill_exit,
    ] {
        prog.set_autoload(false);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let seen: Rc<RefCell<BTreeMap<i32, u64>>> = Rc::default();
    let sink = Rc::clone(&seen);
    let ring = super::ring(&skel.maps.events, move |e: &sigsnoop_event| {
        if let Ok(mut m) = sink.try_borrow_mut() {
            let sig = if (1..=64).contains(&e.sig) { e.sig } else { 0 };
            *m.entry(sig).or_default() += 1;
        }
    })?;
    Ok(Box::new(Signals { ring, seen, skel }))
}

impl Collector for Signals {
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
        for (&sig, &n) in self.seen.borrow().iter() {
            out.counter(
                "signals",
                "Signals generated (signal:signal_generate), by signal.",
                vec![(
                    "signal",
                    fmt::signal_name(sig).unwrap_or_else(|| "unknown".into()),
                )],
                n,
            );
        }
        Ok(())
    }
}
