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

/// Waits until `tool` has exited by itself (it must not need a signal).
fn exits_by_itself(tool: Tool) -> common::Finished {
    let deadline = std::time::Instant::now() + common::event_timeout();
    while std::time::Instant::now() < deadline {
        if !std::path::Path::new(&format!("/proc/{}/status", tool.pid())).exists()
            || std::fs::read_to_string(format!("/proc/{}/stat", tool.pid()))
                .is_ok_and(|s| s.contains(") Z "))
        {
            return tool.wait();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let fin = tool.stop();
    panic!("tcsnoop went on running after its filter was removed: {fin:?}");
}

#[test]
fn ingress_qdisc_refuses_egress() {
    // A classic `ingress` qdisc in the clsact slot: a filter "on egress"
    // would land on its ingress block and print arriving packets as
    // leaving. The tool must refuse, naming the qdisc and the fix.
    let pair = VethPair::new();
    tc(&["qdisc", "add", "dev", &pair.host, "ingress"]);
    let before = qdiscs(&pair.host);
    let secs = (2 * common::slowdown()).to_string();
    let tool = Tool::spawn(
        TOOL,
        &["-i", &pair.host, "-e", "--attach", "clsact", "-d", &secs],
    );
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 9, 77, 10, 3);
    let fin = tool.wait();
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "one line: {:?}", fin.stderr);
    let err = &fin.stderr[0];
    assert!(
        err.contains(&format!("{} has an `ingress` qdisc, not clsact", pair.host))
            && err.contains(&format!("tc qdisc del dev {} ingress", pair.host)),
        "{err}"
    );
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&pair.peer_v4(0))),
        "arriving packets printed as egress: {:?}",
        fin.stdout
    );
    assert_clean(&pair, &before);
}

#[test]
fn ingress_qdisc_serves_ingress() {
    // Ingress filters do work on a classic `ingress` qdisc, and it stays.
    let pair = VethPair::new();
    tc(&["qdisc", "add", "dev", &pair.host, "ingress"]);
    let before = qdiscs(&pair.host);
    let tool = Tool::start(TOOL, &["-i", &pair.host, "--attach", "clsact", "--json"]);
    let err = tool.stderr_lines().join("\n");
    assert!(
        err.contains(&format!(
            "using ingress qdisc ingress filter on {}",
            pair.host
        )),
        "{err}"
    );
    pair.send_udp(&pair.peer_v4(1), &pair.host_v4(), 9, 99, 20, 2);
    let v = tool.expect_json("saddr", &json!(pair.peer_v4(1)));
    assert_eq!(v["direction"], json!("ingress"), "{v}");
    assert_eq!(v["ttl"], json!(99), "{v}");
    tool.stop().assert_json_only();
    assert_clean(&pair, &before);
    assert!(qdiscs(&pair.host).contains("qdisc ingress"));
}

#[test]
fn two_clsact_instances_on_one_interface() {
    // The first creates the clsact qdisc, the second finds it. When the
    // first exits it must not delete the qdisc (and the second's filter
    // with it): the second goes on seeing packets and exits cleanly.
    let pair = VethPair::new();
    let before = qdiscs(&pair.host);
    let first = Tool::start(TOOL, &["-i", &pair.host, "--attach", "clsact"]);
    assert!(
        first.stderr_lines().join("\n").contains("qdisc created"),
        "{:?}",
        first.stderr_lines()
    );
    let second = Tool::start(TOOL, &["-i", &pair.host, "--attach", "clsact"]);
    let err = second.stderr_lines().join("\n");
    assert!(!err.contains("qdisc created"), "{err}");
    let fin = first.stop();
    assert!(fin.status.success(), "{fin:?}");
    let err = fin.stderr.join("\n");
    assert!(
        err.contains(&format!(
            "leaving the clsact qdisc bpfkit created on {}",
            pair.host
        )),
        "{err}"
    );
    assert!(qdiscs(&pair.host).contains("clsact"));
    let filters = tc(&["filter", "show", "dev", &pair.host, "ingress"]);
    assert!(filters.contains("direct-action"), "{filters}");
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 9, 42, 33, 2);
    let line = second.expect_line(&pair.peer_v4(0));
    assert_eq!(
        columns(&line)[2..],
        ["UDP", &(HDRS + 33).to_string(), "42"],
        "{line}"
    );
    let fin = second.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        !fin.stderr.iter().any(|l| l.contains("warning")),
        "{:?}",
        fin.stderr
    );
    // Both filters gone; the qdisc the first made stays (the second did not
    // create it, so it cannot know whether someone else wants it).
    assert_eq!(
        tc(&["filter", "show", "dev", &pair.host, "ingress"]).trim(),
        ""
    );
    tc(&["qdisc", "del", "dev", &pair.host, "clsact"]);
    assert_eq!(qdiscs(&pair.host), before);
}

/// Starts a clsact tcsnoop on `pair`, runs `remove` (which takes our filter
/// away), and checks the tool notices by itself: exit 1, one line saying so.
fn filter_removed_underneath(pair: &VethPair, existing_qdisc: bool, remove: &[&str]) {
    if existing_qdisc {
        tc(&["qdisc", "add", "dev", &pair.host, "clsact"]);
    }
    let tool = Tool::start(TOOL, &["-i", &pair.host, "--attach", "clsact"]);
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 9, 42, 10, 1);
    tool.expect_line(&pair.peer_v4(0));
    tc(remove);
    let fin = exits_by_itself(tool);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    let err = fin.stderr.last().cloned().unwrap_or_default();
    assert!(
        err.contains(&format!(
            "our tc filter on {} ingress was removed while tracing",
            pair.host
        )),
        "{:?}",
        fin.stderr
    );
    assert!(
        !fin.stderr.iter().any(|l| l.contains("warning")),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn filter_deleted_underneath_is_reported() {
    let pair = VethPair::new();
    let before = qdiscs(&pair.host);
    filter_removed_underneath(
        &pair,
        false,
        &["filter", "del", "dev", &pair.host, "ingress"],
    );
    // The now empty qdisc it created is removed as usual.
    assert_clean(&pair, &before);
}

#[test]
fn qdisc_deleted_underneath_is_reported() {
    let pair = VethPair::new();
    let before = qdiscs(&pair.host);
    filter_removed_underneath(&pair, true, &["qdisc", "del", "dev", &pair.host, "clsact"]);
    assert_clean(&pair, &before);
}

/// A clsact tcsnoop ended by `sig` exits 0 and leaves nothing behind: no
/// filter on either hook, the qdiscs as before, its programs freed.
fn clean_after_signal(sig: nix::sys::signal::Signal) {
    let pair = VethPair::new();
    let before = qdiscs(&pair.host);
    let tool = Tool::start(TOOL, &["-i", &pair.host, "--attach", "clsact"]);
    assert!(qdiscs(&pair.host).contains("clsact"));
    let ids = tool.prog_ids();
    let fin = tool.signal(sig);
    assert!(fin.status.success(), "{sig}: {fin:?}");
    assert_clean(&pair, &before);
    common::netns::assert_programs_freed(&ids);
}

#[test]
fn clean_after_sigint() {
    clean_after_signal(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn clean_after_sigterm() {
    clean_after_signal(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn clean_after_sighup() {
    clean_after_signal(nix::sys::signal::Signal::SIGHUP);
}

#[test]
fn clean_after_sigquit() {
    clean_after_signal(nix::sys::signal::Signal::SIGQUIT);
}

#[test]
fn default_interface_is_named() {
    let tool = Tool::start(TOOL, &[]);
    let err = tool.stderr_lines();
    assert!(
        err.iter().any(|l| l.starts_with("no -i given: tracing lo")),
        "{err:?}"
    );
    assert!(tool.stop().status.success());
    // With -i, no such line.
    let tool = Tool::start(TOOL, &["-i", "lo"]);
    let err = tool.stderr_lines();
    assert!(!err.iter().any(|l| l.contains("no -i given")), "{err:?}");
    assert!(tool.stop().status.success());
}

#[test]
fn needs_cap_net_admin() {
    let pair = VethPair::new();
    common::netns::assert_needs_net_admin(TOOL, &["-i", &pair.host]);
    common::netns::assert_needs_net_admin(TOOL, &["-i", &pair.host, "--attach", "clsact"]);
    assert_eq!(
        tc(&["filter", "show", "dev", &pair.host, "ingress"]).trim(),
        ""
    );
}

#[test]
fn interface_deleted_underneath_is_reported() {
    // tcx (or clsact where there is no tcx) and clsact: deleting the
    // interface takes the link or filter with it; the tool says so, exit 1.
    for mode in ["auto", "clsact"] {
        let pair = VethPair::new();
        let tool = Tool::start(TOOL, &["-i", &pair.host, "--attach", mode]);
        common::netns::ip(&["link", "del", &pair.host]);
        let fin = exits_by_itself(tool);
        assert_eq!(fin.status.code(), Some(1), "{mode}: {fin:?}");
        assert_eq!(
            fin.stderr.last().map(String::as_str),
            Some(
                format!(
                    "tcsnoop: {} went away while tracing (interface deleted): packets since then \
                     were not seen",
                    pair.host
                )
                .as_str()
            ),
            "{mode}: {:?}",
            fin.stderr
        );
    }
}

/// The BPF link ids whose program is one of `progs` (`bpftool link list`).
fn link_ids_of(progs: &std::collections::BTreeSet<u32>) -> Vec<u64> {
    let out = std::process::Command::new("bpftool")
        .args(["link", "list", "-j"])
        .output()
        .expect("running bpftool");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|l| {
            l["prog_id"]
                .as_u64()
                .is_some_and(|p| progs.contains(&(p as u32)))
        })
        .filter_map(|l| l["id"].as_u64())
        .collect()
}

#[test]
fn tcx_link_detached_underneath_is_reported() {
    let pair = VethPair::new();
    if kernel_has_tcx() {
        let tool = Tool::start(TOOL, &["-i", &pair.host, "--attach", "tcx"]);
        let links = link_ids_of(&tool.prog_ids());
        assert_eq!(links.len(), 1, "{links:?}");
        let out = std::process::Command::new("bpftool")
            .args(["link", "detach", "id", &links[0].to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let fin = exits_by_itself(tool);
        assert_eq!(fin.status.code(), Some(1), "{fin:?}");
        let err = fin.stderr.last().cloned().unwrap_or_default();
        assert!(
            err.contains(&format!(
                "our tcx link on {} ingress was detached while tracing",
                pair.host
            )),
            "{:?}",
            fin.stderr
        );
    } else {
        // No tcx here: check the clsact filter the same way.
        let before = qdiscs(&pair.host);
        filter_removed_underneath(
            &pair,
            false,
            &["filter", "del", "dev", &pair.host, "ingress"],
        );
        assert_clean(&pair, &before);
    }
}

#[test]
fn timestamps_and_duration() {
    let pair = VethPair::new();
    let started = std::time::Instant::now();
    // Long enough for the sender to start in an emulated guest (5.10's
    // sent nothing within 2 s).
    let secs = 2 * common::slowdown();
    let tool = Tool::start(TOOL, &["-i", &pair.host, "-T", "-d", &secs.to_string()]);
    let (src, dst) = (pair.peer_v4(0), pair.host_v4());
    pair.send_udp(&src, &dst, 9, 64, 50, 3);
    let fin = tool.wait();
    assert!(fin.status.success(), "-d ends the run cleanly: {fin:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(secs.into()));
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
