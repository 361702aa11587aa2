//! Benchmark workload: `open_storm COUNT PATH` calls open(2) on PATH (which
//! should not exist) COUNT times and prints `calls=N secs=S rate=R` (calls/s).
//! Built by `make bench`; not a tool.

use std::ffi::CString;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/bpfkit-open-storm-missing".into());
    let Ok(cpath) = CString::new(path) else {
        eprintln!("open_storm: path contains a NUL byte");
        std::process::exit(2);
    };
    let start = Instant::now();
    for _ in 0..count {
        // SAFETY: cpath is a valid NUL-terminated string; the fd, if any, is closed.
        let fd = unsafe { libc::open(cpath.as_ptr(), libc::O_RDONLY) };
        if fd >= 0 {
            unsafe { libc::close(fd) };
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "calls={count} secs={secs:.3} rate={:.0}",
        count as f64 / secs
    );
}
