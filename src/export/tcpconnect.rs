//! TCP active opens (connects) by address family (tcpconnect's programs:
//! one ring-buffer event per connect whose SYN went out).

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::probe::{self, ProbeMode};
use crate::skel::tcpconnect::types::tcpconnect_event;
use crate::skel::tcpconnect::{TcpconnectSkel, TcpconnectSkelBuilder};
use crate::{bpf, hooks, net};

pub const SPEC: Spec = Spec {
    name: "tcpconnect",
    about: "TCP active opens (connects) by address family",
    default: true,
    load,
};

/// Connects seen, by family.
#[derive(Default)]
struct Connects {
    ipv4: u64,
    ipv6: u64,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut open = bpf::open(
        TcpconnectSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    // No filters: every rodata default of the tool (-u unset is uid -1).
    probe::apply(
        open.open_object_mut(),
        ProbeMode::Auto,
        &hooks::tcpconnect(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    super::folding(skel, count, report)
}

fn count(c: &mut Connects, e: &tcpconnect_event) {
    match e.af {
        net::AF_INET => c.ipv4 += 1,
        net::AF_INET6 => c.ipv6 += 1,
        _ => {}
    }
}

fn report(_: &TcpconnectSkel<'static>, c: &mut Connects, out: &mut Metrics) -> Result<()> {
    for (family, n) in [("ipv4", c.ipv4), ("ipv6", c.ipv6)] {
        out.counter(
            "tcp_connects",
            "TCP active opens (connect() sent a SYN), by address family; \
             v4-mapped connects on IPv6 sockets count as ipv6.",
            vec![("family", family.to_string())],
            n,
        );
    }
    Ok(())
}
