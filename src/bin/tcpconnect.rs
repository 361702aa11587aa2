//! tcpconnect — trace active TCP connects (who, from where, to where), or
//! count them per destination with `-c`, IPv4 and IPv6.
//!
//! Same flags and columns as libbpf-tools tcpconnect (`-t`, `-U`, `-p`,
//! `-u`, `-P`, `-c`, `-s`), plus `-4`/`-6`, `--cgroup`, `-d`, `--json` and
//! `--probe`: fexit or kprobe on tcp_v4_connect/tcp_v6_connect, or the
//! sock:inet_sock_set_state and tcp:tcp_retransmit_skb tracepoints.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcpconnect::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::tcpconnect::TcpconnectSkelBuilder;
use bpfkit::skel::tcpconnect::types::tcpconnect_event;
use bpfkit::{bpf, cgroup, connects, events, fmt, hooks, net, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("tcpconnect", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        TcpconnectSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.filter_pid = args.target.pid.unwrap_or(0);
    rodata.filter_uid = args.uid.unwrap_or(u32::MAX);
    rodata.filter_family = args.inet.family();
    rodata.filter_ports = args.ports.is_some();
    rodata.do_count = args.count;
    rodata.count_sport = args.source_port;
    rodata.filter_cg = cgroup.is_on();
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &hooks::tcpconnect(),
    )?;
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::fill_port_set(&skel.maps.ports, &args.ports)?;
    bpf::attach(&mut skel)?;
    if args.count {
        let (counts, drops) = (&skel.maps.counts, &skel.maps.drops);
        connects::print_counts(
            counts,
            drops,
            args.run.common.json,
            args.run.duration,
            args.source_port,
        )?;
    } else {
        let mut since_first = fmt::SinceFirst::default();
        events::stream_decoded(
            &skel,
            &args.run,
            &table(&args),
            |e| Connect::decode(e, &mut since_first),
            |e: &tcpconnect_event| format!("af={}", e.af),
        )?;
    }
    connects::note_in_progress(&skel.maps.pending);
    Ok(())
}

/// One connect: the event and what is decoded from it.
struct Connect {
    e: tcpconnect_event,
    /// Seconds since the first connect printed (libbpf-tools' `-t`).
    elapsed_s: f64,
    laddr: IpAddr,
    raddr: IpAddr,
}

impl Connect {
    /// `None` for a family that is neither IPv4 nor IPv6.
    fn decode(e: &tcpconnect_event, since_first: &mut fmt::SinceFirst) -> Option<Connect> {
        Some(Connect {
            e: *e,
            elapsed_s: since_first.secs(e.ts_us),
            laddr: net::ip_from_raw(e.af, &e.saddr)?,
            raddr: net::ip_from_raw(e.af, &e.daddr)?,
        })
    }
}

/// libbpf-tools' columns (`%-9.3f`, `%-6d`, then `%-6d %-16.16s %-2d %-16s
/// %-16s [%-5d] %-5d`); SADDR/DADDR are the socket's ends: `laddr`/`raddr`.
fn table(args: &Args) -> Table<'static, Connect> {
    Table::new()
        .left("TIME(s)", 8, "elapsed_s", |c: &Connect| {
            Cell::float(c.elapsed_s, 3)
        })
        .only_if(args.timestamp)
        .left("UID", 5, "uid", |c| c.e.uid.into())
        .shown_if(args.print_uid)
        .left("PID", 6, "pid", |c| c.e.pid.into())
        .left("COMM", 16, "comm", |c| Cell::text(fmt::c_chars(&c.e.comm)))
        .left("IP", 2, "family", |c| net::ip_version(&c.laddr).into())
        .left("SADDR", 16, "laddr", |c| net::ntop(&c.laddr).into())
        .left("DADDR", 16, "raddr", |c| net::ntop(&c.raddr).into())
        .left("SPORT", 5, "lport", |c| c.e.sport.into())
        .shown_if(args.source_port)
        .last("DPORT", "rport", |c| c.e.dport.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn v4_event() -> tcpconnect_event {
        let mut e = tcpconnect_event {
            ts_us: 5_000_000,
            pid: 222564,
            uid: 1000,
            af: net::AF_INET,
            sport: 43210,
            dport: 80,
            ..Default::default()
        };
        e.saddr[..4].copy_from_slice(&[192, 168, 88, 15]);
        e.daddr[..4].copy_from_slice(&[110, 242, 68, 3]);
        for (d, s) in e.comm.iter_mut().zip(b"wget") {
            *d = *s as _;
        }
        e
    }

    fn connect(e: &tcpconnect_event) -> Connect {
        Connect::decode(e, &mut Default::default()).unwrap()
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let c = connect(&v4_event());
        let t = table(&args(&[]));
        assert_eq!(
            t.header_line(),
            "PID    COMM             IP SADDR            DADDR            DPORT"
        );
        assert_eq!(
            t.table_line(&c),
            "222564 wget             4  192.168.88.15    110.242.68.3     80"
        );
        let t = table(&args(&["-t", "-U", "-s"]));
        assert_eq!(
            t.header_line(),
            "TIME(s)  UID   PID    COMM             IP SADDR            DADDR            SPORT DPORT"
        );
        let c = Connect {
            elapsed_s: 1.5,
            ..c
        };
        assert_eq!(
            t.table_line(&c),
            "1.500    1000  222564 wget             4  192.168.88.15    110.242.68.3     43210 80"
        );
    }

    #[test]
    fn wide_values_stay_apart() {
        // libbpf-tools' `%-9.3f%-6d` would run these together.
        let mut e = v4_event();
        e.uid = 1_000_000;
        let c = Connect {
            elapsed_s: 12345.5,
            ..connect(&e)
        };
        let line = table(&args(&["-t", "-U"])).table_line(&c);
        assert!(line.starts_with("12345.500 1000000 222564 wget"), "{line}");
    }

    #[test]
    fn ipv6_rows() {
        let mut e = v4_event();
        e.af = net::AF_INET6;
        e.saddr = [0; 16];
        e.saddr[15] = 1;
        e.daddr = e.saddr;
        let t = table(&args(&[]));
        assert_eq!(
            t.table_line(&connect(&e)),
            "222564 wget             6  ::1              ::1              80"
        );
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        let c = Connect {
            elapsed_s: 2.25,
            ..connect(&v4_event())
        };
        table(&args(&["-t"])).print(&out, &c);
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "elapsed_s": 2.25, "uid": 1000, "pid": 222564, "comm": "wget", "family": 4,
                "laddr": "192.168.88.15", "raddr": "110.242.68.3", "lport": 43210, "rport": 80,
            })
        );
        let v = table(&args(&[])).json_value(&c);
        assert!(v.get("elapsed_s").is_none(), "{v}");
        assert_eq!(v["lport"], 43210, "JSON keeps lport without -s: {v}");
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let t = table(&args(&["-t", "-U", "-s"]));
        bpfkit::row::assert_keys_in_schema("tcpconnect", &t.keys());
    }

    #[test]
    fn unknown_family_is_not_decoded() {
        let mut e = v4_event();
        e.af = 1;
        assert!(Connect::decode(&e, &mut Default::default()).is_none());
    }
}
