//! Benchmark workload: `malloc_storm PAIRS [SIZE]` calls malloc(SIZE) then
//! free() PAIRS times through libc (so uprobes on libc see every call) and
//! prints `pairs=N secs=S rate=R` (pairs/s). Built by `make bench`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let pairs: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let start = Instant::now();
    for _ in 0..pairs {
        // SAFETY: a plain malloc/free pair; the pointer is not used otherwise.
        unsafe {
            let p = libc::malloc(size);
            std::hint::black_box(p);
            libc::free(p);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "pairs={pairs} secs={secs:.3} rate={:.0}",
        pairs as f64 / secs
    );
}
