//! xdpcount against the real kernel: packets from two IPv4 and one IPv6
//! source address in a peer network namespace (tests/common/netns.rs) must
//! be counted exactly; after exit the interface has no XDP program.
mod common;

use std::collections::HashMap;

use common::netns::VethPair;
use common::{Tool, lifecycle_checks};

const TOOL: &str = "xdpcount";
/// Ethernet + IPv4 + UDP headers, and Ethernet + IPv6 + UDP.
const HDRS4: u64 = 14 + 20 + 8;
const HDRS6: u64 = 14 + 40 + 8;

/// SADDR → (PACKETS, BYTES) from a printed table.
fn table(lines: &[String]) -> Vec<(String, u64, u64)> {
    lines
        .iter()
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            match c[..] {
                [a, p, b] => Some((a.to_string(), p.parse().ok()?, b.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

fn no_xdp_left(pair: &VethPair) {
    let link = pair.host_link();
    assert!(!link.contains("xdp"), "an XDP program is left: {link}");
    let net = common::netns::bpftool_net(&pair.host);
    assert!(!net.contains("xdp_count"), "{net}");
}

/// Sends N1 and N2 IPv4 packets from the peer's two addresses and N3 IPv6
/// packets, waiting until the host side has received them all.
fn send_all(pair: &VethPair) -> [(String, u64, u64); 3] {
    let rx0 = pair.host_rx_packets();
    let sent = [
        (pair.peer_v4(0), 100u64, 64u64, HDRS4),
        (pair.peer_v4(1), 37, 300, HDRS4),
        (pair.peer_v6(0), 23, 10, HDRS6),
    ];
    for (src, n, size, _) in &sent {
        let dst = if src.contains(':') {
            pair.host_v6()
        } else {
            pair.host_v4()
        };
        pair.send_udp(src, &dst, 9, 64, *size as usize, *n as u32);
    }
    pair.wait_rx(rx0 + 160);
    sent.map(|(a, n, size, hdrs)| (a, n, n * (size + hdrs)))
}

#[test]
fn exact_counts_per_source_native() {
    let pair = VethPair::new();
    let tool = Tool::start(TOOL, &["-i", &pair.host]);
    let err = tool.stderr_lines().join("\n");
    // veth has native XDP.
    assert!(
        err.contains(&format!("using native XDP on {}", pair.host)),
        "{err}"
    );
    let link = pair.host_link();
    assert!(link.contains("xdp ") || link.contains("xdpdrv"), "{link}");
    let expected = send_all(&pair);
    // Packets already counted when the host side saw them; the final table
    // comes at exit.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let ids = tool.prog_ids();
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let rows = table(&fin.stdout);
    assert_eq!(
        fin.stdout
            .iter()
            .find(|l| l.starts_with("SADDR"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["SADDR", "PACKETS", "BYTES"])
    );
    for (addr, n, bytes) in &expected {
        let row = rows.iter().find(|r| &r.0 == addr);
        assert_eq!(
            row.map(|r| (r.1, r.2)),
            Some((*n, *bytes)),
            "{addr}: table {:?}",
            fin.stdout
        );
    }
    // Sorted by count: 100 before 37 before 23.
    let pos = |a: &str| rows.iter().position(|r| r.0 == a).unwrap();
    assert!(pos(&expected[0].0) < pos(&expected[1].0));
    assert!(pos(&expected[1].0) < pos(&expected[2].0));
    no_xdp_left(&pair);
    common::netns::assert_programs_freed(&ids);
}

#[test]
fn skb_mode_json_intervals_add_up() {
    let pair = VethPair::new();
    let tool = Tool::start(TOOL, &["-i", &pair.host, "-S", "--json", "1"]);
    let err = tool.stderr_lines().join("\n");
    assert!(err.contains("using generic (skb) XDP"), "{err}");
    let link = pair.host_link();
    assert!(link.contains("xdpgeneric"), "{link}");
    let expected = send_all(&pair);
    // Two more intervals, so every packet has been printed.
    let more = tool.lines().len() + 2;
    let deadline = std::time::Instant::now() + common::event_timeout();
    while tool.lines().len() < more && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let fin = tool.stop();
    fin.assert_json_only();
    let mut sums: HashMap<String, (u64, u64)> = HashMap::new();
    for l in &fin.stdout {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["ifname"], serde_json::json!(pair.host), "{v}");
        for s in v["rows"].as_array().expect("rows") {
            let e = sums
                .entry(s["saddr"].as_str().unwrap().to_string())
                .or_default();
            e.0 += s["packets"].as_u64().unwrap();
            e.1 += s["bytes"].as_u64().unwrap();
        }
    }
    for (addr, n, bytes) in &expected {
        assert_eq!(
            sums.get(addr),
            Some(&(*n, *bytes)),
            "{addr}: {:?}",
            fin.stdout
        );
    }
    no_xdp_left(&pair);
}

#[test]
fn count_ends_the_run() {
    let pair = VethPair::new();
    let fin = common::run(TOOL, &["-i", &pair.host, "-T", "1", "2"]);
    assert!(fin.status.success(), "{fin:?}");
    let headers = fin.stdout.iter().filter(|l| l.starts_with("SADDR")).count();
    assert_eq!(headers, 2, "{:?}", fin.stdout);
    // -T: a HH:MM:SS line before each table.
    let times = fin
        .stdout
        .iter()
        .filter(|l| l.len() == 8 && l.matches(':').count() == 2)
        .count();
    assert_eq!(times, 2, "{:?}", fin.stdout);
    no_xdp_left(&pair);
}

#[test]
fn top_keeps_the_busiest_and_duration_ends_the_run() {
    let pair = VethPair::new();
    let secs = (4 * common::slowdown()).to_string();
    let tool = Tool::start(TOOL, &["-i", &pair.host, "-n", "1", "-d", &secs]);
    let expected = send_all(&pair);
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    let rows = table(&fin.stdout);
    // Only the busiest source: the 100 packets from the first address.
    assert_eq!(rows.len(), 1, "{:?}", fin.stdout);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1),
        (expected[0].0.as_str(), 100)
    );
    no_xdp_left(&pair);
}

#[test]
fn loopback_falls_back_to_generic() {
    // lo has no native XDP: the tool says so and uses skb mode.
    let tool = Tool::start(TOOL, &["-i", "lo"]);
    let err = tool.stderr_lines().join("\n");
    assert!(
        err.contains("using generic (skb) XDP on lo (native XDP refused"),
        "{err}"
    );
    assert!(tool.stop().status.success());
}

#[test]
fn missing_interface_is_an_error() {
    common::assert_missing_interface_error(TOOL);
}

#[test]
fn lifecycle() {
    let pair = VethPair::new();
    let (src, dst) = (pair.peer_v4(0), pair.host_v4());
    let host = pair.host.clone();
    lifecycle_checks(TOOL, &["-i", &host, "1"], || {
        pair.send_udp(&src, &dst, 9, 64, 10, 1)
    });
    no_xdp_left(&pair);
}
