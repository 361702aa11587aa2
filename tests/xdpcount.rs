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

#[test]
fn someone_elses_xdp_program_is_not_replaced() {
    // Another xdpcount holds generic XDP on the interface: a second one,
    // native (the kernel: EEXIST) or generic (EBUSY), must refuse naming
    // that program, and the first goes on counting.
    let pair = VethPair::new();
    let first = Tool::start(TOOL, &["-i", &pair.host, "-S"]);
    let ids = first.prog_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = *ids.iter().next().unwrap();
    for extra in [&[][..], &["-S"][..]] {
        let mut args = vec!["-i", pair.host.as_str(), "-d", "1"];
        args.extend_from_slice(extra);
        let fin = common::run(TOOL, &args);
        assert_eq!(fin.status.code(), Some(1), "{extra:?}: {fin:?}");
        assert_eq!(fin.stderr.len(), 1, "one line: {:?}", fin.stderr);
        assert!(
            fin.stderr[0].contains(&format!(
                "{} already has an XDP program: xdp_count (id {id}, generic)",
                pair.host
            )),
            "{:?}",
            fin.stderr
        );
    }
    assert!(pair.host_link().contains("xdpgeneric"));
    let rx0 = pair.host_rx_packets();
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 9, 64, 10, 5);
    pair.wait_rx(rx0 + 5);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let fin = first.stop();
    assert!(fin.status.success(), "{fin:?}");
    let rows = table(&fin.stdout);
    assert_eq!(
        rows.iter().find(|r| r.0 == pair.peer_v4(0)).map(|r| r.1),
        Some(5),
        "{:?}",
        fin.stdout
    );
    no_xdp_left(&pair);
}

#[test]
fn needs_cap_net_admin() {
    let pair = VethPair::new();
    common::netns::assert_needs_net_admin(TOOL, &["-i", &pair.host]);
    no_xdp_left(&pair);
}

/// A trivial XDP program (`someone_xdp`, returns XDP_PASS) compiled with
/// clang (which building bpfkit needs anyway): someone else's program.
fn someone_elses_xdp_object() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(common::unique("bpfkit-xdp-"));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("someone.bpf.c");
    std::fs::write(
        &src,
        "__attribute__((section(\"xdp\"), used)) int someone_xdp(void *ctx) { return 2; }\n\
         __attribute__((section(\"license\"), used)) char _license[] = \"GPL\";\n",
    )
    .unwrap();
    let obj = dir.join("someone.bpf.o");
    let out = std::process::Command::new("clang")
        .args(["-O2", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("running clang");
    assert!(
        out.status.success(),
        "clang: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    obj
}

/// The id of the XDP program on `dev` (`ip -j link show`).
fn xdp_prog_id(dev: &str) -> Option<u64> {
    let v: serde_json::Value =
        serde_json::from_str(&common::netns::ip(&["-j", "link", "show", "dev", dev])).unwrap();
    v[0]["xdp"]["prog"]["id"].as_u64()
}

#[test]
fn program_attached_with_ip_link_is_not_replaced() {
    // Someone's XDP program attached the classic way (netlink, no link),
    // native or generic: xdpcount, native or -S, refuses naming it, and the
    // program stays.
    let obj = someone_elses_xdp_object();
    for (ip_mode, named) in [("xdpdrv", "native"), ("xdpgeneric", "generic")] {
        let pair = VethPair::new();
        common::netns::ip(&[
            "link",
            "set",
            "dev",
            &pair.host,
            ip_mode,
            "obj",
            obj.to_str().unwrap(),
            "sec",
            "xdp",
        ]);
        let id = xdp_prog_id(&pair.host).expect("the program is attached");
        for extra in [&[][..], &["-S"][..]] {
            let mut args = vec!["-i", pair.host.as_str(), "-d", "1"];
            args.extend_from_slice(extra);
            let fin = common::run(TOOL, &args);
            assert_eq!(fin.status.code(), Some(1), "{ip_mode} {extra:?}: {fin:?}");
            assert_eq!(fin.stderr.len(), 1, "one line: {:?}", fin.stderr);
            assert!(
                fin.stderr[0].contains(&format!(
                    "{} already has an XDP program: someone_xdp (id {id}, {named})",
                    pair.host
                )),
                "{:?}",
                fin.stderr
            );
            assert_eq!(xdp_prog_id(&pair.host), Some(id), "{ip_mode} {extra:?}");
        }
    }
    let _ = std::fs::remove_dir_all(obj.parent().unwrap());
}

/// Waits until `tool` has exited by itself (it must not need a signal).
fn exits_by_itself(tool: Tool) -> common::Finished {
    let deadline = std::time::Instant::now() + common::event_timeout();
    while std::time::Instant::now() < deadline {
        if std::fs::read_to_string(format!("/proc/{}/stat", tool.pid()))
            .map_or(true, |s| s.contains(") Z "))
        {
            return tool.wait();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let fin = tool.stop();
    panic!("xdpcount went on running after its XDP link went away: {fin:?}");
}

#[test]
fn interface_deleted_underneath_is_reported() {
    let pair = VethPair::new();
    let tool = Tool::start(TOOL, &["-i", &pair.host, "1"]);
    common::netns::ip(&["link", "del", &pair.host]);
    let fin = exits_by_itself(tool);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(
        fin.stderr.last().map(String::as_str),
        Some(
            format!(
                "xdpcount: {} went away while counting (interface deleted): packets since then \
                 were not counted",
                pair.host
            )
            .as_str()
        ),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn link_detached_underneath_is_reported() {
    let pair = VethPair::new();
    let tool = Tool::start(TOOL, &["-i", &pair.host, "-S"]);
    let ids = tool.prog_ids();
    let out = std::process::Command::new("bpftool")
        .args(["link", "list", "-j"])
        .output()
        .expect("running bpftool");
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let link = links
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| {
            l["prog_id"]
                .as_u64()
                .is_some_and(|p| ids.contains(&(p as u32)))
        })
        .and_then(|l| l["id"].as_u64())
        .expect("our XDP link");
    let out = std::process::Command::new("bpftool")
        .args(["link", "detach", "id", &link.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let fin = exits_by_itself(tool);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    let err = fin.stderr.last().cloned().unwrap_or_default();
    assert!(
        err.contains(&format!(
            "our XDP link on {} was detached while counting",
            pair.host
        )),
        "{:?}",
        fin.stderr
    );
    no_xdp_left(&pair);
}
