//! statsnoop against the real kernel: each test stats unique paths from a
//! directory of its own, with a copy of `stat` under a name of its own, so
//! rows are told apart from other activity by their comm and path.
mod common;

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Tool, lifecycle_checks, unique};
use serde_json::json;

const TOOL: &str = "statsnoop";

/// A directory with a renamed `stat` (the comm) and an existing file.
struct Fixture {
    dir: PathBuf,
    comm: String,
}

impl Fixture {
    fn new() -> Fixture {
        let comm = unique("st");
        let dir = std::env::temp_dir().join(format!("bpfkit-{comm}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy("/usr/bin/stat", dir.join(&comm)).unwrap();
        std::fs::write(dir.join("exists"), "x").unwrap();
        Fixture { dir, comm }
    }

    /// Runs the renamed stat on the relative `paths` from the fixture's
    /// directory; its pid.
    fn stat(&self, paths: &[&str]) -> u32 {
        let mut child = Command::new(self.dir.join(&self.comm))
            .args(paths)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// The row of `pid` for `path` (PID first, PATH last).
fn row(tool: &Tool, pid: u32, path: &str) -> Vec<String> {
    let pid = pid.to_string();
    let line = tool.wait_line(|l| {
        let c = columns(l);
        c.first() == Some(&pid) && c.last().map(String::as_str) == Some(path)
    });
    columns(&line.unwrap_or_else(|| {
        panic!(
            "no row of pid {pid} for {path}: {:?}; stderr {:?}",
            tool.lines(),
            tool.stderr_lines()
        )
    }))
}

#[test]
fn relative_paths_resolve_from_the_working_directory() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &[]);
    let missing = unique("missing-");
    let pid = fx.stat(&[&missing, "exists"]);
    // PID COMM RET ERR PATH
    let c = row(&tool, pid, &fx.path(&missing));
    assert_eq!(c[1], fx.comm, "{c:?}");
    assert_eq!((c[2].as_str(), c[3].as_str()), ("-1", "2"), "ENOENT: {c:?}");
    let c = row(&tool, pid, &fx.path("exists"));
    assert_eq!((c[2].as_str(), c[3].as_str()), ("0", "0"), "{c:?}");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM", "RET", "ERR", "PATH"]
    );
}

#[test]
fn fstat_shows_the_file_of_the_descriptor() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &["-s", "-p", &std::process::id().to_string()]);
    let file = std::fs::File::open(fx.path("exists")).unwrap();
    file.metadata().unwrap();
    // PID COMM RET ERR SYSCALL PATH: fstat(2), or fstatat(fd, "", AT_EMPTY_PATH)
    // or statx as the C library chooses.
    let c = row(&tool, std::process::id(), &fx.path("exists"));
    assert!(
        ["newfstat", "newfstatat", "statx"].contains(&c[4].as_str()),
        "{c:?} (fd {})",
        file.as_raw_fd()
    );
    assert_eq!(c[2], "0");
    assert!(tool.stop().status.success());
}

#[test]
fn failed_only_and_pid_filter() {
    let fx = Fixture::new();
    let me = std::process::id().to_string();
    let tool = Tool::start(TOOL, &["-x", "-p", &me]);
    let missing = fx.path(&unique("missing-"));
    let other = fx.stat(&[&missing]);
    assert!(std::fs::metadata(fx.path("exists")).is_ok());
    assert!(std::fs::metadata(&missing).is_err());
    let c = row(&tool, std::process::id(), &missing);
    assert_eq!(c[3], "2");
    let fin = tool.stop();
    let ours: Vec<&String> = fin
        .stdout
        .iter()
        .filter(|l| l.contains(&fx.dir.display().to_string()))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "only our failed stat, not the child's ({other}) nor the success: {ours:?}"
    );
}

#[test]
fn timestamp_and_syscall_columns() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &["-t", "-s"]);
    let missing = unique("missing-");
    let pid = fx.stat(&[&missing]);
    // TIME(s) PID COMM RET ERR SYSCALL PATH
    let pid_s = pid.to_string();
    let line = tool
        .wait_line(|l| columns(l).get(1) == Some(&pid_s) && l.ends_with(&missing))
        .unwrap_or_else(|| panic!("{:?}", tool.lines()));
    let c = columns(&line);
    assert!(c[0].parse::<f64>().is_ok_and(|t| t >= 0.0), "{c:?}");
    assert!(
        ["statx", "newstat", "newfstatat", "newlstat"].contains(&c[5].as_str()),
        "{c:?}"
    );
    let fin = tool.stop();
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME(s)", "PID", "COMM", "RET", "ERR", "SYSCALL", "PATH"]
    );
}

#[test]
fn json_rows() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &["--json"]);
    let missing = unique("missing-");
    let pid = fx.stat(&[&missing]);
    let v = tool.expect_json("path", &json!(fx.path(&missing)));
    assert_eq!(v["pid"], json!(pid));
    assert_eq!(v["tid"], json!(pid));
    assert_eq!(v["comm"], json!(fx.comm));
    assert_eq!(
        (v["ret"].clone(), v["errno"].clone(), v["error"].clone()),
        (json!(-2), json!(2), json!("ENOENT"))
    );
    assert!(v["syscall"].is_string());
    assert!(tool.stop().status.success());
}

#[test]
fn duration_ends_the_run_after_printing_our_row() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &["-d", "3"]);
    let missing = unique("missing-");
    let pid = fx.stat(&[&missing]);
    row(&tool, pid, &fx.path(&missing));
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn lifecycle() {
    let fx = Fixture::new();
    lifecycle_checks(TOOL, &[], || {
        fx.stat(&["exists"]);
    });
}
