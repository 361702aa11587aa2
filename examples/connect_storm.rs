//! Benchmark workload: `connect_storm COUNT` opens COUNT TCP connections to
//! a listener on 127.0.0.1 (accepted and closed by a thread in this process)
//! and prints `calls=N secs=S rate=R` (connects/s). Built by `make bench`.

use std::net::{TcpListener, TcpStream};
use std::time::Instant;

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("connect_storm: bind: {e}");
            std::process::exit(1);
        }
    };
    let Ok(addr) = listener.local_addr() else {
        std::process::exit(1)
    };
    // A deep accept queue: when the accepting thread is descheduled, an
    // overflow drops a SYN and costs that connect a 1 s retransmit timeout
    // (seen as 20k connects taking 0.4 s one run and 3 s the next). listen()
    // again on a listening socket just updates its backlog.
    // SAFETY: a valid listening socket fd.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::listen(listener.as_raw_fd(), 65535);
    }
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    let start = Instant::now();
    let mut failed = 0u64;
    for _ in 0..count {
        match TcpStream::connect(addr) {
            Ok(s) => set_linger_zero(&s),
            Err(_) => failed += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "calls={count} failed={failed} secs={secs:.3} rate={:.0}",
        count as f64 / secs
    );
}

/// Close with RST instead of FIN/TIME_WAIT, so repeated runs of 20k
/// connects do not exhaust the ephemeral ports.
fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
