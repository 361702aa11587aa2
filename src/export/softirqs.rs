//! Soft IRQ time and count by vector (softirqs' programs).

use anyhow::{Context, Result};
use libbpf_rs::skel::OpenSkel;
use libbpf_rs::{MapCore, MapFlags};

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::skel::softirqs::{SoftirqsSkel, SoftirqsSkelBuilder};
use crate::{bpf, probe};

pub const SPEC: Spec = Spec {
    name: "softirqs",
    about: "soft IRQ time and count by vector",
    default: true,
    load,
};

/// The kernel's softirq vectors, in number order (include/linux/interrupt.h).
pub const VECTORS: [&str; 10] = [
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
];

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        SoftirqsSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_ns = true;
    probe::require_tracefs()?;
    probe::apply_raw_tp_style(open.open_object_mut(), &["softirq_entry", "softirq_exit"]);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    Ok(super::reading(skel, (), report))
}

/// `counts[NR_SOFTIRQS]` then `times[NR_SOFTIRQS]`, the start of `.bss`.
fn parse_bss(bytes: &[u8]) -> Option<([u64; 10], [u64; 10])> {
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_ne_bytes(
            bytes.get(i * 8..i * 8 + 8)?.try_into().ok()?,
        ))
    };
    let mut counts = [0; 10];
    let mut times = [0; 10];
    for v in 0..10 {
        counts[v] = word(v)?;
        times[v] = word(10 + v)?;
    }
    Some((counts, times))
}

fn report(skel: &SoftirqsSkel<'static>, _: &mut (), out: &mut Metrics) -> Result<()> {
    // A copy of .bss through the map (no shared mutable memory).
    let bytes = skel
        .maps
        .bss
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)?
        .context("the softirqs .bss map is empty")?;
    let (counts, times) = parse_bss(&bytes).context("the softirqs .bss is too short")?;
    for (v, name) in VECTORS.iter().enumerate() {
        out.counter(
            "softirqs",
            "Soft IRQ handler runs, by vector.",
            vec![("vector", name.to_string())],
            counts[v],
        );
        out.counter_f(
            "softirq_seconds",
            "Time spent in soft IRQ handlers, by vector.",
            vec![("vector", name.to_string())],
            times[v] as f64 * 1e-9,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bss_layout() {
        let mut b = Vec::new();
        for i in 0..30u64 {
            b.extend_from_slice(&i.to_ne_bytes());
        }
        let (c, t) = super::parse_bss(&b).unwrap();
        assert_eq!((c[0], c[9], t[0], t[9]), (0, 9, 10, 19));
        assert!(super::parse_bss(&b[..100]).is_none());
    }
}
