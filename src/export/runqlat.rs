//! Run-queue latency (runqlat's programs): one histogram of the time
//! runnable tasks wait for a CPU.

use std::os::fd::RawFd;

use anyhow::Result;
use libbpf_rs::skel::{OpenSkel, Skel};
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

struct Runqlat {
    skel: RunqlatSkel<'static>,
    /// With --runqlat-per-pidns: which namespaces keep their own series.
    per_pidns: Option<LabelCap>,
}

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
    let per_pidns = opts
        .runqlat_per_pidns
        .then(|| LabelCap::new(opts.max_series));
    Ok(Box::new(Runqlat { skel, per_pidns }))
}

impl Collector for Runqlat {
    fn programs(&self) -> Vec<(String, RawFd)> {
        super::loaded_programs(self.skel.object())
    }

    fn collect(&mut self, out: &mut Metrics) -> Result<()> {
        let Some(cap) = self.per_pidns.as_mut() else {
            let h: hist = self
                .skel
                .maps
                .hists
                .lookup(&ALL.to_ne_bytes(), MapFlags::ANY)?
                .and_then(|b| crate::decode(&b))
                .unwrap_or_default();
            out.histogram(NAME, HELP, vec![], to_hist(&h));
            return Ok(());
        };
        let mut entries: Vec<(u32, hist)> = super::read_map(&self.skel.maps.hists)?;
        entries.sort_by_key(|e| e.0);
        let labelled = entries.iter().map(|(ns, h)| (ns.to_string(), to_hist(h)));
        for (pidns, h) in cap.fold(labelled, Hist::add) {
            out.histogram(NAME, HELP, vec![("pidns", pidns)], h);
        }
        Ok(())
    }
}

const NAME: &str = "runqueue_latency_seconds";
const HELP: &str = "Time runnable tasks waited on a run queue before running.";

/// Microsecond log2 slots, the sum in ns.
fn to_hist(h: &hist) -> Hist {
    log2_hist(&h.slots, 1e-6, h.sum_ns as f64 * 1e-9)
}
