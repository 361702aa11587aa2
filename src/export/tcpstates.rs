//! TCP state transitions by (old, new) state (tcpstates' program).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::rc::Rc;

use anyhow::Result;
use libbpf_rs::RingBuffer;
use libbpf_rs::skel::Skel;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::skel::tcpstates::types::tcpstates_event;
use crate::skel::tcpstates::{TcpstatesSkel, TcpstatesSkelBuilder};
use crate::{bpf, net, probe};

pub const SPEC: Spec = Spec {
    name: "tcpstates",
    about: "TCP state transitions by old and new state",
    default: true,
    load,
};

struct Tcpstates {
    ring: RingBuffer<'static>,
    /// (old, new) kernel state numbers → transitions; at most 13 × 13.
    seen: Rc<RefCell<BTreeMap<(i32, i32), u64>>>,
    skel: TcpstatesSkel<'static>,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let open = bpf::open(
        TcpstatesSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let seen: Rc<RefCell<BTreeMap<(i32, i32), u64>>> = Rc::default();
    let sink = Rc::clone(&seen);
    let ring = super::ring(&skel.maps.events, move |e: &tcpstates_event| {
        if let Ok(mut m) = sink.try_borrow_mut() {
            // Numbers outside the kernel's enum would be unbounded labels.
            let clamp = |s: i32| if (1..=12).contains(&s) { s } else { 0 };
            *m.entry((clamp(e.oldstate), clamp(e.newstate))).or_default() += 1;
        }
    })?;
    Ok(Box::new(Tcpstates { ring, seen, skel }))
}

impl Collector for Tcpstates {
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
        for (&(old, new), &n) in self.seen.borrow().iter() {
            out.counter(
                "tcp_state_transitions",
                "TCP socket state changes, by old and new state.",
                vec![
                    ("old_state", net::tcp_state_name(old).to_string()),
                    ("new_state", net::tcp_state_name(new).to_string()),
                ],
                n,
            );
        }
        Ok(())
    }
}
