//! runqslower against real scheduler contention: the test runs more
//! CPU-bound threads, with a name of its own, than the machine has cores, so
//! they wait on the run queues, and looks for their lines (by thread name,
//! TID and PID, so other activity cannot make a test pass or fail).
mod common;

use std::thread;
use std::time::Duration;

use common::{Spinners, Tool, cpus, lifecycle_checks, thread_name};
use serde_json::{Value, json};

/// `2 × cpus + 2` busy threads with a name unique to the test.
fn spin(prefix: &str) -> Spinners {
    Spinners::start(2 * cpus() + 2, &thread_name(prefix))
}

/// `TIME COMM TID LAT(us) [PREV COMM PREV TID]` → its fields (COMM has no
/// spaces here: ours are single words).
fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn assert_time(s: &str) {
    assert!(
        s.len() == 8 && s.as_bytes()[2] == b':' && s.as_bytes()[5] == b':',
        "TIME: {s:?}"
    );
}

fn sees_our_threads(args: &[&str], env: &[(&str, &str)]) -> Tool {
    let tool = Tool::start_env("runqslower", args, env);
    let spin = spin("rqs");
    let line = tool.expect_line(&format!(" {} ", spin.name));
    let tids = spin.tids.clone();
    drop(spin);
    let c = columns(&line);
    assert_eq!(c.len(), 4, "{line:?}");
    assert_time(c[0]);
    let tid: i32 = c[2].parse().unwrap();
    assert!(tids.contains(&tid), "{line:?}: TID not one of {tids:?}");
    let lat: u64 = c[3].parse().unwrap();
    assert!(lat > 1, "above the 1 us threshold: {line:?}");
    // Fixed columns: `%-8s %-16s %-6d %14llu`.
    assert_eq!(&line[8..9], " ");
    assert_eq!(line[9..25].trim_end(), c[1]);
    assert_eq!(
        line.len(),
        8 + 1 + 16 + 1 + 6.max(c[2].len()) + 1 + 14.max(c[3].len())
    );
    tool
}

#[test]
fn reports_our_waiting_threads() {
    let tool = sees_our_threads(&["1"], &[]);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(fin.stdout[0], "Tracing run queue latency higher than 1 us");
    assert_eq!(
        fin.stdout[1],
        "TIME     COMM             TID           LAT(us)"
    );
    assert!(
        fin.stderr.iter().any(|l| l == "using tp_btf"),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn raw_tp_fallback() {
    let tool = sees_our_threads(&["1"], &[("BPFKIT_RAW_TP", "1")]);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "using raw_tp (BPFKIT_RAW_TP=1)"),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn tid_column_is_the_waiting_thread() {
    // Exactly which thread waited: JSON gives every field unambiguously.
    let tool = Tool::start("runqslower", &["--json", "1"]);
    let spin = spin("rqT");
    let v = tool.expect_json("comm", &json!(spin.name));
    let tid = v["tid"].as_i64().unwrap() as i32;
    assert!(spin.tids.contains(&tid), "{v} not one of {:?}", spin.tids);
    assert_eq!(v["pid"], std::process::id());
    drop(spin);
    tool.stop();
}

#[test]
fn previous_task_columns() {
    let tool = Tool::start("runqslower", &["-P", "1"]);
    let spin = spin("rqP");
    let line = tool.expect_line(&format!(" {} ", spin.name));
    drop(spin);
    let fin = tool.stop();
    assert_eq!(
        fin.stdout[1],
        "TIME     COMM             TID           LAT(us) PREV COMM        PREV TID"
    );
    // `%-8s %-16s %-6d %14llu %-16s %-6d`: PREV COMM starts at column 48
    // (later if the TID is wider than 6 digits).
    let tid_len = columns(&line)[2].len();
    let at = 8 + 1 + 16 + 1 + tid_len.max(6) + 1 + 14 + 1;
    let prev = line.get(at..).unwrap_or_else(|| panic!("{line:?}"));
    let prev_comm = prev.get(..16).unwrap();
    assert!(!prev_comm.trim().is_empty(), "PREV COMM in {line:?}");
    let prev_tid = prev.get(17..).unwrap().trim();
    assert!(
        prev_tid.parse::<u32>().is_ok(),
        "PREV TID in {line:?}: {prev_tid:?}"
    );
    assert_eq!(line.len(), at + 16 + 1 + 6.max(prev_tid.len()), "{line:?}");
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn pid_filter() {
    let pid = std::process::id().to_string();
    let tool = Tool::start("runqslower", &["--json", "-p", &pid, "1"]);
    let spin = spin("rqp");
    tool.expect_json("comm", &json!(spin.name));
    thread::sleep(Duration::from_millis(300));
    drop(spin);
    let fin = tool.stop();
    fin.assert_json_only();
    assert!(!fin.stdout.is_empty());
    for l in &fin.stdout {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["pid"], std::process::id(), "{v}");
    }
    common::assert_missing_pid_error("runqslower");
}

#[test]
fn tid_filter() {
    let spin = spin("rqt");
    let tid = spin.tids[0];
    let tool = Tool::start("runqslower", &["--json", "-t", &tid.to_string(), "1"]);
    let v = tool.expect_json("tid", &json!(tid));
    assert_eq!(v["comm"], spin.name.as_str());
    thread::sleep(Duration::from_millis(300));
    drop(spin);
    let fin = tool.stop();
    fin.assert_json_only();
    for l in &fin.stdout {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["tid"], tid, "{v}");
    }
}

/// Spinners named `prefix`… padded to the 15 bytes a comm holds.
fn spin_named_15(prefix: &str) -> Spinners {
    let name = format!("{:z<15}", thread_name(prefix));
    Spinners::start(2 * cpus() + 2, &name)
}

#[test]
fn comm_filter_keeps_names_with_the_prefix() {
    let ours = spin_named_15("rqcA");
    let others = spin_named_15("rqcB");
    // A prefix of our name; and a name too long for a comm, which is cut
    // to its first 15 bytes (ours) with a warning, like libbpf-tools.
    let prefix = ours.name[..ours.name.len() - 3].to_string();
    let long = format!("{}-and-more", ours.name);
    let by_prefix = Tool::start("runqslower", &["--json", "-c", &prefix, "1"]);
    let by_long = Tool::start("runqslower", &["--json", "-c", &long, "1"]);
    let warning = format!(
        "warning: command name '{long}' is too long (max 15 bytes), matching its first 15: '{}'",
        ours.name
    );
    assert!(
        by_long.stderr_lines().contains(&warning),
        "{:?}",
        by_long.stderr_lines()
    );
    assert!(
        !by_prefix
            .stderr_lines()
            .iter()
            .any(|l| l.contains("warning"))
    );
    for tool in [&by_prefix, &by_long] {
        let v = tool.expect_json("comm", &json!(ours.name));
        let tid = v["tid"].as_i64().unwrap() as i32;
        assert!(ours.tids.contains(&tid), "{v} not one of {:?}", ours.tids);
    }
    thread::sleep(Duration::from_millis(300));
    drop(ours);
    drop(others);
    for tool in [by_prefix, by_long] {
        let fin = tool.stop();
        assert!(fin.status.success(), "{fin:?}");
        fin.assert_json_only();
        for l in &fin.stdout {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(
                v["comm"].as_str().unwrap().starts_with(&prefix),
                "not {prefix}…: {v}"
            );
        }
    }
    // The other spinners waited as long: without -c they are reported.
    let others = spin_named_15("rqcB");
    let all = Tool::start("runqslower", &["--json", "1"]);
    all.expect_json("comm", &json!(others.name));
    drop(others);
    assert!(all.stop().status.success());
}

#[test]
fn json_output() {
    let tool = Tool::start("runqslower", &["--json", "1"]);
    let spin = spin("rqj");
    let v = tool.expect_json("comm", &json!(spin.name));
    drop(spin);
    let fin = tool.stop();
    fin.assert_json_only();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "comm",
            "cpu",
            "lat_us",
            "pid",
            "prev_comm",
            "prev_tid",
            "tid",
            "time"
        ],
        "{v}"
    );
    assert!(v["lat_us"].as_u64().unwrap() > 1, "{v}");
    assert_time(v["time"].as_str().unwrap());
    assert!(v["prev_comm"].is_string() && v["prev_tid"].is_u64(), "{v}");
    let cpus = thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    assert!(v["cpu"].as_u64().unwrap() < cpus.max(64), "{v}");
}

#[test]
fn threshold_filters_short_waits() {
    // Nothing waits 10 minutes on a run queue.
    let tool = Tool::start("runqslower", &["--json", "600000000"]);
    let spin = spin("rqh");
    thread::sleep(Duration::from_millis(1500));
    drop(spin);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(fin.stdout.is_empty(), "{:?}", fin.stdout);
}

/// Runs `f` in a thread named `name` pinned to CPU 0, at `nice`.
fn on_cpu0(name: &str, nice: i32, f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            // SAFETY: a zeroed cpu_set_t with one bit set, passed by pointer
            // with its size; setpriority only reads its integers.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                assert_eq!(
                    libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set),
                    0
                );
                libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            }
            f()
        })
        .unwrap()
}

#[test]
fn threshold_reports_our_task_that_waited_longer() {
    // Two nice-0 busy loops and a nice-19 sleeper share CPU 0: each time
    // the sleeper wakes it waits behind the loops, for milliseconds.
    const MIN_US: u64 = 1000;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let name = thread_name("rqw");
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let tool = Tool::start(
        "runqslower",
        &[
            "--json",
            "-p",
            &std::process::id().to_string(),
            &MIN_US.to_string(),
        ],
    );
    let mut threads = Vec::new();
    for _ in 0..2 {
        let stop = stop.clone();
        threads.push(on_cpu0(&thread_name("rqb"), 0, move || {
            let end = std::time::Instant::now() + Duration::from_secs(20);
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && std::time::Instant::now() < end
            {
                std::hint::black_box(0u64);
            }
        }));
    }
    let sleeper_stop = stop.clone();
    threads.push(on_cpu0(&name, 19, move || {
        tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while !sleeper_stop.load(std::sync::atomic::Ordering::Relaxed)
            && std::time::Instant::now() < end
        {
            thread::sleep(Duration::from_millis(2));
        }
    }));
    let sleeper = tid_rx.recv().unwrap();
    // Its first wait (sched_wakeup_new) may carry the creator's name.
    let ours = |l: &str| {
        serde_json::from_str::<Value>(l)
            .is_ok_and(|v| v["tid"] == json!(sleeper) && v["comm"] == json!(name))
    };
    let line = tool.wait_line(ours);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let line = line.unwrap_or_else(|| panic!("no wait of {name} ({sleeper}): {:?}", tool.lines()));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["pid"], std::process::id(), "{v}");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    for line in &fin.stdout {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            v["lat_us"].as_u64().unwrap() >= MIN_US,
            "below the threshold: {v}"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [&["0"][..], &["1", "2"], &["-t", "x"]] {
        let fin = common::run("runqslower", args);
        assert_eq!(fin.status.code(), Some(2), "{args:?}: {fin:?}");
    }
}

#[test]
fn lifecycle() {
    lifecycle_checks("runqslower", &["1"], || {
        let spin = spin("rqx");
        thread::sleep(Duration::from_millis(50));
        drop(spin);
    });
}
