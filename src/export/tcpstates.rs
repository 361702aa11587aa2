//! TCP state transitions by (old, new) state (tcpstates' program).

use std::collections::BTreeMap;

use anyhow::Result;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::skel::tcpstates::types::tcpstates_event;
use crate::skel::tcpstates::{TcpstatesSkel, TcpstatesSkelBuilder};
use crate::{bpf, net, probe};

pub const SPEC: Spec = Spec {
    name: "tcpstates",
    about: "TCP state transitions by old and new state",
    default: true,
    load,
};

/// (old, new) kernel state numbers → transitions; at most 13 × 13.
type Seen = BTreeMap<(i32, i32), u64>;

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let open = bpf::open(
        TcpstatesSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    super::folding(skel, count, report)
}

fn count(seen: &mut Seen, e: &tcpstates_event) {
    // Numbers outside the kernel's enum would be unbounded labels.
    let clamp = |s: i32| if (1..=12).contains(&s) { s } else { 0 };
    *seen
        .entry((clamp(e.oldstate), clamp(e.newstate)))
        .or_default() += 1;
}

fn report(_: &TcpstatesSkel<'static>, seen: &mut Seen, out: &mut Metrics) -> Result<()> {
    for (&(old, new), &n) in seen.iter() {
        out.counter(
            "tcp_state_transitions",
            "TCP socket state changes, by old and new state.",
            vec![
                ("old_state", net::tcp_state_name(old).to_string()),
                ("new_state", net::tcp_state_name(new).to_string()),
            ],
            n,
        );
    }
    Ok(())
}
