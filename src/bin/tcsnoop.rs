//! tcsnoop — the tutorial's tc classifier: print the total length and TTL
//! (and addresses, protocol) of every IPv4 packet arriving on (or, with
//! `--egress`, leaving) an interface, through a ring buffer instead of
//! `bpf_printk`. Named tcsnoop, not `tc`, so that installing it never
//! shadows iproute2's tc(8).
//!
//! Attached as a tcx link where the kernel has them (6.6+), else as a
//! cls_bpf filter on a clsact qdisc (see bpfkit::netif); either way nothing
//! of ours stays on the interface after exit.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcsnoop::Args;
use bpfkit::bpf;
use bpfkit::events;
use bpfkit::netif::{self, TcDirection};
use bpfkit::row::{Cell, Table};
use bpfkit::skel::tcsnoop::{TcsnoopSkelBuilder, types::tcsnoop_event};

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

    let result = events::stream(
        &skel,
        &args.common,
        args.duration,
        &table(&args, dir),
        |e: &tcsnoop_event| Some(*e),
    );
    // Detach (and remove a qdisc we created) before the programs go away;
    // an error if our filter was removed underneath us.
    let detached = attachment.detach();
    result.and(detached)
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

/// One packet a line; JSON adds the interface, direction and skb length.
fn table<'a>(args: &'a Args, dir: TcDirection) -> Table<'a, tcsnoop_event> {
    Table::new()
        .time(args.timestamp)
        .json("ifname", |_| Cell::text(&args.interface))
        .json("direction", move |_| dir.name().into())
        .left("SADDR", 15, "saddr", |e: &tcsnoop_event| {
            addr(e.saddr).to_string().into()
        })
        .left("DADDR", 15, "daddr", |e| addr(e.daddr).to_string().into())
        .left("PROTO", 5, "protocol", |e| {
            Cell::both(proto_name(e.protocol), e.protocol)
        })
        .right("TOT_LEN", 7, "tot_len", |e| e.tot_len.into())
        .right("TTL", 3, "ttl", |e| e.ttl.into())
        .json("skb_len", |e| e.skb_len.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::args::parse_argv as args;

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
        let a = args(&[]);
        let t = table(&a, TcDirection::Ingress);
        assert_eq!(
            t.header_line(),
            "SADDR           DADDR           PROTO TOT_LEN TTL"
        );
        assert_eq!(
            t.table_line(&event()),
            "10.0.0.2        192.168.1.1     ICMP       84  64"
        );
        let a = args(&["-T"]);
        let t = table(&a, TcDirection::Ingress);
        assert_eq!(
            t.header_line(),
            "TIME     SADDR           DADDR           PROTO TOT_LEN TTL"
        );
        let mut e = event();
        e.protocol = 253;
        e.ttl = 255;
        e.tot_len = 65535;
        let line = t.table_line(&e);
        assert_eq!(
            &line[8..],
            " 10.0.0.2        192.168.1.1     253     65535 255"
        );
        assert_eq!(line.as_bytes()[2], b':', "{line}");
    }

    #[test]
    fn json_fields() {
        let a = args(&["-i", "lo"]);
        let (out, cap) = bpfkit::Output::captured(true);
        table(&a, TcDirection::Egress).print(&out, &event());
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "ifname": "lo", "direction": "egress", "saddr": "10.0.0.2",
                "daddr": "192.168.1.1", "protocol": 1, "tot_len": 84, "ttl": 64,
                "skb_len": 98,
            })
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let a = args(&["-T"]);
        bpfkit::row::assert_keys_in_schema("tcsnoop", &table(&a, TcDirection::Ingress).keys());
    }
}
