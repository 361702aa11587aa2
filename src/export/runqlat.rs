//! Run-queue latency (runqlat's programs): one histogram of the time
//! runnable tasks wait for a CPU.

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;
use libbpf_rs::{MapCore, MapFlags};

use super::metrics::{Hist, LabelCap, Metrics, log2_hist};
use super::{Collector, Options, Spec};
use crate::skel::runqlat::types::hist;
use crate::skel::runqlat::{RunqlatSkel, RunqlatSkelBuilder};
use crate::{bpf, probe};

pub const SPEC: Spec = Spec {
    name: "runqlat",
    about: "run queue (scheduler) latency histogram",
    default: true,
    load,
};

const TRACEPOINTS: [&str; 3] = ["sched_wakeup", "sched_wakeup_new", "sched_switch"];

/// The key of the system-wide histogram (BPF's `hkey = -1`).
const ALL: u32 = u32::MAX;

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        RunqlatSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_sum = true;
    rodata.targ_per_pidns = opts.runqlat_per_pidns;
    probe::require_tracefs()?;
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    // With --runqlat-per-pidns: which namespaces keep their own series.
    let per_pidns = opts
        .runqlat_per_pidns
        .then(|| LabelCap::new(opts.max_series));
    Ok(super::reading(skel, per_pidns, report))
}

fn report(
    skel: &RunqlatSkel<'static>,
    per_pidns: &mut Option<LabelCap>,
    out: &mut Metrics,
) -> Result<()> {
    let Some(cap) = per_pidns.as_mut() else {
        let h: hist = skel
            .maps
            .hists
            .lookup(&ALL.to_ne_bytes(), MapFlags::ANY)?
            .and_then(|b| crate::decode(&b))
            .unwrap_or_default();
        out.histogram(NAME, HELP, vec![], to_hist(&h));
        return Ok(());
    };
    let mut entries: Vec<(u32, hist)> = super::read_map(&skel.maps.hists)?;
    entries.sort_by_key(|e| e.0);
    let labelled = entries.iter().map(|(ns, h)| (ns.to_string(), to_hist(h)));
    for (pidns, h) in cap.fold(labelled, Hist::add) {
        out.histogram(NAME, HELP, vec![("pidns", pidns)], h);
    }
    Ok(())
}

const NAME: &str = "runqueue_latency_seconds";
const HELP: &str = "Time runnable tasks waited on a run queue before running.";

/// Microsecond log2 slots, the sum in ns.
fn to_hist(h: &hist) -> Hist {
    log2_hist(&h.slots, 1e-6, h.sum_ns as f64 * 1e-9)
}
