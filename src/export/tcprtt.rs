//! TCP round-trip time histogram (tcprtt's programs: smoothed RTT of
//! established connections as packets arrive).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;
use libbpf_rs::{MapCore, MapFlags};

use super::metrics::{Metrics, log2_hist};
use super::{Collector, Options, Spec};
use crate::probe::{self, ProbeMode};
use crate::skel::tcprtt::types::{hist, hist_key};
use crate::skel::tcprtt::{TcprttSkel, TcprttSkelBuilder};
use crate::{bpf, hooks};

pub const SPEC: Spec = Spec {
    name: "tcprtt",
    about: "TCP smoothed round-trip time histogram",
    default: true,
    load,
};

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        TcprttSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    // Keeps the sum of the samples (a Prometheus _sum), in microseconds.
    rodata.targ_show_ext = true;
    probe::apply(open.open_object_mut(), ProbeMode::Auto, &hooks::tcprtt())?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, (), report))
}

fn report(skel: &TcprttSkel<'static>, _: &mut (), out: &mut Metrics) -> Result<()> {
    // Not per address: one histogram under the all-zero key.
    let key = [0u8; std::mem::size_of::<hist_key>()];
    let h: hist = skel
        .maps
        .hists
        .lookup(&key, MapFlags::ANY)?
        .and_then(|b| crate::decode(&b))
        .unwrap_or_default();
    out.histogram(
        "tcp_rtt_seconds",
        "Smoothed round-trip time of established TCP connections, sampled per received packet.",
        vec![],
        log2_hist(&h.slots, 1e-6, h.latency as f64 * 1e-6),
    );
    Ok(())
}
