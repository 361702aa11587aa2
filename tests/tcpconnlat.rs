//! tcpconnlat against the real kernel: every test opens its own listeners on
//! loopback (IPv4 and IPv6) and connects to them, so rows are told apart
//! from other activity by their ports and our pid.
mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bpfkit::probe::{Mechanism, Needs};
use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "tcpconnlat";

/// What the tool hooks for each mechanism (as src/bin/tcpconnlat.rs).
fn needs() -> Needs {
    bpfkit::hooks::tcpconnlat()
}

/// A finished connect from this thread: the listener and both ends stay
/// open for as long as the test holds it.
struct Conn {
    _listener: TcpListener,
    _stream: TcpStream,
    /// The listener's port: the DPORT column.
    dport: u16,
    /// The client socket's port: the LPORT column.
    lport: u16,
    /// This thread's task name: the COMM column.
    comm: String,
}

fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

/// Listens on `ip` port 0 and connects to it from the calling thread.
fn connect(ip: &str) -> Conn {
    let listener = TcpListener::bind(SocketAddr::new(ip.parse().unwrap(), 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    Conn {
        dport: addr.port(),
        lport: stream.local_addr().unwrap().port(),
        _listener: listener,
        _stream: stream,
        comm: thread_comm(),
    }
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn me() -> String {
    std::process::id().to_string()
}

/// The row for a connect of ours to `dport`, with PID at `pid_col` and DPORT
/// at `dport_col` (the columns move with -t and -L).
fn our_row(tool: &Tool, pid_col: usize, dport_col: usize, dport: u16) -> Vec<String> {
    let (me, dport) = (me(), dport.to_string());
    let found = tool.wait_line(|l| {
        let c = columns(l);
        c.get(pid_col) == Some(&me) && c.get(dport_col) == Some(&dport)
    });
    match found {
        Some(l) => columns(&l),
        None => panic!(
            "no row for pid {me} and DPORT {dport}; stdout: {:?}; stderr: {:?}",
            tool.lines(),
            tool.stderr_lines()
        ),
    }
}

/// LAT(ms) as libbpf-tools prints it: a float with two decimals.
fn assert_latency(lat: &str) {
    let ms: f64 = lat.parse().unwrap_or_else(|_| panic!("LAT(ms) {lat:?}"));
    assert!((0.0..10_000.0).contains(&ms), "LAT(ms) {lat}");
    assert_eq!(lat.split_once('.').map(|(_, d)| d.len()), Some(2), "{lat}");
}

#[test]
fn ipv4_table_row() {
    let tool = Tool::start(TOOL, &[]);
    let conn = connect("127.0.0.1");
    // PID COMM IP SADDR DADDR DPORT LAT(ms)
    let c = our_row(&tool, 0, 5, conn.dport);
    assert_eq!(c.len(), 7, "{c:?}");
    let comm12: String = conn.comm.chars().take(12).collect();
    assert_eq!(c[1], comm12, "COMM, cut to 12 like libbpf-tools");
    assert_eq!(c[2], "4");
    assert_eq!(c[3], "127.0.0.1");
    assert_eq!(c[4], "127.0.0.1");
    assert_latency(&c[6]);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "PID    COMM         IP SADDR            DADDR            DPORT LAT(ms)"
    );
}

#[test]
fn ipv6_row_with_lport_and_timestamp() {
    let tool = Tool::start(TOOL, &["-L", "-t"]);
    let conn = connect("::1");
    // TIME(s) PID COMM IP SADDR LPORT DADDR DPORT LAT(ms)
    let c = our_row(&tool, 1, 7, conn.dport);
    assert_eq!(c.len(), 9, "{c:?}");
    let t: f64 = c[0].parse().unwrap();
    assert!(t >= 0.0, "TIME(s) {}", c[0]);
    assert_eq!(c[0].split_once('.').map(|(_, d)| d.len()), Some(3));
    assert_eq!(c[3], "6");
    assert_eq!(c[4], "::1");
    assert_eq!(c[5], conn.lport.to_string(), "LPORT is the client's port");
    assert_eq!(c[6], "::1");
    assert_latency(&c[8]);
    // Both families in one run, and IPv4 after IPv6.
    let conn4 = connect("127.0.0.1");
    let c = our_row(&tool, 1, 7, conn4.dport);
    assert_eq!((c[3].as_str(), c[4].as_str()), ("4", "127.0.0.1"));
    assert_eq!(c[5], conn4.lport.to_string());
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        [
            "TIME(s)", "PID", "COMM", "IP", "SADDR", "LPORT", "DADDR", "DPORT", "LAT(ms)"
        ]
    );
}

#[test]
fn json_rows_both_families() {
    let tool = Tool::start(TOOL, &["--json"]);
    for ip in ["127.0.0.1", "::1"] {
        let conn = connect(ip);
        let v = tool.expect_json("rport", &json!(conn.dport));
        assert_eq!(v["pid"], json!(std::process::id()), "{v}");
        assert_eq!(v["comm"], json!(conn.comm), "{v}");
        assert_eq!(v["family"], json!(if ip == "::1" { 6 } else { 4 }), "{v}");
        assert_eq!(v["laddr"], json!(ip), "{v}");
        assert_eq!(v["raddr"], json!(ip), "{v}");
        assert_eq!(v["lport"], json!(conn.lport), "{v}");
        let us = v["lat_us"].as_u64().expect("lat_us");
        assert!(us > 0 && us < 10_000_000, "{v}");
        let ms = v["lat_ms"].as_f64().expect("lat_ms");
        assert!((ms - us as f64 / 1000.0).abs() < 1e-9, "{v}");
        assert!(v.get("elapsed_s").is_none(), "{v}");
    }
    tool.stop().assert_json_only();
}

/// A connect whose SYN the server drops once: its listener has a full accept
/// queue until `delay` after the connect starts, so the handshake completes
/// with the SYN retransmission about a second later.
fn slow_connect(delay: Duration) -> (Conn, Duration) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // Backlog 0: one queued connection fills the accept queue.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let first = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    let connecting = thread::spawn(move || {
        let s = TcpStream::connect(addr).unwrap();
        (s, thread_comm(), started.elapsed())
    });
    thread::sleep(delay);
    let (accepted, _) = listener.accept().unwrap();
    let (stream, comm, took) = connecting.join().unwrap();
    drop((first, accepted));
    let conn = Conn {
        dport: addr.port(),
        lport: stream.local_addr().unwrap().port(),
        _listener: listener,
        _stream: stream,
        comm,
    };
    (conn, took)
}

#[test]
fn min_latency_filter() {
    // 500 ms: a loopback connect is far faster, a retransmitted SYN slower.
    let tool = Tool::start(TOOL, &["--json", "-L", "500"]);
    let hidden = Tool::start(TOOL, &["--json", "10000"]);
    let (slow, took) = slow_connect(Duration::from_millis(200));
    assert!(
        took >= Duration::from_millis(500),
        "the slow connect took only {took:?}"
    );
    let v = tool.expect_json("lport", &json!(slow.lport));
    assert_eq!(v["rport"], json!(slow.dport), "{v}");
    let ms = v["lat_ms"].as_f64().unwrap();
    assert!(
        ms >= 500.0 && ms <= took.as_secs_f64() * 1000.0,
        "{v}, took {took:?}"
    );
    // The queue-filling connect to the same port was fast: not shown.
    let fast = connect("127.0.0.1");
    let marker = slow_connect(Duration::from_millis(200)).0;
    tool.expect_json("lport", &json!(marker.lport));
    let fin = tool.stop();
    fin.assert_json_only();
    let ours: Vec<serde_json::Value> = fin
        .stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["pid"] == json!(std::process::id()))
        .collect();
    assert!(
        ours.iter().all(|v| v["lat_ms"].as_f64().unwrap() >= 500.0),
        "{ours:?}"
    );
    assert!(
        !ours.iter().any(|v| v["rport"] == json!(fast.dport)),
        "{ours:?}"
    );
    // 10 s: none of them (the stop drains what the kernel had sent).
    let fin = hidden.stop();
    fin.assert_json_only();
    for port in [slow.dport, marker.dport, fast.dport] {
        assert!(
            !fin.stdout
                .iter()
                .any(|l| l.contains(&format!("\"rport\":{port}"))),
            "min 10000 ms must hide {port}: {:?}",
            fin.stdout
        );
    }
}

#[test]
fn pid_filter() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = target.local_addr().unwrap().port();
    let mut child = Command::new("bash")
        .args([
            "-c",
            &format!("read x; exec 3<>/dev/tcp/127.0.0.1/{port}; read y"),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let tool = Tool::start(TOOL, &["--json", "-p", &pid.to_string()]);
    let mine = connect("127.0.0.1");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    let v = tool.expect_json("rport", &json!(port));
    assert_eq!(v["pid"], json!(pid), "{v}");
    assert_eq!(v["comm"], "bash", "{v}");
    assert_eq!(v["family"], 4, "{v}");
    drop(stdin);
    child.wait().unwrap();
    let fin = tool.stop();
    fin.assert_json_only();
    assert!(
        !fin.stdout
            .iter()
            .any(|l| l.contains(&format!("\"rport\":{}", mine.dport))),
        "-p must hide the test's own connect: {:?}",
        fin.stdout
    );
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn refused_connect_is_not_reported() {
    let tool = Tool::start(TOOL, &["--json"]);
    // A port that was just free: nothing listens there now.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = TcpStream::connect(closed).expect_err("nothing listens there");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let closed6 = {
        let l = TcpListener::bind("[::1]:0").unwrap();
        l.local_addr().unwrap()
    };
    assert!(TcpStream::connect(closed6).is_err());
    // Then one that works, seen after them.
    let marker = connect("127.0.0.1");
    tool.expect_json("rport", &json!(marker.dport));
    let fin = tool.stop();
    fin.assert_json_only();
    for port in [closed.port(), closed6.port()] {
        assert!(
            !fin.stdout
                .iter()
                .any(|l| l.contains(&format!("\"rport\":{port}"))),
            "refused connect to {port} reported: {:?}",
            fin.stdout
        );
    }
}

#[test]
fn bad_minimum_is_a_usage_error() {
    for bad in ["0", "abc", "0.0001"] {
        let fin = common::run(TOOL, &[bad]);
        assert_eq!(fin.status.code(), Some(2), "{bad}: {fin:?}");
    }
}

// ---- one test per mechanism ----

fn sees_connects(args: &[&str], mechanism: Mechanism) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("-L");
    let tool = Tool::start(TOOL, &all);
    common::assert_using(&tool, mechanism);
    for ip in ["127.0.0.1", "::1"] {
        let conn = connect(ip);
        // PID COMM IP SADDR LPORT DADDR DPORT LAT(ms)
        let c = our_row(&tool, 0, 6, conn.dport);
        assert_eq!(c[3], ip, "{c:?}");
        assert_eq!(c[4], conn.lport.to_string(), "{c:?}");
        assert_latency(&c[7]);
    }
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn mechanism_default() {
    // No flag: `auto`, or what the runner forces through BPFKIT_PROBE.
    let (args, m) = common::default_mechanism(&needs());
    sees_connects(&args, m);
}

#[test]
fn duration_prints_the_connects_then_ends_by_itself() {
    // Scaled, so a slow guest has as long to report the connect.
    let secs = 2 * u64::from(common::slowdown());
    let started = Instant::now();
    let tool = Tool::start(TOOL, &["-d", &secs.to_string()]);
    let conn = connect("127.0.0.1");
    // Ends by itself: wait() fails the test after exit_timeout().
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(secs),
        "-d {secs} ended early"
    );
    assert_eq!(
        fin.stdout[0],
        "PID    COMM         IP SADDR            DADDR            DPORT LAT(ms)"
    );
    let (me, dport) = (me(), conn.dport.to_string());
    let row = (fin.stdout.iter().map(|l| columns(l)))
        .find(|c| c.first() == Some(&me) && c.get(5) == Some(&dport));
    let c = row.unwrap_or_else(|| panic!("no row for DPORT {dport}: {:?}", fin.stdout));
    assert_eq!(c[2..5], ["4", "127.0.0.1", "127.0.0.1"], "{c:?}");
    assert_latency(&c[6]);
}

crate::mechanism_tests!(TOOL, needs(), sees_connects);

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &[], || {
        let _ = connect("127.0.0.1");
    });
}
