//! XDP packets and bytes per interface (xdpcount's program, one copy per
//! `--xdp-interface`). Never in the default set: it attaches to interfaces.

use std::os::fd::{AsFd, RawFd};

use anyhow::{Context, Result};
use libbpf_rs::skel::Skel;

use super::metrics::Metrics;
use super::{Collector, Options, Spec};
use crate::netif::{self, XdpAttachment};
use crate::skel::xdpcount::types::{xdpcount_key, xdpcount_value};
use crate::skel::xdpcount::{XdpcountSkel, XdpcountSkelBuilder};
use crate::{bpf, output};

pub const SPEC: Spec = Spec {
    name: "xdp",
    about: "XDP packets and bytes received per interface (needs --xdp-interface)",
    default: false,
    load,
};

struct Interface {
    name: String,
    // Declared first: detached before the program is unloaded.
    _attachment: XdpAttachment,
    skel: XdpcountSkel<'static>,
}

struct Xdp {
    interfaces: Vec<Interface>,
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let mut interfaces = Vec::new();
    for name in &opts.xdp_interfaces {
        let ifindex = netif::ifindex(name)?;
        let open = bpf::open(
            XdpcountSkelBuilder::default(),
            super::object_storage(),
            &opts.common,
        )?;
        let skel = bpf::load(open)?;
        let attachment = netif::attach_xdp(
            skel.progs.xdp_count.as_fd(),
            name,
            ifindex,
            opts.xdp_skb_mode,
        )
        .with_context(|| format!("--xdp-interface {name}"))?;
        output::note(format_args!("xdp: {}", attachment.message));
        interfaces.push(Interface {
            name: name.clone(),
            _attachment: attachment,
            skel,
        });
    }
    Ok(Box::new(Xdp { interfaces }))
}

impl Collector for Xdp {
    fn programs(&self) -> Vec<(String, RawFd)> {
        self.interfaces
            .iter()
            .flat_map(|i| super::loaded_programs(i.skel.object()))
            .collect()
    }

    /// Packets not counted: more source addresses than the map holds.
    fn lost(&self) -> Result<Option<u64>> {
        self.interfaces
            .iter()
            .map(|i| bpf::percpu_sum(&i.skel.maps.drops))
            .sum::<Result<u64>>()
            .map(Some)
    }

    fn collect(&mut self, out: &mut Metrics) -> Result<()> {
        for i in &self.interfaces {
            let entries: Vec<(xdpcount_key, xdpcount_value)> =
                super::read_map(&i.skel.maps.counts)?;
            let packets = entries.iter().map(|e| e.1.packets).sum();
            let bytes = entries.iter().map(|e| e.1.bytes).sum();
            out.counter(
                "xdp_packets",
                "Packets seen by XDP on the interface (all passed on).",
                vec![("interface", i.name.clone())],
                packets,
            );
            out.counter(
                "xdp_bytes",
                "Bytes seen by XDP on the interface.",
                vec![("interface", i.name.clone())],
                bytes,
            );
        }
        Ok(())
    }
}
