//! Benchmark workload: `send_storm COUNT [SIZE]` writes COUNT messages of
//! SIZE bytes (default 64) over one loopback TCP connection to a thread of
//! this process that reads them, and prints `calls=N secs=S rate=R`
//! (sends/s). Built by `make bench`; tcptop's entry traces it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(500_000);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        eprintln!("send_storm: bind failed");
        std::process::exit(1);
    };
    let Ok(addr) = listener.local_addr() else {
        std::process::exit(1)
    };
    let reader = std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = vec![0u8; 1 << 16];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let Ok(mut s) = TcpStream::connect(addr) else {
        eprintln!("send_storm: connect failed");
        std::process::exit(1);
    };
    let _ = s.set_nodelay(true);
    let msg = vec![b'x'; size];
    let start = Instant::now();
    for _ in 0..count {
        if s.write_all(&msg).is_err() {
            std::process::exit(1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(s);
    let _ = reader.join();
    println!(
        "calls={count} secs={secs:.3} rate={:.0}",
        count as f64 / secs
    );
}
