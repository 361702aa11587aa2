//! tcplife: one row per TCP session as it closes, with who owned it, its
//! ends, the bytes it moved each way and how long it lasted, from the
//! sock:inet_sock_set_state tracepoint.
//!
//! Same flags and columns as libbpf-tools tcplife (`-p`, `-4`/`-6`, `-L`/`-D`
//! port lists, `-T`, `-w`), plus `-d` and `--json`.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcplife::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::tcplife::{TcplifeSkelBuilder, types::tcplife_event};
use bpfkit::{bpf, events, fmt, net, probe};
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main("tcplife", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(TcplifeSkelBuilder::default(), &mut object, &args.run.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.target_pid = args.target.pid.unwrap_or(0) as u32;
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
        Life::decode,
        |e: &tcplife_event| format!("family={}", e.family),
    )
}

/// One closed TCP session.
struct Life {
    pid: u32,
    comm: String,
    laddr: IpAddr,
    lport: u16,
    raddr: IpAddr,
    rport: u16,
    tx_bytes: u64,
    rx_bytes: u64,
    span_us: u64,
}

impl Life {
    /// `None` for an address family that is neither IPv4 nor IPv6.
    fn decode(e: &tcplife_event) -> Option<Life> {
        Some(Life {
            pid: e.pid,
            comm: fmt::c_chars(&e.comm),
            laddr: net::ip_from_raw(e.family, &e.saddr)?,
            lport: e.sport,
            raddr: net::ip_from_raw(e.family, &e.daddr)?,
            rport: e.dport,
            tx_bytes: e.tx_b,
            rx_bytes: e.rx_b,
            span_us: e.span_us,
        })
    }
}

/// KiB with two decimals in the table (`%-6.2f` of bytes / 1024), bytes in JSON.
fn kib(bytes: u64) -> Cell {
    Cell::both(format!("{:.2}", bytes as f64 / 1024.0), bytes)
}

/// libbpf-tools' columns; `-w` widens the addresses from 15 to 39.
fn table(args: &Args) -> Table<'static, Life> {
    let addr_width = if args.wide { 39 } else { 15 };
    Table::new()
        .time_headed(args.timestamp, "TIME(s)")
        .left("PID", 7, "pid", |l: &Life| l.pid.into())
        .left("COMM", 16, "comm", |l| l.comm.clone().into())
        .json("family", |l| net::ip_version(&l.laddr).into())
        .left("LADDR", addr_width, "laddr", |l| net::ntop(&l.laddr).into())
        .left("LPORT", 5, "lport", |l| l.lport.into())
        .left("RADDR", addr_width, "raddr", |l| net::ntop(&l.raddr).into())
        .left("RPORT", 5, "rport", |l| l.rport.into())
        .left("TX_KB", 6, "tx_bytes", |l| kib(l.tx_bytes))
        .left("RX_KB", 6, "rx_bytes", |l| kib(l.rx_bytes))
        .last("MS", "duration_ms", |l| {
            Cell::float(l.span_us as f64 / 1000.0, 2)
        })
        .json("duration_us", |l| l.span_us.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn life() -> Life {
        Life {
            pid: 18679,
            comm: "curl".into(),
            laddr: "127.0.0.1".parse().unwrap(),
            lport: 57836,
            raddr: "127.0.0.1".parse().unwrap(),
            rport: 8080,
            tx_bytes: 102400,
            rx_bytes: 51300,
            span_us: 123456,
        }
    }

    #[test]
    fn header_and_rows_match_libbpf_tools() {
        // printf("%-7d %-16s %-*s %-5d %-*s %-5d %-6.2f %-6.2f %-.2f\n", ...)
        assert_eq!(
            table(&args(&[])).header_line(),
            "PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS"
        );
        assert_eq!(
            table(&args(&[])).table_line(&life()),
            "18679   curl             127.0.0.1       57836 127.0.0.1       8080  100.00 50.10  123.46"
        );
        let mut l = life();
        l.laddr = "::1".parse().unwrap();
        l.raddr = "fe80::1".parse().unwrap();
        l.tx_bytes = 0;
        let line = table(&args(&["-T", "-w"])).table_line(&l);
        assert_eq!(
            &line[8..],
            format!(
                " 18679   curl             {:<39} 57836 {:<39} 8080  0.00   50.10  123.46",
                "::1", "fe80::1"
            )
        );
        assert_eq!(line.as_bytes()[2], b':', "{line}");
        assert!(
            table(&args(&["-T"]))
                .header_line()
                .starts_with("TIME(s)  PID     COMM ")
        );
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        table(&args(&[])).print(&out, &life());
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "pid": 18679, "comm": "curl", "family": 4, "laddr": "127.0.0.1", "lport": 57836,
                "raddr": "127.0.0.1", "rport": 8080, "tx_bytes": 102400, "rx_bytes": 51300,
                "duration_ms": 123.456, "duration_us": 123456,
            })
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let t = table(&args(&["-T", "-w"]));
        bpfkit::row::assert_keys_in_schema("tcplife", &t.keys());
    }

    #[test]
    fn unknown_family_is_not_decoded() {
        let e = tcplife_event {
            family: 1,
            ..Default::default()
        };
        assert!(Life::decode(&e).is_none());
    }
}
