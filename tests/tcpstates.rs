//! tcpstates against the real kernel: each test makes its own connections
//! (loopback, and across a veth pair into a fresh network namespace) and
//! filters by their ports, so other activity never matches.
mod common;

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::netns::VethPair;
use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "tcpstates";

/// How long the client stays ESTABLISHED: the MS of ESTABLISHED -> FIN_WAIT1.
const HOLD: Duration = Duration::from_millis(60);

/// Listens on `ip`, connects, holds the connection open for HOLD, closes
/// the client first (so it goes FIN_WAIT1), then the server side.
/// Returns (listener port, client port).
///
/// The client's FIN goes out through shutdown(), in this thread: close()
/// only ends the connection when the file's last reference goes, and a
/// process that another test thread is forking at that moment holds one
/// until it execs (its `ip` then shows up as the task closing our socket).
fn connect_and_close(ip: &str) -> (u16, u16) {
    let listener = TcpListener::bind(SocketAddr::new(ip.parse().unwrap(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let lport = client.local_addr().unwrap().port();
    thread::sleep(HOLD);
    client.shutdown(Shutdown::Write).unwrap();
    // The server sees the client's FIN, then closes its side; the client's
    // read ends once that FIN has moved it to CLOSE, so the final close()
    // changes no state.
    let mut buf = [0u8; 1];
    let _ = server.read(&mut buf);
    drop(server);
    let _ = client.read(&mut buf);
    drop(client);
    (port, lport)
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

/// Waits for a row that ends in `newstate` for a socket with RPORT `rport`
/// (column `rport_col`), and returns all such rows seen by then, in order.
fn rows_until(tool: &Tool, rport_col: usize, rport: u16, newstate: &str) -> Vec<Vec<String>> {
    let rport = rport.to_string();
    let ours = |l: &str| columns(l).get(rport_col) == Some(&rport);
    let last = tool.wait_line(|l| {
        ours(l) && columns(l).iter().rev().nth(1).map(String::as_str) == Some(newstate)
    });
    assert!(
        last.is_some(),
        "no -> {newstate} row for RPORT {rport}; stdout: {:?}; stderr: {:?}",
        tool.lines(),
        tool.stderr_lines()
    );
    tool.lines()
        .iter()
        .filter(|l| ours(l))
        .map(|l| columns(l))
        .collect()
}

/// OLDSTATE -> NEWSTATE of each row (columns `-> ` and its neighbours).
fn transitions(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter()
        .map(|c| {
            let arrow = c.iter().position(|x| x == "->").expect("-> column");
            format!("{} -> {}", c[arrow - 1], c[arrow + 1])
        })
        .collect()
}

fn ms(col: &str) -> f64 {
    assert_eq!(
        col.split_once('.').map(|(_, d)| d.len()),
        Some(3),
        "MS has 3 decimals: {col}"
    );
    col.parse().unwrap()
}

#[test]
fn client_state_sequence_ipv4() {
    let tool = Tool::start(TOOL, &["-4"]);
    let comm = thread_comm();
    let (port, lport) = connect_and_close("127.0.0.1");
    // SKADDR PID COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS
    let rows = rows_until(&tool, 6, port, "CLOSE");
    assert_eq!(
        transitions(&rows),
        [
            "CLOSE -> SYN_SENT",
            "SYN_SENT -> ESTABLISHED",
            "ESTABLISHED -> FIN_WAIT1",
            "FIN_WAIT1 -> FIN_WAIT2",
            "FIN_WAIT2 -> CLOSE"
        ],
        "{rows:?}"
    );
    for c in &rows {
        assert_eq!(c.len(), 11, "{c:?}");
        assert_eq!(c[0], rows[0][0], "one socket: same SKADDR");
        assert!(u64::from_str_radix(&c[0], 16).is_ok_and(|a| a > 0), "{c:?}");
        assert_eq!(c[3], "127.0.0.1");
        assert_eq!(c[5], "127.0.0.1");
    }
    // connect() and close() run in this thread: our pid and comm.
    let comm10: String = comm.chars().take(10).collect();
    for i in [0, 2] {
        assert_eq!(rows[i][1], std::process::id().to_string(), "{:?}", rows[i]);
        assert_eq!(rows[i][2], comm10, "{:?}", rows[i]);
    }
    // LPORT is 0 until the connect picks one.
    assert_eq!(rows[0][4], "0");
    assert_eq!(rows[2][4], lport.to_string());
    // MS: time spent in the old state.
    assert_eq!(ms(&rows[0][10]), 0.0, "first change of a socket: 0");
    let established = ms(&rows[2][10]);
    assert!(
        established >= HOLD.as_millis() as f64 && established < 10_000.0,
        "ESTABLISHED lasted {established} ms, the test held it {HOLD:?}"
    );
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "SKADDR           PID     COMM       LADDR           LPORT RADDR           RPORT OLDSTATE    -> NEWSTATE    MS"
    );
}

#[test]
fn server_side_wide_ipv6_with_lport_filter_and_timestamp() {
    // Bind first, so the -L filter can name the port.
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = port.to_string();
    let tool = Tool::start(TOOL, &["-6", "-w", "-T", "-L", &p]);
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, peer) = listener.accept().unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    drop(client);
    let mut buf = [0u8; 1];
    let _ = server.read(&mut buf);
    drop(server);
    // TIME SKADDR PID COMM IP LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS
    let rport = peer.port().to_string();
    tool.wait_line(|l| {
        let c = columns(l);
        c.get(8) == Some(&rport) && c.get(11).map(String::as_str) == Some("CLOSE")
    })
    .unwrap_or_else(|| panic!("no server-side -> CLOSE row: {:?}", tool.lines()));
    let child: Vec<Vec<String>> = tool
        .lines()
        .iter()
        .map(|l| columns(l))
        .filter(|c| c.get(8) == Some(&rport))
        .collect();
    // The child socket's LISTEN -> SYN_RECV (fired while it is cloned from
    // the listener) carries its local port only on newer kernels (6.18
    // yes, 6.1 and 6.12 no): with -L it may be filtered out.
    let mut seen = transitions(&child);
    if seen.first().map(String::as_str) == Some("LISTEN -> SYN_RECV") {
        seen.remove(0);
    }
    assert_eq!(
        seen,
        [
            "SYN_RECV -> ESTABLISHED",
            "ESTABLISHED -> CLOSE_WAIT",
            "CLOSE_WAIT -> LAST_ACK",
            "LAST_ACK -> CLOSE"
        ],
        "{child:?}"
    );
    for c in &child {
        assert_eq!(c.len(), 13, "{c:?}");
        assert_eq!(c[0].len(), 8, "HH:MM:SS: {c:?}");
        assert_eq!(c[0].matches(':').count(), 2, "{c:?}");
        assert_eq!(
            (c[4].as_str(), c[5].as_str(), c[7].as_str()),
            ("6", "::1", "::1")
        );
        assert_eq!(c[6], p, "LPORT is the listener's port");
    }
    // -L: only sockets whose local port is ours (the client's is not).
    assert!(
        tool.lines()
            .iter()
            .skip(1)
            .all(|l| columns(l).get(6) == Some(&p)),
        "{:?}",
        tool.lines()
    );
    drop(listener);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "TIME(s)  SKADDR           PID     COMM             IP LADDR                      LPORT RADDR                      RPORT OLDSTATE    -> NEWSTATE    MS"
    );
}

#[test]
fn json_and_family_filter() {
    // -6 with both ports listed: the IPv4 connection must not show.
    let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let (p4, p6) = (
        l4.local_addr().unwrap().port(),
        l6.local_addr().unwrap().port(),
    );
    let list = format!("{p4},{p6}");
    let tool = Tool::start(TOOL, &["--json", "-6", "-D", &list]);
    drop(TcpStream::connect(l4.local_addr().unwrap()).unwrap());
    let c6 = TcpStream::connect(l6.local_addr().unwrap()).unwrap();
    let v = tool.expect_json("newstate", &json!("ESTABLISHED"));
    assert_eq!(v["rport"], json!(p6), "{v}");
    assert_eq!(v["oldstate"], json!("SYN_SENT"), "{v}");
    assert_eq!(v["family"], json!(6), "{v}");
    assert_eq!(v["laddr"], json!("::1"), "{v}");
    assert_eq!(v["lport"], json!(c6.local_addr().unwrap().port()), "{v}");
    let us = v["delta_us"].as_u64().expect("delta_us");
    assert!(
        (v["delta_ms"].as_f64().unwrap() - us as f64 / 1000.0).abs() < 1e-9,
        "{v}"
    );
    assert!(
        v["skaddr"]
            .as_str()
            .is_some_and(|s| u64::from_str_radix(s, 16).is_ok())
    );
    drop(c6);
    tool.expect_json("newstate", &json!("FIN_WAIT1"));
    let fin = tool.stop();
    fin.assert_json_only();
    for l in &fin.stdout {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["rport"], json!(p6), "only the IPv6 port: {v}");
    }
}

#[test]
fn connection_from_another_network_namespace() {
    let pair = VethPair::new();
    let listener = TcpListener::bind((pair.host_v4().as_str(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let tool = Tool::start(TOOL, &["-D", &port.to_string()]);
    // A client in the peer namespace connects, waits, and closes.
    let script = format!(
        "import socket, time\n\
         s = socket.socket()\n\
         s.bind(('{}', 0))\n\
         s.connect(('{}', {port}))\n\
         time.sleep(0.05)\n\
         s.close()\n",
        pair.peer_v4(1),
        pair.host_v4()
    );
    let status = Command::new("ip")
        .args(["netns", "exec", &pair.ns, "python3", "-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    let (server, _) = listener.accept().unwrap();
    drop(server);
    let rows = rows_until(&tool, 6, port, "FIN_WAIT2");
    assert_eq!(
        transitions(&rows)[..4],
        [
            "CLOSE -> SYN_SENT",
            "SYN_SENT -> ESTABLISHED",
            "ESTABLISHED -> FIN_WAIT1",
            "FIN_WAIT1 -> FIN_WAIT2"
        ],
        "{rows:?}"
    );
    assert_eq!(rows[0][2], "python3");
    assert_eq!(rows[2][3], pair.peer_v4(1));
    assert_eq!(rows[2][5], pair.host_v4());
    assert!(tool.stop().status.success());
}

#[test]
fn bad_port_list_is_a_usage_error() {
    for bad in [&["-L", "0"][..], &["-D", "80,http"], &["-4", "-6"]] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
}

#[test]
fn duration_prints_the_changes_then_ends_by_itself() {
    // Scaled, so a slow guest has as long to report the connection.
    let secs = 2 * u64::from(common::slowdown());
    let started = std::time::Instant::now();
    let tool = Tool::start(TOOL, &["-d", &secs.to_string()]);
    let (port, _) = connect_and_close("127.0.0.1");
    // Ends by itself: wait() fails the test after exit_timeout().
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(secs),
        "-d {secs} ended early"
    );
    // The client socket (RPORT = the listener's port), every change.
    let port = port.to_string();
    let rows: Vec<Vec<String>> = (fin.stdout.iter().map(|l| columns(l)))
        .filter(|c| c.get(6) == Some(&port))
        .collect();
    assert_eq!(
        transitions(&rows),
        [
            "CLOSE -> SYN_SENT",
            "SYN_SENT -> ESTABLISHED",
            "ESTABLISHED -> FIN_WAIT1",
            "FIN_WAIT1 -> FIN_WAIT2",
            "FIN_WAIT2 -> CLOSE"
        ],
        "{:?}",
        fin.stdout
    );
}

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &[], || {
        connect_and_close("127.0.0.1");
    });
}
