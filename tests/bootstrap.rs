//! bootstrap against the real kernel: each test runs copies of /bin/sleep and
//! /bin/sh under unique paths and finds their EXEC and EXIT rows by pid.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Tool, lifecycle_checks, unique};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

/// TIME EVENT COMM PID PPID FILENAME/EXIT CODE
struct Row {
    event: String,
    comm: String,
    pid: String,
    ppid: String,
    rest: String,
}

fn parse(line: &str) -> Option<Row> {
    let mut c = line.split_whitespace();
    let time = c.next()?;
    if time.len() != 8 || time.as_bytes()[2] != b':' {
        return None;
    }
    Some(Row {
        event: c.next()?.to_string(),
        comm: c.next()?.to_string(),
        pid: c.next()?.to_string(),
        ppid: c.next()?.to_string(),
        rest: c.collect::<Vec<_>>().join(" "),
    })
}

fn expect_row(tool: &Tool, event: &str, pid: u32) -> Row {
    let pid = pid.to_string();
    let line = tool
        .wait_line(|l| parse(l).is_some_and(|r| r.event == event && r.pid == pid))
        .unwrap_or_else(|| panic!("no {event} row for pid {pid}: {:?}", tool.lines()));
    parse(&line).unwrap()
}

/// `(N ms)` at the end of an EXIT row.
fn duration_ms(rest: &str) -> Option<u64> {
    rest.rsplit_once(" (")?.1.strip_suffix("ms)")?.parse().ok()
}

/// A copy of `bin` under a unique path (its comm is the unique name).
struct Copy(String);

impl Copy {
    fn of(bin: &str) -> Copy {
        let path = format!("/tmp/{}", unique("bkboot"));
        std::fs::copy(bin, &path).unwrap();
        Copy(path)
    }

    fn comm(&self) -> &str {
        let name = self.0.rsplit('/').next().unwrap();
        &name[..name.len().min(15)]
    }

    /// Runs it to completion; returns (pid, exit code).
    fn run(&self, args: &[&str]) -> (u32, Option<i32>) {
        let mut child = spawn(Command::new(&self.0).args(args));
        let pid = child.id();
        (pid, child.wait().unwrap().code())
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Spawns `cmd`, retrying while another test thread's fork briefly holds a
/// just-copied executable open for writing (ETXTBSY).
fn spawn(cmd: &mut Command) -> std::process::Child {
    for _ in 0..50 {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    panic!("{cmd:?}: executable stays busy");
}

fn me() -> String {
    std::process::id().to_string()
}

#[test]
fn exec_and_exit_rows() {
    let sleep = Copy::of("/bin/sleep");
    let sh = Copy::of("/bin/sh");
    let tool = Tool::start("bootstrap", &[]);
    let (pid, code) = sleep.run(&["0.3"]);
    assert_eq!(code, Some(0));
    let exec = expect_row(&tool, "EXEC", pid);
    assert_eq!(exec.rest, sleep.0, "EXEC shows the filename");
    assert_eq!(exec.comm, sleep.comm());
    assert_eq!(exec.ppid, me());
    let exit = expect_row(&tool, "EXIT", pid);
    assert_eq!(exit.comm, sleep.comm());
    assert_eq!(exit.ppid, me());
    assert!(exit.rest.starts_with("[0] ("), "{}", exit.rest);
    let ms = duration_ms(&exit.rest).unwrap();
    assert!((300..5000).contains(&ms), "sleep 0.3 ran {ms} ms");

    let (pid, code) = sh.run(&["-c", "exit 7"]);
    assert_eq!(code, Some(7));
    assert_eq!(expect_row(&tool, "EXEC", pid).rest, sh.0);
    let exit = expect_row(&tool, "EXIT", pid);
    assert!(exit.rest.starts_with("[7] ("), "{}", exit.rest);
    assert!(duration_ms(&exit.rest).is_some(), "{}", exit.rest);

    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE"
    );
}

#[test]
fn killed_by_a_signal() {
    let sleep = Copy::of("/bin/sleep");
    let tool = Tool::start("bootstrap", &[]);
    let mut child = spawn(Command::new(&sleep.0).arg("30"));
    let pid = child.id();
    expect_row(&tool, "EXEC", pid);
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let exit = expect_row(&tool, "EXIT", pid);
    assert!(
        exit.rest.starts_with("[signal 9 (Killed)] ("),
        "{}",
        exit.rest
    );
}

#[test]
fn min_duration_hides_short_processes_and_execs() {
    // A process's lifetime includes its fork, exec and dynamic loading: a
    // 0.1 s sleep lives over 0.5 s in an emulated guest, so the threshold
    // and the long sleep scale with the machine's slowdown.
    let s = common::slowdown();
    let min_ms = 500 * u64::from(s);
    let sleep = Copy::of("/bin/sleep");
    let tool = Tool::start("bootstrap", &["-d", &min_ms.to_string()]);
    let (short, _) = sleep.run(&["0.1"]);
    let (long, _) = sleep.run(&[&format!("{}", 0.8 * f64::from(s))]);
    let exit = expect_row(&tool, "EXIT", long);
    let ms = duration_ms(&exit.rest).unwrap();
    assert!(ms >= 800 * u64::from(s), "{}", exit.rest);
    let fin = tool.stop();
    let rows: Vec<Row> = fin.stdout.iter().filter_map(|l| parse(l)).collect();
    assert!(
        !rows.iter().any(|r| r.pid == short.to_string()),
        "a 0.1 s process is below -d {min_ms}: {:?}",
        fin.stdout
    );
    assert!(
        rows.iter().all(|r| r.event == "EXIT"),
        "-d hides EXEC rows: {:?}",
        fin.stdout
    );
    assert!(
        rows.iter()
            .all(|r| duration_ms(&r.rest).is_some_and(|ms| ms >= min_ms)),
        "only processes that ran >= {min_ms} ms: {:?}",
        fin.stdout
    );
}

#[test]
fn exec_from_a_thread_is_one_process() {
    // A non-leader thread's execve kills the old leader (pid == tid) in
    // de_thread(): that is not the process exiting.
    // /bin/sh itself, not a fresh copy: an ETXTBSY inside the thread would
    // leave the helper waiting forever.
    let script = "import os, sys, threading\n\
                  sys.stdin.readline()\n\
                  threading.Thread(target=lambda: os.execv('/bin/sh', ['sh', '-c', 'sleep 0.3; exit 6'])).start()\n\
                  threading.Event().wait()\n";
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let tool = Tool::start("bootstrap", &[]);
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(6));
    assert_eq!(expect_row(&tool, "EXEC", pid).rest, "/bin/sh");
    let exit = expect_row(&tool, "EXIT", pid);
    assert!(exit.rest.starts_with("[6] ("), "{}", exit.rest);
    let ms = duration_ms(&exit.rest).unwrap();
    assert!(ms >= 300, "measured from the thread's exec: {}", exit.rest);
    let fin = tool.stop();
    let exits: Vec<String> = fin
        .stdout
        .iter()
        .filter(|l| parse(l).is_some_and(|r| r.event == "EXIT" && r.pid == pid.to_string()))
        .cloned()
        .collect();
    assert_eq!(exits.len(), 1, "one EXIT per process: {exits:?}");
}

#[test]
fn json_fields() {
    let sh = Copy::of("/bin/sh");
    let tool = Tool::start("bootstrap", &["--json"]);
    let mut child = spawn(Command::new(&sh.0).args(["-c", "sleep 0.2; exit 3"]));
    let pid = child.id();
    assert_eq!(child.wait().unwrap().code(), Some(3));
    let exec = tool.expect_json("filename", &json!(sh.0));
    assert_eq!(exec["event"], json!("exec"));
    assert_eq!(exec["pid"], json!(pid));
    assert_eq!(exec["ppid"], json!(std::process::id()));
    assert_eq!(exec["comm"], json!(sh.comm()));
    let found = tool.wait_line(|l| {
        serde_json::from_str::<serde_json::Value>(l)
            .is_ok_and(|v| v["event"] == json!("exit") && v["pid"] == json!(pid))
    });
    let exit: serde_json::Value = serde_json::from_str(&found.expect("exit object")).unwrap();
    assert_eq!(exit["exit_code"], json!(3));
    assert_eq!(exit["signal"], json!(0));
    assert_eq!(exit["ppid"], json!(std::process::id()));
    let ms = exit["duration_ms"].as_u64().expect("duration_ms");
    assert!(ms >= 200, "{exit}");
    assert!(
        exit["duration_ns"]
            .as_u64()
            .is_some_and(|ns| ns / 1_000_000 == ms)
    );
    assert!(exit["time"].is_string());
    tool.stop().assert_json_only();
}

#[test]
fn bad_min_duration_is_a_usage_error() {
    for bad in ["0", "-1", "abc"] {
        let fin = common::run("bootstrap", &["-d", bad]);
        assert_eq!(fin.status.code(), Some(2), "-d {bad}: {fin:?}");
    }
}

#[test]
fn lifecycle() {
    lifecycle_checks("bootstrap", &[], || {
        let _ = Command::new("true").status();
        std::thread::sleep(Duration::from_millis(10));
    });
}
