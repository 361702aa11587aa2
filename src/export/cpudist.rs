//! On-CPU time (cpudist's programs): one histogram of how long tasks run
//! on a CPU each time before being switched out.

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;
use libbpf_rs::{MapCore, MapFlags};

use super::metrics::{Hist, Metrics, log2_hist};
use super::{Collector, Options, Spec};
use crate::skel::cpudist::types::hist;
use crate::skel::cpudist::{CpudistSkel, CpudistSkelBuilder};
use crate::{bpf, probe};

pub const SPEC: Spec = Spec {
    name: "cpudist",
    about: "on-CPU time histogram (each run of a task on a CPU: opt in)",
    default: false,
    load,
};

/// The key of the system-wide histogram (BPF's `hkey = -1`).
const ALL: u32 = u32::MAX;

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        CpudistSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_sum = true;
    probe::require_tracefs()?;
    probe::apply_raw_tp_style(open.open_object_mut(), &["sched_switch"]);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, (), report))
}

fn report(skel: &CpudistSkel<'static>, _: &mut (), out: &mut Metrics) -> Result<()> {
    let h: hist = skel
        .maps
        .hists
        .lookup(&ALL.to_ne_bytes(), MapFlags::ANY)?
        .and_then(|b| crate::decode(&b))
        .unwrap_or_default();
    out.histogram(NAME, HELP, vec![], to_hist(&h));
    Ok(())
}

const NAME: &str = "oncpu_seconds";
const HELP: &str = "Time tasks ran on a CPU each time before being switched out.";

/// Microsecond log2 slots, the sum in ns.
fn to_hist(h: &hist) -> Hist {
    log2_hist(&h.slots, 1e-6, h.sum_ns as f64 * 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsecond_slots_become_seconds() {
        let mut h = hist::default();
        h.slots[0] = 2; // 0-1 us
        h.slots[10] = 3; // 1024-2047 us
        h.sum_ns = 5_000_000;
        let m = to_hist(&h);
        assert_eq!(m.sum, 0.005);
        assert_eq!(m.buckets[0], (2e-6, 2));
        assert_eq!(m.buckets[10], (2048e-6, 3));
        assert_eq!(m.buckets.last().unwrap().0, f64::INFINITY);
        assert_eq!(m.buckets.len(), h.slots.len());
    }
}
