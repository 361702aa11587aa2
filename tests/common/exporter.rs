//! bpfkit-exporter driven over HTTP: the collector tests' shared scaffolding.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::Tool;

/// The exporter on 127.0.0.1:PORT with `args` (e.g. `--collectors X`),
/// once it serves.
pub fn start(args: &[&str]) -> (Tool, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let tool = Tool::spawn("bpfkit-exporter", &[&["--listen", &listen], args].concat());
    let deadline = Instant::now() + super::attach_timeout();
    while !tool
        .stderr_lines()
        .iter()
        .any(|l| l.starts_with("serving http://"))
    {
        if Instant::now() > deadline {
            let fin = tool.stop();
            panic!("bpfkit-exporter did not start serving: {fin:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (tool, port)
}

/// The body of GET /metrics (asserting 200).
pub fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The value of one series (`name{labels}`) in exposition text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
