//! runqlat against real scheduler contention: the test runs more CPU-bound
//! threads (and processes) than the machine has cores, so they wait on the
//! run queues, and reads the histograms the tool prints, keyed by the test's
//! own pids and tids so other activity cannot make a test pass or fail.
mod common;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use common::cgroup::{Cgroup, Spinner};
use common::{Finished, Section, Spinners, Tool, cpus, lifecycle_checks, thread_name};
use serde_json::Value;

/// The histograms printed, shape-checked; per-key sections (`pid = …`)
/// follow an empty line, as in libbpf-tools.
fn sections(lines: &[String]) -> Vec<Section> {
    for w in lines.windows(2) {
        if w[1].contains(" = ") {
            assert_eq!(w[0], "", "no empty line before {:?}", w[1]);
        }
    }
    common::hist_sections(lines)
}

/// Runs `runqlat args` (which must end by itself, e.g. `1 1`) while
/// `2 × cpus + 1` threads named `name` spin.
fn run_busy(args: &[&str], env: &[(&str, &str)], name: &str) -> (Finished, Spinners) {
    let spin = Spinners::start(2 * cpus() + 1, name);
    let tool = Tool::start_env("runqlat", args, env);
    let fin = tool.wait();
    assert!(fin.status.success(), "runqlat {args:?}: {fin:?}");
    (fin, spin)
}

fn our_pid() -> String {
    std::process::id().to_string()
}

#[test]
fn histogram_counts_waits() {
    let (fin, _spin) = run_busy(&["1", "1"], &[], &thread_name("rqa"));
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    let s = &secs[0];
    assert_eq!(s.header, "", "one system-wide histogram: {:?}", fin.stdout);
    assert_eq!(s.unit, "usecs");
    assert!(s.total() > 10, "{:?}", fin.stdout);
    // Spinners on too few cores wait at least a millisecond sometimes.
    assert!(
        s.rows.iter().any(|r| r.0 >= 1024 && r.2 > 0),
        "{:?}",
        fin.stdout
    );
    // The fullest bucket has the full 40-star bar.
    let max = s.rows.iter().map(|r| r.2).max().unwrap();
    let full = format!(": {max:<8} |{}|", "*".repeat(40));
    assert!(fin.stdout.iter().any(|l| l.ends_with(&full)), "{fin:?}");
    // The interval print starts with an empty line.
    assert_eq!(fin.stdout.first().map(String::as_str), Some(""));
    assert!(
        fin.stderr.iter().any(|l| l == "using tp_btf"),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn milliseconds_and_timestamps() {
    let (fin, _spin) = run_busy(&["-m", "-T", "1", "1"], &[], &thread_name("rqm"));
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(secs[0].unit, "msecs");
    // Waits of a scheduler tick or more land at 1 ms and up.
    assert!(
        secs[0].rows.iter().any(|r| r.0 >= 1 && r.2 > 0),
        "{:?}",
        fin.stdout
    );
    // -T: an HH:MM:SS line after the empty line.
    let ts = &fin.stdout[1];
    assert!(
        ts.len() == 8 && ts.as_bytes()[2] == b':' && ts.as_bytes()[5] == b':',
        "{:?}",
        fin.stdout
    );
}

#[test]
fn per_process_shows_our_pid() {
    let (fin, _spin) = run_busy(&["-P", "1", "1"], &[], &thread_name("rqP"));
    let secs = sections(&fin.stdout);
    let pid: u64 = std::process::id().into();
    let ours: Vec<&Section> = secs
        .iter()
        .filter(|s| s.key().is_some_and(|k| k.0 == "pid" && k.1 == pid))
        .collect();
    assert_eq!(ours.len(), 1, "{:?}", fin.stdout);
    assert!(ours[0].total() > 10, "{:?}", ours[0]);
    for s in &secs {
        assert_eq!(s.key().map(|k| k.0), Some("pid"), "{s:?}");
    }
}

#[test]
fn per_thread_shows_our_threads() {
    let name = thread_name("rqL");
    let (fin, spin) = run_busy(&["-L", "-p", &our_pid(), "1", "1"], &[], &name);
    let secs = sections(&fin.stdout);
    let mut seen = 0;
    for tid in &spin.tids {
        if let Some(s) = secs
            .iter()
            .find(|s| s.key().is_some_and(|k| k.0 == "tid" && k.1 == *tid as u64))
        {
            assert_eq!(s.key().unwrap().2, name, "{s:?}");
            assert!(s.total() > 0);
            seen += 1;
        }
    }
    assert!(
        seen * 2 >= spin.tids.len(),
        "only {seen} of {:?}: {:?}",
        spin.tids,
        fin.stdout
    );
}

#[test]
fn per_pid_namespace() {
    // Our pid namespace, as /proc names it: `pid:[4026531836]`.
    let link = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let inum: u64 = link
        .to_str()
        .and_then(|s| s.strip_prefix("pid:["))
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{link:?}"));
    let (fin, _spin) = run_busy(
        &["--pidnss", "-p", &our_pid(), "1", "1"],
        &[],
        &thread_name("rqn"),
    );
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    let (kind, key, _) = secs[0].key().unwrap();
    assert_eq!((kind, key), ("pidns", inum), "{:?}", fin.stdout);
    assert!(secs[0].total() > 10);
}

#[test]
fn pid_filter() {
    let (fin, _spin) = run_busy(
        &["-P", "-p", &our_pid(), "1", "1"],
        &[],
        &thread_name("rqp"),
    );
    let secs = sections(&fin.stdout);
    let pids: BTreeSet<u64> = secs.iter().filter_map(|s| s.key().map(|k| k.1)).collect();
    assert_eq!(
        pids,
        BTreeSet::from([u64::from(std::process::id())]),
        "{:?}",
        fin.stdout
    );
    // A pid that is no one: exit 1 before loading.
    common::assert_missing_pid_error("runqlat");
}

#[test]
fn raw_tp_fallback() {
    let (fin, _spin) = run_busy(
        &["-P", "-p", &our_pid(), "1", "1"],
        &[("BPFKIT_RAW_TP", "1")],
        &thread_name("rqr"),
    );
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "using raw_tp (BPFKIT_RAW_TP=1)"),
        "{:?}",
        fin.stderr
    );
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(
        secs[0].key().map(|k| k.1),
        Some(u64::from(std::process::id()))
    );
    assert!(secs[0].total() > 10, "{:?}", fin.stdout);
}

#[test]
fn json_output() {
    let name = thread_name("rqj");
    let (fin, spin) = run_busy(
        &["--json", "-T", "-L", "-p", &our_pid(), "1", "1"],
        &[],
        &name,
    );
    fin.assert_json_only();
    let objs: Vec<Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!objs.is_empty(), "{fin:?}");
    let mut busy = 0;
    for v in &objs {
        assert_eq!(v["unit"], "usecs");
        assert_eq!(v["time"].as_str().map(str::len), Some(8), "{v}");
        assert!(v["tid"].as_u64().is_some() && v["comm"].is_string(), "{v}");
        let buckets = v["buckets"].as_array().unwrap();
        assert_eq!(buckets[0]["low"], 0);
        assert_eq!(buckets[0]["high"], 1);
        let sum: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(v["count"].as_u64(), Some(sum), "{v}");
        let tid = v["tid"].as_u64().unwrap() as i32;
        if spin.tids.contains(&tid) {
            assert_eq!(v["comm"], name.as_str());
            assert!(sum > 0);
            busy += 1;
        }
    }
    assert!(busy > 0, "{objs:?}");
}

#[test]
fn sigint_prints_what_was_gathered() {
    // No interval: the histogram comes out at Ctrl-C, as libbpf-tools does.
    let _spin = Spinners::start(2 * cpus() + 1, &thread_name("rqi"));
    let tool = Tool::start("runqlat", &["-p", &our_pid()]);
    thread::sleep(Duration::from_millis(1500) * common::slowdown());
    assert!(tool.lines().is_empty(), "{:?}", tool.lines());
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    // Some latency, not a minimum: how many wake-ups an emulated guest fits
    // in the window varies (8 in 1.5 s on 6.12 under TCG once).
    assert!(secs[0].total() > 0, "{:?}", fin.stdout);
}

// ---- the cgroup filter ----

#[test]
fn cgroup_filter_counts_only_tasks_inside() {
    common::setup();
    let cg = Cgroup::new("bpfkit-runqlat-");
    let in_cg: Vec<Spinner> = (0..3).map(|_| cg.spinner(true)).collect();
    let inside: BTreeSet<u64> = in_cg.iter().map(|s| u64::from(s.pid())).collect();
    let outside: Vec<Spinner> = (0..3).map(|_| Spinner::start(true)).collect();
    let outside_pids: BTreeSet<u64> = outside.iter().map(|s| u64::from(s.pid())).collect();
    let cg_path = cg.arg().to_string();
    // And this process's threads spin outside too.
    let _spin = Spinners::start(2, &thread_name("rqc"));
    let fin = Tool::start("runqlat", &["-P", "-c", &cg_path, "2", "1"]).wait();
    assert!(fin.status.success(), "{fin:?}");
    let secs = sections(&fin.stdout);
    let pids: BTreeSet<u64> = secs.iter().filter_map(|s| s.key().map(|k| k.1)).collect();
    assert!(!pids.is_empty(), "nothing counted: {fin:?}");
    assert!(
        pids.is_subset(&inside),
        "counted {pids:?}, but only {inside:?} are in the cgroup (outside: {outside_pids:?})"
    );
    assert!(
        secs.iter().map(Section::total).sum::<u64>() > 10,
        "{:?}",
        fin.stdout
    );
    // Without the filter the outside spinners are counted too.
    let fin = Tool::start("runqlat", &["-P", "1", "1"]).wait();
    let pids: BTreeSet<u64> = sections(&fin.stdout)
        .iter()
        .filter_map(|s| s.key().map(|k| k.1))
        .collect();
    assert!(
        !pids.is_disjoint(&outside_pids) && !pids.is_disjoint(&inside),
        "{pids:?}"
    );
    drop((outside, in_cg));
}

#[test]
fn missing_cgroup_is_an_error() {
    let fin = common::run("runqlat", &["-c", "/sys/fs/cgroup/no-such-bpfkit-cgroup"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(
        fin.stderr,
        vec!["runqlat: no such cgroup: /sys/fs/cgroup/no-such-bpfkit-cgroup".to_string()],
    );
}

#[test]
fn conflicting_keys_are_usage_errors() {
    for args in [&["-P", "-L"][..], &["-L", "--pidnss"], &["0"]] {
        let fin = common::run("runqlat", args);
        assert_eq!(fin.status.code(), Some(2), "{args:?}: {fin:?}");
    }
}

#[test]
fn lifecycle() {
    let name = thread_name("rqx");
    lifecycle_checks("runqlat", &["1"], || {
        let spin = Spinners::start(3, &name);
        thread::sleep(Duration::from_millis(50));
        drop(spin);
    });
}

#[test]
fn three_intervals_print_three_histograms() {
    let (fin, _spin) = run_busy(&["-T", "1", "3"], &[], &thread_name("rq3"));
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 3, "{:?}", fin.stdout);
    assert!(secs.iter().all(|s| s.total() > 0), "{:?}", fin.stdout);
    // Each print: an empty line and HH:MM:SS before the histogram.
    let heads: Vec<usize> = (fin.stdout.iter().enumerate())
        .filter(|(_, l)| l.trim_start().starts_with("usecs"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(heads.len(), 3, "{:?}", fin.stdout);
    for i in heads {
        let ts = &fin.stdout[i - 1];
        assert!(ts.len() == 8 && ts.as_bytes()[2] == b':', "{ts:?}");
        assert_eq!(fin.stdout[i - 2], "");
    }
    let (fin, _spin) = run_busy(&["--json", "1", "3"], &[], &thread_name("rq3j"));
    fin.assert_json_only();
    assert_eq!(fin.stdout.len(), 3, "{:?}", fin.stdout);
}
