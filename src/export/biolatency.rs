//! Block I/O latency (biolatency's programs): a histogram per disk and
//! operation (read, write...) of the time from issue to completion.

use std::collections::BTreeMap;

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use super::metrics::{Hist, LabelCap, Metrics, log2_hist};
use super::{Collector, Options, Spec};
use crate::blk::ReqFlags;
use crate::disks::Partitions;
use crate::skel::biolatency::types::{hist, hist_key};
use crate::skel::biolatency::{BiolatencySkel, BiolatencySkelBuilder};
use crate::{blk, bpf, probe};

pub const SPEC: Spec = Spec {
    name: "biolatency",
    about: "block I/O latency histogram by disk and operation",
    default: true,
    load,
};

const TRACEPOINTS: [&str; 2] = ["block_rq_issue", "block_rq_complete"];

/// What the collector keeps between scrapes: the disks admitted to their
/// own series, and the kernel's operation names.
struct State {
    disks: LabelCap,
    flags: ReqFlags,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        BiolatencySkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_sum = true;
    rodata.targ_per_disk = true;
    rodata.targ_per_flag = true;
    rodata.blk_rq_takes_queue = blk::rq_tracepoints_take_queue();
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    blk::autoload_off(open.open_object_mut(), |n| n.starts_with("block_rq_insert"));
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let state = State {
        disks: LabelCap::new(opts.max_series),
        flags: ReqFlags::load(),
    };
    Ok(super::reading(skel, state, report))
}

fn report(skel: &BiolatencySkel<'static>, st: &mut State, out: &mut Metrics) -> Result<()> {
    let mut entries: Vec<(hist_key, hist)> = super::read_map(&skel.maps.hists)?;
    entries.sort_by_key(|(k, _)| (k.dev, k.cmd_flags));
    // Re-read each scrape: disks come and go (loop devices, hot plug).
    let partitions = Partitions::load().unwrap_or_default();
    let mut series: BTreeMap<(String, String), Hist> = BTreeMap::new();
    for (key, h) in &entries {
        let disk = st.disks.label(partitions.name_of(key.dev));
        let op = op_label(&st.flags, key.cmd_flags);
        let h = to_hist(h);
        match series.get_mut(&(disk.clone(), op.clone())) {
            Some(acc) => acc.add(&h),
            None => {
                series.insert((disk, op), h);
            }
        }
    }
    for ((disk, op), h) in series {
        out.histogram(NAME, HELP, vec![("disk", disk), ("op", op)], h);
    }
    Ok(())
}

/// `read`, `write`, `flush`, `discard`...: the operation, lower case.
fn op_label(flags: &ReqFlags, cmd_flags: u32) -> String {
    flags
        .op(cmd_flags)
        .map_or_else(|| "other".to_string(), str::to_lowercase)
}

const NAME: &str = "block_io_latency_seconds";
const HELP: &str = "Block I/O latency, from issue to the device to completion.";

/// Microsecond log2 slots, the sum in ns.
fn to_hist(h: &hist) -> Hist {
    log2_hist(&h.slots, 1e-6, h.sum_ns as f64 * 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_lower_case_names() {
        let f = ReqFlags::fallback();
        assert_eq!(op_label(&f, 1 | 1 << 11), "write");
        assert_eq!(op_label(&f, 0), "read");
        assert_eq!(op_label(&f, 99), "other");
    }
}
