//! tcsnoop against the real kernel: packets from a peer network namespace
//! over a veth pair made by each test (tests/common/netns.rs), matched by
//! their unique addresses, TTL and length; after exit, nothing of ours is
//! left on the interface (no filter, no tcx link, no qdisc we created).
mod common;

use std::net::UdpSocket;

use common::netns::{VethPair, tc};
use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "tcsnoop";
/// IPv4 + UDP headers.
const HDRS: usize = 28;

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// Whether this kernel has tcx links (6.6+).
fn kernel_has_tcx() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = release.trim().split(['.', '-']);
    let major: u32 = it.next().unwrap().parse().unwrap();
    let minor: u32 = it.next().unwrap().parse().unwrap();
    (major, minor) >= (6, 6)
}

fn qdiscs(dev: &str) -> String {
    tc(&["qdisc", "show", "dev", dev])
}

/// Rows (SADDR DADDR PROTO TOT_LEN TTL) from `src` to `dst`.
fn rows_from(tool: &Tool, src: &str, dst: &str) -> Vec<Vec<String>> {
    tool.lines()
        .iter()
        .map(|l| columns(l))
        .filter(|c| {
            c.first().map(String::as_str) == Some(src) && c.get(1).map(String::as_str) == Some(dst)
        })
        .collect()
}

/// Nothing of ours on `dev` once the tool has exited, and the qdiscs are
/// what they were before.
fn assert_clean(pair: &VethPair, qdiscs_before: &str) {
    assert_eq!(
        tc(&["filter", "show", "dev", &pair.host, "ingress"]).trim(),
        "",
        "an ingress filter is left"
    );
    assert_eq!(
        tc(&["filter", "show", "dev", &pair.host, "egress"]).trim(),
        "",
        "an egress filter is left"
    );
    assert_eq!(qdiscs(&pair.host), qdiscs_before, "qdiscs changed");
    let net = common::netns::bpftool_net(&pair.host);
    assert!(
        !net.contains("tcsnoop") && !net.contains("tc_ingress"),
        "{net}"
    );
}

fn ingress_run(extra: &[&str], expect_mechanism: &str) {
    let pair = VethPair::new();
    let before = qdiscs(&pair.host);
    assert!(!before.contains("clsact"), "{before}");
    let mut args = vec!["-i", pair.host.as_str()];
    args.extend_from_slice(extra);
    let tool = Tool::start(TOOL, &args);
    let err = tool.stderr_lines().join("\n");
    assert!(
        err.contains(&format!("using {expect_mechanism}")),
        "expected `using {expect_mechanism}`: {err}"
    );
    if expect_mechanism == "clsact" {
        assert!(err.contains("qdisc created"), "{err}");
        assert!(qdiscs(&pair.host).contains("clsact"));
        let filters = tc(&["filter", "show", "dev", &pair.host, "ingress"]);
        assert!(
            filters.contains("bpf") && filters.contains("direct-action"),
            "{filters}"
        );
    }
    let (src, dst) = (pair.peer_v4(0), pair.host_v4());
    pair.send_udp(&src, &dst, 9, 77, 123, 5);
    pair.send_udp(&pair.peer_v4(1), &dst, 9, 3, 1000, 2);
    let line = tool.expect_line(&pair.peer_v4(1));
    let c = columns(&line);
    assert_eq!(
        c[1..],
        [
            dst.clone(),
            "UDP".into(),
            (HDRS + 1000).to_string(),
            "3".into()
        ]
    );
    let rows = rows_from(&tool, &src, &dst);
    assert_eq!(rows.len(), 5, "exactly our 5 packets: {rows:?}");
    for c in &rows {
        assert_eq!(c[2..], ["UDP", &(HDRS + 123).to_string(), "77"], "{c:?}");
    }
    let ids = tool.prog_ids();
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "SADDR           DADDR           PROTO TOT_LEN TTL"
    );
    assert_clean(&pair, &before);
    common::netns::assert_programs_freed(&ids);
}

#[test]
fn ingress_default_mechanism() {
    // tcx where the kernel has it (6.6+), clsact on 6.1.
    ingress_run(&[], if kernel_has_tcx() { "tcx" } else { "clsact" });
}

#[test]
fn ingress_clsact_created_and_removed() {
    ingress_run(&["--attach", "clsact"], "clsact");
}

#[test]
fn tcx_forced() {
    if kernel_has_tcx() {
        ingress_run(&["--attach", "tcx"], "tcx");
    } else {
        let pair = VethPair::new();
        let fin = common::run(TOOL, &["-i", &pair.host, "--attach", "tcx"]);
        assert_eq!(fin.status.code(), Some(1), "{fin:?}");
        let err = fin.stderr.join("\n");
        assert!(err.contains("--attach tcx is not available"), "{err}");
        assert_clean(&pair, &qdiscs(&pair.host));
    }
}

#[test]
fn existing_clsact_qdisc_is_kept() {
    let pair = VethPair::new();
    tc(&["qdisc", "add", "dev", &pair.host, "clsact"]);
    let before = qdiscs(&pair.host);
    assert!(before.contains("clsact"), "{before}");
    let tool = Tool::start(TOOL, &["-i", &pair.host, "--attach", "clsact", "--json"]);
    let err = tool.stderr_lines().join("\n");
    assert!(
        err.contains("using clsact") && !err.contains("qdisc created"),
        "{err}"
    );
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 7, 200, 10, 1);
    let v = tool.expect_json("saddr", &json!(pair.peer_v4(0)));
    assert_eq!(v["ttl"], json!(200), "{v}");
    assert_eq!(v["tot_len"], json!(HDRS + 10), "{v}");
    assert_eq!(v["protocol"], json!(17), "{v}");
    assert_eq!(v["direction"], json!("ingress"), "{v}");
    assert_eq!(v["ifname"], json!(pair.host), "{v}");
    assert_eq!(v["daddr"], json!(pair.host_v4()), "{v}");
    tool.stop().assert_json_only();
    // The qdisc was there before: it stays; our filter goes.
    assert_clean(&pair, &before);
    assert!(qdiscs(&pair.host).contains("clsact"));
}

#[test]
fn egress_packets_from_this_namespace() {
    let pair = VethPair::new();
    let before = qdiscs(&pair.host);
    let tool = Tool::start(TOOL, &["-i", &pair.host, "--egress"]);
    let sock = UdpSocket::bind((pair.host_v4().as_str(), 0)).unwrap();
    sock.set_ttl(55).unwrap();
    for _ in 0..3 {
        sock.send_to(&[0u8; 64], (pair.peer_v4(1).as_str(), 9))
            .unwrap();
    }
    let line = tool.expect_line(&pair.peer_v4(1));
    assert_eq!(
        columns(&line),
        [
            pair.host_v4(),
            pair.peer_v4(1),
            "UDP".into(),
            (HDRS + 64).to_string(),
            "55".into()
        ]
    );
    // Ingress traffic (from the peer) is not shown on egress.
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 9, 66, 10, 3);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        !fin.stdout.iter().any(|l| l.starts_with(&pair.peer_v4(0))),
        "{:?}",
        fin.stdout
    );
    assert_clean(&pair, &before);
}

#[test]
fn missing_interface_is_an_error() {
    common::assert_missing_interface_error(TOOL);
}

#[test]
fn bad_attach_mode_is_a_usage_error() {
    let fin = common::run(TOOL, &["--attach", "xdp"]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
}

#[test]
fn lifecycle() {
    // Default interface: lo.
    lifecycle_checks(TOOL, &[], || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let _ = s.send_to(b"x", "127.0.0.1:9");
    });
}

#[test]
fn timestamps_and_duration() {
    let pair = VethPair::new();
    let started = std::time::Instant::now();
    let tool = Tool::start(TOOL, &["-i", &pair.host, "-T", "-d", "2"]);
    let (src, dst) = (pair.peer_v4(0), pair.host_v4());
    pair.send_udp(&src, &dst, 9, 64, 50, 3);
    let fin = tool.wait();
    assert!(fin.status.success(), "-d ends the run cleanly: {fin:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    assert_eq!(
        fin.stdout[0],
        "TIME     SADDR           DADDR           PROTO TOT_LEN TTL"
    );
    let ours: Vec<Vec<String>> = (fin.stdout.iter().map(|l| columns(l)))
        .filter(|c| c.get(1) == Some(&src) && c.get(2) == Some(&dst))
        .collect();
    assert_eq!(ours.len(), 3, "{:?}", fin.stdout);
    for c in &ours {
        let t = c[0].as_bytes();
        assert!(t.len() == 8 && t[2] == b':' && t[5] == b':', "{c:?}");
        assert_eq!(c[3..], ["UDP", &(HDRS + 50).to_string(), "64"], "{c:?}");
    }
}
