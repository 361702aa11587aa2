//! bpfkit-exporter's runqlen collector against real contention: busy
//! threads (nice 19) on every CPU, then the run-queue length histogram and
//! the per-CPU sample counters the exporter serves.
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Spinners, Tool, cpus, thread_name};

/// The exporter serving only the runqlen collector on 127.0.0.1:PORT.
fn start() -> (Tool, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let tool = Tool::spawn(
        "bpfkit-exporter",
        &["--listen", &listen, "--collectors", "runqlen"],
    );
    let deadline = Instant::now() + common::attach_timeout();
    while !tool
        .stderr_lines()
        .iter()
        .any(|l| l.starts_with("serving http://"))
    {
        assert!(Instant::now() < deadline, "{:?}", tool.stderr_lines());
        std::thread::sleep(Duration::from_millis(50));
    }
    (tool, port)
}

fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn run_queue_length_histogram_and_per_cpu_samples() {
    let _spin = Spinners::start(2 * cpus(), &thread_name("rqle"));
    let (tool, port) = start();
    let first = scrape(port);
    std::thread::sleep(Duration::from_secs(2));
    let text = scrape(port);
    let count =
        |t: &str| sample(t, "bpfkit_runqueue_length_count").unwrap_or_else(|| panic!("{t}"));
    assert!(count(&text) > count(&first), "samples keep coming:\n{text}");
    // Busy threads on too few CPUs: not every sample has an empty queue.
    let empty = sample(&text, "bpfkit_runqueue_length_bucket{le=\"0\"}").unwrap();
    let all = sample(&text, "bpfkit_runqueue_length_bucket{le=\"+Inf\"}").unwrap();
    assert!(empty < all, "{text}");
    let mut queued_somewhere = false;
    for cpu in bpfkit::perf::online_cpus().unwrap() {
        let samples = sample(
            &text,
            &format!("bpfkit_runqueue_samples_total{{cpu=\"{cpu}\"}}"),
        );
        let queued = sample(
            &text,
            &format!("bpfkit_runqueue_queued_samples_total{{cpu=\"{cpu}\"}}"),
        );
        let (samples, queued) = (samples.unwrap(), queued.unwrap());
        assert!(samples > 0.0 && queued <= samples, "cpu {cpu}: {text}");
        queued_somewhere |= queued > 0.0;
    }
    assert!(queued_somewhere, "{text}");
    // Valid exposition format.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/deps.sh test installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // Clean exit, programs gone with it.
    let ids = tool.prog_ids();
    assert!(!ids.is_empty());
    let fin = tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn not_in_the_default_set() {
    let out = Command::new(common::bin("bpfkit-exporter"))
        .arg("--list-collectors")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("runqlen "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!line.contains("(default)"), "{line}");
}
