//! bpfkit-exporter's biolatency collector against real block I/O: direct
//! writes to a loop device of the test's own show up, exactly, in that
//! disk's `op="write"` histogram.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::Tool;
use common::loopdev::LoopDev;

const EXPORTER: &str = "bpfkit-exporter";

/// The exporter with `args` on a free port, once it serves.
fn start(args: &[&str]) -> (Tool, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec!["--listen", &listen];
    all.extend_from_slice(args);
    let tool = Tool::spawn(EXPORTER, &all);
    let deadline = Instant::now() + common::attach_timeout();
    while !tool
        .stderr_lines()
        .iter()
        .any(|l| l.starts_with("serving http://"))
    {
        assert!(
            Instant::now() < deadline,
            "{EXPORTER} did not start serving"
        );
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
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// The value of the sample line `series` (name and labels as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn block_io_latency_per_disk_and_op() {
    let disk = LoopDev::new(64);
    let (exporter, port) = start(&["--collectors", "biolatency"]);
    disk.write_direct(4096, 30);
    let text = scrape(port);
    let labels = format!("disk=\"{}\",op=\"write\"", disk.name());
    let count = format!("bpfkit_block_io_latency_seconds_count{{{labels}}}");
    assert_eq!(sample(&text, &count), Some(30.0), "{text}");
    let inf = format!("bpfkit_block_io_latency_seconds_bucket{{{labels},le=\"+Inf\"}}");
    assert_eq!(sample(&text, &inf), Some(30.0), "{text}");
    let sum = format!("bpfkit_block_io_latency_seconds_sum{{{labels}}}");
    assert!(sample(&text, &sum).is_some_and(|s| s > 0.0), "{text}");
    // Counters only go up: more writes, a higher count.
    disk.write_direct(4096, 5);
    assert_eq!(sample(&scrape(port), &count), Some(35.0));
    assert!(
        sample(&text, "bpfkit_collector_up{collector=\"biolatency\"}") == Some(1.0),
        "{text}"
    );
    let fin = exporter.stop();
    assert!(fin.status.success(), "{fin:?}");
}
