//! Hard IRQ handler time and count by handler name (hardirqs' programs).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use super::metrics::{LabelCap, Metrics};
use super::{Collector, Options, Spec};
use crate::skel::hardirqs::types::{info, irq_key};
use crate::skel::hardirqs::{HardirqsSkel, HardirqsSkelBuilder};
use crate::{bpf, fmt, probe};

pub const SPEC: Spec = Spec {
    name: "hardirqs",
    about: "hard IRQ handler time and count by handler name",
    default: true,
    load,
};

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        HardirqsSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_ns = true;
    probe::require_tracefs()?;
    probe::apply_raw_tp_style(
        open.open_object_mut(),
        &["irq_handler_entry", "irq_handler_exit"],
    );
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, LabelCap::new(opts.max_series), report))
}

fn report(skel: &HardirqsSkel<'static>, names: &mut LabelCap, out: &mut Metrics) -> Result<()> {
    let mut entries: Vec<(String, (u64, u64))> =
        super::read_map::<irq_key, info>(&skel.maps.infos)?
            .into_iter()
            .map(|(k, v)| (fmt::c_chars(&k.name), (v.count, v.total)))
            .collect();
    entries.sort();
    let folded = names.fold(entries, |a, b| {
        a.0 += b.0;
        a.1 += b.1;
    });
    for (name, (count, ns)) in folded {
        out.counter(
            "hardirqs",
            "Hard IRQ handler runs, by handler name.",
            vec![("irq", name.clone())],
            count,
        );
        out.counter_f(
            "hardirq_seconds",
            "Time spent in hard IRQ handlers, by handler name.",
            vec![("irq", name)],
            ns as f64 * 1e-9,
        );
    }
    Ok(())
}
