//! Run-queue length (runqlen's program): a software cpu-clock perf event
//! per CPU samples how many tasks wait, 99 times a second. Not in the
//! default set: the timer wakes idle CPUs 99 times a second.

use anyhow::Result;
use libbpf_rs::Link;

use super::metrics::{Hist, Metrics};
use super::{Collector, Options, Spec};
use crate::runqlen::{Counts, MAX_SLOTS, occupancy};
use crate::skel::runqlen::{RunqlenSkel, RunqlenSkelBuilder};
use crate::{bpf, perf};

pub const SPEC: Spec = Spec {
    name: "runqlen",
    about: "run queue length sampled at 99 Hz per CPU (a timer that wakes idle CPUs: opt in)",
    default: false,
    load,
};

/// libbpf-tools runqlen's default frequency.
const FREQUENCY: u64 = 99;

/// The perf links (kept for the collector's life) and the CPUs sampled.
struct State {
    _links: Vec<Link>,
    cpus: Vec<u32>,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let open = bpf::open(
        RunqlenSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    let skel = bpf::load(open)?;
    let sampling = perf::open_cpu_clock(FREQUENCY, &perf::online_cpus()?)?;
    let cpus = sampling.events.iter().map(|e| e.0).collect();
    let links = perf::attach(&skel.progs.do_sample, sampling)?;
    Ok(super::reading(
        skel,
        State {
            _links: links,
            cpus,
        },
        report,
    ))
}

fn report(skel: &RunqlenSkel<'static>, state: &mut State, out: &mut Metrics) -> Result<()> {
    let counts = Counts::read(&skel.maps.hists)?;
    out.histogram(
        "runqueue_length",
        "Tasks waiting on a CPU's run queue (the running one not counted), sampled at 99 Hz on every CPU.",
        vec![],
        to_hist(&counts.sum(&state.cpus)),
    );
    for &cpu in &state.cpus {
        let (samples, queued, _) = occupancy(&counts.cpu(cpu));
        let label = || vec![("cpu", cpu.to_string())];
        out.counter(
            "runqueue_samples",
            "Run-queue length samples taken, by CPU.",
            label(),
            samples,
        );
        out.counter(
            "runqueue_queued_samples",
            "Run-queue length samples in which a task was waiting, by CPU (occupancy = rate of this / rate of runqueue_samples).",
            label(),
            queued,
        );
    }
    Ok(())
}

/// Slot `i` is length `i` (bucket `le="i"`); the last slot holds 31 and
/// more (`+Inf`). The sum counts the last slot as 31.
fn to_hist(slots: &[u64; MAX_SLOTS]) -> Hist {
    let buckets = slots
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let le = if i == MAX_SLOTS - 1 {
                f64::INFINITY
            } else {
                i as f64
            };
            (le, n)
        })
        .collect();
    let sum = slots
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    Hist { buckets, sum }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_buckets() {
        let mut slots = [0u64; MAX_SLOTS];
        slots[0] = 5;
        slots[2] = 3;
        slots[31] = 1;
        let h = to_hist(&slots);
        assert_eq!(h.buckets.len(), MAX_SLOTS);
        assert_eq!(h.buckets[2], (2.0, 3));
        assert_eq!(h.buckets[31], (f64::INFINITY, 1));
        assert_eq!(h.count(), 9);
        assert_eq!(h.sum, 6.0 + 31.0);
        assert_eq!(h.cumulative()[1], (1.0, 5));
    }
}
