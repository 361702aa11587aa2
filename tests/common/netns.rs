//! A veth pair between the test's network namespace and a fresh one, for
//! the packet tools: `host` stays here (where the tool attaches), `peer`
//! lives in namespace `ns` and sends packets to `host`. Names and subnets
//! are unique to the test; `Drop` removes both, even when the test fails.
//!
//! Addresses: host 10.X.Y.1 and fd42:X:Y::1; peer .2/.3 and ::2/::3.
//! Neighbours are static on both sides, so no ARP/ND traffic is needed
//! (an IPv6 neighbour advertisement from the peer would count as a packet
//! from its address).

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct VethPair {
    pub ns: String,
    pub host: String,
    pub peer: String,
    net: (u8, u8),
}

/// Runs `ip ARGS…`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("running ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `tc ARGS…` and returns stdout (panics when tc fails).
pub fn tc(args: &[&str]) -> String {
    let out = Command::new("tc")
        .args(args)
        .output()
        .expect("running tc (iproute2)");
    assert!(
        out.status.success(),
        "tc {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mac_of(ns: Option<&str>, dev: &str) -> String {
    let mut args = vec![];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    args.extend(["-j", "link", "show", "dev", dev]);
    let v: serde_json::Value = serde_json::from_str(&ip(&args)).expect("ip -j link JSON");
    v[0]["address"].as_str().expect("MAC address").to_string()
}

impl VethPair {
    pub fn new() -> VethPair {
        super::setup();
        let tag = super::unique("");
        let pid = std::process::id();
        let n: u32 = tag
            .rsplit('x')
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mix = pid.wrapping_mul(31).wrapping_add(n);
        let net = (16 + ((mix >> 8) % 200) as u8, (mix % 256) as u8);
        let short = format!("{:x}", (pid << 6) ^ n);
        let pair = VethPair {
            ns: format!("bpfkit-{tag}"),
            host: format!("bkh{short}"),
            peer: format!("bkp{short}"),
            net,
        };
        assert!(pair.host.len() <= 15, "{}", pair.host);
        // From here on, Drop cleans up whatever was made.
        ip(&["netns", "add", &pair.ns]);
        ip(&[
            "link", "add", &pair.host, "type", "veth", "peer", "name", &pair.peer, "netns",
            &pair.ns,
        ]);
        let ns = pair.ns.clone();
        let inns = |args: &[&str]| {
            let mut a = vec!["-n", ns.as_str()];
            a.extend_from_slice(args);
            ip(&a);
        };
        ip(&[
            "addr",
            "add",
            &format!("{}/24", pair.host_v4()),
            "dev",
            &pair.host,
        ]);
        ip(&[
            "-6",
            "addr",
            "add",
            &format!("{}/64", pair.host_v6()),
            "dev",
            &pair.host,
            "nodad",
        ]);
        ip(&["link", "set", &pair.host, "up"]);
        inns(&["link", "set", "lo", "up"]);
        for i in 0..2 {
            inns(&[
                "addr",
                "add",
                &format!("{}/24", pair.peer_v4(i)),
                "dev",
                &pair.peer,
            ]);
            inns(&[
                "-6",
                "addr",
                "add",
                &format!("{}/64", pair.peer_v6(i)),
                "dev",
                &pair.peer,
                "nodad",
            ]);
        }
        inns(&["link", "set", &pair.peer, "up"]);
        let host_mac = mac_of(None, &pair.host);
        let peer_mac = mac_of(Some(&pair.ns), &pair.peer);
        inns(&[
            "neigh",
            "add",
            &pair.host_v4(),
            "lladdr",
            &host_mac,
            "dev",
            &pair.peer,
        ]);
        inns(&[
            "-6",
            "neigh",
            "add",
            &pair.host_v6(),
            "lladdr",
            &host_mac,
            "dev",
            &pair.peer,
        ]);
        for i in 0..2 {
            ip(&[
                "neigh",
                "add",
                &pair.peer_v4(i),
                "lladdr",
                &peer_mac,
                "dev",
                &pair.host,
            ]);
            ip(&[
                "-6",
                "neigh",
                "add",
                &pair.peer_v6(i),
                "lladdr",
                &peer_mac,
                "dev",
                &pair.host,
            ]);
        }
        pair
    }

    pub fn host_v4(&self) -> String {
        format!("10.{}.{}.1", self.net.0, self.net.1)
    }

    pub fn host_v6(&self) -> String {
        format!("fd42:{}:{}::1", self.net.0, self.net.1)
    }

    /// The peer's `i`th IPv4 address (i = 0 or 1).
    pub fn peer_v4(&self, i: u8) -> String {
        format!("10.{}.{}.{}", self.net.0, self.net.1, 2 + i)
    }

    pub fn peer_v6(&self, i: u8) -> String {
        format!("fd42:{}:{}::{}", self.net.0, self.net.1, 2 + i)
    }

    /// Sends `count` UDP datagrams of `size` payload bytes with `ttl` (hop
    /// limit) from `src` in the peer namespace to `dst` port `port`, paced
    /// so that no veth queue overflows, and waits until they are sent.
    pub fn send_udp(&self, src: &str, dst: &str, port: u16, ttl: u8, size: usize, count: u32) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.ns, "python3", "-c", SENDER])
            .args([
                src,
                dst,
                &port.to_string(),
                &ttl.to_string(),
                &size.to_string(),
                &count.to_string(),
            ])
            .status()
            .expect("running python3 in the namespace");
        assert!(status.success(), "sending packets from {} failed", self.ns);
    }

    /// The host side's received-packet counter.
    pub fn host_rx_packets(&self) -> u64 {
        std::fs::read_to_string(format!(
            "/sys/class/net/{}/statistics/rx_packets",
            self.host
        ))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
    }

    /// Waits until the host side has received at least `n` packets.
    pub fn wait_rx(&self, n: u64) {
        let deadline = Instant::now() + super::event_timeout();
        while self.host_rx_packets() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `ip link show dev HOST` (to look for `xdp`).
    pub fn host_link(&self) -> String {
        ip(&["link", "show", "dev", &self.host])
    }

    pub fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting one end deletes both; the namespace goes with its name.
        let _ = Command::new("ip")
            .args(["link", "del", &self.host])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// argv: SRC DST PORT TTL SIZE COUNT. Sends in bursts of 16 with a short
/// pause, well under any veth or backlog queue.
const SENDER: &str = r#"
import socket, sys, time
src, dst, port, ttl, size, count = sys.argv[1:7]
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(ttl))
else:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))
payload = b"b" * int(size)
for i in range(int(count)):
    s.sendto(payload, (dst, int(port)))
    if i % 16 == 15:
        time.sleep(0.002)
"#;

/// `bpftool net show dev DEV` (tcx links, XDP and tc BPF attachments).
pub fn bpftool_net(dev: &str) -> String {
    let out = Command::new("bpftool")
        .args(["net", "show", "dev", dev])
        .output()
        .expect("running bpftool");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The programs `ids` (a tool's, taken while it ran) are gone from the
/// kernel within 3 s: nothing attached kept them alive.
pub fn assert_programs_freed(ids: &std::collections::BTreeSet<u32>) {
    assert!(!ids.is_empty(), "no program ids to check");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left: Vec<u32> = super::loaded_prog_ids()
            .intersection(ids)
            .copied()
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "programs {left:?} still loaded 3 s after exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the built tool `name` with `args` as user nobody holding CAP_BPF
/// and CAP_PERFMON but not CAP_NET_ADMIN (through `setpriv`'s ambient
/// capabilities): (exit code, stderr).
pub fn run_without_net_admin(name: &str, args: &[&str]) -> (Option<i32>, String) {
    super::setup();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=+bpf,+perfmon",
            "--ambient-caps=+bpf,+perfmon",
        ])
        .arg(super::bin(name))
        .args(args)
        .output()
        .expect("running setpriv (util-linux)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `name args…` run without CAP_NET_ADMIN (but with CAP_BPF
/// and CAP_PERFMON) exits 1 with one line naming CAP_NET_ADMIN.
pub fn assert_needs_net_admin(name: &str, args: &[&str]) {
    let (code, err) = run_without_net_admin(name, args);
    assert_eq!(code, Some(1), "{name}: {err}");
    assert!(err.contains("needs CAP_NET_ADMIN"), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
}
