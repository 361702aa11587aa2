//! bpfkit-exporter's `vfsstat` collector: `bpfkit_vfs_calls_total` by
//! operation grows by at least the calls the test makes between two
//! scrapes, and the text passes promtool.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Tool;

const N: u64 = 50;

fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn promtool_ok(text: &str) -> bool {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    out.status.success() && out.stdout.is_empty() && out.stderr.is_empty()
}

#[test]
fn vfs_calls_are_counted_by_operation() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let exporter = Tool::spawn(
        "bpfkit-exporter",
        &["--listen", &listen, "--collectors", "vfsstat"],
    );
    let deadline = Instant::now() + common::attach_timeout();
    while !exporter
        .stderr_lines()
        .iter()
        .any(|l| l.starts_with("serving http://"))
    {
        assert!(Instant::now() < deadline, "{:?}", exporter.stderr_lines());
        std::thread::sleep(Duration::from_millis(50));
    }
    let series = |op: &str| format!("bpfkit_vfs_calls_total{{operation=\"{op}\"}}");
    let before = scrape(port);
    let path = std::env::temp_dir().join(common::unique("bpfkit-exporter-vfs-"));
    let f = File::create(&path).unwrap();
    for _ in 0..N {
        f.sync_all().unwrap();
        drop(File::open(&path).unwrap());
    }
    std::fs::remove_file(&path).unwrap();
    let after = scrape(port);
    // Counted as the calls are made: no wait needed; others only add.
    for op in ["fsync", "open"] {
        let (b, a) = (sample(&before, &series(op)), sample(&after, &series(op)));
        let (b, a) = (
            b.unwrap_or(0.0),
            a.unwrap_or_else(|| panic!("no {op}: {after}")),
        );
        assert!(a >= b + N as f64, "{op}: {b} -> {a}");
    }
    for op in ["read", "write", "create", "unlink", "mkdir", "rmdir"] {
        assert!(sample(&after, &series(op)).is_some(), "no {op}: {after}");
    }
    assert!(promtool_ok(&after), "{after}");
    assert!(exporter.stop().status.success());
}
