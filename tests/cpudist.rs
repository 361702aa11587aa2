//! cpudist against threads of this test: spinners (more than the machine
//! has cores, so each is preempted at the end of its slice) for on-CPU
//! time, a thread sleeping 100 ms at a time for off-CPU time (-O). The
//! histograms are keyed by the test's own pids and tids, so other activity
//! cannot make a test pass or fail.
mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use common::cgroup::{Cgroup, Spinner};
use common::{Finished, Section, Spinners, Tool, cpus, lifecycle_checks, thread_name};
use serde_json::Value;

/// How long the sleeper sleeps each time, µs.
const SLEEP_US: u64 = 100_000;

fn sections(lines: &[String]) -> Vec<Section> {
    for w in lines.windows(2) {
        if w[1].contains(" = ") {
            assert_eq!(w[0], "", "no empty line before {:?}", w[1]);
        }
    }
    common::hist_sections(lines)
}

fn our_pid() -> String {
    std::process::id().to_string()
}

/// Runs `cpudist args` (which must end by itself, e.g. `1 1`) while
/// `2 × cpus + 1` threads named `name` spin.
fn run_busy(args: &[&str], env: &[(&str, &str)], name: &str) -> (Finished, Spinners) {
    let spin = Spinners::start(2 * cpus() + 1, name);
    let fin = Tool::start_env("cpudist", args, env).wait();
    assert!(fin.status.success(), "cpudist {args:?}: {fin:?}");
    (fin, spin)
}

/// A thread named `name` sleeping SLEEP_US at a time until dropped.
struct Sleeper {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
    tid: u32,
}

impl Sleeper {
    fn start(name: &str) -> Sleeper {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let handle = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                tx.send(nix::unistd::gettid().as_raw() as u32).unwrap();
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_micros(SLEEP_US));
                }
            })
            .unwrap();
        let tid = rx.recv().unwrap();
        Sleeper {
            stop,
            handle: Some(handle),
            tid,
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The section of thread `tid`, if printed.
fn of_tid(secs: &[Section], tid: u32) -> Option<&Section> {
    secs.iter().find(|s| {
        s.key()
            .is_some_and(|k| k.0 == "tid" && k.1 == u64::from(tid))
    })
}

#[test]
fn histogram_counts_on_cpu_time() {
    let (fin, _spin) = run_busy(&["1", "1"], &[], &thread_name("cda"));
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(
        secs[0].header, "",
        "one system-wide histogram: {:?}",
        fin.stdout
    );
    assert_eq!(secs[0].unit, "usecs");
    assert!(secs[0].total() > 10, "{:?}", fin.stdout);
    assert!(
        fin.stderr.iter().any(|l| l == "using tp_btf"),
        "{:?}",
        fin.stderr
    );
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "Tracing on-CPU time... Hit Ctrl-C to end."),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn per_thread_shows_our_spinners() {
    let name = thread_name("cdL");
    let (fin, spin) = run_busy(&["-L", "-p", &our_pid(), "1", "1"], &[], &name);
    let secs = sections(&fin.stdout);
    let mut seen = 0;
    for &tid in &spin.tids {
        if let Some(s) = of_tid(&secs, tid as u32) {
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
    // One histogram per thread, none system-wide.
    for s in &secs {
        assert_eq!(s.key().map(|k| k.0), Some("tid"), "{s:?}");
    }
}

#[test]
fn offcpu_histogram_of_a_sleeping_thread() {
    let name = thread_name("cdO");
    let sleeper = Sleeper::start(&name);
    let fin = Tool::start("cpudist", &["-O", "-L", "-p", &our_pid(), "2", "1"]).wait();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "Tracing off-CPU time... Hit Ctrl-C to end."),
        "{:?}",
        fin.stderr
    );
    let secs = sections(&fin.stdout);
    let s = of_tid(&secs, sleeper.tid)
        .unwrap_or_else(|| panic!("no tid {}: {:?}", sleeper.tid, fin.stdout));
    assert_eq!(s.key().unwrap().2, name);
    // Each sleep keeps it off-CPU at least SLEEP_US: 65536 µs and up.
    let long: u64 = s.rows.iter().filter(|r| r.0 >= 65536).map(|r| r.2).sum();
    assert!(long >= 3, "{s:?}");
    drop(sleeper);
}

#[test]
fn milliseconds_per_process() {
    let name = thread_name("cdm");
    let sleeper = Sleeper::start(&name);
    let fin = Tool::start("cpudist", &["-O", "-m", "-P", "-p", &our_pid(), "2", "1"]).wait();
    assert!(fin.status.success(), "{fin:?}");
    let secs = sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(secs[0].unit, "msecs");
    assert_eq!(
        secs[0].key().map(|k| (k.0, k.1)),
        Some(("pid", u64::from(std::process::id())))
    );
    // The sleeps: 64 ms and up.
    let long: u64 = secs[0].rows.iter().filter(|r| r.0 >= 64).map(|r| r.2).sum();
    assert!(long >= 3, "{:?}", fin.stdout);
    drop(sleeper);
}

#[test]
fn raw_tp_fallback() {
    let (fin, _spin) = run_busy(
        &["-P", "-p", &our_pid(), "1", "1"],
        &[("BPFKIT_RAW_TP", "1")],
        &thread_name("cdr"),
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
    let name = thread_name("cdj");
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
    let mut busy = 0;
    for v in &objs {
        assert_eq!(v["unit"], "usecs");
        assert_eq!(v["time"].as_str().map(str::len), Some(8), "{v}");
        let buckets = v["buckets"].as_array().unwrap();
        let sum: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(v["count"].as_u64(), Some(sum), "{v}");
        if spin.tids.contains(&(v["tid"].as_u64().unwrap() as i32)) {
            assert_eq!(v["comm"], name.as_str());
            busy += 1;
        }
    }
    assert!(busy > 0, "{objs:?}");
}

#[test]
fn cgroup_filter_counts_only_tasks_inside() {
    common::setup();
    let cg = Cgroup::new("bpfkit-cpudist-");
    let in_cg: Vec<Spinner> = (0..3).map(|_| cg.spinner(true)).collect();
    let inside: BTreeSet<u64> = in_cg.iter().map(|s| u64::from(s.pid())).collect();
    let outside: Vec<Spinner> = (0..3).map(|_| Spinner::start(true)).collect();
    let outside_pids: BTreeSet<u64> = outside.iter().map(|s| u64::from(s.pid())).collect();
    let cg_path = cg.arg().to_string();
    for mode in [&[][..], &["-O"]] {
        let mut args = vec!["-P", "-c", &cg_path, "2", "1"];
        args.extend_from_slice(mode);
        let fin = Tool::start("cpudist", &args).wait();
        assert!(fin.status.success(), "{fin:?}");
        let secs = sections(&fin.stdout);
        let pids: BTreeSet<u64> = secs.iter().filter_map(|s| s.key().map(|k| k.1)).collect();
        assert!(!pids.is_empty(), "{mode:?}: nothing counted: {fin:?}");
        assert!(
            pids.is_subset(&inside),
            "{mode:?}: counted {pids:?}, but only {inside:?} are in the cgroup (outside: {outside_pids:?})"
        );
    }
    drop((outside, in_cg));
}

#[test]
fn bad_input() {
    common::assert_missing_pid_error("cpudist");
    let fin = common::run("cpudist", &["-c", "/sys/fs/cgroup/no-such-bpfkit-cgroup"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    for args in [&["-P", "-L"][..], &["0"]] {
        let fin = common::run("cpudist", args);
        assert_eq!(fin.status.code(), Some(2), "{args:?}: {fin:?}");
    }
}

#[test]
fn lifecycle() {
    let name = thread_name("cdx");
    lifecycle_checks("cpudist", &["1"], || {
        let spin = Spinners::start(3, &name);
        thread::sleep(Duration::from_millis(50));
        drop(spin);
    });
}
