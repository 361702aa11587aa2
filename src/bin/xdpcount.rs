//! xdpcount — the tutorial's XDP program: count the packets arriving on an
//! interface per source IPv4/IPv6 address, and print the table sorted by
//! count every interval (or once, at the end). Named xdpcount, not `xdp`,
//! to sit next to iproute2's tools without confusion.
//!
//! Native (driver) XDP where the driver has it, else generic (skb) XDP;
//! `-S` forces generic. Attached through a BPF link, so the program leaves
//! the interface when the tool exits, however it exits.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::xdpcount::Args;
use bpfkit::interval::IntervalLoop;
use bpfkit::row::Table;
use bpfkit::skel::xdpcount::XdpcountSkelBuilder;
use bpfkit::skel::xdpcount::types::{xdpcount_key, xdpcount_value};
use bpfkit::{Output, bpf, net, netif};
use clap::Parser;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("xdpcount", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let ifindex = netif::ifindex(&args.interface)?;
    netif::require_net_admin("xdpcount")?;
    let mut object = MaybeUninit::uninit();
    let open = bpf::open(
        XdpcountSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let skel = bpf::load(open)?;
    let attachment = netif::attach_xdp(
        skel.progs.xdp_count.as_fd(),
        &args.interface,
        ifindex,
        args.skb_mode,
    )?;
    bpfkit::output::note(format_args!("{}", attachment.message));

    let out = Output::stdout(args.run.common.json)?;
    let (counts, table) = (&skel.maps.counts, table());
    let result = IntervalLoop::new(&out)
        .every(args.interval)
        .count(args.count)
        .duration(args.run.duration)
        .timestamp(args.timestamp)
        .banner(format!(
            "Counting packets per source address on {}... Hit Ctrl-C to end.",
            args.interface
        ))
        .run(|tick| {
            // Read and clear: each interval starts afresh.
            let sources = sorted(bpf::drain_map(counts)?, args.top);
            let mut fields = tick.fields();
            fields["ifname"] = json!(args.interface);
            table.print_interval(&out, fields, &sources);
            Ok(())
        });
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

/// `SADDR PACKETS BYTES`, busiest first.
fn table() -> Table<'static, Source> {
    Table::new()
        .left("SADDR", 39, "saddr", |s: &Source| net::ntop(&s.addr).into())
        .right("PACKETS", 12, "packets", |s| s.packets.into())
        .right("BYTES", 14, "bytes", |s| s.bytes.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(addr: &str) -> xdpcount_key {
        let (family, addr) = net::ip_to_raw(&addr.parse().unwrap());
        xdpcount_key {
            family,
            addr,
            ..Default::default()
        }
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
        let t = table();
        assert_eq!(
            t.header_line(),
            "SADDR                                        PACKETS          BYTES"
        );
        assert_eq!(
            t.table_line(&s),
            "10.1.2.3                                          42           4200"
        );
        let (out, cap) = bpfkit::Output::captured(true);
        t.print_interval(&out, json!({"ifname": "veth0"}), &[s]);
        t.print_interval(&out, json!({"ifname": "veth0"}), &[]);
        assert_eq!(
            cap.json_lines(),
            [
                json!({"ifname": "veth0",
                       "rows": [{"saddr": "10.1.2.3", "packets": 42, "bytes": 4200}]}),
                json!({"ifname": "veth0", "rows": []})
            ]
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("xdpcount", &table().keys());
    }
}
