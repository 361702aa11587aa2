//! Signals generated, by signal (sigsnoop's signal_generate program).

use std::collections::BTreeMap;

use anyhow::Result;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::skel::sigsnoop::types::sigsnoop_event;
use crate::skel::sigsnoop::{SigsnoopSkel, SigsnoopSkelBuilder};
use crate::{bpf, fmt, probe};

pub const SPEC: Spec = Spec {
    name: "signals",
    about: "signals sent, by signal name",
    default: true,
    load,
};

/// Signal number → signals generated (at most 64 numbers).
type Seen = BTreeMap<i32, u64>;

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        SigsnoopSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    // Only signal_generate (every signal, however sent), as sigsnoop without -k.
    let progs = &mut open.progs;
    for prog in [
        &mut progs.kill_entry,
        &mut progs.kill_exit,
        &mut progs.tkill_entry,
        &mut progs.tkill_exit,
        &mut progs.tgkill_entry,
        &mut progs.tgkill_exit,
    ] {
        prog.set_autoload(false);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    super::folding(skel, count, report)
}

fn count(seen: &mut Seen, e: &sigsnoop_event) {
    let sig = if (1..=64).contains(&e.sig) { e.sig } else { 0 };
    *seen.entry(sig).or_default() += 1;
}

fn report(_: &SigsnoopSkel<'static>, seen: &mut Seen, out: &mut Metrics) -> Result<()> {
    for (&sig, &n) in seen.iter() {
        out.counter(
            "signals",
            "Signals generated (signal:signal_generate), by signal.",
            vec![(
                "signal",
                fmt::signal_name(sig).unwrap_or_else(|| "unknown".into()),
            )],
            n,
        );
    }
    Ok(())
}
