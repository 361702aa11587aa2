//! tcpconnect's library part: its `-c` mode (connects counted per address
//! pair in BPF, printed at exit in libbpf-tools' table, `%-25s %-25s
//! [%-20d] %-20d %-10llu`) and the report of connects still in progress.
//!
//! The BPF side keys a hash map by `struct tcpconnect_flow` (family, both
//! addresses as [`crate::net`] lays them out, ports in host order) with a
//! `__u64` count as the value.

use std::cmp::Reverse;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Result;
use libbpf_rs::MapCore;

use crate::interval::IntervalLoop;
use crate::net;
use crate::output::Output;
use crate::row::Table;
use crate::skel::tcpconnect::types::tcpconnect_flow;

/// Connects from one address (and port, where counted) to one address and port.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub laddr: IpAddr,
    pub raddr: IpAddr,
    pub lport: u16,
    pub rport: u16,
    pub count: u64,
}

impl Flow {
    /// `None` for a family that is neither IPv4 nor IPv6.
    pub fn decode(key: &tcpconnect_flow, count: u64) -> Option<Flow> {
        Some(Flow {
            laddr: net::ip_from_raw(key.af, &key.saddr)?,
            raddr: net::ip_from_raw(key.af, &key.daddr)?,
            lport: key.sport,
            rport: key.dport,
            count,
        })
    }
}

/// Every flow in `map`: IPv4 before IPv6 (libbpf-tools prints its IPv4 map
/// first), the most connects first within a family.
pub fn read(map: &dyn MapCore) -> Result<Vec<Flow>> {
    let entries: Vec<(tcpconnect_flow, u64)> = crate::maps::dump(map)?;
    let mut flows: Vec<Flow> = entries
        .iter()
        .filter_map(|(k, n)| Flow::decode(k, *n))
        .collect();
    sort(&mut flows);
    Ok(flows)
}

fn sort(flows: &mut [Flow]) {
    flows.sort_by_key(|f| {
        let family = net::ip_version(&f.laddr);
        (family, Reverse(f.count), f.laddr, f.raddr, f.lport, f.rport)
    });
}

/// The `-c` table; LPORT only when counted per source port (`-s`). JSON
/// rows: `family`, `laddr`, `raddr`, [`lport`], `rport`, `count`.
pub fn table(with_lport: bool) -> Table<'static, Flow> {
    Table::new()
        .json("family", |f: &Flow| net::ip_version(&f.laddr).into())
        .left("LADDR", 25, "laddr", |f| net::ntop(&f.laddr).into())
        .left("RADDR", 25, "raddr", |f| net::ntop(&f.raddr).into())
        .left("LPORT", 20, "lport", |f| f.lport.into())
        .only_if(with_lport)
        .left("RPORT", 20, "rport", |f| f.rport.into())
        .last("CONNECTS", "count", |f| f.count.into())
}

/// `-c`: waits until told to stop (or `duration`), then prints the flows
/// counted in `counts` as one table (one interval object in JSON) and the
/// flows the full map could not count (`drops`).
pub fn print_counts(
    counts: &dyn MapCore,
    drops: &dyn MapCore,
    json: bool,
    duration: Option<Duration>,
    with_lport: bool,
) -> Result<()> {
    let out = Output::stdout(json)?;
    IntervalLoop::new(&out)
        .duration(duration)
        .banner("Tracing connects ... Hit Ctrl-C to end")
        .run(|tick| {
            table(with_lport).print_interval(&out, tick.fields(), &read(counts)?);
            Ok(())
        })?;
    crate::events::report_lost(crate::bpf::percpu_sum(drops)?);
    Ok(())
}

/// Says on stderr how many connects the tracepoint programs still held in
/// `pending` at exit: their SYN had neither an answer nor a retransmission
/// yet (under a second old), so they have no source port to show.
pub fn note_in_progress(pending: &dyn MapCore) {
    if let Some(line) = in_progress_line(crate::maps::keys(pending).len()) {
        crate::output::note(format_args!("{line}"));
    }
}

fn in_progress_line(n: usize) -> Option<String> {
    let what = if n == 1 { "connect" } else { "connects" };
    (n > 0)
        .then(|| format!("{n} {what} in progress at exit not reported (no answer to the SYN yet)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Output;

    fn flow(l: &str, r: &str, lport: u16, rport: u16, count: u64) -> Flow {
        let (laddr, raddr) = (l.parse().unwrap(), r.parse().unwrap());
        Flow {
            laddr,
            raddr,
            lport,
            rport,
            count,
        }
    }

    #[test]
    fn in_progress_lines() {
        assert_eq!(in_progress_line(0), None);
        assert_eq!(
            in_progress_line(1).as_deref(),
            Some("1 connect in progress at exit not reported (no answer to the SYN yet)")
        );
        assert!(
            in_progress_line(2)
                .unwrap()
                .starts_with("2 connects in progress")
        );
    }

    #[test]
    fn decodes_both_families() {
        let (af, saddr) = net::ip_to_raw(&"10.0.0.1".parse().unwrap());
        let (_, daddr) = net::ip_to_raw(&"10.0.0.2".parse().unwrap());
        let key = tcpconnect_flow {
            af,
            saddr,
            daddr,
            sport: 0,
            dport: 80,
            ..Default::default()
        };
        assert_eq!(
            Flow::decode(&key, 3),
            Some(flow("10.0.0.1", "10.0.0.2", 0, 80, 3))
        );
        let (af, saddr) = net::ip_to_raw(&"::1".parse().unwrap());
        let key = tcpconnect_flow {
            af,
            saddr,
            daddr: saddr,
            sport: 5,
            dport: 22,
            ..Default::default()
        };
        assert_eq!(Flow::decode(&key, 1), Some(flow("::1", "::1", 5, 22, 1)));
        let key = tcpconnect_flow {
            af: 1,
            ..Default::default()
        };
        assert_eq!(Flow::decode(&key, 1), None);
    }

    #[test]
    fn ipv4_first_then_most_connects() {
        let mut flows = vec![
            flow("::1", "::1", 0, 80, 9),
            flow("127.0.0.1", "127.0.0.1", 0, 80, 1),
            flow("127.0.0.1", "127.0.0.2", 0, 443, 5),
        ];
        sort(&mut flows);
        let order: Vec<u64> = flows.iter().map(|f| f.count).collect();
        assert_eq!(order, [5, 1, 9]);
    }

    #[test]
    fn table_like_libbpf_tools() {
        let f = flow("127.0.0.1", "10.1.2.3", 43210, 80, 12);
        let t = table(false);
        assert_eq!(
            t.header_line(),
            format!("{:<25} {:<25} {:<20} CONNECTS", "LADDR", "RADDR", "RPORT")
        );
        assert_eq!(
            t.table_line(&f),
            format!("{:<25} {:<25} {:<20} 12", "127.0.0.1", "10.1.2.3", 80)
        );
        let t = table(true);
        assert_eq!(
            t.table_line(&f),
            format!(
                "{:<25} {:<25} {:<20} {:<20} 12",
                "127.0.0.1", "10.1.2.3", 43210, 80
            )
        );
        assert_eq!(t.header_line().split_whitespace().nth(2), Some("LPORT"));
    }

    #[test]
    fn json_rows() {
        let (out, cap) = Output::captured(true);
        let rows = [flow("::1", "::1", 0, 22, 2)];
        table(false).print_interval(&out, serde_json::json!({}), &rows);
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({"rows": [
                {"family": 6, "laddr": "::1", "raddr": "::1", "rport": 22, "count": 2}
            ]})
        );
        let keys = table(true).keys();
        assert_eq!(
            keys,
            ["family", "laddr", "raddr", "lport", "rport", "count"]
        );
        crate::row::assert_keys_in_schema("tcpconnect", &keys);
    }
}
