//! hardirqs against real device interrupts: the test writes and freads a
//! file on the disk (the virtio block device interrupts on completion)
//! while the tool runs, and checks what it prints against
//! /proc/interrupts.
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use common::cgroup::{Cgroup, Spinner};
use common::{Background, Finished, Tool, event_timeout, lifecycle_checks};
use serde_json::Value;

/// Uncached reads in the background: each round drops a file's pages from
/// the page cache (posix_fadvise DONTNEED) and reads it again, so the block
/// device (virtio-blk here, virtio 9p/fs in a virtme-ng VM) completes
/// requests with hard interrupts. Read-only: works on a read-only root too.
fn disk_io() -> Background {
    Background::start(|| {
        // A file of the repo that no process maps (mapped pages stay cached).
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/vmlinux/x86_64/vmlinux.h"
        ));
        // 256 KiB a round: several requests, yet a round completes well
        // within a 1-second interval even over 9p in an emulated guest.
        move || {
            use std::io::Read;
            use std::os::fd::AsRawFd;
            let f = std::fs::File::open(&path).unwrap();
            // SAFETY: a valid fd; advice only.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            std::io::copy(&mut f.take(256 << 10), &mut std::io::sink()).unwrap();
            thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Interrupt counts by action name (summed over CPUs) from /proc/interrupts.
/// Lines whose irq is shared by several actions (`a, b`) are left out.
fn proc_interrupts() -> BTreeMap<String, u64> {
    proc_interrupts_on(None)
}

/// [`proc_interrupts`] on one CPU only, if given.
fn proc_interrupts_on(cpu: Option<usize>) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string("/proc/interrupts").unwrap();
    let mut lines = text.lines();
    let ncpu = lines.next().unwrap().split_whitespace().count();
    let mut out = BTreeMap::new();
    for l in lines {
        let mut f = l.split_whitespace();
        let Some(irq) = f.next() else { continue };
        if !irq
            .trim_end_matches(':')
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        let fields: Vec<&str> = f.collect();
        if fields.len() < ncpu + 1 {
            continue;
        }
        let total: u64 = fields[..ncpu]
            .iter()
            .enumerate()
            .filter(|(i, _)| cpu.is_none_or(|c| c == *i))
            .map(|(_, v)| v)
            .map(|v| v.parse::<u64>().unwrap())
            .sum();
        let name = l.rsplit("  ").next().unwrap().trim().to_string();
        if !name.contains(", ") {
            out.insert(name, total);
        }
    }
    out
}

/// Runs `hardirqs args` (which must end by itself) with disk activity.
fn run_with_io(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let io = disk_io();
    assert!(
        io.wait_rounds(1, event_timeout()),
        "no uncached read completed"
    );
    let tool = Tool::start_env("hardirqs", args, env);
    let before = io.rounds();
    let fin = tool.wait();
    assert!(
        io.rounds() > before,
        "no uncached read completed while hardirqs ran"
    );
    drop(io);
    assert!(fin.status.success(), "hardirqs {args:?}: {fin:?}");
    fin
}

const TIME_HEADER: &str = "HARDIRQ                    TOTAL_usecs";
const COUNT_HEADER: &str = "HARDIRQ                    TOTAL_count";

/// The rows under `header` (`%-26s %11llu`), checked for shape and order.
fn parse_rows(fin: &Finished, header: &str) -> Vec<(String, u64)> {
    let lines = &fin.stdout;
    let at = lines
        .iter()
        .position(|l| l == header)
        .unwrap_or_else(|| panic!("no {header:?}: {lines:?}"));
    let mut rows = Vec::new();
    for l in &lines[at + 1..] {
        if l.is_empty() {
            break;
        }
        let (name, value) = l.rsplit_once(' ').unwrap();
        let name = name.trim_end();
        if name.len() <= 26 {
            assert_eq!(l.len(), 38, "row width: {l:?}");
        }
        let value: u64 = value.trim().parse().unwrap();
        rows.push((name.to_string(), value));
    }
    // Largest first.
    assert!(rows.windows(2).all(|w| w[0].1 >= w[1].1), "{rows:?}");
    rows
}

/// Every name the tool prints is an interrupt action of this machine.
fn assert_known_names<'a>(names: impl IntoIterator<Item = &'a str>) {
    let text = std::fs::read_to_string("/proc/interrupts").unwrap();
    for n in names {
        assert!(
            !n.is_empty() && text.contains(n),
            "{n:?} is not in /proc/interrupts"
        );
    }
}

#[test]
fn total_time_per_irq() {
    let fin = run_with_io(&["1", "1"], &[]);
    assert_eq!(fin.stdout.first().map(String::as_str), Some(""));
    let rows = parse_rows(&fin, TIME_HEADER);
    assert!(!rows.is_empty(), "no irq seen: {:?}", fin.stdout);
    assert_known_names(rows.iter().map(|r| r.0.as_str()));
}

#[test]
fn counts_match_proc_interrupts() {
    let before = proc_interrupts();
    let fin = run_with_io(&["-C", "1", "1"], &[]);
    let after = proc_interrupts();
    let rows = parse_rows(&fin, COUNT_HEADER);
    assert!(rows.iter().any(|r| r.1 > 0), "{:?}", fin.stdout);
    assert_known_names(rows.iter().map(|r| r.0.as_str()));
    // The tool saw no more interrupts than the kernel counted around it.
    for (name, count) in &rows {
        assert!(*count > 0, "{name}");
        if let (Some(a), Some(b)) = (after.get(name), before.get(name)) {
            assert!(*count <= a - b, "{name}: tool {count}, kernel {}", a - b);
        }
    }
}

#[test]
fn distributions() {
    let fin = run_with_io(&["-d", "1", "1"], &[]);
    assert!(
        !fin.stdout.iter().any(|l| l.starts_with("HARDIRQ")),
        "{:?}",
        fin.stdout
    );
    let mut names = Vec::new();
    let mut total = 0u64;
    let lines = &fin.stdout;
    for (i, l) in lines.iter().enumerate() {
        if let Some(name) = l.strip_prefix("hardirq = ") {
            names.push(name.to_string());
            assert_eq!(
                lines[i + 1],
                "     usecs               : count    distribution"
            );
            assert!(lines[i + 2].starts_with("         0 -> 1          : "));
            for r in lines[i + 2..].iter().take_while(|r| r.contains(" -> ")) {
                let (_, rest) = r.split_once(" : ").unwrap();
                let (count, bar) = rest.split_once('|').unwrap();
                assert!(bar.ends_with('|') && bar.len() == 41, "{r:?}");
                total += count.trim().parse::<u64>().unwrap();
            }
        }
    }
    assert!(!names.is_empty(), "no histogram: {lines:?}");
    assert!(total > 0);
    // Sorted by name.
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    assert_known_names(names.iter().map(String::as_str));
}

fn json_objects(fin: &Finished) -> Vec<Value> {
    fin.assert_json_only();
    fin.stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn json_and_nanoseconds() {
    let fin = run_with_io(&["--json", "-N", "-T", "1", "1"], &[]);
    let objs = json_objects(&fin);
    assert_eq!(objs.len(), 1, "one object per interval: {objs:?}");
    assert_eq!(keys(&objs[0]), ["rows", "time"], "{}", objs[0]);
    assert_eq!(objs[0]["time"].as_str().map(str::len), Some(8));
    let rows = objs[0]["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{fin:?}");
    for v in rows {
        assert_eq!(keys(v), ["count", "hardirq", "max_ns", "time_ns"], "{v}");
        let (count, total, max) = (
            v["count"].as_u64().unwrap(),
            v["time_ns"].as_u64().unwrap(),
            v["max_ns"].as_u64().unwrap(),
        );
        // A handler runs for far more than a nanosecond; the longest run
        // is part of the total, and no run is longer than it.
        assert!(count > 0 && total > count, "{v}");
        assert!(max <= total && max * count >= total, "{v}");
    }
    assert_known_names(rows.iter().map(|v| v["hardirq"].as_str().unwrap()));

    let fin = run_with_io(&["--json", "-C", "1", "1"], &[]);
    let objs = json_objects(&fin);
    assert_eq!(keys(&objs[0]), ["rows"], "{}", objs[0]);
    let rows = objs[0]["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{fin:?}");
    for v in rows {
        assert_eq!(keys(v), ["count", "hardirq"], "{v}");
        assert!(v["count"].as_u64().unwrap() > 0);
    }

    let fin = run_with_io(&["--json", "-d", "1", "1"], &[]);
    let objs = json_objects(&fin);
    assert!(!objs.is_empty(), "{fin:?}");
    for v in &objs {
        assert_eq!(
            keys(v),
            ["avg", "buckets", "count", "hardirq", "sum", "unit"],
            "{v}"
        );
        let buckets = v["buckets"].as_array().unwrap();
        let sum: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(v["count"].as_u64(), Some(sum), "{v}");
        assert!(sum > 0);
    }
}

#[test]
fn both_tracepoint_styles() {
    let expect_btf = matches!(
        bpfkit::probe::tp_btf_can_attach("irq_handler_entry"),
        bpfkit::probe::FentrySupport::Yes
    );
    let want = if expect_btf {
        "using tp_btf"
    } else {
        "using raw_tp"
    };
    for (env, want) in [
        (&[][..], want),
        (
            &[("BPFKIT_RAW_TP", "1")][..],
            "using raw_tp (BPFKIT_RAW_TP=1)",
        ),
    ] {
        // Timing, which needs both the entry and the exit program.
        let fin = run_with_io(&["1", "1"], env);
        assert!(
            fin.stderr.iter().any(|l| l.starts_with(want)),
            "{env:?}: {:?}",
            fin.stderr
        );
        let rows = parse_rows(&fin, TIME_HEADER);
        assert!(!rows.is_empty(), "{env:?}: {:?}", fin.stdout);
        assert_known_names(rows.iter().map(|r| r.0.as_str()));
    }
}

#[test]
fn cgroup_filter() {
    let root = common::cgroup::cgroup2_root();
    let empty = Cgroup::new("bpfkit-hardirqs-");
    let busy = Cgroup::new("bpfkit-hardirqs-");
    // Busy loops that keep both CPUs busy (one more than CPUs), so the disk
    // interrupts mostly preempt them; running before any tool starts, so
    // every window sees them (starting `sh` in an emulated guest is slow).
    let spinners: Vec<Spinner> = (0..3).map(|_| busy.spinner(false)).collect();
    let io = disk_io();
    // Over the same interrupts: no filter, the root cgroup (every task,
    // the idle task included), a cgroup no task is in, and the busy one.
    let all = Tool::start("hardirqs", &["-C", "2", "1"]);
    let in_root = Tool::start("hardirqs", &["-C", "-c", root.to_str().unwrap(), "2", "1"]);
    let in_empty = Tool::start("hardirqs", &["-C", "--cgroup", empty.arg(), "2", "1"]);
    let in_busy = Tool::start("hardirqs", &["-C", "--cgroup", busy.arg(), "2", "1"]);
    let (all, in_root, in_empty, in_busy) =
        (all.wait(), in_root.wait(), in_empty.wait(), in_busy.wait());
    drop(io);
    drop(spinners);
    let all = parse_rows(&all, COUNT_HEADER);
    assert!(!all.is_empty());
    let in_root = parse_rows(&in_root, COUNT_HEADER);
    assert!(!in_root.is_empty(), "the root cgroup holds every task");
    let in_empty = parse_rows(&in_empty, COUNT_HEADER);
    assert!(
        in_empty.is_empty(),
        "no task is in {}, yet: {in_empty:?}",
        empty.arg()
    );
    let in_busy = parse_rows(&in_busy, COUNT_HEADER);
    assert!(!in_busy.is_empty(), "no irq preempted the busy loops");
    assert_known_names(in_busy.iter().map(|r| r.0.as_str()));
}

#[test]
fn bad_cgroup_is_an_error() {
    let fin = common::run(
        "hardirqs",
        &["-c", "/sys/fs/cgroup/no-such-bpfkit-cg", "1", "1"],
    );
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "hardirqs: no such cgroup: /sys/fs/cgroup/no-such-bpfkit-cg"),
        "{fin:?}"
    );
}

#[test]
fn count_and_distributions_do_not_mix() {
    let fin = common::run("hardirqs", &["-C", "-d"]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
}

#[test]
fn lifecycle() {
    lifecycle_checks("hardirqs", &["1"], || {
        let io = disk_io();
        thread::sleep(Duration::from_millis(30));
        drop(io);
    });
}

/// `hardirqs -C` rows of one finished run, by name.
fn counts(fin: &Finished) -> BTreeMap<String, u64> {
    let objs = json_objects(fin);
    assert_eq!(objs.len(), 1, "{objs:?}");
    (objs[0]["rows"].as_array().unwrap().iter())
        .map(|v| {
            (
                v["hardirq"].as_str().unwrap().to_string(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_disk_irq_is_counted() {
    // The action /proc/interrupts saw fire most during the run is the one
    // the uncached reads drive (virtio1-req.0 on this VM's root disk):
    // hardirqs must report it, with a count.
    let before = proc_interrupts();
    let fin = run_with_io(&["--json", "-C", "1", "1"], &[]);
    let after = proc_interrupts();
    let (busiest, fired) = (after.iter())
        .map(|(name, a)| (name.clone(), a - before.get(name).copied().unwrap_or(*a)))
        .max_by_key(|(_, d)| *d)
        .unwrap();
    assert!(
        fired >= 10,
        "the disk reads raised no interrupt: {busiest} {fired}"
    );
    let seen = counts(&fin);
    let count = seen.get(&busiest).copied().unwrap_or(0);
    assert!(
        count > 0,
        "{busiest} fired {fired} times, hardirqs saw {seen:?}"
    );
    assert!(count <= fired, "{busiest}: tool {count}, kernel {fired}");
}

#[test]
fn cpu_filter_counts_that_cpu_only() {
    let before = [proc_interrupts_on(Some(0)), proc_interrupts_on(Some(1))];
    let io = disk_io();
    assert!(
        io.wait_rounds(1, event_timeout()),
        "no uncached read completed"
    );
    let tools = [
        Tool::start("hardirqs", &["--json", "-C", "-s", "0", "1", "1"]),
        Tool::start("hardirqs", &["--json", "-C", "--cpu", "1", "1", "1"]),
    ];
    let fins = tools.map(Tool::wait);
    drop(io);
    let after = [proc_interrupts_on(Some(0)), proc_interrupts_on(Some(1))];
    let mut total = 0;
    for cpu in 0..2 {
        assert!(fins[cpu].status.success(), "{:?}", fins[cpu]);
        for (name, count) in counts(&fins[cpu]) {
            total += count;
            // Never more than the kernel counted on that CPU (an action
            // that did not fire there does not show up at all).
            if let (Some(a), Some(b)) = (after[cpu].get(&name), before[cpu].get(&name)) {
                assert!(
                    count <= a - b,
                    "cpu {cpu}: {name}: tool {count}, kernel {}",
                    a - b
                );
            }
        }
    }
    assert!(total > 0, "{fins:?}");
}

#[test]
fn three_intervals_print_three_tables() {
    let fin = run_with_io(&["-C", "-T", "1", "3"], &[]);
    let at: Vec<usize> = (fin.stdout.iter().enumerate())
        .filter(|(_, l)| *l == COUNT_HEADER)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 3, "{:?}", fin.stdout);
    for i in at {
        // Each print: an empty line, HH:MM:SS, the table.
        let ts = &fin.stdout[i - 1];
        assert!(ts.len() == 8 && ts.as_bytes()[2] == b':', "{ts:?}");
        assert_eq!(fin.stdout[i - 2], "");
    }
    let fin = run_with_io(&["--json", "1", "3"], &[]);
    assert_eq!(json_objects(&fin).len(), 3, "{:?}", fin.stdout);
}
