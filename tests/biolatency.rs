//! biolatency against real block I/O: each test writes with O_DIRECT to a
//! loop device of its own (nothing else on the machine uses it) and reads
//! the histogram the tool prints for that disk, so other I/O cannot make a
//! test pass or fail.
mod common;

use std::process::Command;

use common::cgroup::Cgroup;
use common::loopdev::LoopDev;
use common::{Finished, Section, Tool, lifecycle_checks};

/// Runs `biolatency args`, calls `io` once it has attached, stops it and
/// returns what it printed.
fn trace(args: &[&str], env: &[(&str, &str)], io: impl FnOnce()) -> Finished {
    let tool = Tool::start_env("biolatency", args, env);
    io();
    let fin = tool.stop();
    assert!(fin.status.success(), "biolatency {args:?}: {fin:?}");
    fin
}

/// The histogram under the header `header`; panics if there is none.
fn section(fin: &Finished, header: &str) -> Section {
    let secs = common::hist_sections(&fin.stdout);
    secs.into_iter()
        .find(|s| s.header == header)
        .unwrap_or_else(|| panic!("no histogram under {header:?}: {:?}", fin.stdout))
}

/// `dd oflag=direct` of `count` blocks of `bs` bytes to `dev`, started in
/// `cgroup` (before it execs dd) or where the test runs.
fn dd_in(cgroup: Option<&Cgroup>, dev: &LoopDev, bs: u32, count: u32) {
    let join = cgroup.map_or(String::new(), |c| {
        format!("echo $$ > {}/cgroup.procs && ", c.arg())
    });
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{join}exec dd if=/dev/zero of={} bs={bs} count={count} oflag=direct status=none",
            dev.node.display()
        ))
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn per_disk_counts_exactly_our_writes() {
    let disk = LoopDev::new(64);
    let fin = trace(&["-D", "-d", disk.name()], &[], || {
        disk.write_direct(4096, 200)
    });
    let s = section(&fin, &format!("disk = {}", disk.name()));
    assert_eq!(s.unit, "usecs");
    assert_eq!(s.total(), 200, "{:?}", fin.stdout);
    // -d: no other disk's histogram.
    assert_eq!(
        common::hist_sections(&fin.stdout).len(),
        1,
        "{:?}",
        fin.stdout
    );
    // A per-disk histogram follows an empty line, as in libbpf-tools.
    let at = fin
        .stdout
        .iter()
        .position(|l| l.starts_with("disk = "))
        .unwrap();
    assert_eq!(fin.stdout[at - 1], "");
    assert!(
        fin.stderr.iter().any(|l| l == "using tp_btf"),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn per_flag_shows_the_write_flag_set() {
    let disk = LoopDev::new(64);
    let fin = trace(&["-F", "-m", "-d", disk.name()], &[], || {
        disk.write_direct(4096, 200)
    });
    let secs = common::hist_sections(&fin.stdout);
    let writes: u64 = secs
        .iter()
        .filter(|s| s.header.starts_with("flags = ") && s.header.ends_with("Write"))
        .map(Section::total)
        .sum();
    assert_eq!(writes, 200, "{:?}", fin.stdout);
    // O_DIRECT writes are synchronous.
    assert!(
        secs.iter().any(|s| s.header.contains("Sync-")),
        "{:?}",
        fin.stdout
    );
    assert!(secs.iter().all(|s| s.unit == "msecs"));
}

#[test]
fn another_disk_is_filtered_out() {
    let (ours, other) = (LoopDev::new(64), LoopDev::new(64));
    let fin = trace(&["-D", "-d", ours.name()], &[], || {
        other.write_direct(4096, 50);
        ours.write_direct(4096, 7);
    });
    let secs = common::hist_sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(secs[0].header, format!("disk = {}", ours.name()));
    assert_eq!(secs[0].total(), 7, "{:?}", fin.stdout);
}

#[test]
fn unknown_disk_is_one_line_and_exit_1() {
    let fin = common::run("biolatency", &["-d", "nosuchdisk0"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(
        fin.stderr,
        ["biolatency: no such disk: nosuchdisk0 (see /proc/partitions)"]
    );
}

#[test]
fn queued_time_through_an_io_scheduler() {
    let disk = LoopDev::new(64);
    // mq-deadline: requests wait in the scheduler between insert and issue.
    std::fs::write(
        format!("/sys/block/{}/queue/scheduler", disk.name()),
        "mq-deadline",
    )
    .unwrap();
    let fin = trace(&["-Q", "-D", "-d", disk.name()], &[], || {
        disk.write_direct(4096, 100)
    });
    let s = section(&fin, &format!("disk = {}", disk.name()));
    assert_eq!(s.total(), 100, "{:?}", fin.stdout);
}

#[test]
fn raw_tp_fallback() {
    let disk = LoopDev::new(64);
    let fin = trace(
        &["-D", "-d", disk.name()],
        &[("BPFKIT_RAW_TP", "1")],
        || disk.write_direct(4096, 30),
    );
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "using raw_tp (BPFKIT_RAW_TP=1)"),
        "{:?}",
        fin.stderr
    );
    assert_eq!(
        section(&fin, &format!("disk = {}", disk.name())).total(),
        30,
        "{:?}",
        fin.stdout
    );
}

#[test]
fn json_histogram_per_disk_and_flags() {
    let disk = LoopDev::new(64);
    let fin = trace(
        &["--json", "-T", "-D", "-F", "-d", disk.name()],
        &[],
        || disk.write_direct(4096, 20),
    );
    fin.assert_json_only();
    let objs: Vec<serde_json::Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ours: u64 = objs
        .iter()
        .filter(|v| {
            v["disk"] == disk.name()
                && v["req_flags"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("Write"))
        })
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(ours, 20, "{objs:?}");
    assert!(
        objs.iter()
            .all(|v| v["unit"] == "usecs" && v["time"].is_string())
    );
}

#[test]
fn cgroup_filter_counts_only_io_started_inside() {
    let disk = LoopDev::new(64);
    let cg = Cgroup::new("bpfkit-biolat-");
    let fin = trace(&["-D", "-d", disk.name(), "-c", cg.arg()], &[], || {
        dd_in(None, &disk, 4096, 40);
        dd_in(Some(&cg), &disk, 4096, 9);
    });
    assert_eq!(
        section(&fin, &format!("disk = {}", disk.name())).total(),
        9,
        "{:?}",
        fin.stdout
    );
}

#[test]
fn lifecycle() {
    let disk = LoopDev::new(64);
    lifecycle_checks("biolatency", &["-d", disk.name(), "1"], || {
        disk.write_direct(4096, 4)
    });
}
