//! syscount against syscalls the test makes: a small C program (its own
//! process, so only it matches `-p`) makes a known number of
//! sched_get_priority_max(SCHED_FIFO) calls, which succeed, and of
//! sched_get_priority_min(-1), which fail with EINVAL: libc never makes
//! either by itself, so the counts must be exact.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::cgroup::{Cgroup, cgroup2_root};
use common::{Finished, Tool, compile_c, lifecycle_checks, run};
use serde_json::Value;

const OK_CALLS: u64 = 1234;
const FAILED_CALLS: u64 = 567;
/// The target's comm (the compiled binary's name).
const COMM: &str = "sysc-target";

const TARGET_C: &str = r#"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* sysc-target OK FAILED: says "ready", waits for a line on stdin, makes OK
 * sched_get_priority_max(SCHED_FIFO) calls and FAILED
 * sched_get_priority_min(-1) ones (EINVAL), says "done", and exits when
 * stdin closes. */
int main(int argc, char **argv)
{
	long ok = atol(argv[1]), failed = atol(argv[2]), i;
	char line[64];

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (i = 0; i < ok; i++)
		syscall(SYS_sched_get_priority_max, SCHED_FIFO);
	for (i = 0; i < failed; i++)
		syscall(SYS_sched_get_priority_min, -1);
	printf("done\n");
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
"#;

/// The C program, started and waiting for the word to make its calls.
struct Target {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Target {
    fn start() -> Target {
        let bin = compile_c(COMM, TARGET_C, "-O1");
        let mut child = Command::new(bin)
            .args([OK_CALLS.to_string(), FAILED_CALLS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut t = Target { child, out };
        assert_eq!(t.read_line(), "ready");
        t
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Makes the calls and waits until they are done.
    fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
        assert_eq!(self.read_line(), "done");
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `syscount -p <target> args` around the target's calls; the tool
/// prints once, at SIGINT.
fn trace(args: &[&str], env: &[(&str, &str)]) -> (Finished, String) {
    let mut target = Target::start();
    let pid = target.pid();
    let mut argv = vec!["-p", pid.as_str()];
    if !args.contains(&"-T") {
        argv.extend(["-T", "100"]);
    }
    argv.extend_from_slice(args);
    let tool = Tool::start_env("syscount", &argv, env);
    target.go();
    let fin = tool.stop();
    assert!(fin.status.success(), "syscount {argv:?}: {fin:?}");
    (fin, pid)
}

/// The rows under `header`: first column(s) joined, then the numbers.
fn rows(fin: &Finished, header: &str) -> Vec<(String, Vec<String>)> {
    let at = fin
        .stdout
        .iter()
        .position(|l| l == header)
        .unwrap_or_else(|| panic!("no header {header:?}: {:?}", fin.stdout));
    assert!(
        fin.stdout[at - 1].starts_with('[') && fin.stdout[at - 1].ends_with(']'),
        "[HH:MM:SS] above the header: {:?}",
        fin.stdout
    );
    fin.stdout[at + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<String> = l.split_whitespace().map(String::from).collect();
            let names = f.len() - if header.contains("TIME") { 2 } else { 1 };
            (f[..names].join(" "), f[names..].to_vec())
        })
        .collect()
}

fn count_of(rows: &[(String, Vec<String>)], name: &str) -> Option<u64> {
    rows.iter()
        .find(|r| r.0 == name)
        .map(|r| r.1[0].parse().unwrap())
}

const COUNT_HEADER: &str = "SYSCALL                   COUNT";

#[test]
fn counts_each_syscall_exactly() {
    for env in [&[][..], &[("BPFKIT_RAW_TP", "1")]] {
        let (fin, _) = trace(&[], env);
        let rows = rows(&fin, COUNT_HEADER);
        assert_eq!(
            count_of(&rows, "sched_get_priority_max"),
            Some(OK_CALLS),
            "{env:?} {rows:?}"
        );
        assert_eq!(
            count_of(&rows, "sched_get_priority_min"),
            Some(FAILED_CALLS),
            "{rows:?}"
        );
        // Largest first, every line `%-22s %8llu`.
        let counts: Vec<u64> = rows.iter().map(|r| r.1[0].parse().unwrap()).collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{rows:?}");
        let at = fin.stdout.iter().position(|l| l == COUNT_HEADER).unwrap();
        assert_eq!(
            fin.stdout[at + 1],
            format!("{:<22} {:>8}", "sched_get_priority_max", OK_CALLS)
        );
    }
}

#[test]
fn failures_only_with_x_and_by_errno_with_e() {
    for args in [&["-x"][..], &["-e", "EINVAL"], &["-e", "22"]] {
        let (fin, _) = trace(args, &[]);
        let rows = rows(&fin, COUNT_HEADER);
        assert_eq!(
            count_of(&rows, "sched_get_priority_min"),
            Some(FAILED_CALLS),
            "{args:?}"
        );
        assert_eq!(
            count_of(&rows, "sched_get_priority_max"),
            None,
            "{args:?} {rows:?}"
        );
    }
    let (fin, _) = trace(&["-e", "ENOENT"], &[]);
    assert!(
        !fin.stdout
            .iter()
            .any(|l| l.starts_with("sched_get_priority")),
        "{fin:?}"
    );
}

#[test]
fn top_cuts_the_rows() {
    let (fin, _) = trace(&["-T", "1"], &[]);
    let rows = rows(&fin, COUNT_HEADER);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(count_of(&rows, "sched_get_priority_max"), Some(OK_CALLS));
}

#[test]
fn per_process_with_p() {
    let (fin, pid) = trace(&["-P"], &[]);
    let rows = rows(&fin, &format!("{:<22} {:>8}", "PID    COMM", "COUNT"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, format!("{pid} {COMM}"));
    let count: u64 = rows[0].1[0].parse().unwrap();
    // Its own calls, and the few libc and stdio make.
    assert!(count >= OK_CALLS + FAILED_CALLS, "{rows:?}");
    assert!(count < OK_CALLS + FAILED_CALLS + 100, "{rows:?}");
}

#[test]
fn latency_with_l_in_us_and_ms() {
    for (args, unit) in [(&["-L"][..], "us"), (&["-L", "-m"], "ms")] {
        let (fin, _) = trace(args, &[]);
        let header = format!(
            "{:<22} {:>8} {:>16}",
            "SYSCALL",
            "COUNT",
            format!("TIME ({unit})")
        );
        let rows = rows(&fin, &header);
        let max = rows
            .iter()
            .find(|r| r.0 == "sched_get_priority_max")
            .unwrap();
        assert_eq!(max.1[0], OK_CALLS.to_string());
        let time: f64 = max.1[1].parse().unwrap();
        assert!(time > 0.0, "{rows:?}");
        assert_eq!(
            max.1[1].split_once('.').unwrap().1.len(),
            3,
            "%.3f: {rows:?}"
        );
        // 1234 trivial syscalls take well under a second.
        assert!(time < if unit == "us" { 1e6 } else { 1e3 }, "{rows:?}");
    }
}

#[test]
fn json_rows() {
    let (fin, _) = trace(&["--json", "-L"], &[]);
    fin.assert_json_only();
    assert_eq!(fin.stdout.len(), 1, "{fin:?}");
    let v: Value = serde_json::from_str(&fin.stdout[0]).unwrap();
    assert!(v["time"].as_str().is_some_and(|t| t.len() == 8), "{v}");
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["syscall"] == "sched_get_priority_max")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(row["count"], OK_CALLS);
    assert!(row["time_us"].as_f64().is_some_and(|t| t > 0.0), "{row}");
    let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["count", "syscall", "time_us"]);

    let (fin, pid) = trace(&["--json", "-P", "-x"], &[]);
    fin.assert_json_only();
    let v: Value = serde_json::from_str(&fin.stdout[0]).unwrap();
    assert_eq!(
        v["rows"],
        serde_json::json!([{"pid": pid.parse::<u64>().unwrap(), "comm": COMM, "count": FAILED_CALLS}])
    );
}

#[test]
fn list_names_this_architectures_syscalls() {
    let fin = run("syscount", &["-l"]);
    assert!(fin.status.success(), "{fin:?}");
    assert!(fin.stdout.len() > 300, "{fin:?}");
    assert_eq!(fin.stdout[0], "  0: read");
    #[cfg(target_arch = "x86_64")]
    assert!(
        fin.stdout
            .iter()
            .any(|l| l == "146: sched_get_priority_max")
    );
}

#[test]
fn intervals_and_duration() {
    let start = Instant::now();
    let fin = run("syscount", &["-i", "1", "-d", "3"]);
    let took = start.elapsed();
    assert!(fin.status.success(), "{fin:?}");
    assert!(took >= Duration::from_secs(3), "{took:?}");
    // Other syscalls go on here all the time: each interval prints.
    let stamps = fin.stdout.iter().filter(|l| l.starts_with('[')).count();
    assert!((2..=3).contains(&stamps), "{fin:?}");
    let headers = fin.stdout.iter().filter(|l| *l == COUNT_HEADER).count();
    assert_eq!(headers, stamps, "{fin:?}");
    // Top 10 by default.
    let at = fin.stdout.iter().position(|l| l == COUNT_HEADER).unwrap();
    let rows = fin.stdout[at + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .count();
    assert_eq!(rows, 10, "{fin:?}");

    // Without -i: one print, at the end of -d.
    let fin = run("syscount", &["-d", "1"]);
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout.iter().filter(|l| *l == COUNT_HEADER).count(),
        1,
        "{fin:?}"
    );
}

#[test]
fn same_counts_as_the_c_tool() {
    let mut target = Target::start();
    let pid = target.pid();
    // Line-buffered: the C tool's banner says it has attached.
    let mut c_tool = Command::new("stdbuf")
        .args(["-oL", "/usr/sbin/syscount", "-p", &pid, "-T", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("/usr/sbin/syscount (Debian's libbpf-tools: scripts/deps.sh)");
    let mut c_out = BufReader::new(c_tool.stdout.take().unwrap());
    let mut banner = String::new();
    c_out.read_line(&mut banner).unwrap();
    assert!(banner.starts_with("Tracing syscalls"), "{banner}");
    let tool = Tool::start("syscount", &["-p", &pid, "-T", "100"]);
    target.go();
    let fin = tool.stop();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c_tool.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let c_lines: Vec<String> = c_out.lines().map_while(Result::ok).collect();
    assert!(c_tool.wait().unwrap().success());
    let ours: Vec<&String> = fin
        .stdout
        .iter()
        .filter(|l| l.starts_with("sched_"))
        .collect();
    let theirs: Vec<&String> = c_lines.iter().filter(|l| l.starts_with("sched_")).collect();
    assert_eq!(
        ours, theirs,
        "ours {:?}, /usr/sbin/syscount {c_lines:?}",
        fin.stdout
    );
    assert_eq!(ours.len(), 2);
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error("syscount");
}

#[test]
fn lifecycle() {
    lifecycle_checks("syscount", &["-i", "1"], || {
        let _ = std::process::id();
    });
}

#[test]
fn cgroup_filter_counts_only_processes_inside() {
    let cg = Cgroup::new("bpfkit-syscount-");
    let mut inside = Target::start();
    cg.add(inside.child.id());
    let mut outside = Target::start();
    let tool = Tool::start("syscount", &["-c", cg.arg(), "-P", "-x"]);
    outside.go();
    inside.go();
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    // -x: only the failed calls, the inside target's only.
    let rows = rows(&fin, &format!("{:<22} {:>8}", "PID    COMM", "COUNT"));
    assert_eq!(
        rows,
        [(
            format!("{} {COMM}", inside.pid()),
            vec![FAILED_CALLS.to_string()]
        )],
        "{fin:?}"
    );
    drop((inside, outside));
}

#[test]
fn missing_cgroup_is_an_error() {
    let path = format!("{}/bpfkit-no-such-cgroup", cgroup2_root().display());
    let fin = run("syscount", &["-c", &path]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr, [format!("syscount: no such cgroup: {path}")]);
}
