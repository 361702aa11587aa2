//! tcptop's library part: the hooks of each mechanism, the connections read
//! from the BPF `traffic` map each interval, their order and libbpf-tools'
//! table (`%-*d %-12.12s %-21s %-21s %6ld %6ld`, an IPv6 section with
//! `LADDR6`/`RADDR6` 51 wide), and the interval loop that prints them.

use std::cmp::Reverse;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Result;
use libbpf_rs::MapCore;

use crate::args::tcptop::Sort;
use crate::interval::IntervalLoop;
use crate::net;
use crate::output::Output;
use crate::probe::Needs;
use crate::row::{Cell, Table};
use crate::skel::tcptop::types::{tcptop_key, tcptop_traffic};

/// fexit tcp_sendmsg + fentry tcp_cleanup_rbuf; kprobe (and kretprobe)
/// on both; or the sock_send_length/sock_recv_length tracepoints (6.3+).
pub fn needs() -> Needs {
    let funcs = vec!["tcp_sendmsg", "tcp_cleanup_rbuf"];
    Needs {
        fentry: funcs.clone(),
        kprobe: funcs,
        tracepoint: vec!["sock:sock_send_length", "sock:sock_recv_length"],
    }
}

/// One process's traffic on one connection this interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Conn {
    pub pid: u32,
    pub comm: String,
    pub laddr: IpAddr,
    pub lport: u16,
    pub raddr: IpAddr,
    pub rport: u16,
    pub sent: u64,
    pub received: u64,
}

impl Conn {
    /// `None` for a family that is neither IPv4 nor IPv6.
    pub fn decode(k: &tcptop_key, t: &tcptop_traffic) -> Option<Conn> {
        Some(Conn {
            pid: k.pid,
            comm: crate::fmt::c_chars(&k.name),
            laddr: net::ip_from_raw(k.family, &k.saddr)?,
            lport: k.lport,
            raddr: net::ip_from_raw(k.family, &k.daddr)?,
            rport: k.dport,
            sent: t.sent,
            received: t.received,
        })
    }

    fn v6(&self) -> bool {
        self.laddr.is_ipv6()
    }
}

/// IPv4 before IPv6 (as libbpf-tools), then the most bytes by `sort`
/// first; ties in a fixed order. Keeps the first `rows`.
pub fn sort(conns: &mut Vec<Conn>, by: Sort, rows: usize) {
    conns.sort_by_key(|c| {
        let bytes = match by {
            Sort::All => c.sent + c.received,
            Sort::Sent => c.sent,
            Sort::Received => c.received,
        };
        (c.v6(), Reverse(bytes), c.pid, c.lport, c.rport)
    });
    conns.truncate(rows);
}

/// The width of the PID column: the length of pid_max (at least 6).
pub fn pid_width() -> usize {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .map(|s| s.trim().len())
        .unwrap_or(0)
        .max(6)
}

fn addr_port(ip: &IpAddr, port: u16) -> String {
    format!("{}:{port}", net::ntop(ip))
}

/// The table of one family (IPv6: `LADDR6`/`RADDR6`, 51 wide). JSON rows:
/// `pid`, `comm`, `family`, `laddr`, `lport`, `raddr`, `rport`,
/// `rx_bytes`, `tx_bytes`.
pub fn table(v6: bool, pid_width: usize) -> Table<'static, Conn> {
    let (l, r, w) = if v6 {
        ("LADDR6", "RADDR6", 51)
    } else {
        ("LADDR", "RADDR", 21)
    };
    Table::new()
        .left("PID", pid_width, "pid", |c: &Conn| c.pid.into())
        .left("COMM", 12, "comm", |c| Cell::text_cut(&c.comm, 12))
        .json("family", |c| net::ip_version(&c.laddr).into())
        .left(l, w, "laddr", |c| {
            Cell::both(addr_port(&c.laddr, c.lport), net::ntop(&c.laddr))
        })
        .json("lport", |c| c.lport.into())
        .left(r, w, "raddr", |c| {
            Cell::both(addr_port(&c.raddr, c.rport), net::ntop(&c.raddr))
        })
        .json("rport", |c| c.rport.into())
        .right("RX_KB", 6, "rx_bytes", |c| {
            Cell::both((c.received / 1024).to_string(), c.received)
        })
        .right("TX_KB", 6, "tx_bytes", |c| {
            Cell::both((c.sent / 1024).to_string(), c.sent)
        })
}

/// One interval: the IPv4 table (its header always), then the IPv6 section
/// under its own header when there are IPv6 rows. JSON: one object with
/// `time` and every row.
pub fn print(out: &Output, time: &str, summary: Option<&str>, conns: &[Conn], pid_width: usize) {
    let v4 = table(false, pid_width);
    if out.is_json() {
        let fields = serde_json::json!({ "time": time });
        v4.print_interval(out, fields, conns);
        return;
    }
    if let Some(s) = summary {
        out.line(format_args!("{time:>8} {s}"));
    }
    let (four, six): (Vec<&Conn>, Vec<&Conn>) = conns.iter().partition(|c| !c.v6());
    v4.print_header(out);
    for c in four {
        out.line(format_args!("{}", v4.table_line(c)));
    }
    if !six.is_empty() {
        let t = table(true, pid_width);
        out.line(format_args!(""));
        t.print_header(out);
        for c in six {
            out.line(format_args!("{}", t.table_line(c)));
        }
    }
}

/// What the loop needs besides the map.
pub struct Options {
    pub every: Duration,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    pub clear: bool,
    pub summary: bool,
    pub sort: Sort,
    pub rows: usize,
    pub json: bool,
}

/// Every interval: drains `traffic`, prints the top connections; at the
/// end, says how many connections the full map could not count (`drops`).
pub fn run(traffic: &dyn MapCore, drops: &dyn MapCore, o: &Options) -> Result<()> {
    let out = Output::stdout(o.json)?;
    let width = pid_width();
    // libbpf-tools runs clear(1); only a terminal gets the escape codes.
    let clear = o.clear && !o.json && std::io::stdout().is_terminal();
    IntervalLoop::new(&out)
        .every(Some(o.every))
        .count(o.count)
        .duration(o.duration)
        .banner("Tracing... Output every interval. Hit Ctrl-C to end.")
        .run(|_| {
            let entries: Vec<(tcptop_key, tcptop_traffic)> = crate::maps::drain(traffic)?;
            let mut conns: Vec<Conn> = entries
                .iter()
                .filter_map(|(k, t)| Conn::decode(k, t))
                .collect();
            sort(&mut conns, o.sort, o.rows);
            if clear {
                out.line(format_args!("\x1b[H\x1b[2J"));
            }
            let loadavg = std::fs::read_to_string("/proc/loadavg").ok();
            let summary = loadavg
                .as_deref()
                .filter(|_| o.summary)
                .map(|l| format!("loadavg: {}", l.trim_end()));
            print(
                &out,
                &crate::fmt::hms_now(),
                summary.as_deref(),
                &conns,
                width,
            );
            Ok(())
        })?;
    let lost = crate::bpf::percpu_sum(drops)?;
    if lost > 0 {
        crate::output::note(format_args!(
            "{lost} sends or receives not counted: the connection map was full"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(l: &str, r: &str, sent: u64, received: u64) -> Conn {
        Conn {
            pid: 4242,
            comm: "iperf3-long-name".into(),
            laddr: l.parse().unwrap(),
            lport: 5201,
            raddr: r.parse().unwrap(),
            rport: 40000,
            sent,
            received,
        }
    }

    #[test]
    fn ipv4_first_then_most_bytes() {
        let mut v = vec![
            conn("::1", "::1", 9_000_000, 0),
            conn("127.0.0.1", "127.0.0.1", 10, 10),
            conn("127.0.0.1", "127.0.0.1", 0, 5000),
            conn("127.0.0.1", "127.0.0.1", 3000, 0),
        ];
        sort(&mut v, Sort::All, 10);
        let order: Vec<(u64, u64)> = v.iter().map(|c| (c.sent, c.received)).collect();
        assert_eq!(order, [(0, 5000), (3000, 0), (10, 10), (9_000_000, 0)]);
        sort(&mut v, Sort::Sent, 2);
        let order: Vec<u64> = v.iter().map(|c| c.sent).collect();
        assert_eq!(order, [3000, 10]);
        let mut v = vec![
            conn("10.0.0.1", "10.0.0.2", 1, 2),
            conn("10.0.0.1", "10.0.0.2", 2, 1),
        ];
        sort(&mut v, Sort::Received, 20);
        assert_eq!(v[0].received, 2);
    }

    #[test]
    fn table_like_libbpf_tools() {
        let (out, cap) = Output::captured(false);
        let rows = [
            conn("127.0.0.1", "127.0.0.1", 102400, 51200),
            conn("::1", "fe80::1", 2047, 1024),
        ];
        print(
            &out,
            "12:34:56",
            Some("loadavg: 0.10 0.20 0.30 1/234 5678"),
            &rows,
            7,
        );
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "12:34:56 loadavg: 0.10 0.20 0.30 1/234 5678");
        assert_eq!(
            lines[1],
            format!(
                "{:<7} {:<12} {:<21} {:<21} {:>6} {:>6}",
                "PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"
            )
        );
        assert_eq!(
            lines[2],
            format!(
                "{:<7} {:<12} {:<21} {:<21} {:>6} {:>6}",
                4242, "iperf3-long-", "127.0.0.1:5201", "127.0.0.1:40000", 50, 100
            )
        );
        assert_eq!(lines[3], "");
        assert_eq!(
            lines[4],
            format!(
                "{:<7} {:<12} {:<51} {:<51} {:>6} {:>6}",
                "PID", "COMM", "LADDR6", "RADDR6", "RX_KB", "TX_KB"
            )
        );
        assert_eq!(
            lines[5],
            format!(
                "{:<7} {:<12} {:<51} {:<51} {:>6} {:>6}",
                4242, "iperf3-long-", "::1:5201", "fe80::1:40000", 1, 1
            )
        );
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn json_interval_object() {
        let (out, cap) = Output::captured(true);
        print(
            &out,
            "12:34:56",
            None,
            &[conn("127.0.0.1", "127.0.0.2", 3, 4)],
            6,
        );
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({"time": "12:34:56", "rows": [{
                "pid": 4242, "comm": "iperf3-long-name", "family": 4,
                "laddr": "127.0.0.1", "lport": 5201, "raddr": "127.0.0.2", "rport": 40000,
                "rx_bytes": 4, "tx_bytes": 3,
            }]})
        );
        crate::row::assert_keys_in_schema("tcptop", &table(false, 6).keys());
    }
}
