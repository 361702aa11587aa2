//! bpfkit-exporter's cpudist collector against real CPU contention: more
//! spinning threads than cores are preempted at the end of each slice, so
//! the on-CPU histogram fills; the text passes promtool.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::exporter::{sample, scrape};
use common::{Spinners, Tool, cpus, thread_name};

fn start() -> (Tool, u16) {
    common::exporter::start(&["--collectors", "cpudist"])
}

#[test]
fn oncpu_histogram_fills_under_contention() {
    let (exporter, port) = start();
    let before = sample(&scrape(port), "bpfkit_oncpu_seconds_count").unwrap_or(0.0);
    let spin = Spinners::start(2 * cpus() + 1, &thread_name("cdx"));
    std::thread::sleep(Duration::from_secs(1) * common::slowdown());
    drop(spin);
    let text = scrape(port);
    assert!(
        text.contains("# TYPE bpfkit_oncpu_seconds histogram"),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bpfkit_collector_up{collector=\"cpudist\"}"),
        Some(1.0),
        "{text}"
    );
    let count = sample(&text, "bpfkit_oncpu_seconds_count").unwrap();
    let sum = sample(&text, "bpfkit_oncpu_seconds_sum").unwrap();
    assert!(count > before + 10.0, "{before} -> {count}");
    assert!(sum > 0.0, "{text}");
    // Cumulative buckets, the last (+Inf) equal to the count; slices of a
    // scheduler tick or more land at 1 ms and up.
    let buckets: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("bpfkit_oncpu_seconds_bucket{le=\"")?;
            let (le, v) = rest.split_once("\"} ")?;
            Some((le.to_string(), v.parse().ok()?))
        })
        .collect();
    assert!(buckets.len() > 10, "{text}");
    for w in buckets.windows(2) {
        assert!(w[0].1 <= w[1].1, "not cumulative: {buckets:?}");
    }
    assert_eq!(
        buckets.last().map(|b| (b.0.as_str(), b.1)),
        Some(("+Inf", count))
    );
    let under_1ms = buckets
        .iter()
        .filter(|b| b.0 != "+Inf" && b.0.parse::<f64>().unwrap() <= 0.001)
        .map(|b| b.1)
        .next_back()
        .unwrap();
    assert!(under_1ms < count, "nothing ran 1 ms or more: {buckets:?}");
    // promtool agrees with the text.
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
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let fin = exporter.stop();
    assert!(fin.status.success(), "{fin:?}");
}
