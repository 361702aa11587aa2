//! tcptracer against the real kernel: every test opens its own listeners on
//! loopback (IPv4 and IPv6); a thread named `tt-connector` connects, one
//! named `tt-acceptor` accepts, and both close their ends (the client
//! first), or a bash child does the client's part. Rows are told apart from
//! other activity by their ports, and their tasks checked by pid and comm:
//! the accept and the server's close must name the accepting thread, not
//! the connecting one (whose context the server side's softirq work runs
//! in over loopback).
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use bpfkit::probe::{Mechanism, Needs};
use common::{Tool, lifecycle_checks};
use serde_json::{Value, json};

const TOOL: &str = "tcptracer";
const CONNECTOR: &str = "tt-connector";
const ACCEPTOR: &str = "tt-acceptor";

/// What the tool hooks for each mechanism (as src/bin/tcptracer.rs).
fn needs() -> Needs {
    bpfkit::hooks::tcptracer()
}

fn me() -> u32 {
    std::process::id()
}

fn listen(ip: &str) -> TcpListener {
    TcpListener::bind(SocketAddr::new(ip.parse().unwrap(), 0)).unwrap()
}

/// One finished TCP session over loopback, made by this process.
struct Session {
    /// The listener's port: the accepted socket's local port.
    server_port: u16,
    /// The connecting socket's local port.
    client_port: u16,
}

impl Session {
    /// Listens on `ip` and connects to it.
    fn run(ip: &str) -> Session {
        Session::run_to(ip, ip)
    }

    /// Listens on `listen_ip` and connects to `connect_ip` from the
    /// `tt-connector` thread (`::ffff:127.0.0.1` reaches an IPv4 listener
    /// from an IPv6 socket); `tt-acceptor` accepts. The client closes
    /// first, then the server; both have closed when this returns.
    fn run_to(listen_ip: &str, connect_ip: &str) -> Session {
        let listener = listen(listen_ip);
        let server_port = listener.local_addr().unwrap().port();
        let (accepted_tx, accepted_rx) = mpsc::channel();
        let (closed_tx, closed_rx) = mpsc::channel::<()>();
        let acceptor = thread::Builder::new()
            .name(ACCEPTOR.into())
            .spawn(move || {
                let (stream, _) = listener.accept().unwrap();
                accepted_tx.send(()).unwrap();
                closed_rx.recv().unwrap();
                drop(stream);
            })
            .unwrap();
        let to = SocketAddr::new(connect_ip.parse().unwrap(), server_port);
        let client_port = thread::Builder::new()
            .name(CONNECTOR.into())
            .spawn(move || {
                let stream = TcpStream::connect(to).unwrap();
                accepted_rx.recv().unwrap();
                stream.local_addr().unwrap().port()
            })
            .unwrap()
            .join()
            .unwrap();
        closed_tx.send(()).unwrap();
        acceptor.join().unwrap();
        Session {
            server_port,
            client_port,
        }
    }

    /// The four rows of this session as `(T, comm, lport, rport)`: the
    /// connect and the client's close, the accept and the server's close.
    fn rows(&self) -> [(&'static str, &'static str, u16, u16); 4] {
        let (c, s) = (self.client_port, self.server_port);
        [
            ("C", CONNECTOR, c, s),
            ("A", ACCEPTOR, s, c),
            ("X", CONNECTOR, c, s),
            ("X", ACCEPTOR, s, c),
        ]
    }
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// The table row of type `t` with SPORT `sport` and DPORT `dport` (the
/// last two columns), `skip` columns (TIME(s), UID) before T.
fn table_row(tool: &Tool, skip: usize, t: &str, sport: u16, dport: u16) -> Vec<String> {
    let (sport, dport) = (sport.to_string(), dport.to_string());
    let found = tool.wait_line(|l| {
        let c = columns(l);
        c.len() == skip + 8 && c[skip] == t && c[skip + 6] == sport && c[skip + 7] == dport
    });
    match found {
        Some(l) => columns(&l),
        None => panic!(
            "no {t} row {sport} → {dport}; stdout: {:?}; stderr: {:?}",
            tool.lines(),
            tool.stderr_lines()
        ),
    }
}

fn event_name(t: &str) -> &'static str {
    match t {
        "C" => "connect",
        "A" => "accept",
        _ => "close",
    }
}

/// Whether JSON line `v` is the `event` from `lport` to `rport`.
fn is_row(v: &Value, event: &str, lport: u16, rport: u16) -> bool {
    v["event"] == json!(event) && v["lport"] == json!(lport) && v["rport"] == json!(rport)
}

/// The JSON row of `event` from `lport` to `rport`, waiting for it.
fn json_row(tool: &Tool, event: &str, lport: u16, rport: u16) -> Value {
    let found = tool.wait_line(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| is_row(&v, event, lport, rport))
    });
    match found {
        Some(l) => serde_json::from_str(&l).unwrap(),
        None => panic!(
            "no {event} row {lport} → {rport}; stdout: {:?}; stderr: {:?}",
            tool.lines(),
            tool.stderr_lines()
        ),
    }
}

/// How many lines of a finished `--json` run are `event` from `lport` to `rport`.
fn count_rows(stdout: &[String], event: &str, lport: u16, rport: u16) -> usize {
    stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| is_row(v, event, lport, rport))
        .count()
}

/// Asserts the four JSON rows of `s` (laddr = raddr = `ip` on the client
/// side, `server_ip` on the server side) with this process's pid.
fn assert_session_json(tool: &Tool, s: &Session, ip: &str, server_ip: &str) {
    for (t, comm, lport, rport) in s.rows() {
        let addr = if comm == CONNECTOR { ip } else { server_ip };
        let family = if addr.contains(':') { 6 } else { 4 };
        let v = json_row(tool, event_name(t), lport, rport);
        assert_eq!(
            v,
            json!({
                "uid": 0, "event": event_name(t), "pid": me(), "comm": comm,
                "family": family, "laddr": addr, "raddr": addr,
                "lport": lport, "rport": rport,
            })
        );
    }
}

#[test]
fn ipv4_connect_accept_and_close_rows() {
    let tool = Tool::start(TOOL, &[]);
    let s = Session::run("127.0.0.1");
    let pid = me().to_string();
    for (t, comm, lport, rport) in s.rows() {
        // T PID COMM IP SADDR DADDR SPORT DPORT
        let c = table_row(&tool, 0, t, lport, rport);
        let (l, r) = (lport.to_string(), rport.to_string());
        let want: [&str; 8] = [t, &pid, comm, "4", "127.0.0.1", "127.0.0.1", &l, &r];
        assert_eq!(c, want);
    }
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "T PID    COMM         IP SADDR            DADDR            SPORT DPORT"
    );
}

#[test]
fn ipv6_rows_with_timestamp_and_uid() {
    let tool = Tool::start(TOOL, &["-t", "-U"]);
    let s = Session::run("::1");
    let pid = me().to_string();
    for (t, comm, lport, rport) in s.rows() {
        // TIME(s) UID T PID COMM IP SADDR DADDR SPORT DPORT
        let c = table_row(&tool, 2, t, lport, rport);
        let secs: f64 = c[0].parse().unwrap();
        assert!(secs >= 0.0, "TIME(s) {}", c[0]);
        assert_eq!(c[0].split_once('.').map(|(_, d)| d.len()), Some(3), "{c:?}");
        assert_eq!(c[1], "0", "UID: the tests run as root");
        assert_eq!(&c[3..8], [pid.as_str(), comm, "6", "::1", "::1"]);
    }
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "TIME(s)  UID   T PID    COMM         IP SADDR            DADDR            SPORT DPORT"
    );
}

#[test]
fn json_rows_both_families() {
    let tool = Tool::start(TOOL, &["--json"]);
    for ip in ["127.0.0.1", "::1"] {
        let s = Session::run(ip);
        assert_session_json(&tool, &s, ip, ip);
    }
    tool.stop().assert_json_only();
}

/// A bash child that, told to (a line on its stdin), connects to
/// 127.0.0.1:`port`, then closes the connection: its pid is known before,
/// so a tool can be started filtering on it.
struct Connector {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Connector {
    fn start(port: u16, setup: impl FnOnce(&mut Command)) -> Connector {
        let mut cmd = Command::new("bash");
        cmd.args([
            "-c",
            &format!(
                "read x; exec 3<>/dev/tcp/127.0.0.1/{port}; echo connected; \
                 read y; exec 3>&-; echo closed; read z"
            ),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
        setup(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Connector { child, out }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Tells bash to go on and waits for it to say `what` (done).
    fn step(&mut self, what: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), what);
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pid_filter_keeps_the_calls_of_that_process() {
    // bash connects to this test's listener and closes; this test's
    // thread accepts and closes. One tool follows bash, one this process.
    let listener = listen("127.0.0.1");
    let port = listener.local_addr().unwrap().port();
    let mut bash = Connector::start(port, |_| {});
    let theirs = Tool::start(TOOL, &["--json", "-p", &bash.pid().to_string()]);
    let ours = Tool::start(TOOL, &["--json", "-p", &me().to_string()]);
    bash.step("connected");
    let (accepted, peer) = listener.accept().unwrap();
    let bash_port = peer.port();
    bash.step("closed");
    drop(accepted);
    let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    for (tool, event, pid, comm, lport, rport) in [
        (&theirs, "connect", bash.pid(), "bash", bash_port, port),
        (&theirs, "close", bash.pid(), "bash", bash_port, port),
        (&ours, "accept", me(), comm.trim_end(), port, bash_port),
        (&ours, "close", me(), comm.trim_end(), port, bash_port),
    ] {
        let v = json_row(tool, event, lport, rport);
        assert_eq!((&v["pid"], &v["comm"]), (&json!(pid), &json!(comm)), "{v}");
    }
    let (theirs, ours) = (theirs.stop(), ours.stop());
    theirs.assert_json_only();
    ours.assert_json_only();
    for event in ["accept", "close"] {
        assert_eq!(
            count_rows(&theirs.stdout, event, port, bash_port),
            0,
            "{theirs:?}"
        );
    }
    for event in ["connect", "close"] {
        assert_eq!(
            count_rows(&ours.stdout, event, bash_port, port),
            0,
            "{ours:?}"
        );
    }
}

#[test]
fn uid_filter_and_column() {
    const NOBODY: u32 = 65534;
    let listener = listen("127.0.0.1");
    let port = listener.local_addr().unwrap().port();
    let mut bash = Connector::start(port, |cmd| {
        cmd.uid(NOBODY);
    });
    let tool = Tool::start(TOOL, &["-U", "-u", &NOBODY.to_string()]);
    bash.step("connected");
    let (accepted, peer) = listener.accept().unwrap();
    bash.step("closed");
    drop(accepted);
    let pid = bash.pid().to_string();
    for t in ["C", "X"] {
        // UID T PID COMM IP SADDR DADDR SPORT DPORT
        let c = table_row(&tool, 1, t, peer.port(), port);
        assert_eq!(&c[..4], ["65534", t, pid.as_str(), "bash"], "{c:?}");
    }
    let fin = tool.stop();
    assert!(
        !fin.stdout.iter().any(|l| {
            let c = columns(l);
            c.get(7) == Some(&port.to_string()) && c.get(8) == Some(&peer.port().to_string())
        }),
        "-u {NOBODY} must hide the test's own (root) accept and close: {:?}",
        fin.stdout
    );
}

#[test]
fn family_filters() {
    for (flag, shown, hidden) in [("-4", "127.0.0.1", "::1"), ("-6", "::1", "127.0.0.1")] {
        let tool = Tool::start(TOOL, &["--json", flag]);
        let hidden = Session::run(hidden);
        let shown = Session::run(shown);
        for (t, _, lport, rport) in shown.rows() {
            json_row(&tool, event_name(t), lport, rport);
        }
        let fin = tool.stop();
        fin.assert_json_only();
        for (t, _, lport, rport) in hidden.rows() {
            assert_eq!(
                count_rows(&fin.stdout, event_name(t), lport, rport),
                0,
                "{flag}: {:?}",
                fin.stdout
            );
        }
    }
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn bad_arguments_are_usage_errors() {
    for bad in [
        &["-u", "-1"][..],
        &["-p", "x"],
        &["-4", "-6"],
        &["--probe", "uprobe"],
        &["-d", "0"],
    ] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
        assert!(fin.stdout.is_empty(), "{bad:?}: {fin:?}");
    }
}

#[test]
fn duration_ends_the_run() {
    let fin = common::run(TOOL, &["-d", "1", "-p", "1"]);
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(fin.stdout.len(), 1, "only the header: {:?}", fin.stdout);
}

// ---- one test per mechanism ----

/// IPv4, IPv6 and v4-mapped sessions (an IPv6 client socket to an IPv4
/// listener: its connect and close as IPv6 `::ffff:` addresses, the
/// server side as IPv4), each row exactly once, through `mechanism`.
fn sees_sessions(args: &[&str], mechanism: Mechanism) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let tool = Tool::start(TOOL, &all);
    common::assert_using(&tool, mechanism);
    let sessions = [
        (Session::run("127.0.0.1"), "127.0.0.1", "127.0.0.1"),
        (Session::run("::1"), "::1", "::1"),
        (
            Session::run_to("127.0.0.1", "::ffff:127.0.0.1"),
            "::ffff:127.0.0.1",
            "127.0.0.1",
        ),
    ];
    for (s, ip, server_ip) in &sessions {
        assert_session_json(&tool, s, ip, server_ip);
    }
    let fin = tool.stop();
    fin.assert_json_only();
    for (s, ..) in &sessions {
        for (t, _, lport, rport) in s.rows() {
            let n = count_rows(&fin.stdout, event_name(t), lport, rport);
            assert_eq!(n, 1, "{t} {lport} → {rport}: {:?}", fin.stdout);
        }
    }
}

#[test]
fn mechanism_default() {
    // No flag: `auto`, or what the runner forces through BPFKIT_PROBE.
    let (args, m) = common::default_mechanism(&needs());
    sees_sessions(&args, m);
}

crate::mechanism_tests!(TOOL, needs(), sees_sessions);

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &[], || {
        Session::run("127.0.0.1");
    });
}
