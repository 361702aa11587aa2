//! biosnoop against real block I/O: each test writes with a `dd` child of
//! its own (O_DIRECT: dd itself issues every request) to a loop device of
//! its own, and looks for that dd's rows.
mod common;

use std::process::Command;

use bpfkit::probe::{self, Mechanism, Needs, ProbeMode};
use common::cgroup::Cgroup;
use common::loopdev::LoopDev;
use common::{Finished, Tool, lifecycle_checks};

const TOOL: &str = "biosnoop";

fn needs() -> Needs {
    bpfkit::hooks::biosnoop()
}

/// Runs `dd oflag=direct` to `dev` (in `cgroup` when given) and returns
/// its pid once it has ended.
fn dd(cgroup: Option<&Cgroup>, dev: &LoopDev, bs: u32, count: u32) -> u32 {
    let join = cgroup.map_or(String::new(), |c| {
        format!("echo $$ > {}/cgroup.procs && ", c.arg())
    });
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{join}exec dd if=/dev/zero of={} bs={bs} count={count} oflag=direct status=none",
            dev.dev
        ))
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    pid
}

/// Table rows (split on whitespace) of process `pid`.
fn rows_of(fin: &Finished, pid: u32) -> Vec<Vec<String>> {
    fin.stdout
        .iter()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|c| c.len() > 2 && c[2] == pid.to_string())
        .collect()
}

/// With `args`, a dd of 50 × 8 KiB shows as 50 rows: comm dd, its pid, our
/// disk, a write of 8192 bytes each, through `mechanism`.
fn sees_dd(args: &[&str], mechanism: Mechanism) {
    let disk = LoopDev::new(64);
    let mut argv = args.to_vec();
    argv.extend(["-d", disk.name()]);
    let tool = Tool::start(TOOL, &argv);
    common::assert_using(&tool, mechanism);
    let pid = dd(None, &disk, 8192, 50);
    tool.wait_line(|l| l.contains(&format!(" {pid} ")) && l.contains(" 784 "));
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)"
    );
    let rows = rows_of(&fin, pid);
    assert_eq!(rows.len(), 50, "{:?}", fin.stdout);
    for (i, c) in rows.iter().enumerate() {
        // TIME(s) COMM PID DISK T SECTOR BYTES LAT(ms)
        assert_eq!((c[1].as_str(), c[3].as_str()), ("dd", disk.name()), "{c:?}");
        assert!(c[4].starts_with('W'), "{c:?}");
        assert_eq!(c[5], (i * 16).to_string(), "sectors in order: {c:?}");
        assert_eq!(c[6], "8192", "{c:?}");
        assert!(c[7].parse::<f64>().is_ok_and(|ms| ms >= 0.0), "{c:?}");
    }
}

/// Where no mechanism works (blk_account_io_start inlined, no
/// block_io_start tracepoint: Debian's 6.1), the tool refuses with one line
/// naming what is missing.
fn refuses(args: &[&str], why: &str) {
    let mut argv = args.to_vec();
    argv.push("1");
    let fin = common::run(TOOL, &argv);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "{fin:?}");
    assert!(fin.stderr[0].starts_with("biosnoop: "), "{fin:?}");
    assert!(fin.stderr[0].contains(why), "{fin:?} should say {why}");
}

/// The mechanism auto picks here, or why none works.
fn auto() -> Result<Mechanism, String> {
    probe::choose(ProbeMode::Auto, &needs())
        .map(|c| c.mechanism)
        .map_err(|e| e.to_string())
}

#[test]
fn mechanism_auto() {
    match auto() {
        Ok(m) => sees_dd(&["--probe=auto"], m),
        Err(why) => refuses(&["--probe=auto"], &why),
    }
}

fn forced(m: Mechanism) {
    let flag = format!("--probe={m}");
    match probe::unavailable_reason(m, &needs()) {
        None => sees_dd(&[&flag], m),
        Some(why) => refuses(
            &[&flag],
            &format!("--probe {m} is not available on this kernel: {why}"),
        ),
    }
}

#[test]
fn mechanism_fentry() {
    forced(Mechanism::Fentry);
}

#[test]
fn mechanism_kprobe() {
    forced(Mechanism::Kprobe);
}

#[test]
fn mechanism_tracepoint() {
    forced(Mechanism::Tracepoint);
}

/// The tests below need a mechanism; where there is none they check the
/// refusal instead.
fn hookable() -> bool {
    match auto() {
        Ok(_) => true,
        Err(why) => {
            refuses(&[], &why);
            false
        }
    }
}

#[test]
fn queued_column_through_an_io_scheduler() {
    if !hookable() {
        return;
    }
    let disk = LoopDev::new(64);
    std::fs::write(
        format!("/sys/block/{}/queue/scheduler", disk.name()),
        "mq-deadline",
    )
    .unwrap();
    let tool = Tool::start(TOOL, &["-Q", "-d", disk.name()]);
    let pid = dd(None, &disk, 4096, 10);
    tool.wait_line(|l| l.contains(&format!(" {pid} ")) && l.contains(" 72 "));
    let fin = tool.stop();
    assert!(
        fin.stdout[0].ends_with("BYTES   QUE(ms) LAT(ms)"),
        "{:?}",
        fin.stdout
    );
    let rows = rows_of(&fin, pid);
    assert_eq!(rows.len(), 10, "{:?}", fin.stdout);
    // Each waited in mq-deadline: insert seen, a queue time of 0 or more.
    assert!(
        rows.iter()
            .all(|c| c[7].parse::<f64>().is_ok_and(|q| q >= 0.0)),
        "{rows:?}"
    );
}

#[test]
fn another_disk_and_cgroup_are_filtered_out() {
    if !hookable() {
        return;
    }
    let (ours, other) = (LoopDev::new(64), LoopDev::new(64));
    let cg = Cgroup::new("bpfkit-biosnoop-");
    let tool = Tool::start(TOOL, &["-d", ours.name(), "-c", cg.arg()]);
    let elsewhere = dd(Some(&cg), &other, 4096, 5);
    let outside = dd(None, &ours, 4096, 5);
    let inside = dd(Some(&cg), &ours, 4096, 3);
    tool.wait_line(|l| l.contains(&format!(" {inside} ")) && l.contains(" 16 "));
    let fin = tool.stop();
    assert_eq!(rows_of(&fin, inside).len(), 3, "{:?}", fin.stdout);
    assert!(rows_of(&fin, outside).is_empty(), "{:?}", fin.stdout);
    assert!(rows_of(&fin, elsewhere).is_empty(), "{:?}", fin.stdout);
}

#[test]
fn json_rows() {
    if !hookable() {
        return;
    }
    let disk = LoopDev::new(64);
    let tool = Tool::start(TOOL, &["--json", "-d", disk.name()]);
    let pid = dd(None, &disk, 8192, 3);
    let v = tool.expect_json("sector", &serde_json::json!(32));
    assert_eq!(
        (v["pid"].as_u64(), v["comm"].as_str()),
        (Some(u64::from(pid)), Some("dd"))
    );
    assert_eq!(
        (v["disk"].as_str(), v["op"].as_str()),
        (Some(disk.name()), Some("write"))
    );
    assert_eq!(v["bytes"], 8192);
    assert!(v["lat_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    tool.stop().assert_json_only();
}

#[test]
fn unknown_disk_is_one_line_and_exit_1() {
    let fin = common::run(TOOL, &["-d", "nosuchdisk0"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(
        fin.stderr,
        ["biosnoop: no such disk: nosuchdisk0 (see /proc/partitions)"]
    );
}

#[test]
fn lifecycle() {
    if !hookable() {
        return;
    }
    let disk = LoopDev::new(64);
    lifecycle_checks(TOOL, &["-d", disk.name()], || disk.write_direct(4096, 4));
}
