//! bpfkit-exporter's runqlen collector against real contention: busy
//! threads (nice 19) on every CPU, then the run-queue length histogram and
//! the per-CPU sample counters the exporter serves.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::exporter::{sample, scrape};
use common::{Spinners, Tool, cpus, thread_name};

fn start() -> (Tool, u16) {
    common::exporter::start(&["--collectors", "runqlen"])
}

#[test]
fn run_queue_length_histogram_and_per_cpu_samples() {
    let _spin = Spinners::start(2 * cpus(), &thread_name("rqle"));
    let (tool, port) = start();
    let first = scrape(port);
    std::thread::sleep(Duration::from_secs(2));
    let text = scrape(port);
    let count =
        |t: &str| sample(t, "bpfkit_runqueue_length_count").unwrap_or_else(|| panic!("{t}"));
    assert!(count(&text) > count(&first), "samples keep coming:\n{text}");
    // Busy threads on too few CPUs: not every sample has an empty queue.
    let empty = sample(&text, "bpfkit_runqueue_length_bucket{le=\"0\"}").unwrap();
    let all = sample(&text, "bpfkit_runqueue_length_bucket{le=\"+Inf\"}").unwrap();
    assert!(empty < all, "{text}");
    let mut queued_somewhere = false;
    for cpu in bpfkit::perf::online_cpus().unwrap() {
        let samples = sample(
            &text,
            &format!("bpfkit_runqueue_samples_total{{cpu=\"{cpu}\"}}"),
        );
        let queued = sample(
            &text,
            &format!("bpfkit_runqueue_queued_samples_total{{cpu=\"{cpu}\"}}"),
        );
        let (samples, queued) = (samples.unwrap(), queued.unwrap());
        assert!(samples > 0.0 && queued <= samples, "cpu {cpu}: {text}");
        queued_somewhere |= queued > 0.0;
    }
    assert!(queued_somewhere, "{text}");
    // Valid exposition format.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/deps.sh test installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // Clean exit, programs gone with it.
    let ids = tool.prog_ids();
    assert!(!ids.is_empty());
    let fin = tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn not_in_the_default_set() {
    let out = Command::new(common::bin("bpfkit-exporter"))
        .arg("--list-collectors")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("runqlen "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!line.contains("(default)"), "{line}");
}
