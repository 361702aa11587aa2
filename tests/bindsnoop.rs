//! bindsnoop against the real kernel: every test binds its own TCP and UDP
//! sockets on loopback (IPv4 and IPv6, port 0: the kernel picks a free
//! port), from its own thread (the thread's name is the COMM), so rows are
//! told apart from other activity by this process's pid and the ports.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use bpfkit::probe::{Mechanism, Needs};
use common::cgroup::Cgroup;
use common::{Tool, lifecycle_checks};
use serde_json::{Value, json};

const TOOL: &str = "bindsnoop";
const EADDRINUSE: i32 = 98;

fn needs() -> Needs {
    bpfkit::hooks::bindsnoop()
}

fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .unwrap()
        .trim_end()
        .to_string()
}

fn addr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), port)
}

/// One bind this test made and what bindsnoop must print for it.
struct Bound {
    family: u8,
    ip: &'static str,
    port: u16,
    proto: &'static str,
    /// std's TcpListener sets SO_REUSEADDR; UdpSocket sets nothing.
    opts: &'static str,
    ret: i32,
}

/// The sockets stay bound as long as this lives.
struct Binds {
    _tcp: Vec<TcpListener>,
    _udp: Vec<UdpSocket>,
    expected: Vec<Bound>,
}

/// TCP and UDP sockets bound to port 0 of 127.0.0.1 and ::1, then one
/// failing bind of each protocol (the port another socket holds:
/// EADDRINUSE).
fn bind_all() -> Binds {
    let (mut tcp, mut udp, mut expected) = (vec![], vec![], vec![]);
    for (ip, family) in [("127.0.0.1", 4), ("::1", 6)] {
        let t = TcpListener::bind(addr(ip, 0)).unwrap();
        let port = t.local_addr().unwrap().port();
        expected.push(Bound {
            family,
            ip,
            port,
            proto: "TCP",
            opts: "...R.",
            ret: 0,
        });
        tcp.push(t);
        let u = UdpSocket::bind(addr(ip, 0)).unwrap();
        let port = u.local_addr().unwrap().port();
        expected.push(Bound {
            family,
            ip,
            port,
            proto: "UDP",
            opts: ".....",
            ret: 0,
        });
        udp.push(u);
    }
    let port = tcp[0].local_addr().unwrap().port();
    let err = TcpListener::bind(addr("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EADDRINUSE));
    expected.push(Bound {
        family: 4,
        ip: "127.0.0.1",
        port,
        proto: "TCP",
        opts: "...R.",
        ret: -EADDRINUSE,
    });
    let port = udp[1].local_addr().unwrap().port();
    let err = UdpSocket::bind(addr("::1", port)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EADDRINUSE));
    expected.push(Bound {
        family: 6,
        ip: "::1",
        port,
        proto: "UDP",
        opts: ".....",
        ret: -EADDRINUSE,
    });
    Binds {
        _tcp: tcp,
        _udp: udp,
        expected,
    }
}

fn me() -> String {
    std::process::id().to_string()
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// The JSON objects of `lines` from this process for `port`.
fn json_rows(lines: &[String], port: u16) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["pid"] == json!(std::process::id()) && v["lport"] == json!(port))
        .collect()
}

/// Waits for the JSON row of `b` and checks every field.
fn expect_bind(tool: &Tool, b: &Bound, comm: &str) {
    let (port, ret) = (json!(b.port), json!(b.ret));
    let found = tool.wait_line(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| {
            v["pid"] == json!(std::process::id()) && v["lport"] == port && v["ret"] == ret
        })
    });
    let Some(line) = found else {
        panic!(
            "no row for port {} ret {}: {:?} {:?}",
            b.port,
            b.ret,
            tool.lines(),
            tool.stderr_lines()
        )
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    let error = if b.ret == 0 {
        json!(null)
    } else {
        json!("EADDRINUSE")
    };
    assert_eq!(
        v,
        json!({
            "pid": std::process::id(), "comm": comm, "ret": b.ret, "errno": -b.ret,
            "error": error, "proto": b.proto, "opts": b.opts, "ifindex": 0,
            "lport": b.port, "family": b.family, "laddr": b.ip,
        })
    );
}

#[test]
fn table_rows_of_tcp_udp_v4_v6_and_a_failure() {
    let tool = Tool::start(TOOL, &["-x", "-t"]);
    let binds = bind_all();
    let comm = thread_comm();
    // TIME(s) PID COMM RET PROTO OPTS IF PORT ADDR
    for b in &binds.expected {
        let (pid, port, ret) = (me(), b.port.to_string(), b.ret.to_string());
        let found = tool.wait_line(|l| {
            let c = columns(l);
            c.len() == 9 && c[1] == pid && c[3] == ret && c[7] == port
        });
        let c = columns(&found.unwrap_or_else(|| panic!("no row for {port}: {:?}", tool.lines())));
        assert_eq!(c[0].len(), 8, "HH:MM:SS: {c:?}");
        assert_eq!(
            &c[2..],
            [&comm, &ret, b.proto, b.opts, "0", &port, b.ip],
            "{c:?}"
        );
    }
    assert!(
        tool.lines()[0]
            .starts_with("TIME(s)  PID     COMM             RET PROTO OPTS  IF   PORT  ADDR")
    );
}

#[test]
fn failed_binds_only_with_x() {
    let tool = Tool::start(TOOL, &["--json"]);
    let binds = bind_all();
    let comm = thread_comm();
    for b in binds.expected.iter().filter(|b| b.ret == 0) {
        expect_bind(&tool, b, &comm);
    }
    // A bind after the failures: once its row is out, theirs would be too.
    let last = UdpSocket::bind(addr("127.0.0.1", 0)).unwrap();
    let port = last.local_addr().unwrap().port();
    tool.expect_json("lport", &json!(port));
    let fin = tool.stop();
    fin.assert_json_only();
    for b in binds.expected.iter().filter(|b| b.ret != 0) {
        let rows = json_rows(&fin.stdout, b.port);
        assert!(rows.iter().all(|v| v["ret"] == 0), "without -x: {rows:?}");
    }
}

#[test]
fn port_filter() {
    // A port that was free a moment ago; only its binds may show.
    let port = UdpSocket::bind(addr("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = port.to_string();
    let tool = Tool::start(TOOL, &["--json", "-x", "-P", &p]);
    let other = UdpSocket::bind(addr("127.0.0.1", 0)).unwrap();
    let mine = UdpSocket::bind(addr("::1", port)).unwrap();
    let _fails = UdpSocket::bind(addr("::1", port)).unwrap_err();
    let v = tool.expect_json("ret", &json!(-EADDRINUSE));
    assert_eq!(v["lport"], json!(port), "{v}");
    let fin = tool.stop();
    let other_port = other.local_addr().unwrap().port();
    assert!(
        json_rows(&fin.stdout, other_port).is_empty(),
        "{:?}",
        fin.stdout
    );
    let rows = json_rows(&fin.stdout, port);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["laddr"], "::1");
    drop(mine);
}

/// A python3 child that binds a TCP socket on 127.0.0.1 port 0 when told.
struct Binder {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Binder {
    fn start() -> Binder {
        let script = "import socket,sys\n\
                      sys.stdin.readline()\n\
                      s=socket.socket()\n\
                      s.bind(('127.0.0.1',0))\n\
                      print(s.getsockname()[1], flush=True)\n\
                      sys.stdin.readline()";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Binder {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Binds; the port it got.
    fn bind(&mut self) -> u16 {
        writeln!(self.stdin).unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().parse().unwrap()
    }
}

impl Drop for Binder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Only the binder's bind shows; the test's own does not.
fn only_the_binder(args: &[&str], binder: &mut Binder) {
    let mut all = vec!["--json"];
    all.extend(args);
    let tool = Tool::start(TOOL, &all);
    let mine = UdpSocket::bind(addr("127.0.0.1", 0)).unwrap();
    let port = binder.bind();
    let v = tool.expect_json("lport", &json!(port));
    assert_eq!(v["pid"], json!(binder.pid()), "{v}");
    assert_eq!(v["comm"], "python3", "{v}");
    assert_eq!(v["proto"], "TCP", "{v}");
    let fin = tool.stop();
    fin.assert_json_only();
    let my_port = mine.local_addr().unwrap().port();
    assert!(
        json_rows(&fin.stdout, my_port).is_empty(),
        "{:?}",
        fin.stdout
    );
}

#[test]
fn pid_filter_shows_only_that_process() {
    let mut binder = Binder::start();
    let pid = binder.pid().to_string();
    only_the_binder(&["-p", &pid], &mut binder);
}

#[test]
fn cgroup_filter_shows_only_binds_inside() {
    let cg = Cgroup::new("bpfkit-bindsnoop-");
    let mut binder = Binder::start();
    cg.add(binder.pid());
    only_the_binder(&["-c", cg.arg()], &mut binder);
    drop(binder);
}

#[test]
fn missing_cgroup_is_an_error() {
    let path = "/sys/fs/cgroup/unified/bpfkit-no-such-cgroup";
    let fin = common::run(TOOL, &["-c", path]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr, [format!("bindsnoop: no such cgroup: {path}")]);
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn bad_arguments_are_usage_errors() {
    for bad in [
        &["-P", "0"][..],
        &["-P", "x"],
        &["-p", "0"],
        &["--probe", "x"],
    ] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
}

// ---- one test per mechanism ----

/// Every kind of bind of [`bind_all`], through `mechanism`.
fn sees_binds(args: &[&str], mechanism: Mechanism) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--json", "-x"]);
    let tool = Tool::start(TOOL, &all);
    common::assert_using(&tool, mechanism);
    let binds = bind_all();
    let comm = thread_comm();
    for b in &binds.expected {
        expect_bind(&tool, b, &comm);
    }
    let fin = tool.stop();
    fin.assert_json_only();
    for b in &binds.expected {
        let n = json_rows(&fin.stdout, b.port)
            .iter()
            .filter(|v| v["ret"] == json!(b.ret))
            .count();
        assert_eq!(n, 1, "port {} ret {}: {:?}", b.port, b.ret, fin.stdout);
    }
}

#[test]
fn mechanism_default() {
    let (args, m) = common::default_mechanism(&needs());
    sees_binds(&args, m);
}

crate::mechanism_tests!(TOOL, needs(), sees_binds);

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &[], || {
        let _ = UdpSocket::bind(addr("127.0.0.1", 0));
    });
}
