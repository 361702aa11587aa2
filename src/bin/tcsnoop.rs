//! tcsnoop — the tutorial's tc classifier: print the total length and TTL
//! (and addresses, protocol) of every IPv4 packet arriving on (or, with
//! `--egress`, leaving) an interface, through a ring buffer instead of
//! `bpf_printk`. Named tcsnoop, not `tc`, so that installing it never
//! shadows iproute2's tc(8).
//!
//! Attached as a tcx link where the kernel has them (6.6+), else as a
//! cls_bpf filter on a clsact qdisc (see bpfkit::netif); either way nothing
//! of ours stays on the interface after exit.

use std::mem::MaybeUninit;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcsnoop::Args;
use bpfkit::events::{EventLoop, typed};
use bpfkit::netif::{self, TcDirection};
use bpfkit::skel::tcsnoop::{TcsnoopSkelBuilder, types::tcsnoop_event};
use bpfkit::{Output, bpf, fmt};
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("tcsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::from_env();
    let ifindex = netif::ifindex(&args.interface)?;
    netif::require_net_admin("tcsnoop")?;
    let dir = if args.egress {
        TcDirection::Egress
    } else {
        TcDirection::Ingress
    };
    let mut object = MaybeUninit::uninit();
    let open = bpf::open(TcsnoopSkelBuilder::default(), &mut object, &args.common)?;
    let skel = bpf::load(open)?;
    let attachment = netif::attach_tc(
        skel.progs.tc_ingress.as_fd(),
        &args.interface,
        ifindex,
        dir,
        args.mode,
    )?;
    if args.default_interface {
        bpfkit::output::note(format_args!(
            "no -i given: tracing {} (-i IFNAME for another interface)",
            args.interface
        ));
    }
    bpfkit::output::note(format_args!("{}", attachment.message));

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!("{}", header(&args)));
    let result = EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &tcsnoop_event| print_event(&out, &args, dir, e)),
    )?
    .count_drops(&skel.maps.drops)
    .duration(args.duration)
    .run();
    // Detach (and remove a qdisc we created) before the programs go away;
    // an error if our filter was removed underneath us.
    let detached = attachment.detach();
    result.and(detached)
}

fn header(args: &Args) -> String {
    let mut h = String::new();
    if args.timestamp {
        h.push_str(&format!("{:<8} ", "TIME"));
    }
    h.push_str(&format!(
        "{:<15} {:<15} {:<5} {:>7} {:>3}",
        "SADDR", "DADDR", "PROTO", "TOT_LEN", "TTL"
    ));
    h
}

/// `TCP`, `UDP`, `ICMP`…, else the protocol number.
fn proto_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        2 => "IGMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        132 => "SCTP".into(),
        n => n.to_string(),
    }
}

fn addr(raw: u32) -> Ipv4Addr {
    // Network byte order in memory: the bytes as they are.
    Ipv4Addr::from(raw.to_ne_bytes())
}

fn row(time: Option<&str>, e: &tcsnoop_event) -> String {
    let mut r = String::with_capacity(64);
    if let Some(t) = time {
        r.push_str(&format!("{t:<8} "));
    }
    r.push_str(&format!(
        "{:<15} {:<15} {:<5} {:>7} {:>3}",
        addr(e.saddr).to_string(),
        addr(e.daddr).to_string(),
        proto_name(e.protocol),
        e.tot_len,
        e.ttl
    ));
    r
}

fn to_json(
    args: &Args,
    dir: TcDirection,
    time: Option<&str>,
    e: &tcsnoop_event,
) -> serde_json::Value {
    let mut v = json!({
        "ifname": args.interface,
        "direction": dir.name(),
        "saddr": addr(e.saddr).to_string(),
        "daddr": addr(e.daddr).to_string(),
        "protocol": e.protocol,
        "tot_len": e.tot_len,
        "ttl": e.ttl,
        "skb_len": e.skb_len,
    });
    if let Some(t) = time {
        v["time"] = json!(t);
    }
    v
}

fn print_event(out: &Output, args: &Args, dir: TcDirection, e: &tcsnoop_event) {
    let time = args.timestamp.then(fmt::hms_now);
    if out.is_json() {
        out.json(&to_json(args, dir, time.as_deref(), e));
    } else {
        out.line(format_args!("{}", row(time.as_deref(), e)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tcsnoop").chain(argv.iter().copied())).unwrap()
    }

    fn event() -> tcsnoop_event {
        tcsnoop_event {
            ts_ns: 1,
            saddr: u32::from_ne_bytes([10, 0, 0, 2]),
            daddr: u32::from_ne_bytes([192, 168, 1, 1]),
            skb_len: 98,
            tot_len: 84,
            ttl: 64,
            protocol: 1,
        }
    }

    #[test]
    fn header_and_rows() {
        assert_eq!(
            header(&args(&[])),
            "SADDR           DADDR           PROTO TOT_LEN TTL"
        );
        assert_eq!(
            row(None, &event()),
            "10.0.0.2        192.168.1.1     ICMP       84  64"
        );
        assert_eq!(
            header(&args(&["-T"])),
            "TIME     SADDR           DADDR           PROTO TOT_LEN TTL"
        );
        let mut e = event();
        e.protocol = 253;
        e.ttl = 255;
        e.tot_len = 65535;
        assert_eq!(
            row(Some("10:00:00"), &e),
            "10:00:00 10.0.0.2        192.168.1.1     253     65535 255"
        );
    }

    #[test]
    fn json_fields() {
        let v = to_json(&args(&["-i", "lo"]), TcDirection::Egress, None, &event());
        assert_eq!(
            v,
            json!({
                "ifname": "lo", "direction": "egress", "saddr": "10.0.0.2",
                "daddr": "192.168.1.1", "protocol": 1, "tot_len": 84, "ttl": 64,
                "skb_len": 98,
            })
        );
    }
}
