//! xdpcount — the tutorial's XDP program: count the packets arriving on an
//! interface per source IPv4/IPv6 address, and print the table sorted by
//! count every interval (or once, at the end). Named xdpcount, not `xdp`,
//! to sit next to iproute2's tools without confusion.
//!
//! Native (driver) XDP where the driver has it, else generic (skb) XDP;
//! `-S` forces generic. Attached through a BPF link, so the program leaves
//! the interface when the tool exits, however it exits.

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::xdpcount::Args;
use bpfkit::hist::{IntervalLoop, Tick};
use bpfkit::skel::xdpcount::XdpcountSkelBuilder;
use bpfkit::skel::xdpcount::types::{xdpcount_key, xdpcount_value};
use bpfkit::{Output, bpf, net, netif};
use clap::Parser;
use libbpf_rs::MapCore;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("xdpcount", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let ifindex = netif::ifindex(&args.interface)?;
    netif::require_net_admin("xdpcount")?;
    let mut object = MaybeUninit::uninit();
    let open = bpf::open(XdpcountSkelBuilder::default(), &mut object, &args.common)?;
    let skel = bpf::load(open)?;
    let attachment = netif::attach_xdp(
        skel.progs.xdp_count.as_fd(),
        &args.interface,
        ifindex,
        args.skb_mode,
    )?;
    bpfkit::output::note(format_args!("{}", attachment.message));

    let out = Output::stdout(args.common.json)?;
    let counts = &skel.maps.counts;
    let result = IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.count)
        .duration(args.duration)
        .timestamp(args.timestamp)
        .banner(format!(
            "Counting packets per source address on {}... Hit Ctrl-C to end.",
            args.interface
        ))
        .run(|tick| print_counts(&out, counts, &args, tick));
    // An error if the link was detached underneath us.
    let detached = attachment.detach();
    let missed = bpf::percpu_sum(&skel.maps.drops)?;
    if missed > 0 {
        bpfkit::output::note(format_args!(
            "{missed} packets not counted (more source addresses than the map holds)"
        ));
    }
    result.and(detached)
}

/// One source address and what it sent.
#[derive(Debug, Clone, PartialEq)]
struct Source {
    addr: IpAddr,
    packets: u64,
    bytes: u64,
}

/// Busiest first; ties by address, so the order is stable.
fn sorted(entries: Vec<(xdpcount_key, xdpcount_value)>, top: Option<u64>) -> Vec<Source> {
    let mut v: Vec<Source> = entries
        .into_iter()
        .filter_map(|(k, val)| {
            Some(Source {
                addr: net::ip_from_raw(k.family, &k.addr)?,
                packets: val.packets,
                bytes: val.bytes,
            })
        })
        .collect();
    v.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.addr.cmp(&b.addr)));
    if let Some(n) = top {
        v.truncate(n as usize);
    }
    v
}

fn header() -> String {
    format!("{:<39} {:>12} {:>14}", "SADDR", "PACKETS", "BYTES")
}

fn row(s: &Source) -> String {
    format!(
        "{:<39} {:>12} {:>14}",
        net::ntop(&s.addr),
        s.packets,
        s.bytes
    )
}

fn to_json(args: &Args, tick: &Tick, sources: &[Source]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = sources
        .iter()
        .map(|s| json!({"saddr": net::ntop(&s.addr), "packets": s.packets, "bytes": s.bytes}))
        .collect();
    let mut v = json!({
        "ifname": args.interface,
        "interval": tick.number,
        "sources": list,
    });
    if let Some(t) = &tick.time {
        v["time"] = json!(t);
    }
    v
}

/// Reads and clears the counters (each interval starts afresh) and prints them.
fn print_counts(out: &Output, map: &dyn MapCore, args: &Args, tick: &Tick) -> Result<()> {
    let entries: Vec<(xdpcount_key, xdpcount_value)> = bpf::drain_map(map)?;
    let sources = sorted(entries, args.top);
    if out.is_json() {
        out.json(&to_json(args, tick, &sources));
    } else {
        out.line(format_args!("{}", header()));
        for s in &sources {
            out.line(format_args!("{}", row(s)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(addr: &str) -> xdpcount_key {
        let ip: IpAddr = addr.parse().unwrap();
        let mut k = xdpcount_key::default();
        match ip {
            IpAddr::V4(a) => {
                k.family = net::AF_INET;
                k.addr[..4].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                k.family = net::AF_INET6;
                k.addr = a.octets();
            }
        }
        k
    }

    fn val(packets: u64) -> xdpcount_value {
        xdpcount_value {
            packets,
            bytes: packets * 100,
        }
    }

    #[test]
    fn busiest_first_then_by_address() {
        let s = sorted(
            vec![
                (key("10.0.0.3"), val(5)),
                (key("fe80::1"), val(7)),
                (key("10.0.0.2"), val(5)),
                (key("10.0.0.9"), val(1)),
            ],
            None,
        );
        let order: Vec<String> = s.iter().map(|s| net::ntop(&s.addr)).collect();
        assert_eq!(order, ["fe80::1", "10.0.0.2", "10.0.0.3", "10.0.0.9"]);
        let top = sorted(
            vec![(key("10.0.0.3"), val(5)), (key("10.0.0.2"), val(9))],
            Some(1),
        );
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].packets, 9);
    }

    #[test]
    fn broken_keys_are_skipped() {
        let mut k = key("10.0.0.1");
        k.family = 0;
        assert!(sorted(vec![(k, val(1))], None).is_empty());
    }

    #[test]
    fn table_and_json() {
        let s = Source {
            addr: "10.1.2.3".parse().unwrap(),
            packets: 42,
            bytes: 4200,
        };
        assert_eq!(
            header(),
            "SADDR                                        PACKETS          BYTES"
        );
        assert_eq!(
            row(&s),
            "10.1.2.3                                          42           4200"
        );
        let args = Args::try_parse_from(["xdpcount", "-i", "veth0"]).unwrap();
        let tick = Tick {
            time: None,
            number: 3,
            last: false,
        };
        assert_eq!(
            to_json(&args, &tick, &[s]),
            json!({"ifname": "veth0", "interval": 3,
                   "sources": [{"saddr": "10.1.2.3", "packets": 42, "bytes": 4200}]})
        );
    }
}
