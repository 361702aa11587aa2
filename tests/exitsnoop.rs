//! exitsnoop against the real kernel: each test makes its own children exit
//! (with a chosen code, by a signal, from a thread) and finds them by pid.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use common::cgroup::{Cgroup, cgroup2_root};
use common::{Tool, lifecycle_checks};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

/// PCOMM PID PPID TID AGE(s) EXIT_CODE — after an optional TIME column.
struct Row {
    comm: String,
    pid: String,
    ppid: String,
    tid: String,
    age: f64,
    exit: String,
}

fn parse(line: &str, timestamp: bool) -> Option<Row> {
    let mut c = line.split_whitespace();
    if timestamp {
        c.next()?;
    }
    Some(Row {
        comm: c.next()?.to_string(),
        pid: c.next()?.to_string(),
        ppid: c.next()?.to_string(),
        tid: c.next()?.to_string(),
        age: c.next()?.parse().ok()?,
        exit: c.collect::<Vec<_>>().join(" "),
    })
}

fn pid_of(line: &str) -> Option<String> {
    parse(line, false).map(|r| r.pid)
}

/// Waits for the row of process `pid` (column PID, not a substring match).
fn expect_row(tool: &Tool, pid: u32, timestamp: bool) -> Row {
    let pid = pid.to_string();
    let line = tool
        .wait_line(|l| parse(l, timestamp).is_some_and(|r| r.pid == pid))
        .unwrap_or_else(|| panic!("no row for pid {pid}: {:?}", tool.lines()));
    parse(&line, timestamp).unwrap()
}

/// Runs `sh -c 'exit CODE'` to completion and returns its pid.
fn exit_with(code: i32) -> u32 {
    let mut child = Command::new("sh")
        .args(["-c", &format!("exit {code}")])
        .spawn()
        .unwrap();
    let pid = child.id();
    assert_eq!(child.wait().unwrap().code(), Some(code));
    pid
}

/// A child blocked on its stdin, so it exists before the tool filters on it.
fn waiting_sh(script: &str) -> Child {
    Command::new("sh")
        .args(["-c", &format!("read x; {script}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap()
}

fn release(child: &mut Child) {
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    child.stdin.as_mut().unwrap().flush().unwrap();
}

fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn me() -> String {
    std::process::id().to_string()
}

#[test]
fn exit_code_pid_ppid_tid() {
    let tool = Tool::start("exitsnoop", &[]);
    let pid = exit_with(7);
    let r = expect_row(&tool, pid, false);
    assert_eq!(r.comm, "sh");
    assert_eq!(r.ppid, me(), "PPID is the test process");
    assert_eq!(
        r.tid,
        pid.to_string(),
        "a single-threaded process: TID = PID"
    );
    assert_eq!(r.exit, "code 7");
    assert!(r.age >= 0.0 && r.age < 10.0, "age {}", r.age);
    let clean = exit_with(0);
    assert_eq!(expect_row(&tool, clean, false).exit, "0");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"]
    );
}

#[test]
fn killed_by_a_signal_is_not_exit_0() {
    let tool = Tool::start("exitsnoop", &["-t"]);
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let r = expect_row(&tool, pid, true);
    assert_eq!(r.exit, "signal 9 (Killed)");
    let line = tool.expect_line("signal 9 (Killed)");
    let time = line.split_whitespace().next().unwrap();
    assert!(
        time.len() == 8 && time.as_bytes()[2] == b':',
        "-t: HH:MM:SS first: {line}"
    );
    let fin = tool.stop();
    assert!(
        fin.stdout[0].starts_with("TIME(s)  PCOMM"),
        "{:?}",
        fin.stdout
    );
}

#[test]
fn failed_only_hides_clean_exits() {
    let tool = Tool::start("exitsnoop", &["-x"]);
    let clean = exit_with(0);
    let failed = exit_with(5);
    assert_eq!(expect_row(&tool, failed, false).exit, "code 5");
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let killed = child.id();
    kill(Pid::from_raw(killed as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
    assert_eq!(
        expect_row(&tool, killed, false).exit,
        "signal 15 (Terminated)"
    );
    let fin = tool.stop();
    // Rows leave the ring buffer in exit order: the clean exit came first.
    assert!(
        !fin.stdout
            .iter()
            .any(|l| pid_of(l) == Some(clean.to_string())),
        "-x must hide exit 0: {:?}",
        fin.stdout
    );
    assert!(
        fin.stdout.iter().skip(1).all(|l| !l.ends_with(" 0")),
        "-x shows only failures: {:?}",
        fin.stdout
    );
}

#[test]
fn age_measures_the_process_lifetime() {
    let tool = Tool::start("exitsnoop", &[]);
    let mut child = Command::new("sleep").arg("1").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let r = expect_row(&tool, pid, false);
    assert!(r.age >= 1.0 && r.age < 5.0, "sleep 1 lived {}s", r.age);
    assert_eq!(r.exit, "0");
}

#[test]
fn pid_filter_shows_only_that_process() {
    let mut target = waiting_sh("exit 4");
    let pid = target.id();
    let tool = Tool::start("exitsnoop", &["-p", &pid.to_string()]);
    let other = exit_with(4);
    release(&mut target);
    target.wait().unwrap();
    assert_eq!(expect_row(&tool, pid, false).exit, "code 4");
    let fin = tool.stop();
    let rows: Vec<_> = fin.stdout.iter().skip(1).collect();
    assert!(
        rows.iter().all(|l| pid_of(l) == Some(pid.to_string())),
        "-p {pid} must hide pid {other}: {rows:?}"
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// Runs `/bin/true` under a unique name (a symlink to it) to completion:
/// its exit row has that name as PCOMM. Returns the name and the pid.
fn exit_named(prefix: &str) -> (String, u32) {
    let mut name = common::unique(prefix);
    name.truncate(15);
    let path = format!("/tmp/{name}");
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink("/bin/true", &path).unwrap();
    let mut child = Command::new(&path).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    std::fs::remove_file(&path).unwrap();
    (name, pid)
}

#[test]
fn cgroup_filter_shows_only_exits_inside() {
    let cg = Cgroup::new("bpfkit-exitsnoop-");
    let mut target = waiting_sh("exit 6");
    let pid = target.id();
    cg.add(pid);
    let tool = Tool::start("exitsnoop", &["-c", cg.arg()]);
    // Outside (like this test): a command of its own name ends first.
    let (outside, outside_pid) = exit_named("bkx");
    release(&mut target);
    assert_eq!(target.wait().unwrap().code(), Some(6));
    let r = expect_row(&tool, pid, false);
    assert_eq!((r.comm.as_str(), r.exit.as_str()), ("sh", "code 6"));
    assert_eq!(r.ppid, me());
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let rows: Vec<Row> = fin
        .stdout
        .iter()
        .skip(1)
        .filter_map(|l| parse(l, false))
        .collect();
    assert!(
        !rows
            .iter()
            .any(|r| r.comm == outside || r.pid == outside_pid.to_string()),
        "an exit outside the cgroup: {:?}",
        fin.stdout
    );
    assert_eq!(
        rows.len(),
        1,
        "only the process in the cgroup: {:?}",
        fin.stdout
    );
    // Without -c it is there: the name and the exit are right.
    let all = Tool::start("exitsnoop", &[]);
    let (name, pid) = exit_named("bkx");
    assert_eq!(expect_row(&all, pid, false).comm, name);
    assert!(all.stop().status.success());
}

#[test]
fn missing_cgroup_is_an_error() {
    let path = format!("{}/bpfkit-no-such-cgroup", cgroup2_root().display());
    let fin = common::run("exitsnoop", &["-c", &path]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr, [format!("exitsnoop: no such cgroup: {path}")]);
    assert!(fin.stdout.is_empty(), "{fin:?}");
}

/// A python helper: on each stdin line it runs one step. Step 1 starts a
/// thread that prints its tid and ends; step 2 exits the process with 3.
struct Threaded {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Threaded {
    fn spawn() -> Threaded {
        let script = "import os, sys, threading, time\n\
                      sys.stdin.readline()\n\
                      t = threading.Thread(target=lambda: print(threading.get_native_id(), flush=True))\n\
                      t.start(); t.join()\n\
                      # join() returns before the OS thread is gone: wait for it,\n\
                      # or exit_group() could still catch it and give it code 3.\n\
                      while len(os.listdir('/proc/self/task')) > 1: time.sleep(0.01)\n\
                      sys.stdin.readline()\n\
                      sys.exit(3)\n";
        let mut child = Command::new(python())
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Threaded { child, out }
    }

    fn run_thread(&mut self) -> String {
        release(&mut self.child);
        let mut tid = String::new();
        self.out.read_line(&mut tid).unwrap();
        tid.trim().to_string()
    }

    fn exit(mut self) {
        release(&mut self.child);
        assert_eq!(self.child.wait().unwrap().code(), Some(3));
    }
}

#[test]
fn threads_only_with_threaded_flag() {
    let helper = Threaded::spawn();
    let pid = helper.child.id().to_string();
    let by_thread = Tool::start("exitsnoop", &["-T", "-p", &pid]);
    let by_process = Tool::start("exitsnoop", &["-p", &pid]);
    let mut helper = helper;
    let tid = helper.run_thread();
    assert_ne!(tid, pid);
    helper.exit();

    // -T: the thread's own exit (PID = process, TID = thread), then the process.
    let line = by_thread
        .wait_line(|l| parse(l, false).is_some_and(|r| r.tid == tid))
        .unwrap_or_else(|| panic!("-T: no row for thread {tid}: {:?}", by_thread.lines()));
    let r = parse(&line, false).unwrap();
    assert_eq!((r.pid.as_str(), r.exit.as_str()), (pid.as_str(), "0"));
    let line = by_thread
        .wait_line(|l| parse(l, false).is_some_and(|r| r.tid == pid))
        .unwrap();
    assert_eq!(parse(&line, false).unwrap().exit, "code 3");

    // Default: one row for the whole process, none for the thread.
    assert_eq!(
        expect_row(&by_process, pid.parse().unwrap(), false).exit,
        "code 3"
    );
    let fin = by_process.stop();
    let rows: Vec<_> = fin.stdout.iter().skip(1).collect();
    assert_eq!(
        rows.len(),
        1,
        "thread exits are hidden without -T: {rows:?}"
    );
    assert!(by_thread.stop().status.success());
}

#[test]
fn exec_from_a_thread_is_not_a_process_exit() {
    // A non-leader thread's execve kills the old leader (pid == tid) in
    // de_thread(); the process lives on as sh and exits with 6 later.
    let script = "import os, sys, threading\n\
                  sys.stdin.readline()\n\
                  threading.Thread(target=lambda: os.execv('/bin/sh', ['sh', '-c', 'sleep 0.2; exit 6'])).start()\n\
                  threading.Event().wait()\n";
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let tool = Tool::start("exitsnoop", &["-p", &pid.to_string()]);
    release(&mut child);
    assert_eq!(child.wait().unwrap().code(), Some(6));
    let r = expect_row(&tool, pid, false);
    assert_eq!((r.comm.as_str(), r.exit.as_str()), ("sh", "code 6"));
    let fin = tool.stop();
    let rows: Vec<_> = fin.stdout.iter().skip(1).collect();
    assert_eq!(rows.len(), 1, "one exit per process: {rows:?}");
}

#[test]
fn duration_prints_the_exits_then_ends_by_itself() {
    let started = std::time::Instant::now();
    let tool = Tool::start("exitsnoop", &["-d", "2"]);
    let pid = exit_with(5);
    let r = expect_row(&tool, pid, false);
    assert_eq!((r.comm.as_str(), r.exit.as_str()), ("sh", "code 5"));
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "-d 2 ended early"
    );
    assert_eq!(
        fin.stdout[0],
        "PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE"
    );
    let row = fin
        .stdout
        .iter()
        .find(|l| pid_of(l) == Some(pid.to_string()));
    assert!(
        row.is_some_and(|l| l.ends_with(" code 5")),
        "{:?}",
        fin.stdout
    );
}

#[test]
fn json_fields() {
    let tool = Tool::start("exitsnoop", &["--json"]);
    let pid = exit_with(7);
    let v = tool.expect_json("pid", &json!(pid));
    assert_eq!(v["ppid"], json!(std::process::id()));
    assert_eq!(v["tid"], json!(pid));
    assert_eq!(v["comm"], json!("sh"));
    assert_eq!(v["exit_code"], json!(7));
    assert_eq!(v["signal"], json!(0));
    assert_eq!(v["core_dumped"], json!(false));
    assert!(v["age_s"].as_f64().is_some_and(|a| a >= 0.0), "{v}");

    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let killed = child.id();
    kill(Pid::from_raw(killed as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let v = tool.expect_json("pid", &json!(killed));
    assert_eq!(v["signal"], json!(9));
    assert_eq!(v["signal_name"], json!("SIGKILL"));
    assert_eq!(v["exit_code"], json!(0));
    tool.stop().assert_json_only();
}

#[test]
fn missing_pid_is_a_clear_error() {
    common::assert_missing_pid_error("exitsnoop");
}

#[test]
fn lifecycle() {
    lifecycle_checks("exitsnoop", &[], || {
        exit_with(1);
    });
}

/// Lesson 8's point: the events reach user space through a ring buffer
/// (lesson 7, execsnoop: perf event array; lesson 8, exitsnoop: ring buffer).
#[test]
fn events_go_through_a_ring_buffer() {
    let tool = Tool::start("exitsnoop", &[]);
    let types = common::map_types_of(tool.pid());
    assert!(
        types.contains(&common::BPF_MAP_TYPE_RINGBUF),
        "map types {types:?}"
    );
    assert!(
        !types.contains(&common::BPF_MAP_TYPE_PERF_EVENT_ARRAY),
        "map types {types:?}"
    );
    assert!(tool.stop().status.success());
}
