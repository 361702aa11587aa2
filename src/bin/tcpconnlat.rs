//! tcpconnlat — lesson 13: trace active TCP connects and show how long the
//! handshake took (connect() → SYN-ACK processed), IPv4 and IPv6.
//!
//! Same flags and columns as libbpf-tools tcpconnlat (`-t`, `-p`, `-L`,
//! positional minimum latency in ms), plus `-d`, `--json` and `--probe`:
//! fentry or kprobe on tcp_v4_connect/tcp_v6_connect/tcp_rcv_state_process
//! as in the tutorial, or the sock:inet_sock_set_state tracepoint where the
//! kernel has neither.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcpconnlat::Args;
use bpfkit::cli::{self};
use bpfkit::events::{EventLoop, typed};
use bpfkit::probe::{self};
use bpfkit::skel::tcpconnlat::{TcpconnlatSkelBuilder, types::tcpconnlat_event};
use bpfkit::{Output, bpf, fmt, net};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("tcpconnlat", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(TcpconnlatSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_min_us = args.min_us.unwrap_or(0);
    rodata.targ_tgid = args.pid.unwrap_or(0);
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &bpfkit::hooks::tcpconnlat(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!("{}", header(&args)));
    let mut first_ts_us = None;
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &tcpconnlat_event| print_event(&out, &args, &mut first_ts_us, e)),
    )?
    .count_drops(&skel.maps.drops)
    .duration(args.duration)
    .run()
}

fn header(args: &Args) -> String {
    let mut h = String::new();
    if args.timestamp {
        h.push_str(&format!("{:<9} ", "TIME(s)"));
    }
    h.push_str(&format!(
        "{:<6} {:<12} {:<2} {:<16} ",
        "PID", "COMM", "IP", "SADDR"
    ));
    if args.lport {
        h.push_str(&format!("{:<6} ", "LPORT"));
    }
    h.push_str(&format!("{:<16} {:<5} {}", "DADDR", "DPORT", "LAT(ms)"));
    h
}

/// One decoded connect, ready to print.
struct Connect {
    pid: u32,
    comm: String,
    saddr: std::net::IpAddr,
    daddr: std::net::IpAddr,
    lport: u16,
    dport: u16,
    lat_us: u64,
}

fn decode(e: &tcpconnlat_event) -> Option<Connect> {
    Some(Connect {
        pid: e.tgid,
        comm: fmt::c_chars(&e.comm),
        saddr: net::ip_from_raw(e.af, &e.saddr)?,
        daddr: net::ip_from_raw(e.af, &e.daddr)?,
        lport: e.lport,
        dport: e.dport,
        lat_us: e.delta_us,
    })
}

/// `TIME(s)`: seconds since the first event printed, as libbpf-tools does.
fn elapsed_secs(first_ts_us: &mut Option<u64>, ts_us: u64) -> f64 {
    let first = *first_ts_us.get_or_insert(ts_us);
    ts_us.saturating_sub(first) as f64 / 1e6
}

fn row(args: &Args, time_s: f64, c: &Connect) -> String {
    let mut r = String::with_capacity(96);
    if args.timestamp {
        r.push_str(&format!("{time_s:<9.3} "));
    }
    r.push_str(&format!(
        "{:<6} {:<12.12} {:<2} {:<16} ",
        c.pid,
        c.comm,
        net::ip_version(&c.saddr),
        net::ntop(&c.saddr)
    ));
    if args.lport {
        r.push_str(&format!("{:<6} ", c.lport));
    }
    r.push_str(&format!(
        "{:<16} {:<5} {:.2}",
        net::ntop(&c.daddr),
        c.dport,
        c.lat_us as f64 / 1000.0
    ));
    r
}

fn to_json(args: &Args, time_s: f64, c: &Connect) -> serde_json::Value {
    let mut v = json!({
        "pid": c.pid,
        "comm": c.comm,
        "ip": net::ip_version(&c.saddr),
        "saddr": net::ntop(&c.saddr),
        "lport": c.lport,
        "daddr": net::ntop(&c.daddr),
        "dport": c.dport,
        "lat_ms": c.lat_us as f64 / 1000.0,
        "lat_us": c.lat_us,
    });
    if args.timestamp {
        v["time_s"] = json!(time_s);
    }
    v
}

fn print_event(out: &Output, args: &Args, first_ts_us: &mut Option<u64>, e: &tcpconnlat_event) {
    let Some(c) = decode(e) else {
        bpfkit::output::note(format_args!("broken event: af={}", e.af));
        return;
    };
    let time_s = elapsed_secs(first_ts_us, e.ts_us);
    if out.is_json() {
        out.json(&to_json(args, time_s, &c));
    } else {
        out.line(format_args!("{}", row(args, time_s, &c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tcpconnlat").chain(argv.iter().copied())).unwrap()
    }

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
        for (d, s) in e.comm.iter_mut().zip(b"wget") {
            *d = *s as i8;
        }
        e
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = args(&["-t", "-p", "185", "-L", "0.5"]);
        assert!(a.timestamp && a.lport);
        assert_eq!(a.pid, Some(185));
        assert_eq!(a.min_us, Some(500));
        assert!(args(&["-l"]).lport);
        assert!(args(&["--lport", "--timestamp"]).lport);
        assert_eq!(args(&[]).min_us, None);
        assert!(Args::try_parse_from(["tcpconnlat", "1", "2"]).is_err());
        assert!(Args::try_parse_from(["tcpconnlat", "-p", "x"]).is_err());
        assert!(Args::try_parse_from(["tcpconnlat", "--probe", "uprobe"]).is_err());
        assert!(Args::try_parse_from(["tcpconnlat", "-d", "0"]).is_err());
    }

    #[test]
    fn header_matches_libbpf_tools() {
        assert_eq!(
            header(&args(&[])),
            "PID    COMM         IP SADDR            DADDR            DPORT LAT(ms)"
        );
        assert_eq!(
            header(&args(&["-t", "-L"])),
            "TIME(s)   PID    COMM         IP SADDR            LPORT  DADDR            DPORT LAT(ms)"
        );
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let c = decode(&v4_event()).unwrap();
        assert_eq!(
            row(&args(&[]), 0.0, &c),
            "222564 wget         4  192.168.88.15    110.242.68.3     80    25.29"
        );
        assert_eq!(
            row(&args(&["-t", "-L"]), 1.5, &c),
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
        for (d, s) in e.comm.iter_mut().zip(b"a-very-long-name") {
            *d = *s as i8;
        }
        e.delta_us = 41;
        let c = decode(&e).unwrap();
        assert_eq!(
            row(&args(&[]), 0.0, &c),
            "222564 a-very-long- 6  ::1              ::1              80    0.04"
        );
        let v = to_json(&args(&[]), 0.0, &c);
        assert_eq!(v["ip"], 6);
        assert_eq!(v["saddr"], "::1");
        assert_eq!(v["comm"], "a-very-long-name");
        assert_eq!(v["lat_us"], 41);
        assert_eq!(v["lat_ms"], 0.041);
        assert!(v.get("time_s").is_none());
    }

    #[test]
    fn json_has_stable_keys() {
        let c = decode(&v4_event()).unwrap();
        let v = to_json(&args(&["-t"]), 2.25, &c);
        assert_eq!(
            v,
            json!({
                "pid": 222564, "comm": "wget", "ip": 4, "saddr": "192.168.88.15",
                "lport": 43210, "daddr": "110.242.68.3", "dport": 80,
                "lat_ms": 25.29, "lat_us": 25290, "time_s": 2.25,
            })
        );
    }

    #[test]
    fn unknown_family_is_not_decoded() {
        let mut e = v4_event();
        e.af = 1;
        assert!(decode(&e).is_none());
    }

    #[test]
    fn timestamps_count_from_the_first_event() {
        let mut first = None;
        assert_eq!(elapsed_secs(&mut first, 7_000_000), 0.0);
        assert_eq!(elapsed_secs(&mut first, 8_500_000), 1.5);
        assert_eq!(elapsed_secs(&mut first, 6_000_000), 0.0);
    }
}
