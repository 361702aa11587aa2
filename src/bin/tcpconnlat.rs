//! tcpconnlat — lesson 13: trace active TCP connects and show how long the
//! handshake took (connect() → SYN-ACK processed), IPv4 and IPv6.
//!
//! Same flags and columns as libbpf-tools tcpconnlat (`-t`, `-p`, `-L`,
//! positional minimum latency in ms), plus `-d`, `--json` and `--probe`:
//! fentry or kprobe on tcp_v4_connect/tcp_v6_connect/tcp_rcv_state_process
//! as in the tutorial, or the sock:inet_sock_set_state tracepoint where the
//! kernel has neither.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcpconnlat::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::tcpconnlat::{TcpconnlatSkelBuilder, types::tcpconnlat_event};
use bpfkit::{bpf, events, fmt, net, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("tcpconnlat", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        TcpconnlatSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_min_us = args.min_us.unwrap_or(0);
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &bpfkit::hooks::tcpconnlat(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let mut since_first = fmt::SinceFirst::default();
    events::stream_decoded(
        &skel,
        &args.run,
        &table(&args),
        |e| Connect::decode(e, &mut since_first),
        |e: &tcpconnlat_event| format!("af={}", e.af),
    )
}

/// One connect and how long its handshake took.
struct Connect {
    /// Seconds since the first event printed (libbpf-tools' `-t`).
    elapsed_s: f64,
    pid: u32,
    comm: String,
    laddr: IpAddr,
    lport: u16,
    raddr: IpAddr,
    rport: u16,
    lat_us: u64,
}

impl Connect {
    /// `None` for an address family that is neither IPv4 nor IPv6.
    fn decode(e: &tcpconnlat_event, since_first: &mut fmt::SinceFirst) -> Option<Connect> {
        Some(Connect {
            elapsed_s: since_first.secs(e.ts_us),
            pid: e.tgid,
            comm: fmt::c_chars(&e.comm),
            laddr: net::ip_from_raw(e.af, &e.saddr)?,
            lport: e.lport,
            raddr: net::ip_from_raw(e.af, &e.daddr)?,
            rport: e.dport,
            lat_us: e.delta_us,
        })
    }
}

/// libbpf-tools' columns (SADDR/DADDR are the socket's own ends: JSON
/// `laddr`/`raddr`).
fn table(args: &Args) -> Table<'static, Connect> {
    Table::new()
        .left("TIME(s)", 9, "elapsed_s", |c: &Connect| {
            Cell::float(c.elapsed_s, 3)
        })
        .only_if(args.timestamp)
        .left("PID", 6, "pid", |c| c.pid.into())
        .left("COMM", 12, "comm", |c| Cell::text_cut(&c.comm, 12))
        .left("IP", 2, "family", |c| net::ip_version(&c.laddr).into())
        .left("SADDR", 16, "laddr", |c| net::ntop(&c.laddr).into())
        .left("LPORT", 6, "lport", |c| c.lport.into())
        .shown_if(args.lport)
        .left("DADDR", 16, "raddr", |c| net::ntop(&c.raddr).into())
        .left("DPORT", 5, "rport", |c| c.rport.into())
        .last("LAT(ms)", "lat_ms", |c| {
            Cell::float(c.lat_us as f64 / 1000.0, 2)
        })
        .json("lat_us", |c| c.lat_us.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn v4_event() -> tcpconnlat_event {
        let mut e = tcpconnlat_event {
            delta_us: 25_290,
            ts_us: 5_000_000,
            tgid: 222564,
            af: net::AF_INET,
            lport: 43210,
            dport: 80,
            ..Default::default()
        };
        e.saddr[..4].copy_from_slice(&[192, 168, 88, 15]);
        e.daddr[..4].copy_from_slice(&[110, 242, 68, 3]);
        e
    }

    fn connect(e: &tcpconnlat_event, comm: &str) -> Connect {
        let mut c = Connect::decode(e, &mut Default::default()).unwrap();
        c.comm = comm.into();
        c
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let c = connect(&v4_event(), "wget");
        let t = table(&args(&[]));
        assert_eq!(
            t.header_line(),
            "PID    COMM         IP SADDR            DADDR            DPORT LAT(ms)"
        );
        assert_eq!(
            t.table_line(&c),
            "222564 wget         4  192.168.88.15    110.242.68.3     80    25.29"
        );
        let t = table(&args(&["-t", "-L"]));
        assert_eq!(
            t.header_line(),
            "TIME(s)   PID    COMM         IP SADDR            LPORT  DADDR            DPORT LAT(ms)"
        );
        let c = Connect {
            elapsed_s: 1.5,
            ..c
        };
        assert_eq!(
            t.table_line(&c),
            "1.500     222564 wget         4  192.168.88.15    43210  110.242.68.3     80    25.29"
        );
    }

    #[test]
    fn ipv6_rows_and_long_comms() {
        let mut e = v4_event();
        e.af = net::AF_INET6;
        e.saddr = [0; 16];
        e.saddr[15] = 1;
        e.daddr = e.saddr;
        e.delta_us = 41;
        let c = connect(&e, "a-very-long-name");
        let t = table(&args(&[]));
        assert_eq!(
            t.table_line(&c),
            "222564 a-very-long- 6  ::1              ::1              80    0.04"
        );
        let v = t.json_value(&c);
        assert_eq!(v["family"], 6);
        assert_eq!(v["laddr"], "::1");
        assert_eq!(v["comm"], "a-very-long-name");
        assert_eq!(v["lat_us"], 41);
        assert_eq!(v["lat_ms"], 0.041);
        assert!(v.get("elapsed_s").is_none());
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        let c = Connect {
            elapsed_s: 2.25,
            ..connect(&v4_event(), "wget")
        };
        table(&args(&["-t"])).print(&out, &c);
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "elapsed_s": 2.25, "pid": 222564, "comm": "wget", "family": 4,
                "laddr": "192.168.88.15", "lport": 43210, "raddr": "110.242.68.3",
                "rport": 80, "lat_ms": 25.29, "lat_us": 25290,
            })
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let t = table(&args(&["-t", "-L"]));
        bpfkit::row::assert_keys_in_schema("tcpconnlat", &t.keys());
    }

    #[test]
    fn unknown_family_is_not_decoded() {
        let mut e = v4_event();
        e.af = 1;
        assert!(Connect::decode(&e, &mut Default::default()).is_none());
    }
}
