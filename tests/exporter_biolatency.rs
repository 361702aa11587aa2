//! bpfkit-exporter's biolatency collector against real block I/O: direct
//! writes to a loop device of the test's own show up, exactly, in that
//! disk's `op="write"` histogram.

mod common;

use common::exporter::{sample, scrape, start};
use common::loopdev::LoopDev;

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
