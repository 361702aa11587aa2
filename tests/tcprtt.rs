//! tcprtt against real loopback TCP traffic: the test opens a connection,
//! bounces bytes over it while the tool runs, and reads the histograms the
//! tool prints (filtered by the connection's ports so other traffic on the
//! machine cannot make a test pass or fail).
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bpfkit::probe::{Mechanism, Needs};
use common::{Finished, Section, Tool, lifecycle_checks};
use serde_json::Value;

/// A loopback connection whose server echoes every byte back.
struct Pair {
    client: TcpStream,
    /// The listener's port: the client's remote port, the server's local port.
    port: u16,
    server: Option<JoinHandle<()>>,
}

impl Pair {
    fn new() -> Pair {
        Pair::on("127.0.0.1")
    }

    /// A pair over the loopback address `ip` (`127.0.0.1` or `::1`).
    fn on(ip: &str) -> Pair {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect((ip, port)).unwrap();
        client.set_nodelay(true).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_nodelay(true).unwrap();
        let server = thread::spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 || conn.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
        Pair {
            client,
            port,
            server: Some(server),
        }
    }

    /// Round trips for `d`; returns how many were made.
    fn exchange(&mut self, d: Duration) -> u64 {
        let end = Instant::now() + d;
        let mut n = 0;
        let mut buf = [0u8; 1];
        while Instant::now() < end {
            self.client.write_all(b"x").unwrap();
            self.client.read_exact(&mut buf).unwrap();
            n += 1;
            // Paced: an unpaced loopback ping-pong with every packet traced
            // has locked up slow (TCG) guests.
            std::thread::sleep(Duration::from_micros(100));
        }
        n
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = self.client.shutdown(std::net::Shutdown::Both);
        if let Some(h) = self.server.take() {
            let _ = h.join();
        }
    }
}

/// Round trips a test must see in its 1.5 s of traffic: 100 on the host;
/// fewer in an emulated guest (BPFKIT_TEST_SLOWDOWN), where a paced
/// loopback exchange runs that much slower. Any count still proves the
/// kernel path is traced.
fn min_rtts() -> u64 {
    100 / u64::from(common::slowdown())
}

/// A port nobody connects to: a listener held open and never used.
fn idle_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn sections(lines: &[String]) -> Vec<Section> {
    common::hist_sections(lines)
}

/// Runs `tcprtt args` for its `-d` while the pair exchanges data.
fn run_with_traffic(args: &[&str], pair: &mut Pair) -> Finished {
    let tool = Tool::start("tcprtt", args);
    assert!(pair.exchange(Duration::from_millis(1500)) > min_rtts());
    let fin = tool.wait();
    assert!(fin.status.success(), "tcprtt {args:?}: {fin:?}");
    fin
}

fn total(fin: &Finished) -> u64 {
    sections(&fin.stdout).iter().map(Section::total).sum()
}

#[test]
fn histogram_counts_loopback_rtt() {
    let mut pair = Pair::new();
    let fin = run_with_traffic(&["-i", "1", "-d", "3"], &mut pair);
    let secs = sections(&fin.stdout);
    assert!(!secs.is_empty(), "no histogram: {:?}", fin.stdout);
    for s in &secs {
        assert_eq!(s.header, "All Addresses = ****** ");
        assert_eq!(s.unit, "usecs");
        // The fullest bucket has the full 40-star bar.
        let max = s.rows.iter().map(|r| r.2).max().unwrap();
        let full = format!(": {max:<8} |{}|", "*".repeat(40));
        assert!(
            fin.stdout.iter().any(|l| l.ends_with(&full)),
            "{:?}",
            fin.stdout
        );
    }
    assert!(total(&fin) > min_rtts(), "{:?}", fin.stdout);
    // One print per interval, each after an empty line.
    assert!(fin.stdout.iter().filter(|l| l.is_empty()).count() >= 2);
    assert_eq!(fin.stdout.first().map(String::as_str), Some(""));
}

#[test]
fn port_filters() {
    let mut pair = Pair::new();
    let (_idle, idle) = idle_port();
    let (port, idle) = (pair.port.to_string(), idle.to_string());
    // All at once, over the same traffic.
    let runs = [
        (vec!["-P", &port], true),
        (vec!["-p", &port], true),
        (vec!["-P", &idle], false),
        (vec!["-p", &idle], false),
        (
            vec!["-P", &port, "-A", "127.0.0.1", "-a", "127.0.0.1"],
            true,
        ),
        (vec!["-P", &port, "-A", "127.0.0.2"], false),
        (vec!["-P", &port, "-a", "::1"], false),
    ];
    // No -d: each runs until stopped after the exchange, however slow the
    // starts (a TCG VM), and prints its histogram on SIGINT.
    let tools: Vec<Tool> = runs
        .iter()
        .map(|(args, _)| Tool::start("tcprtt", args))
        .collect();
    assert!(pair.exchange(Duration::from_millis(1500)) > min_rtts());
    for ((args, sees), tool) in runs.iter().zip(tools) {
        let fin = tool.stop();
        assert!(fin.status.success(), "{args:?}: {fin:?}");
        let n = total(&fin);
        if *sees {
            assert!(
                n > min_rtts(),
                "{args:?} must see the connection: {:?}",
                fin.stdout
            );
        } else {
            assert_eq!(n, 0, "{args:?} must see nothing: {:?}", fin.stdout);
        }
    }
}

#[test]
fn milliseconds() {
    let mut pair = Pair::new();
    let port = pair.port.to_string();
    let fin = run_with_traffic(&["-m", "-d", "3", "-P", &port], &mut pair);
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(secs[0].unit, "msecs");
    // Loopback round trips are far below a millisecond.
    assert!(secs[0].rows[0].2 > min_rtts(), "{:?}", fin.stdout);
}

#[test]
fn extension_prints_the_average() {
    let mut pair = Pair::new();
    let port = pair.port.to_string();
    let fin = run_with_traffic(&["-e", "-d", "3", "-P", &port], &mut pair);
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    let s = &secs[0];
    let avg: u64 = s
        .header
        .strip_prefix("All Addresses = ****** [AVG ")
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or_else(|| panic!("header: {:?}", s.header))
        .parse()
        .unwrap();
    let lowest = s.rows.iter().find(|r| r.2 > 0).unwrap().0;
    let highest = s.rows.last().unwrap().1;
    assert!(
        (lowest..=highest).contains(&avg),
        "AVG {avg} outside the histogram's range {lowest}..={highest}"
    );
}

#[test]
fn per_address_histograms() {
    let mut pair = Pair::new();
    let port = pair.port.to_string();
    // No -d: both run until stopped after the exchange, however slow their
    // starts (a TCG guest), and print on SIGINT.
    let local = Tool::start("tcprtt", &["-b", "-P", &port, "-T"]);
    let remote = Tool::start("tcprtt", &["-B", "-e", "-P", &port]);
    pair.exchange(Duration::from_millis(1500));
    let fin = local.stop();
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(secs[0].header, "Local Address = 127.0.0.1 ");
    assert!(secs[0].total() > min_rtts());
    // -T: an HH:MM:SS line before the histogram.
    let ts = &fin.stdout[1];
    assert!(
        ts.len() == 8 && ts.as_bytes()[2] == b':' && ts.as_bytes()[5] == b':',
        "{:?}",
        fin.stdout
    );
    let fin = remote.stop();
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert!(
        secs[0]
            .header
            .starts_with("Remote Address = 127.0.0.1 [AVG "),
        "{:?}",
        secs[0].header
    );
}

#[test]
fn json_output() {
    let mut pair = Pair::new();
    let port = pair.port.to_string();
    let fin = run_with_traffic(
        &[
            "--json", "-b", "-e", "-T", "-i", "1", "-d", "3", "-P", &port,
        ],
        &mut pair,
    );
    fin.assert_json_only();
    let objs: Vec<Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!objs.is_empty(), "no JSON: {fin:?}");
    let mut seen = 0;
    for v in &objs {
        assert_eq!(v["unit"], "usecs");
        assert_eq!(v["laddr"], "127.0.0.1");
        assert_eq!(v["time"].as_str().map(str::len), Some(8), "{v}");
        let buckets = v["buckets"].as_array().unwrap();
        let sum: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(v["count"].as_u64(), Some(sum), "{v}");
        assert_eq!(buckets[0]["low"], 0);
        assert_eq!(buckets[0]["high"], 1);
        for b in buckets {
            assert!(b["low"].as_u64().unwrap() <= b["high"].as_u64().unwrap());
        }
        let avg = v["avg"].as_f64().unwrap();
        let s = v["sum"].as_u64().unwrap();
        assert!((avg - s as f64 / sum as f64).abs() < 1e-6, "{v}");
        seen += sum;
    }
    assert!(seen > min_rtts(), "{objs:?}");
}

#[test]
fn sigint_prints_what_was_gathered() {
    let mut pair = Pair::new();
    let port = pair.port.to_string();
    // No -i, no -d: the histogram comes out on Ctrl-C, as libbpf-tools does.
    let tool = Tool::start("tcprtt", &["-P", &port]);
    pair.exchange(Duration::from_millis(800));
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(total(&fin) > min_rtts(), "{:?}", fin.stdout);
}

#[test]
fn mixed_address_families_are_an_error() {
    let fin = common::run("tcprtt", &["-a", "127.0.0.1", "-A", "::1", "-d", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("both IPv4 and IPv6")),
        "{fin:?}"
    );
}

fn needs() -> Needs {
    bpfkit::hooks::tcprtt()
}

fn sees_rtt(args: &[&str], mechanism: Mechanism) {
    let mut pair = Pair::new();
    let port = pair.port.to_string();
    let mut a = args.to_vec();
    a.extend(["-d", "3", "-P", &port]);
    let tool = Tool::start("tcprtt", &a);
    common::assert_using(&tool, mechanism);
    pair.exchange(Duration::from_millis(1500));
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    assert!(total(&fin) > min_rtts(), "{a:?}: {:?}", fin.stdout);
}

#[test]
fn mechanism_default() {
    // No flag: `auto`, or what the runner forces through BPFKIT_PROBE.
    let (args, m) = common::default_mechanism(&needs());
    sees_rtt(&args, m);
}

crate::mechanism_tests!("tcprtt", needs(), sees_rtt);

#[test]
fn lifecycle() {
    let mut pair = Pair::new();
    let pair = std::sync::Mutex::new(&mut pair);
    lifecycle_checks("tcprtt", &["-i", "1"], || {
        pair.lock().unwrap().exchange(Duration::from_millis(20));
    });
}

#[test]
fn ipv6_flow_is_counted() {
    let mut pair = Pair::on("::1");
    let port = pair.port.to_string();
    let runs = [
        (vec!["-P", &port, "-a", "::1", "-A", "::1"], true),
        (vec!["-P", &port, "-B"], true),
        (vec!["-P", &port, "-a", "127.0.0.1"], false),
    ];
    let tools: Vec<Tool> = runs.iter().map(|(a, _)| Tool::start("tcprtt", a)).collect();
    assert!(pair.exchange(Duration::from_millis(1500)) > min_rtts());
    for ((args, sees), tool) in runs.iter().zip(tools) {
        let fin = tool.stop();
        assert!(fin.status.success(), "{args:?}: {fin:?}");
        let n = total(&fin);
        if *sees {
            assert!(
                n > min_rtts(),
                "{args:?} must count the IPv6 flow: {:?}",
                fin.stdout
            );
        } else {
            assert_eq!(n, 0, "{args:?} must see nothing: {:?}", fin.stdout);
        }
        if args.contains(&"-B") {
            let secs = sections(&fin.stdout);
            assert!(
                secs.iter().all(|s| s.header == "Remote Address = ::1 "),
                "{:?}",
                fin.stdout
            );
        }
    }
}
