//! runqlen against real scheduler contention: the test runs more busy
//! threads (at nice 19, so the tool itself is not starved) than the machine
//! has cores, so tasks wait on every run queue, and reads what the tool
//! samples while they spin.
mod common;

use common::{Finished, Spinners, Tool, cpus, lifecycle_checks, thread_name};
use serde_json::Value;

/// Runs `runqlen args` (which must end by itself, e.g. `1 1`) while
/// `2 × cpus` threads spin.
fn run_busy(args: &[&str], name: &str) -> (Finished, Spinners) {
    let spin = Spinners::start(2 * cpus(), &thread_name(name));
    let tool = Tool::start("runqlen", args);
    let fin = tool.wait();
    assert!(fin.status.success(), "runqlen {args:?}: {fin:?}");
    (fin, spin)
}

/// The CPUs online now (the ones runqlen samples).
fn online() -> Vec<u32> {
    bpfkit::perf::online_cpus().unwrap()
}

/// The rows of libbpf-tools' linear histogram (`        3          : 12       |***   |`)
/// after each `runqlen : count distribution` header: (length, count) per section.
fn histograms(lines: &[String]) -> Vec<Vec<(u64, u64)>> {
    let mut out: Vec<Vec<(u64, u64)>> = Vec::new();
    for l in lines {
        if l == "     runqlen       : count     distribution" {
            out.push(Vec::new());
        } else if let Some((len, rest)) = l.split_once(" : ")
            && let Some((count, bar)) = rest.split_once('|')
        {
            assert_eq!(len.len(), 18, "row columns: {l:?}");
            assert!(bar.ends_with('|') && bar.len() == 41, "bar: {l:?}");
            let row = (len.trim().parse().unwrap(), count.trim().parse().unwrap());
            out.last_mut().expect("a row before a header").push(row);
        }
    }
    out
}

#[test]
fn lifecycle() {
    lifecycle_checks("runqlen", &["1"], || {});
}

#[test]
fn histogram_counts_waiting_tasks() {
    let (fin, _spin) = run_busy(&["1", "1"], "rqlh");
    let hists = histograms(&fin.stdout);
    assert_eq!(hists.len(), 1, "one system-wide histogram: {fin:?}");
    let rows = &hists[0];
    // Rows are the non-empty lengths, in order.
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{rows:?}");
    assert!(rows.iter().all(|r| r.1 > 0), "{rows:?}");
    // Busy threads on too few cores: samples with a task waiting.
    assert!(rows.iter().any(|r| r.0 >= 1), "{fin:?}");
    assert_eq!(fin.stdout.first().map(String::as_str), Some(""));
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.starts_with("sampling with software cpu-clock at 99 Hz")),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn per_cpu_histograms() {
    let (fin, _spin) = run_busy(&["-C", "-T", "-f", "199", "1", "1"], "rqlc");
    let cpus = online();
    let headers: Vec<&String> = fin
        .stdout
        .iter()
        .filter(|l| l.starts_with("cpu = "))
        .collect();
    let expected: Vec<String> = cpus.iter().map(|c| format!("cpu = {c}")).collect();
    assert_eq!(headers, expected.iter().collect::<Vec<_>>(), "{fin:?}");
    // -T: an HH:MM:SS line after the interval's empty line.
    assert_eq!(fin.stdout[0], "");
    assert!(
        fin.stdout[1].len() == 8 && &fin.stdout[1][2..3] == ":",
        "{fin:?}"
    );
    let hists = histograms(&fin.stdout);
    assert_eq!(hists.len(), cpus.len(), "{fin:?}");
    // Twice as many spinners as CPUs: some CPU has a task waiting.
    assert!(hists.iter().flatten().any(|r| r.0 >= 1), "{fin:?}");
}

#[test]
fn occupancy_per_cpu() {
    let (fin, _spin) = run_busy(&["-O", "-C", "1", "1"], "rqlo");
    let cpus = online();
    let rows: Vec<(u32, f64)> = fin
        .stdout
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("runqocc, CPU ")?;
            let (cpu, pct) = rest.split_once(' ')?;
            Some((
                cpu.parse().unwrap(),
                pct.trim().trim_end_matches('%').parse().unwrap(),
            ))
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        cpus,
        "{fin:?}"
    );
    assert!(rows.iter().all(|r| (0.0..=100.0).contains(&r.1)), "{fin:?}");
    assert!(rows.iter().any(|r| r.1 > 0.0), "{fin:?}");
    // Overall: one line.
    let (fin, _spin) = run_busy(&["-O", "1", "1"], "rqlo");
    let line = fin
        .stdout
        .iter()
        .find_map(|l| l.strip_prefix("runqocc: "))
        .unwrap_or_else(|| panic!("{fin:?}"));
    let pct: f64 = line.trim_end_matches('%').parse().unwrap();
    assert!(pct > 0.0 && pct <= 100.0, "{fin:?}");
}

#[test]
fn host_run_queue() {
    let (fin, _spin) = run_busy(&["-H", "1", "1"], "rqlq");
    let hists = histograms(&fin.stdout);
    assert_eq!(hists.len(), 1, "{fin:?}");
    assert!(hists[0].iter().any(|r| r.0 >= 1), "{fin:?}");
}

#[test]
fn json_per_cpu() {
    let (fin, _spin) = run_busy(&["--json", "-C", "-O", "1", "2"], "rqlj");
    fin.assert_json_only();
    let objs: Vec<Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cpus = online();
    assert_eq!(objs.len(), 2 * cpus.len(), "{objs:?}");
    for (i, o) in objs.iter().enumerate() {
        assert_eq!(o["cpu"], cpus[i % cpus.len()], "{o}");
        let (samples, queued) = (
            o["samples"].as_u64().unwrap(),
            o["queued"].as_u64().unwrap(),
        );
        assert!(samples > 0 && queued <= samples, "{o}");
        let pct = o["occupancy_pct"].as_f64().unwrap();
        let expected = 100.0 * queued as f64 / samples as f64;
        assert!((pct - expected).abs() < 0.01, "{o}");
    }
    assert!(
        objs.iter().any(|o| o["queued"].as_u64() > Some(0)),
        "{objs:?}"
    );
    // Histograms: one per CPU, lengths as bucket bounds.
    let (fin, _spin) = run_busy(&["--json", "1", "1"], "rqlj");
    fin.assert_json_only();
    let v: Value = serde_json::from_str(&fin.stdout[0]).unwrap();
    assert_eq!(v["unit"], "runqlen");
    assert!(v.get("cpu").is_none(), "{v}");
    let b = v["buckets"].as_array().unwrap();
    assert!(b.iter().all(|b| b["low"] == b["high"]), "{v}");
    assert!(b.iter().any(|b| b["low"].as_u64() >= Some(1)), "{v}");
}

#[test]
fn bad_frequency_is_a_usage_error() {
    let fin = common::run("runqlen", &["-f", "0"]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
}
