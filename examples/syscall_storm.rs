//! Benchmark workload: `syscall_storm COUNT` makes COUNT getppid(2) calls
//! (about the cheapest syscall: what is left is the syscall path and its
//! tracing) and prints `calls=N secs=S rate=R` (calls/s).
//! Built by `make bench`; not a tool.

use std::time::Instant;

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let start = Instant::now();
    for _ in 0..count {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "calls={count} secs={secs:.3} rate={:.0}",
        count as f64 / secs
    );
}
