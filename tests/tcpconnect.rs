//! tcpconnect against the real kernel: every test opens its own listeners on
//! loopback (IPv4 and IPv6) and connects to them, from its own thread (the
//! thread's name is the COMM) or from a child it starts, so rows are told
//! apart from other activity by their ports and pids.
mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use bpfkit::probe::{Mechanism, Needs};
use common::cgroup::Cgroup;
use common::{Tool, lifecycle_checks};
use serde_json::{Value, json};

const TOOL: &str = "tcpconnect";

/// What the tool hooks for each mechanism (as src/bin/tcpconnect.rs).
fn needs() -> Needs {
    bpfkit::hooks::tcpconnect()
}

/// A finished connect from this thread: the listener and both ends stay
/// open for as long as the test holds it.
struct Conn {
    _listener: TcpListener,
    _stream: TcpStream,
    /// The listener's port: DPORT.
    dport: u16,
    /// The client socket's port: SPORT.
    sport: u16,
    /// This thread's task name: COMM.
    comm: String,
}

fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

fn listen(ip: &str) -> TcpListener {
    TcpListener::bind(SocketAddr::new(ip.parse().unwrap(), 0)).unwrap()
}

/// Listens on `ip` port 0 and connects to it from the calling thread.
fn connect(ip: &str) -> Conn {
    connect_to(listen(ip), ip)
}

/// Connects to `listener` at address `ip` (`::ffff:127.0.0.1` reaches an
/// IPv4 listener from an IPv6 socket).
fn connect_to(listener: TcpListener, ip: &str) -> Conn {
    let dport = listener.local_addr().unwrap().port();
    let stream = TcpStream::connect(SocketAddr::new(ip.parse().unwrap(), dport)).unwrap();
    Conn {
        dport,
        sport: stream.local_addr().unwrap().port(),
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

/// The table row with `pid` at `pid_col` and DPORT `dport` (the last column).
fn row_of(tool: &Tool, pid: &str, pid_col: usize, dport: u16) -> Vec<String> {
    let dport = dport.to_string();
    let found = tool.wait_line(|l| {
        let c = columns(l);
        c.get(pid_col).map(String::as_str) == Some(pid) && c.last() == Some(&dport)
    });
    match found {
        Some(l) => columns(&l),
        None => panic!(
            "no row for pid {pid} and DPORT {dport}; stdout: {:?}; stderr: {:?}",
            tool.lines(),
            tool.stderr_lines()
        ),
    }
}

/// The JSON objects of a finished run whose `rport` is `port`.
fn json_rows_to(stdout: &[String], port: u16) -> Vec<Value> {
    stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["rport"] == json!(port))
        .collect()
}

#[test]
fn ipv4_table_row() {
    let tool = Tool::start(TOOL, &[]);
    let conn = connect("127.0.0.1");
    // PID COMM IP SADDR DADDR DPORT
    let c = row_of(&tool, &me(), 0, conn.dport);
    assert_eq!(
        c,
        [
            &me(),
            &conn.comm,
            "4",
            "127.0.0.1",
            "127.0.0.1",
            &conn.dport.to_string()
        ]
    );
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "PID    COMM             IP SADDR            DADDR            DPORT"
    );
}

#[test]
fn ipv6_row_with_timestamp_uid_and_sport() {
    let tool = Tool::start(TOOL, &["-t", "-U", "-s"]);
    let conn = connect("::1");
    // TIME(s) UID PID COMM IP SADDR DADDR SPORT DPORT
    let c = row_of(&tool, &me(), 2, conn.dport);
    assert_eq!(c.len(), 9, "{c:?}");
    let t: f64 = c[0].parse().unwrap();
    assert!(t >= 0.0, "TIME(s) {}", c[0]);
    assert_eq!(c[0].split_once('.').map(|(_, d)| d.len()), Some(3));
    assert_eq!(c[1], "0", "UID: the tests run as root");
    assert_eq!(c[3], conn.comm);
    assert_eq!(&c[4..8], ["6", "::1", "::1", &conn.sport.to_string()]);
    // Both families in one run, and IPv4 after IPv6.
    let conn4 = connect("127.0.0.1");
    let c = row_of(&tool, &me(), 2, conn4.dport);
    assert_eq!(
        &c[4..8],
        ["4", "127.0.0.1", "127.0.0.1", &conn4.sport.to_string()]
    );
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "TIME(s)  UID   PID    COMM             IP SADDR            DADDR            SPORT DPORT"
    );
}

#[test]
fn json_rows_both_families() {
    let tool = Tool::start(TOOL, &["--json"]);
    for ip in ["127.0.0.1", "::1"] {
        let conn = connect(ip);
        let v = tool.expect_json("rport", &json!(conn.dport));
        assert_eq!(
            v,
            json!({
                "uid": 0, "pid": std::process::id(), "comm": conn.comm,
                "family": if ip == "::1" { 6 } else { 4 },
                "laddr": ip, "raddr": ip, "lport": conn.sport, "rport": conn.dport,
            })
        );
    }
    tool.stop().assert_json_only();
}

/// A bash child that connects to 127.0.0.1:`port` once told to (a line on
/// its stdin), then waits for another line: its pid is known before the
/// connect, so the tool can be started filtering on it.
struct Connector {
    child: Child,
}

impl Connector {
    fn start(port: u16, setup: impl FnOnce(&mut Command)) -> Connector {
        let mut cmd = Command::new("bash");
        cmd.args([
            "-c",
            &format!("read x; exec 3<>/dev/tcp/127.0.0.1/{port}; echo ok; read y"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
        setup(&mut cmd);
        Connector {
            child: cmd.spawn().unwrap(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects and returns once the connect is done.
    fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        let mut ok = [0u8; 3];
        std::io::Read::read_exact(self.child.stdout.as_mut().unwrap(), &mut ok).unwrap();
        assert_eq!(&ok, b"ok\n");
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pid_filter() {
    let target = listen("127.0.0.1");
    let port = target.local_addr().unwrap().port();
    let mut child = Connector::start(port, |_| {});
    let pid = child.pid();
    let tool = Tool::start(TOOL, &["--json", "-p", &pid.to_string()]);
    let mine = connect("127.0.0.1");
    child.go();
    let v = tool.expect_json("rport", &json!(port));
    assert_eq!(
        (&v["pid"], &v["comm"]),
        (&json!(pid), &json!("bash")),
        "{v}"
    );
    let fin = tool.stop();
    fin.assert_json_only();
    assert!(
        json_rows_to(&fin.stdout, mine.dport).is_empty(),
        "-p must hide the test's own connect: {:?}",
        fin.stdout
    );
}

#[test]
fn uid_filter_and_column() {
    const NOBODY: u32 = 65534;
    let target = listen("127.0.0.1");
    let port = target.local_addr().unwrap().port();
    let mut child = Connector::start(port, |cmd| {
        cmd.uid(NOBODY);
    });
    let tool = Tool::start(TOOL, &["-U", "-u", &NOBODY.to_string()]);
    let mine = connect("127.0.0.1");
    child.go();
    // UID PID COMM ...
    let c = row_of(&tool, &child.pid().to_string(), 1, port);
    assert_eq!((c[0].as_str(), c[2].as_str()), ("65534", "bash"), "{c:?}");
    let fin = tool.stop();
    assert!(
        !fin.stdout
            .iter()
            .any(|l| columns(l).last() == Some(&mine.dport.to_string())),
        "-u {NOBODY} must hide the test's own (root) connect: {:?}",
        fin.stdout
    );
}

#[test]
fn port_filter() {
    let (a, b, c) = (listen("127.0.0.1"), listen("::1"), listen("127.0.0.1"));
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    let wanted = format!("{},{}", port(&a), port(&b));
    let tool = Tool::start(TOOL, &["--json", "-P", &wanted]);
    let hidden = connect_to(c, "127.0.0.1");
    let a = connect_to(a, "127.0.0.1");
    let b = connect_to(b, "::1");
    tool.expect_json("rport", &json!(a.dport));
    tool.expect_json("rport", &json!(b.dport));
    let fin = tool.stop();
    fin.assert_json_only();
    assert!(
        json_rows_to(&fin.stdout, hidden.dport).is_empty(),
        "-P {wanted} must hide port {}: {:?}",
        hidden.dport,
        fin.stdout
    );
}

#[test]
fn family_filters() {
    for (flag, shown, hidden) in [("-4", "127.0.0.1", "::1"), ("-6", "::1", "127.0.0.1")] {
        let tool = Tool::start(TOOL, &["--json", flag]);
        let hidden = connect(hidden);
        let shown = connect(shown);
        tool.expect_json("rport", &json!(shown.dport));
        let fin = tool.stop();
        fin.assert_json_only();
        assert!(
            json_rows_to(&fin.stdout, hidden.dport).is_empty(),
            "{flag} must hide the connect to {}: {:?}",
            hidden.dport,
            fin.stdout
        );
    }
}

#[test]
fn count_connects_per_destination() {
    let tool = Tool::start(TOOL, &["-c"]);
    let (l4, l6) = (listen("127.0.0.1"), listen("::1"));
    let (p4, p6) = (
        l4.local_addr().unwrap().port(),
        l6.local_addr().unwrap().port(),
    );
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(TcpStream::connect(l4.local_addr().unwrap()).unwrap());
    }
    for _ in 0..3 {
        streams.push(TcpStream::connect(l6.local_addr().unwrap()).unwrap());
    }
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    // An empty line, the header, then the flows (as libbpf-tools at exit).
    assert_eq!(fin.stdout[0], "");
    assert_eq!(
        columns(&fin.stdout[1]),
        ["LADDR", "RADDR", "RPORT", "CONNECTS"]
    );
    let flows: Vec<Vec<String>> = fin.stdout[2..].iter().map(|l| columns(l)).collect();
    let to = |port: u16| -> Vec<&Vec<String>> {
        flows.iter().filter(|c| c[2] == port.to_string()).collect()
    };
    assert_eq!(
        to(p4),
        [&vec!["127.0.0.1", "127.0.0.1", &p4.to_string(), "5"]]
    );
    assert_eq!(to(p6), [&vec!["::1", "::1", &p6.to_string(), "3"]]);
}

#[test]
fn count_per_source_port_in_json() {
    let tool = Tool::start(TOOL, &["-c", "-s", "--json"]);
    let l = listen("127.0.0.1");
    let port = l.local_addr().unwrap().port();
    let streams: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
        .collect();
    let fin = tool.stop();
    fin.assert_json_only();
    assert_eq!(fin.stdout.len(), 1, "one object at exit: {:?}", fin.stdout);
    let v: Value = serde_json::from_str(&fin.stdout[0]).unwrap();
    let mut got: Vec<(u64, Value)> = (v["rows"].as_array().unwrap().iter())
        .filter(|r| r["rport"] == json!(port))
        .map(|r| (r["lport"].as_u64().unwrap(), r.clone()))
        .collect();
    got.sort_by_key(|g| g.0);
    let mut want: Vec<u16> = streams
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    want.sort();
    assert_eq!(got.len(), 3, "{v}");
    for ((lport, row), sport) in got.iter().zip(want) {
        assert_eq!(*lport, sport as u64);
        assert_eq!(
            *row,
            json!({"family": 4, "laddr": "127.0.0.1", "raddr": "127.0.0.1",
                   "lport": sport, "rport": port, "count": 1})
        );
    }
}

#[test]
fn count_mode_prints_on_sigterm_and_detaches() {
    let l = listen("127.0.0.1");
    let port = l.local_addr().unwrap().port().to_string();
    let tool = Tool::start(TOOL, &["-c", "-P", &port]);
    let ids = tool.prog_ids();
    assert!(!ids.is_empty());
    let _streams: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
        .collect();
    let fin = tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        columns(fin.stdout.last().unwrap()),
        ["127.0.0.1", "127.0.0.1", &port, "2"]
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(3) * common::slowdown();
    while !common::loaded_prog_ids().is_disjoint(&ids) {
        assert!(
            std::time::Instant::now() < deadline,
            "programs left after SIGTERM"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn count_mode_ends_after_its_duration() {
    let fin = common::run(TOOL, &["-c", "-d", "1", "-P", "1"]);
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout,
        [
            "",
            "LADDR                     RADDR                     RPORT                CONNECTS"
        ]
    );
}

#[test]
fn refused_connect_is_reported() {
    // As libbpf-tools: tcp_v4_connect succeeded (the SYN went out); the
    // reset that answers it does not take the connect back.
    let tool = Tool::start(TOOL, &["--json", "-s"]);
    for ip in ["127.0.0.1", "::1"] {
        let closed = listen(ip).local_addr().unwrap();
        let err = TcpStream::connect(closed).expect_err("nothing listens there");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        let v = tool.expect_json("rport", &json!(closed.port()));
        assert_eq!(v["pid"], json!(std::process::id()), "{v}");
        let lport = v["lport"].as_u64().unwrap();
        assert!(lport > 0, "the refused connect had a source port: {v}");
    }
    tool.stop().assert_json_only();
}

/// A listener whose accept queue is full: a SYN sent to it is dropped
/// (and retransmitted) until the test accepts the first connection.
struct FullListener {
    listener: TcpListener,
    first: TcpStream,
}

impl FullListener {
    fn new() -> FullListener {
        let listener = listen("127.0.0.1");
        // Backlog 0: one queued connection fills the accept queue.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let first = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        FullListener { listener, first }
    }
}

/// Connects to a [`FullListener`] from a thread and checks that `tool`
/// (started with `--json`) reports the connect, with its source port, while
/// the SYN is still unanswered; then lets the handshake finish.
fn assert_unanswered_connect_seen(tool: &Tool) {
    let full = FullListener::new();
    let addr = full.listener.local_addr().unwrap();
    let first = json!(full.first.local_addr().unwrap().port());
    let connecting = thread::spawn(move || TcpStream::connect(addr).unwrap());
    let mine = json!(std::process::id());
    let found = tool.wait_line(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| {
            v["rport"] == json!(addr.port()) && v["pid"] == mine && v["lport"] != first
        })
    });
    // Still waiting for its handshake: nothing accepted yet.
    let done_early = connecting.is_finished();
    let (_accepted, _) = full.listener.accept().unwrap();
    let stream = connecting.join().unwrap();
    assert!(
        !done_early,
        "the connect completed with a full accept queue"
    );
    let found = found.unwrap_or_else(|| {
        panic!(
            "no row for the unanswered connect to {}: {:?}, stderr {:?}",
            addr.port(),
            tool.lines(),
            tool.stderr_lines()
        )
    });
    let v: Value = serde_json::from_str(&found).unwrap();
    assert_eq!(
        v["lport"],
        json!(stream.local_addr().unwrap().port()),
        "{v}"
    );
}

#[test]
fn unanswered_connect_is_reported_before_its_handshake() {
    // The tracepoints learn the source port from the first retransmission
    // of a SYN nobody answers; the other mechanisms at connect's return.
    let tool = Tool::start(TOOL, &["--json"]);
    assert_unanswered_connect_seen(&tool);
    tool.stop().assert_json_only();
}

// ---- the cgroup filter ----

#[test]
fn cgroup_filter() {
    common::setup();
    let cg = Cgroup::new("bpfkit-tcpconnect-");
    let target = listen("127.0.0.1");
    let port = target.local_addr().unwrap().port();
    let mut child = Connector::start(port, |_| {});
    cg.add(child.pid());
    let tool = Tool::start(TOOL, &["--json", "--cgroup", cg.arg()]);
    let mine = connect("127.0.0.1");
    child.go();
    let v = tool.expect_json("rport", &json!(port));
    assert_eq!(v["pid"], json!(child.pid()), "{v}");
    let fin = tool.stop();
    fin.assert_json_only();
    assert!(
        json_rows_to(&fin.stdout, mine.dport).is_empty(),
        "--cgroup must hide the test's own connect: {:?}",
        fin.stdout
    );
    drop(child);
}

#[test]
fn missing_cgroup_is_an_error() {
    let path = "/sys/fs/cgroup/unified/bpfkit-no-such-cgroup";
    let fin = common::run(TOOL, &["--cgroup", path]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr, [format!("tcpconnect: no such cgroup: {path}")]);
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn bad_arguments_are_usage_errors() {
    for bad in [&["-P", "0"][..], &["-P", "x"], &["-u", "-1"], &["-4", "-6"]] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
}

#[test]
fn duration_ends_the_run() {
    let fin = common::run(TOOL, &["-d", "1", "-P", "1"]);
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(fin.stdout.len(), 1, "only the header: {:?}", fin.stdout);
}

// ---- one test per mechanism ----

/// IPv4, IPv6 and v4-mapped connects (an IPv6 socket to an IPv4 listener,
/// once, as IPv6) with their source ports, and one whose SYN goes
/// unanswered, through `mechanism`.
fn sees_connects(args: &[&str], mechanism: Mechanism) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let tool = Tool::start(TOOL, &all);
    common::assert_using(&tool, mechanism);
    let conns = [
        (connect("127.0.0.1"), "127.0.0.1", 4),
        (connect("::1"), "::1", 6),
        (
            connect_to(listen("127.0.0.1"), "::ffff:127.0.0.1"),
            "::ffff:127.0.0.1",
            6,
        ),
    ];
    for (conn, ip, family) in &conns {
        let v = tool.expect_json("rport", &json!(conn.dport));
        assert_eq!(
            v,
            json!({
                "uid": 0, "pid": std::process::id(), "comm": conn.comm, "family": family,
                "laddr": ip, "raddr": ip, "lport": conn.sport, "rport": conn.dport,
            })
        );
    }
    assert_unanswered_connect_seen(&tool);
    let fin = tool.stop();
    fin.assert_json_only();
    for (conn, ..) in &conns {
        assert_eq!(
            json_rows_to(&fin.stdout, conn.dport).len(),
            1,
            "{:?}",
            fin.stdout
        );
    }
}

#[test]
fn mechanism_default() {
    // No flag: `auto`, or what the runner forces through BPFKIT_PROBE.
    let (args, m) = common::default_mechanism(&needs());
    sees_connects(&args, m);
}

crate::mechanism_tests!(TOOL, needs(), sees_connects);

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &[], || {
        let _ = connect("127.0.0.1");
    });
}
