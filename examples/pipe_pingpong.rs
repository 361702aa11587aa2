//! Benchmark workload: `pipe_pingpong ROUNDS` — two threads pass one byte
//! back and forth through two pipes ROUNDS times, so every round is two
//! wake-ups and context switches. Prints `switches=N secs=S rate=R`.
//! Built by `make bench`; not a tool.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Instant;

fn pipe() -> (File, File) {
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) fills two fds that we then own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        eprintln!("pipe_pingpong: pipe failed");
        std::process::exit(1);
    }
    // SAFETY: both fds were just created and are owned by nothing else.
    unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000);
    let (mut a_read, mut a_write) = pipe();
    let (mut b_read, mut b_write) = pipe();
    let echo = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while a_read.read_exact(&mut byte).is_ok() {
            if b_write.write_all(&byte).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut byte = [7u8; 1];
    for _ in 0..rounds {
        if a_write.write_all(&byte).is_err() || b_read.read_exact(&mut byte).is_err() {
            eprintln!("pipe_pingpong: pipe broke");
            std::process::exit(1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(a_write);
    let _ = echo.join();
    let switches = rounds * 2;
    println!(
        "switches={switches} secs={secs:.3} rate={:.0}",
        switches as f64 / secs
    );
}
