//! TCP connect latency histogram (tcpconnlat's programs: connect() to
//! handshake done, one event per active open).

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;

use anyhow::Result;
use libbpf_rs::RingBuffer;
use libbpf_rs::skel::{OpenSkel, Skel};

use super::metrics::{Metrics, log2_hist, log2_slot};
use super::{Collector, Options, Spec};
use crate::probe::{self, ProbeMode};
use crate::skel::tcpconnlat::types::tcpconnlat_event;
use crate::skel::tcpconnlat::{TcpconnlatSkel, TcpconnlatSkelBuilder};
use crate::{bpf, hooks};

pub const SPEC: Spec = Spec {
    name: "tcpconnlat",
    about: "TCP active-open (connect) latency histogram",
    default: true,
    load,
};

/// log2 microsecond slots: the last (2^26 us, 67 s) holds everything longer.
const SLOTS: usize = 27;

#[derive(Default)]
struct Latencies {
    slots: [u64; SLOTS],
    sum_us: u64,
}

struct Tcpconnlat {
    // Declared first: dropped before the skeleton it reads from.
    ring: RingBuffer<'static>,
    seen: Rc<RefCell<Latencies>>,
    skel: TcpconnlatSkel<'static>,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        TcpconnlatSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::apply(
        open.open_object_mut(),
        ProbeMode::Auto,
        &hooks::tcpconnlat(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let seen: Rc<RefCell<Latencies>> = Rc::default();
    let sink = Rc::clone(&seen);
    let ring = super::ring(&skel.maps.events, move |e: &tcpconnlat_event| {
        if let Ok(mut l) = sink.try_borrow_mut() {
            l.slots[log2_slot(e.delta_us, SLOTS)] += 1;
            l.sum_us += e.delta_us;
        }
    })?;
    Ok(Box::new(Tcpconnlat { ring, seen, skel }))
}

impl Collector for Tcpconnlat {
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
        let l = self.seen.borrow();
        out.histogram(
            "tcp_connect_latency_seconds",
            "Time from connect() to the TCP handshake completing, for active opens.",
            vec![],
            log2_hist(&l.slots, 1e-6, l.sum_us as f64 * 1e-6),
        );
        Ok(())
    }
}
