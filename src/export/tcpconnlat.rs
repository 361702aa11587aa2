//! TCP connect latency histogram (tcpconnlat's programs: connect() to
//! handshake done, one event per active open).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

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
    super::folding(skel, count, report)
}

fn count(l: &mut Latencies, e: &tcpconnlat_event) {
    l.slots[log2_slot(e.delta_us, SLOTS)] += 1;
    l.sum_us += e.delta_us;
}

fn report(_: &TcpconnlatSkel<'static>, l: &mut Latencies, out: &mut Metrics) -> Result<()> {
    out.histogram(
        "tcp_connect_latency_seconds",
        "Time from connect() to the TCP handshake completing, for active opens.",
        vec![],
        log2_hist(&l.slots, 1e-6, l.sum_us as f64 * 1e-6),
    );
    Ok(())
}
