//! tcptop against the real kernel: loopback sessions with known bytes each
//! way, made by this test process (or a child in a cgroup), found by their
//! ports in the rows; `-p` keeps other traffic out.
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Instant;

use bpfkit::probe::Mechanism;
use common::cgroup::Cgroup;
use common::{Tool, lifecycle_checks};
use serde_json::{Value, json};

const TOOL: &str = "tcptop";
const UP: usize = 100 * 1024;
const DOWN: usize = 50 * 1024;

/// (listener port, client port) of one session with `up` bytes from the
/// client and `down` back, in this thread.
fn session(ip: &str, up: usize, down: usize) -> (u16, u16) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(&vec![b'u'; up]).unwrap();
    server.read_exact(&mut vec![0u8; up]).unwrap();
    server.write_all(&vec![b'd'; down]).unwrap();
    client.read_exact(&mut vec![0u8; down]).unwrap();
    client.shutdown(Shutdown::Both).unwrap();
    (
        listener.local_addr().unwrap().port(),
        client.local_addr().unwrap().port(),
    )
}

fn me() -> String {
    std::process::id().to_string()
}

fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

/// (rx, tx) summed over every interval object's rows, per (lport, rport).
fn totals(lines: &[String]) -> HashMap<(u64, u64), (u64, u64)> {
    let mut sums = HashMap::new();
    for l in lines {
        let Ok(v) = serde_json::from_str::<Value>(l) else {
            continue;
        };
        for r in v["rows"].as_array().into_iter().flatten() {
            let key = (r["lport"].as_u64().unwrap(), r["rport"].as_u64().unwrap());
            let e: &mut (u64, u64) = sums.entry(key).or_default();
            e.0 += r["rx_bytes"].as_u64().unwrap();
            e.1 += r["tx_bytes"].as_u64().unwrap();
        }
    }
    sums
}

/// Runs tcptop with `extra` (a --probe flag) on this process, one JSON
/// object a second, makes one session, and checks both ends' bytes add up
/// exactly over the intervals, through `m`.
fn sees_bytes(extra: &[&str], m: Mechanism) {
    let pid = me();
    let mut args = vec!["--json", "-p", &pid];
    args.extend_from_slice(extra);
    args.push("1");
    let tool = Tool::start(TOOL, &args);
    common::assert_using(&tool, m);
    let (port, cport) = session("127.0.0.1", UP, DOWN);
    let (p, c) = (u64::from(port), u64::from(cport));
    let want = |s: &HashMap<_, _>| {
        s.get(&(c, p)) == Some(&(DOWN as u64, UP as u64))
            && s.get(&(p, c)) == Some(&(UP as u64, DOWN as u64))
    };
    let deadline = Instant::now() + common::event_timeout();
    while !want(&totals(&tool.lines())) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let fin = tool.stop();
    fin.assert_json_only();
    let sums = totals(&fin.stdout);
    assert!(want(&sums), "client {c} -> {p}: {sums:?}\n{:?}", fin.stdout);
    // Every row is ours, with our comm on our session's rows.
    for l in &fin.stdout {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(v["time"].as_str().is_some_and(|t| t.len() == 8), "{v}");
        for r in v["rows"].as_array().unwrap() {
            assert_eq!(r["pid"], json!(std::process::id()), "{r}");
            if r["rport"] == json!(p) || r["lport"] == json!(p) {
                assert_eq!(r["comm"], json!(thread_comm()), "{r}");
                assert_eq!(
                    (&r["family"], &r["laddr"]),
                    (&json!(4), &json!("127.0.0.1"))
                );
            }
        }
    }
}

#[test]
fn mechanism_default() {
    let (args, m) = common::default_mechanism(&bpfkit::tcptop::needs());
    sees_bytes(&args, m);
}

#[test]
fn mechanism_auto() {
    sees_bytes(&["--probe=auto"], common::expected_auto_mechanism());
}

#[test]
fn mechanism_fentry() {
    common::check_mechanism(
        TOOL,
        &bpfkit::tcptop::needs(),
        Mechanism::Fentry,
        sees_bytes,
    );
}

#[test]
fn mechanism_kprobe() {
    common::check_mechanism(
        TOOL,
        &bpfkit::tcptop::needs(),
        Mechanism::Kprobe,
        sees_bytes,
    );
}

/// The sock_send_length/sock_recv_length tracepoints came in Linux 6.3:
/// where tracefs lacks them, `--probe tracepoint` must exit 1 saying so.
#[test]
fn mechanism_tracepoint() {
    let tracefs = bpfkit::probe::require_tracefs().unwrap();
    let present = tracefs.join("events/sock/sock_send_length").exists()
        && tracefs.join("events/sock/sock_recv_length").exists();
    if present {
        common::check_mechanism(
            TOOL,
            &bpfkit::tcptop::needs(),
            Mechanism::Tracepoint,
            sees_bytes,
        );
    } else {
        let fin = common::run(TOOL, &["--probe=tracepoint", "-d", "1"]);
        assert_eq!(fin.status.code(), Some(1), "{fin:?}");
        assert_eq!(fin.stderr.len(), 1, "{fin:?}");
        assert!(
            fin.stderr[0].contains("--probe tracepoint is not available")
                && fin.stderr[0].contains("sock:sock_send_length does not exist"),
            "{fin:?}"
        );
    }
}

/// A long interval, ended by SIGINT: the final print has everything.
#[test]
fn table_with_ipv6_section_sort_and_rows() {
    let pid = me();
    let tool = Tool::start(
        TOOL,
        &["-C", "-S", "-p", &pid, "-s", "sent", "-r", "3", "3600"],
    );
    // Two IPv6 sessions of different sizes, one IPv4.
    let (p6, c6) = session("::1", UP, DOWN);
    session("::1", 2048, 1024);
    let (p4, c4) = session("127.0.0.1", 4096, 8192);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let out: Vec<&str> = fin.stdout.iter().map(String::as_str).collect();
    let width = bpfkit::tcptop::pid_width();
    let header = |l: &str, r: &str, w: usize| {
        format!(
            "{:<width$} {:<12} {:<w$} {:<w$} {:>6} {:>6}",
            "PID", "COMM", l, r, "RX_KB", "TX_KB"
        )
    };
    let row = |l: String, r: String, w: usize, rx: usize, tx: usize| {
        let comm: String = thread_comm().chars().take(12).collect();
        format!(
            "{:<width$} {:<12} {:<w$} {:<w$} {:>6} {:>6}",
            pid, comm, l, r, rx, tx
        )
    };
    // -r 3 of the top senders, IPv4 first (as libbpf-tools): both IPv4
    // ends, the server (8 KiB sent) first, then the big IPv6 session's
    // client (100 KiB); the rest is cut.
    let want = [
        String::new(),
        header("LADDR", "RADDR", 21),
        row(
            format!("127.0.0.1:{p4}"),
            format!("127.0.0.1:{c4}"),
            21,
            4,
            8,
        ),
        row(
            format!("127.0.0.1:{c4}"),
            format!("127.0.0.1:{p4}"),
            21,
            8,
            4,
        ),
        String::new(),
        header("LADDR6", "RADDR6", 51),
        row(format!("::1:{c6}"), format!("::1:{p6}"), 51, 50, 100),
    ];
    assert!(out.len() >= want.len(), "{fin:#?}");
    let tail = &out[out.len() - want.len()..];
    assert_eq!(tail, want, "{out:#?}");
}

#[test]
fn cgroup_filter_counts_only_processes_inside() {
    let cg = Cgroup::new("bpfkit-tcptop-");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A python3 client in the cgroup: on a line from us, it connects,
    // sends 30000 bytes and closes.
    let script = format!(
        "import socket, sys\n\
         sys.stdin.readline()\n\
         s = socket.create_connection(('127.0.0.1', {port}))\n\
         s.sendall(b'x' * 30000)\n\
         s.close()\n"
    );
    let mut py = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cg.add(py.id());
    let tool = Tool::start(TOOL, &["--json", "-c", cg.arg(), "3600"]);
    // Our own traffic, outside the cgroup: never counted.
    let (mine, _) = session("127.0.0.1", UP, DOWN);
    writeln!(py.stdin.as_mut().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 30000);
    assert!(py.wait().unwrap().success());
    let _ = BufReader::new(py.stdout.take().unwrap()).lines().count();
    let fin = tool.stop();
    fin.assert_json_only();
    let v: Value = serde_json::from_str(fin.stdout.last().unwrap()).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["pid"] == json!(py.id())
            && r["rport"] == json!(port)
            && r["tx_bytes"] == json!(30000)
            && r["comm"] == json!("python3")),
        "{v}"
    );
    for r in rows {
        assert_eq!(r["pid"], json!(py.id()), "only the cgroup's process: {r}");
        assert_ne!(r["lport"], json!(mine), "{r}");
    }
}

#[test]
fn bad_arguments() {
    for bad in [
        &["-4", "-6"][..],
        &["-r", "0"],
        &["-s", "bytes"],
        &["0"],
        &["1", "0"],
    ] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
    common::assert_missing_pid_error(TOOL);
    let path = "/sys/fs/cgroup/unified/bpfkit-no-such-cgroup";
    let fin = common::run(TOOL, &["-c", path]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr, [format!("tcptop: no such cgroup: {path}")]);
}

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &["-C", "1"], || {
        session("127.0.0.1", 1000, 1000);
    });
}
