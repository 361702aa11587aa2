//! bpfkit-exporter against the real kernel: its text passes promtool, a real
//! Prometheus server scrapes it while the test makes load (CPU contention,
//! loopback connects, execs, signals) and its queries see that load; plus
//! the fault paths (a collector down, bad address, busy port), a silent
//! client, concurrent scrapes, and clean exit on every stop signal.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Spinners;
use common::exporter::start;
use nix::sys::signal::Signal;
use serde_json::Value;

const EXPORTER: &str = "bpfkit-exporter";

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding an ephemeral port")
        .port()
}

/// One HTTP GET: (status code, body).
fn get(port: u16, path: &str, accept: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reading the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // tiny_http may send a chunked body; our answers carry Content-Length.
    (status, body.to_string())
}

fn scrape(port: u16) -> String {
    let (status, body) = get(port, "/metrics", None);
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample line `series` (name and labels as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `promtool check metrics` on `text`: (success, its output).
fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool (scripts/deps.sh test installs the prometheus package)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success() && said.trim().is_empty(), said)
}

/// A Prometheus server scraping the exporter every second.
struct Prometheus {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Prometheus {
    fn start(target_port: u16) -> Prometheus {
        let dir = std::env::temp_dir().join(common::unique("bpfkit-prom-"));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: bpfkit\n    static_configs:\n      \
             - targets: ['127.0.0.1:{target_port}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("running prometheus (scripts/deps.sh test installs it)");
        let p = Prometheus { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err()
            || get(port, "/-/ready", None).0 != 200
        {
            assert!(Instant::now() < deadline, "prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    /// The single value of an instant query, if it has one.
    fn query(&self, promql: &str) -> Option<f64> {
        let (status, body) = get(
            self.port,
            &format!("/api/v1/query?query={}", encode(promql)),
            None,
        );
        assert_eq!(status, 200, "{promql}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let result = v["data"]["result"].as_array()?;
        let first = result.first()?;
        first["value"][1].as_str()?.parse().ok()
    }

    /// Waits (up to 60 s) until `promql` has a value for which `ok` holds.
    fn wait_for(&self, promql: &str, ok: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60) * common::slowdown();
        let mut last = None;
        while Instant::now() < deadline {
            last = self.query(promql);
            if let Some(v) = last
                && ok(v)
            {
                return v;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("{promql}: last value {last:?}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Percent-encodes a query string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_load_the_test_makes() {
    let (exporter, port) = start(&[]);
    let text = scrape(port);
    let (ok, said) = promtool(&text);
    assert!(ok, "promtool check metrics: {said}\n{text}");
    for c in [
        "runqlat",
        "hardirqs",
        "softirqs",
        "tcprtt",
        "tcpconnlat",
        "tcpconnect",
        "tcpstates",
        "exec",
        "signals",
        "opens",
    ] {
        assert_eq!(
            sample(&text, &format!("bpfkit_collector_up{{collector=\"{c}\"}}")),
            Some(1.0),
            "{c} is not up: {:?}",
            exporter.stderr_lines()
        );
    }
    // The OpenMetrics answer passes too, and ends as the format says.
    let (status, om) = get(
        port,
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    );
    assert_eq!(status, 200);
    assert!(om.ends_with("# EOF\n"), "{om}");

    let prom = Prometheus::start(port);
    let execs = "bpfkit_process_execs_total";
    let connects = "bpfkit_tcp_connect_latency_seconds_count";
    let usr1 = "bpfkit_signals_total{signal=\"SIGUSR1\"}";
    let usr1_exits = "bpfkit_process_exits_total{signal=\"SIGUSR1\"}";
    let execs0 = prom.wait_for(execs, |_| true);
    let connects0 = prom.wait_for(connects, |_| true);
    let usr1_0 = prom.query(usr1).unwrap_or(0.0);
    let usr1_exits0 = prom.query(usr1_exits).unwrap_or(0.0);

    // The load: CPU contention, loopback connects, execs, signals.
    let spinners = Spinners::start(common::cpus() * 3, &common::thread_name("bpfkx"));
    const EXECS: u32 = 20;
    const CONNECTS: u32 = 15;
    const SIGNALS: u32 = 5;
    for _ in 0..EXECS {
        assert!(Command::new("/bin/true").status().unwrap().success());
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    for _ in 0..CONNECTS {
        let c = TcpStream::connect(addr).unwrap();
        let (s, _) = listener.accept().unwrap();
        drop((c, s));
    }
    for _ in 0..SIGNALS {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, Signal::SIGUSR1).unwrap();
        child.wait().unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));
    drop(spinners);

    prom.wait_for(execs, |v| v >= execs0 + f64::from(EXECS));
    prom.wait_for(connects, |v| v >= connects0 + f64::from(CONNECTS));
    prom.wait_for(usr1, |v| v >= usr1_0 + f64::from(SIGNALS));
    prom.wait_for(usr1_exits, |v| v >= usr1_exits0 + f64::from(SIGNALS));
    let p99 = prom.wait_for(
        "histogram_quantile(0.99, rate(bpfkit_runqueue_latency_seconds_bucket[10s]))",
        |v| v > 0.0,
    );
    assert!(p99.is_finite(), "{p99}");
    // The whole series set still passes after the load (new label values).
    let text = scrape(port);
    let (ok, said) = promtool(&text);
    assert!(ok, "promtool check metrics: {said}\n{text}");
    let fin = exporter.signal(Signal::SIGTERM);
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn tcpconnect_counts_connects_per_family() {
    let (exporter, port) = start(&["--collectors", "tcpconnect"]);
    let v4 = "bpfkit_tcp_connects_total{family=\"ipv4\"}";
    let v6 = "bpfkit_tcp_connects_total{family=\"ipv6\"}";
    let text = scrape(port);
    let (ok, said) = promtool(&text);
    assert!(ok, "promtool check metrics: {said}\n{text}");
    let count = |text: &str, series: &str| sample(text, series).unwrap_or_else(|| panic!("{text}"));
    let (v4_0, v6_0) = (count(&text, v4), count(&text, v6));
    let mut streams = Vec::new();
    for (ip, n) in [("127.0.0.1:0", 6), ("[::1]:0", 4)] {
        let listener = TcpListener::bind(ip).unwrap();
        for _ in 0..n {
            streams.push(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        }
    }
    // The scrapes' own connects count too (IPv4): at least ours are there.
    let deadline = Instant::now() + common::event_timeout();
    let text = loop {
        let text = scrape(port);
        let seen = count(&text, v4) >= v4_0 + 6.0 && count(&text, v6) >= v6_0 + 4.0;
        if seen || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(count(&text, v4) >= v4_0 + 6.0, "{text}");
    assert!(count(&text, v6) >= v6_0 + 4.0, "{text}");
    let fin = exporter.stop();
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn a_collector_that_cannot_load_is_down_and_the_others_run() {
    let (exporter, port) = start(&[
        "--collectors",
        "runqlat",
        "--xdp-interface",
        "bpfkit-nosuch0",
    ]);
    let text = scrape(port);
    assert_eq!(
        sample(&text, "bpfkit_collector_up{collector=\"xdp\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bpfkit_collector_up{collector=\"runqlat\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("bpfkit_runqueue_latency_seconds_count "),
        "{text}"
    );
    let fin = exporter.stop();
    assert!(fin.status.success(), "{fin:?}");
    let down: Vec<&String> = fin
        .stderr
        .iter()
        .filter(|l| l.starts_with("collector xdp is down:"))
        .collect();
    assert_eq!(down.len(), 1, "said once: {:?}", fin.stderr);
    assert!(down[0].contains("bpfkit-nosuch0"), "{down:?}");
}

#[test]
fn xdp_counts_packets_and_bytes_per_interface() {
    let pair = common::netns::VethPair::new();
    let (exporter, port) = start(&["--collectors", "xdp", "--xdp-interface", &pair.host]);
    let packets = format!("bpfkit_xdp_packets_total{{interface=\"{}\"}}", pair.host);
    let bytes = format!("bpfkit_xdp_bytes_total{{interface=\"{}\"}}", pair.host);
    let count = |text: &str, series: &str| sample(text, series).unwrap_or_else(|| panic!("{text}"));
    let text = scrape(port);
    let (p0, b0) = (count(&text, &packets), count(&text, &bytes));
    let rx0 = pair.host_rx_packets();
    // 40 UDP datagrams of 100 bytes: Ethernet, IPv4 and UDP headers add 42.
    pair.send_udp(&pair.peer_v4(0), &pair.host_v4(), 9, 64, 100, 40);
    pair.wait_rx(rx0 + 40);
    let text = scrape(port);
    let rx = pair.host_rx_packets() - rx0;
    let (p, b) = (count(&text, &packets) - p0, count(&text, &bytes) - b0);
    // Every packet the interface received went through XDP (and the peer's
    // own few, e.g. IPv6 router solicitations, may come on top).
    assert!(
        p >= 40.0 && p <= rx as f64,
        "{p} packets counted, {rx} received"
    );
    assert!(b >= 40.0 * 142.0, "{b} bytes");
    assert!(exporter.stop().status.success());
    assert!(
        !pair.host_link().contains("xdp"),
        "XDP left on {}",
        pair.host
    );
}

#[test]
fn bad_listen_addresses_and_busy_ports_exit_with_one_line() {
    // Not an address at all: a usage error.
    let fin = common::run(EXPORTER, &["--listen", "nowhere"]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
    // An address this host does not have (TEST-NET-1).
    let fin = common::run(EXPORTER, &["--listen", "192.0.2.1:10140"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "{fin:?}");
    assert!(
        fin.stderr[0].contains("192.0.2.1 is not an address of this host"),
        "{fin:?}"
    );
    // A port in use.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let fin = common::run(EXPORTER, &["--listen", &format!("127.0.0.1:{port}")]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "{fin:?}");
    assert!(
        fin.stderr[0].contains(&format!("port {port} is in use")),
        "{fin:?}"
    );
    // An unknown collector.
    let fin = common::run(EXPORTER, &["--collectors", "runqlat,nosuch"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr[0].contains("unknown collector 'nosuch'"),
        "{fin:?}"
    );
}

#[test]
fn a_silent_client_blocks_no_scrape_and_is_cut_off() {
    let (exporter, port) = start(&["--collectors", "runqlat"]);
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let t = Instant::now();
    scrape(port);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Scrapes from many threads at once all get whole answers.
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || (0..5).map(|_| scrape(port)).collect::<Vec<_>>()))
        .collect();
    for t in threads {
        for text in t.join().unwrap() {
            assert!(text.contains("bpfkit_scrape_duration_seconds "), "{text}");
        }
    }
    // The exporter gives up on the silent one after its I/O timeout (10 s).
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    let t = Instant::now();
    let _ = silent.read_to_end(&mut rest);
    assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
    let fin = exporter.stop();
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn every_stop_signal_detaches_everything() {
    for sig in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        let (exporter, port) = start(&[]);
        scrape(port);
        let ours = exporter.prog_ids();
        assert!(ours.len() >= 10, "{sig}: {ours:?}");
        let fin = exporter.signal(sig);
        assert!(fin.status.success(), "{sig}: {fin:?}");
        let left: Vec<u32> = common::loaded_prog_ids()
            .intersection(&ours)
            .copied()
            .collect();
        assert!(left.is_empty(), "{sig}: programs left: {left:?}");
    }
}

#[test]
fn runqlat_per_pid_namespace_is_capped() {
    // Two PID namespaces of our own with busy tasks, beside the host's.
    let spin = "while :; do :; done";
    let mut namespaces: Vec<Child> = (0..2)
        .map(|_| {
            // --kill-child: the namespace's init dies with unshare (it
            // ignores signals from outside but SIGKILL).
            Command::new("unshare")
                .args(["--pid", "--fork", "--kill-child", "--mount-proc"])
                .args(["sh", "-c", spin])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("unshare")
        })
        .collect();
    let (exporter, port) = start(&[
        "--collectors",
        "runqlat",
        "--runqlat-per-pidns",
        "--max-series",
        "1",
    ]);
    let _load = Spinners::start(common::cpus() * 2, &common::thread_name("bpfkn"));
    let deadline = Instant::now() + common::event_timeout();
    let text = loop {
        let text = scrape(port);
        let series = text
            .lines()
            .filter(|l| l.starts_with("bpfkit_runqueue_latency_seconds_count{"))
            .count();
        if series == 2 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    for ns in &mut namespaces {
        let _ = ns.kill();
        let _ = ns.wait();
    }
    let counts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bpfkit_runqueue_latency_seconds_count{"))
        .collect();
    // One namespace keeps its series, the others add up in `other`.
    assert_eq!(counts.len(), 2, "{text}");
    assert!(
        counts.iter().any(|l| l.contains("pidns=\"other\"")),
        "{counts:?}"
    );
    let (ok, said) = promtool(&text);
    assert!(ok, "{said}");
    assert!(exporter.stop().status.success());
}

#[test]
fn oom_kills_are_counted() {
    let (exporter, port) = start(&["--collectors", "oomkill"]);
    let kills = |text: &str| {
        sample(text, "bpfkit_oom_kills_total").unwrap_or_else(|| panic!("no kill counter: {text}"))
    };
    let before = kills(&scrape(port));
    common::oom::oom_kill();
    // The event reaches the ring buffer as the kill happens; the exporter
    // folds it in within its poll interval.
    let deadline = Instant::now() + common::event_timeout();
    let mut after = kills(&scrape(port));
    while after < before + 1.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = kills(&scrape(port));
    }
    // Other OOM kills on the machine may come on top, never fewer.
    assert!(after >= before + 1.0, "{before} -> {after}");
    let (ok, out) = promtool(&scrape(port));
    assert!(ok, "{out}");
    assert!(exporter.stop().status.success());
}

#[test]
fn syscalls_are_counted_by_name_and_capped() {
    const CALLS: u64 = 2345;
    let series = "bpfkit_syscalls_total{syscall=\"sched_get_priority_max\"}";
    let (exporter, port) = start(&["--collectors", "syscount"]);
    let before = sample(&scrape(port), series).unwrap_or(0.0);
    for _ in 0..CALLS {
        // SAFETY: a syscall without memory arguments; libc never makes it
        // by itself, so these are the test's own.
        unsafe { libc::syscall(libc::SYS_sched_get_priority_max, libc::SCHED_FIFO) };
    }
    let text = scrape(port);
    let after = sample(&text, series).unwrap_or_else(|| panic!("no {series}: {text}"));
    // Counted at the syscall's return, before the scrape: no wait needed.
    // Other processes may make the call too, never fewer.
    assert!(after >= before + CALLS as f64, "{before} -> {after}");
    let (ok, said) = promtool(&text);
    assert!(ok, "{said}");
    assert!(exporter.stop().status.success());

    // Two series of their own at most, the rest in `other`.
    let (exporter, port) = start(&["--collectors", "syscount", "--max-series", "2"]);
    let text = scrape(port);
    let names: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bpfkit_syscalls_total{"))
        .collect();
    assert_eq!(names.len(), 3, "{text}");
    assert!(
        names.iter().any(|l| l.contains("syscall=\"other\"")),
        "{names:?}"
    );
    let (ok, said) = promtool(&text);
    assert!(ok, "{said}");
    assert!(exporter.stop().status.success());
}
