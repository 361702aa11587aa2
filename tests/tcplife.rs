//! tcplife against the real kernel: each test makes its own loopback
//! sessions with known bytes each way and finds their rows by port, so
//! other activity never matches.
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "tcplife";

/// How long each session stays established: a lower bound for its MS.
const HOLD: Duration = Duration::from_millis(300);
/// The client sends 100 KiB, the server answers 50 KiB.
const UP: usize = 100 * 1024;
const DOWN: usize = 50 * 1024;

/// The ports of one session: (listener port, client port).
struct Session {
    port: u16,
    cport: u16,
}

/// Connects to `listener`, moves UP bytes up and DOWN down, holds the
/// session open for HOLD, then closes it, the client first unless
/// `server_first`. Everything runs in this thread (our pid, our comm): the
/// FINs go out through shutdown(), so no forked process holding a copy of
/// a descriptor can end the session in its own name.
fn session(listener: &TcpListener, server_first: bool) -> Session {
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(&vec![b'u'; UP]).unwrap();
    let mut up = vec![0u8; UP];
    server.read_exact(&mut up).unwrap();
    server.write_all(&vec![b'd'; DOWN]).unwrap();
    let mut down = vec![0u8; DOWN];
    client.read_exact(&mut down).unwrap();
    thread::sleep(HOLD);
    let (first, second) = if server_first {
        (&mut server, &mut client)
    } else {
        (&mut client, &mut server)
    };
    first.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(second.read(&mut buf).unwrap(), 0, "EOF after the FIN");
    second.shutdown(Shutdown::Write).unwrap();
    assert_eq!(first.read(&mut buf).unwrap(), 0, "EOF after the FIN");
    let s = Session {
        port: listener.local_addr().unwrap().port(),
        cport: client.local_addr().unwrap().port(),
    };
    drop(client);
    drop(server);
    s
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

/// Waits for the row whose LPORT and RPORT (columns `lport_col` and
/// `lport_col + 2`) are `lport` and `rport`.
fn row(tool: &Tool, lport_col: usize, lport: u16, rport: u16) -> Vec<String> {
    let (l, r) = (lport.to_string(), rport.to_string());
    let line = tool.wait_line(|line| {
        let c = columns(line);
        c.get(lport_col) == Some(&l) && c.get(lport_col + 2) == Some(&r)
    });
    columns(&line.unwrap_or_else(|| {
        panic!(
            "no row for {lport} -> {rport}; stdout: {:?}; stderr: {:?}",
            tool.lines(),
            tool.stderr_lines()
        )
    }))
}

fn ms_at_least_hold(col: &str) {
    assert_eq!(
        col.split_once('.').map(|(_, d)| d.len()),
        Some(2),
        "MS has 2 decimals: {col}"
    );
    let ms: f64 = col.parse().unwrap();
    assert!(
        ms >= HOLD.as_millis() as f64,
        "the session lasted {ms} ms, the test held it {HOLD:?}"
    );
}

#[test]
fn both_ends_of_a_session_with_their_bytes_ipv4() {
    let tool = Tool::start(TOOL, &["-4"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let s = session(&listener, false);
    let pid = std::process::id().to_string();
    let comm = thread_comm();
    // PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB MS
    let client = row(&tool, 3, s.cport, s.port);
    assert_eq!(client.len(), 9, "{client:?}");
    assert_eq!((&client[0], &client[1]), (&pid, &comm), "{client:?}");
    assert_eq!(
        (client[2].as_str(), client[4].as_str()),
        ("127.0.0.1", "127.0.0.1")
    );
    assert_eq!(
        (client[6].as_str(), client[7].as_str()),
        ("100.00", "50.00")
    );
    ms_at_least_hold(&client[8]);
    // The server side closed second (LAST_ACK, in this thread).
    let server = row(&tool, 3, s.port, s.cport);
    assert_eq!((&server[0], &server[1]), (&pid, &comm), "{server:?}");
    assert_eq!(
        (server[6].as_str(), server[7].as_str()),
        ("50.00", "100.00")
    );
    ms_at_least_hold(&server[8]);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS"
    );
}

#[test]
fn server_closing_first_ipv6_wide_with_lport_filter_and_time() {
    // Bind first, so -L can name the port.
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let tool = Tool::start(TOOL, &["-6", "-w", "-T", "-L", &port]);
    let s = session(&listener, true);
    // TIME PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB MS
    let server = row(&tool, 4, s.port, s.cport);
    assert_eq!(server.len(), 10, "{server:?}");
    assert_eq!(server[0].len(), 8, "HH:MM:SS: {server:?}");
    assert_eq!(server[0].matches(':').count(), 2, "{server:?}");
    // Closed first by this thread (FIN_WAIT1), ended later in softirq.
    assert_eq!(server[1], std::process::id().to_string(), "{server:?}");
    assert_eq!(server[2], thread_comm(), "{server:?}");
    assert_eq!((server[3].as_str(), server[5].as_str()), ("::1", "::1"));
    assert_eq!(
        (server[7].as_str(), server[8].as_str()),
        ("50.00", "100.00")
    );
    ms_at_least_hold(&server[9]);
    drop(listener);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        format!(
            "TIME(s)  PID     COMM             {:<39} LPORT {:<39} RPORT TX_KB  RX_KB  MS",
            "LADDR", "RADDR"
        )
    );
    // -L: only our listener's port as LPORT (the client end is not shown).
    for l in &fin.stdout[1..] {
        assert_eq!(columns(l).get(4), Some(&port), "{l}");
    }
}

#[test]
fn json_bytes_are_exact_and_family_filter_holds() {
    let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let (p4, p6) = (
        l4.local_addr().unwrap().port(),
        l6.local_addr().unwrap().port(),
    );
    let list = format!("{p4},{p6}");
    let tool = Tool::start(TOOL, &["--json", "-6", "-D", &list]);
    session(&l4, false);
    let s = session(&l6, false);
    let v = tool.expect_json("lport", &json!(s.cport));
    assert_eq!(v["rport"], json!(p6), "{v}");
    assert_eq!(v["pid"], json!(std::process::id()), "{v}");
    assert_eq!(v["comm"], json!(thread_comm()), "{v}");
    assert_eq!(
        (&v["family"], &v["laddr"], &v["raddr"]),
        (&json!(6), &json!("::1"), &json!("::1"))
    );
    // The kernel counts sequence space: the SYN and FIN add one each.
    let (tx, rx) = (
        v["tx_bytes"].as_u64().unwrap(),
        v["rx_bytes"].as_u64().unwrap(),
    );
    assert!((UP as u64..=UP as u64 + 2).contains(&tx), "{v}");
    assert!((DOWN as u64..=DOWN as u64 + 2).contains(&rx), "{v}");
    let us = v["duration_us"].as_u64().expect("duration_us");
    assert!(us >= HOLD.as_micros() as u64, "{v}");
    assert!(
        (v["duration_ms"].as_f64().unwrap() - us as f64 / 1000.0).abs() < 1e-9,
        "{v}"
    );
    let fin = tool.stop();
    fin.assert_json_only();
    for l in &fin.stdout {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["rport"], json!(p6), "only the IPv6 session: {v}");
    }
}

#[test]
fn pid_filter_keeps_only_that_process() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tool = Tool::start(TOOL, &["-p", &std::process::id().to_string()]);
    // Another process's session first: a python3 client, answered here.
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('127.0.0.1', {port}))\n\
         s.sendall(b'x' * 1000)\n\
         s.shutdown(socket.SHUT_WR)\n\
         s.recv(1)\n\
         s.close()\n"
    );
    let mut py = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let (mut other, peer) = listener.accept().unwrap();
    let mut buf = Vec::new();
    other.read_to_end(&mut buf).unwrap();
    assert_eq!(buf.len(), 1000);
    other.shutdown(Shutdown::Write).unwrap();
    assert!(py.wait().unwrap().success());
    drop(other);
    // Then ours.
    let s = session(&listener, false);
    let ours = row(&tool, 3, s.cport, s.port);
    assert_eq!(ours[0], std::process::id().to_string());
    // python3's session has one end of ours: the server side, which this
    // thread closed last (LAST_ACK), 1000 bytes received.
    let server = row(&tool, 3, port, peer.port());
    assert_eq!(server[0], std::process::id().to_string());
    assert_eq!((server[6].as_str(), server[7].as_str()), ("0.00", "0.98"));
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let theirs = peer.port().to_string();
    for l in &fin.stdout[1..] {
        let c = columns(l);
        assert_eq!(c[0], std::process::id().to_string(), "{l}");
        assert_ne!(c[3], theirs, "python3's end of its session: {l}");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for bad in [
        &["-L", "0"][..],
        &["-D", "80,http"],
        &["-4", "-6"],
        &["-p", "x"],
    ] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn lifecycle() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    lifecycle_checks(TOOL, &[], || {
        session(&listener, false);
    });
}
