//! bpfkit-exporter's tcplife collector against the real kernel: loopback
//! sessions with known bytes each way raise the byte counters and the
//! session duration histogram by at least what they moved and lasted
//! (other activity on the machine only adds).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::exporter::{self, scrape, start};

const HOLD: Duration = Duration::from_millis(200);
const UP: usize = 100 * 1024;
const DOWN: usize = 50 * 1024;

fn sample(text: &str, series: &str) -> f64 {
    exporter::sample(text, series).unwrap_or_else(|| panic!("no {series} in {text}"))
}

fn promtool_ok(text: &str) {
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
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "{said}\n{text}"
    );
}

/// One loopback session: UP bytes up, DOWN down, open for HOLD.
fn session() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(&vec![1u8; UP]).unwrap();
    server.read_exact(&mut vec![0u8; UP]).unwrap();
    server.write_all(&vec![2u8; DOWN]).unwrap();
    client.read_exact(&mut vec![0u8; DOWN]).unwrap();
    std::thread::sleep(HOLD);
    client.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    server.shutdown(Shutdown::Write).unwrap();
    assert_eq!(client.read(&mut buf).unwrap(), 0);
}

const SENT: &str = "bpfkit_tcp_session_sent_bytes_total";
const RECEIVED: &str = "bpfkit_tcp_session_received_bytes_total";
const COUNT: &str = "bpfkit_tcp_session_duration_seconds_count";
const SUM: &str = "bpfkit_tcp_session_duration_seconds_sum";
/// The sessions lasting under 2^17 us (131 ms, below HOLD).
const SHORT: &str = "bpfkit_tcp_session_duration_seconds_bucket{le=\"0.131072\"}";

#[test]
fn sessions_raise_bytes_and_duration_metrics() {
    let (exporter, port) = start(&["--collectors", "tcplife"]);
    let before = scrape(port);
    promtool_ok(&before);
    assert!(
        before.contains("# TYPE bpfkit_tcp_session_duration_seconds histogram"),
        "{before}"
    );
    // The last: sessions that lasted 131 ms or more.
    let get = |text: &str| {
        let [s, r, c, sum, short] = [SENT, RECEIVED, COUNT, SUM, SHORT].map(|s| sample(text, s));
        [s, r, c, sum, c - short]
    };
    let b = get(&before);
    const SESSIONS: usize = 3;
    for _ in 0..SESSIONS {
        session();
    }
    // Both ends of each session: each sends UP + DOWN in all, and lasts HOLD.
    let bytes = (SESSIONS * (UP + DOWN)) as f64;
    let n = 2.0 * SESSIONS as f64;
    let want = [bytes, bytes, n, n * HOLD.as_secs_f64(), n];
    // The collector folds events between scrapes: scrape until they are in.
    let deadline = Instant::now() + common::event_timeout();
    let (text, a) = loop {
        let text = scrape(port);
        let a = get(&text);
        let done = (0..5).all(|i| a[i] - b[i] >= want[i]);
        if done || Instant::now() > deadline {
            break (text, a);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for i in 0..5 {
        assert!(
            a[i] - b[i] >= want[i],
            "{}: {} -> {}, want at least +{}\n{text}",
            [SENT, RECEIVED, COUNT, SUM, "count - short"][i],
            b[i],
            a[i],
            want[i]
        );
    }
    promtool_ok(&text);
    assert!(exporter.stop().status.success());
}
