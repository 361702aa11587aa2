//! tcpstates — lesson 14: trace TCP state changes and how long each socket
//! stayed in the state it leaves, from the sock:inet_sock_set_state
//! tracepoint.
//!
//! Same flags and columns as libbpf-tools tcpstates (`-4`/`-6`, `-L`/`-D`
//! port lists, `-T`, `-w`), plus `-d` and `--json`.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bpfkit::args::tcpstates::Args;
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::tcpstates::{TcpstatesSkelBuilder, types::tcpstates_event};
use bpfkit::{Output, bpf, fmt, net, probe};
use clap::Parser;
use libbpf_rs::{MapCore, MapFlags};
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("tcpstates", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let open = bpf::open(TcpstatesSkelBuilder::default(), &mut object, &args.common)?;
    let mut open = open;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_family = if args.ipv4 {
        net::AF_INET
    } else if args.ipv6 {
        net::AF_INET6
    } else {
        0
    };
    rodata.filter_by_sport = args.lports.is_some();
    rodata.filter_by_dport = args.dports.is_some();
    probe::require_tracefs()?;
    let mut skel = bpf::load(open)?;
    fill_ports(&skel.maps.sports, args.lports.as_ref().map(|p| &p.0[..]))?;
    fill_ports(&skel.maps.dports, args.dports.as_ref().map(|p| &p.0[..]))?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    out.header(format_args!("{}", header(&args)));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &tcpstates_event| print_event(&out, &args, e)),
    )?
    .count_drops(&skel.maps.drops)
    .duration(args.duration)
    .run()
}

/// Puts each port of a -L/-D list in the BPF filter set.
fn fill_ports(map: &dyn MapCore, ports: Option<&[u16]>) -> Result<()> {
    for port in ports.unwrap_or_default() {
        map.update(&port.to_ne_bytes(), &port.to_ne_bytes(), MapFlags::ANY)
            .with_context(|| format!("setting the port filter ({port})"))?;
    }
    Ok(())
}

fn header(args: &Args) -> String {
    let mut h = String::new();
    if args.timestamp {
        h.push_str(&format!("{:<8} ", "TIME(s)"));
    }
    if args.wide {
        h.push_str(&format!(
            "{:<16} {:<7} {:<16} {:<2} {:<26} {:<5} {:<26} {:<5} {:<11} -> {:<11} {}",
            "SKADDR",
            "PID",
            "COMM",
            "IP",
            "LADDR",
            "LPORT",
            "RADDR",
            "RPORT",
            "OLDSTATE",
            "NEWSTATE",
            "MS"
        ));
    } else {
        h.push_str(&format!(
            "{:<16} {:<7} {:<10} {:<15} {:<5} {:<15} {:<5} {:<11} -> {:<11} {}",
            "SKADDR",
            "PID",
            "COMM",
            "LADDR",
            "LPORT",
            "RADDR",
            "RPORT",
            "OLDSTATE",
            "NEWSTATE",
            "MS"
        ));
    }
    h
}

/// One decoded state change.
struct Change {
    skaddr: u64,
    pid: u32,
    comm: String,
    laddr: std::net::IpAddr,
    lport: u16,
    raddr: std::net::IpAddr,
    rport: u16,
    oldstate: i32,
    newstate: i32,
    delta_us: u64,
}

fn decode(e: &tcpstates_event) -> Option<Change> {
    Some(Change {
        skaddr: e.skaddr,
        pid: e.pid,
        comm: fmt::c_chars(&e.task),
        laddr: net::ip_from_raw(e.family, &e.saddr)?,
        lport: e.sport,
        raddr: net::ip_from_raw(e.family, &e.daddr)?,
        rport: e.dport,
        oldstate: e.oldstate,
        newstate: e.newstate,
        delta_us: e.delta_us,
    })
}

fn row(args: &Args, time: Option<&str>, c: &Change) -> String {
    let mut r = String::with_capacity(128);
    if let Some(t) = time {
        r.push_str(&format!("{t:>8} "));
    }
    let (old, new) = (
        net::tcp_state_name(c.oldstate),
        net::tcp_state_name(c.newstate),
    );
    let ms = c.delta_us as f64 / 1000.0;
    if args.wide {
        r.push_str(&format!(
            "{:<16x} {:<7} {:<16} {:<2} {:<26} {:<5} {:<26} {:<5} {:<11} -> {:<11} {:.3}",
            c.skaddr,
            c.pid,
            c.comm,
            net::ip_version(&c.laddr),
            net::ntop(&c.laddr),
            c.lport,
            net::ntop(&c.raddr),
            c.rport,
            old,
            new,
            ms
        ));
    } else {
        r.push_str(&format!(
            "{:<16x} {:<7} {:<10.10} {:<15} {:<5} {:<15} {:<5} {:<11} -> {:<11} {:.3}",
            c.skaddr,
            c.pid,
            c.comm,
            net::ntop(&c.laddr),
            c.lport,
            net::ntop(&c.raddr),
            c.rport,
            old,
            new,
            ms
        ));
    }
    r
}

fn to_json(time: Option<&str>, c: &Change) -> serde_json::Value {
    let mut v = json!({
        "skaddr": format!("{:x}", c.skaddr),
        "pid": c.pid,
        "comm": c.comm,
        "ip": net::ip_version(&c.laddr),
        "laddr": net::ntop(&c.laddr),
        "lport": c.lport,
        "raddr": net::ntop(&c.raddr),
        "rport": c.rport,
        "oldstate": net::tcp_state_name(c.oldstate),
        "newstate": net::tcp_state_name(c.newstate),
        "ms": c.delta_us as f64 / 1000.0,
        "delta_us": c.delta_us,
    });
    if let Some(t) = time {
        v["time"] = json!(t);
    }
    v
}

fn print_event(out: &Output, args: &Args, e: &tcpstates_event) {
    let Some(c) = decode(e) else {
        bpfkit::output::note(format_args!("broken event: family={}", e.family));
        return;
    };
    let time = args.timestamp.then(fmt::hms_now);
    if out.is_json() {
        out.json(&to_json(time.as_deref(), &c));
    } else {
        out.line(format_args!("{}", row(args, time.as_deref(), &c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tcpstates").chain(argv.iter().copied())).unwrap()
    }

    fn change() -> Change {
        Change {
            skaddr: 0xffff8881031e40c0,
            pid: 18679,
            comm: "python3-long-name".into(),
            laddr: "127.0.0.1".parse().unwrap(),
            lport: 57836,
            raddr: "127.0.0.1".parse().unwrap(),
            rport: 40845,
            oldstate: 2,
            newstate: 1,
            delta_us: 106,
        }
    }

    #[test]
    fn header_matches_libbpf_tools() {
        assert_eq!(
            header(&args(&[])),
            "SKADDR           PID     COMM       LADDR           LPORT RADDR           RPORT OLDSTATE    -> NEWSTATE    MS"
        );
        assert_eq!(
            header(&args(&["-T", "-w"])),
            "TIME(s)  SKADDR           PID     COMM             IP LADDR                      LPORT RADDR                      RPORT OLDSTATE    -> NEWSTATE    MS"
        );
    }

    #[test]
    fn rows_match_libbpf_tools() {
        // As Debian's /usr/sbin/tcpstates prints them.
        assert_eq!(
            row(&args(&[]), None, &change()),
            "ffff8881031e40c0 18679   python3-lo 127.0.0.1       57836 127.0.0.1       40845 SYN_SENT    -> ESTABLISHED 0.106"
        );
        let mut c = change();
        c.comm = "python3".into();
        c.laddr = "::1".parse().unwrap();
        c.raddr = "::".parse().unwrap();
        c.lport = 57785;
        c.rport = 0;
        c.oldstate = 7;
        c.newstate = 10;
        c.delta_us = 0;
        assert_eq!(
            row(&args(&["-T", "-w"]), Some("09:13:56"), &c),
            "09:13:56 ffff8881031e40c0 18679   python3          6  ::1                        57785 ::                         0     CLOSE       -> LISTEN      0.000"
        );
    }

    #[test]
    fn json_has_stable_keys() {
        let v = to_json(Some("09:13:56"), &change());
        assert_eq!(
            v,
            json!({
                "skaddr": "ffff8881031e40c0", "pid": 18679, "comm": "python3-long-name",
                "ip": 4, "laddr": "127.0.0.1", "lport": 57836, "raddr": "127.0.0.1",
                "rport": 40845, "oldstate": "SYN_SENT", "newstate": "ESTABLISHED",
                "ms": 0.106, "delta_us": 106, "time": "09:13:56",
            })
        );
        assert!(to_json(None, &change()).get("time").is_none());
    }

    #[test]
    fn unknown_family_is_not_decoded() {
        let e = tcpstates_event {
            family: 1,
            ..Default::default()
        };
        assert!(decode(&e).is_none());
    }
}
