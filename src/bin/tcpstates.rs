//! tcpstates — lesson 14: trace TCP state changes and how long each socket
//! stayed in the state it leaves, from the sock:inet_sock_set_state
//! tracepoint.
//!
//! Same flags and columns as libbpf-tools tcpstates (`-4`/`-6`, `-L`/`-D`
//! port lists, `-T`, `-w`), plus `-d` and `--json`.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcpstates::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::tcpstates::{TcpstatesSkelBuilder, types::tcpstates_event};
use bpfkit::{bpf, events, fmt, net, probe};
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main("tcpstates", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        TcpstatesSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_family = args.inet.family();
    rodata.filter_sport = args.lports.is_some();
    rodata.filter_dport = args.dports.is_some();
    probe::require_tracefs()?;
    let mut skel = bpf::load(open)?;
    bpf::fill_port_set(&skel.maps.sports, &args.lports)?;
    bpf::fill_port_set(&skel.maps.dports, &args.dports)?;
    bpf::attach(&mut skel)?;
    events::stream_decoded(
        &skel,
        &args.run,
        &table(&args),
        Change::decode,
        |e: &tcpstates_event| format!("family={}", e.family),
    )
}

/// One state change of one socket.
struct Change {
    skaddr: u64,
    pid: u32,
    comm: String,
    laddr: IpAddr,
    lport: u16,
    raddr: IpAddr,
    rport: u16,
    oldstate: i32,
    newstate: i32,
    delta_us: u64,
}

impl Change {
    /// `None` for an address family that is neither IPv4 nor IPv6.
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
}

/// libbpf-tools' columns; `-w` widens COMM and the addresses and adds IP.
fn table(args: &Args) -> Table<'static, Change> {
    // Narrow: COMM `%-10.10s`; wide: `%-16s`, the name whole.
    let (comm_width, comm_max, addr_width) = if args.wide {
        (16, usize::MAX, 26)
    } else {
        (10, 10, 15)
    };
    Table::new()
        .time_headed(args.timestamp, "TIME(s)")
        .left("SKADDR", 16, "skaddr", |c: &Change| {
            format!("{:x}", c.skaddr).into()
        })
        .left("PID", 7, "pid", |c| c.pid.into())
        .left("COMM", comm_width, "comm", move |c| {
            Cell::text_cut(&c.comm, comm_max)
        })
        .left("IP", 2, "family", |c| net::ip_version(&c.laddr).into())
        .shown_if(args.wide)
        .left("LADDR", addr_width, "laddr", |c| net::ntop(&c.laddr).into())
        .left("LPORT", 5, "lport", |c| c.lport.into())
        .left("RADDR", addr_width, "raddr", |c| net::ntop(&c.raddr).into())
        .left("RPORT", 5, "rport", |c| c.rport.into())
        .left("OLDSTATE", 11, "oldstate", |c| {
            net::tcp_state_name(c.oldstate).into()
        })
        .left("NEWSTATE", 11, "newstate", |c| {
            net::tcp_state_name(c.newstate).into()
        })
        .sep(" -> ")
        .last("MS", "delta_ms", |c| {
            Cell::float(c.delta_us as f64 / 1000.0, 3)
        })
        .json("delta_us", |c| c.delta_us.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

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
            table(&args(&[])).header_line(),
            "SKADDR           PID     COMM       LADDR           LPORT RADDR           RPORT OLDSTATE    -> NEWSTATE    MS"
        );
        assert_eq!(
            table(&args(&["-T", "-w"])).header_line(),
            "TIME(s)  SKADDR           PID     COMM             IP LADDR                      LPORT RADDR                      RPORT OLDSTATE    -> NEWSTATE    MS"
        );
    }

    #[test]
    fn rows_match_libbpf_tools() {
        // As Debian's /usr/sbin/tcpstates prints them.
        assert_eq!(
            table(&args(&[])).table_line(&change()),
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
        let line = table(&args(&["-T", "-w"])).table_line(&c);
        assert_eq!(
            &line[8..],
            " ffff8881031e40c0 18679   python3          6  ::1                        57785 ::                         0     CLOSE       -> LISTEN      0.000"
        );
        assert_eq!(line.as_bytes()[2], b':', "{line}");
        // Wide rows keep the whole name.
        let line = table(&args(&["-w"])).table_line(&change());
        assert!(line.contains(" python3-long-name 4 "), "{line}");
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        table(&args(&[])).print(&out, &change());
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "skaddr": "ffff8881031e40c0", "pid": 18679, "comm": "python3-long-name",
                "family": 4, "laddr": "127.0.0.1", "lport": 57836, "raddr": "127.0.0.1",
                "rport": 40845, "oldstate": "SYN_SENT", "newstate": "ESTABLISHED",
                "delta_ms": 0.106, "delta_us": 106,
            })
        );
        let v = table(&args(&["-T"])).json_value(&change());
        assert_eq!(v["time"].as_str().map(str::len), Some(8), "{v}");
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let t = table(&args(&["-T", "-w"]));
        bpfkit::row::assert_keys_in_schema("tcpstates", &t.keys());
    }

    #[test]
    fn unknown_family_is_not_decoded() {
        let e = tcpstates_event {
            family: 1,
            ..Default::default()
        };
        assert!(Change::decode(&e).is_none());
    }
}
