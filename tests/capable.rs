//! capable against the real kernel: each test runs its own copy of `cat`
//! under a name of its own, as uid 65534 (denied CAP_DAC_OVERRIDE on a
//! root-only file) or as root (allowed it on a file of another user), so
//! rows are told apart from other activity by their comm.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use bpfkit::probe::{self, Mechanism, Needs};
use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "capable";

fn needs() -> Needs {
    bpfkit::hooks::capable()
}

/// A directory with a renamed `cat`, a root-only file and a file only
/// uid 65534 may read; removed on drop.
struct Fixture {
    dir: PathBuf,
    comm: String,
}

impl Fixture {
    fn new() -> Fixture {
        let comm = common::unique("cap");
        let dir = std::env::temp_dir().join(format!("bpfkit-{comm}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy("/bin/cat", dir.join(&comm)).unwrap();
        for (name, owner) in [("root-only", 0), ("nobodys", 65534)] {
            let path = dir.join(name);
            std::fs::write(&path, "secret\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::os::unix::fs::chown(&path, Some(owner), Some(owner)).unwrap();
        }
        Fixture { dir, comm }
    }

    /// Runs the renamed cat on `files`, as uid 65534 when `nobody`; its pid.
    fn cat(&self, nobody: bool, files: &[&str]) -> u32 {
        let cat = self.dir.join(&self.comm);
        let mut cmd = if nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&cat);
            c
        } else {
            Command::new(&cat)
        };
        cmd.args(files.iter().map(|f| self.dir.join(f)));
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
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

/// CAP_DAC_OVERRIDE: denied to uid 65534 opening a root-only file.
const DAC_OVERRIDE: &str = "1";
/// CAP_DAC_READ_SEARCH: what root's read of another user's file uses.
const DAC_READ_SEARCH: &str = "2";

/// The row of `pid` checking capability `cap` (PID at column 2, CAP just
/// after COMM).
fn cap_row(tool: &Tool, pid: u32, comm_col: usize, cap: &str) -> Vec<String> {
    let pid = pid.to_string();
    let found = tool.wait_line(|l| {
        let c = columns(l);
        c.get(2) == Some(&pid) && c.get(comm_col + 1).map(String::as_str) == Some(cap)
    });
    match found {
        Some(l) => columns(&l),
        None => {
            let ours: Vec<String> = tool
                .lines()
                .into_iter()
                .filter(|l| l.contains(&pid))
                .collect();
            panic!(
                "no CAP {cap} row for pid {pid}; its rows: {ours:?}; stderr: {:?}",
                tool.stderr_lines()
            )
        }
    }
}

fn dac_row(tool: &Tool, pid: u32, comm_col: usize) -> Vec<String> {
    cap_row(tool, pid, comm_col, DAC_OVERRIDE)
}

/// AUDIT as the mechanism shows it: the tracepoint has no options.
fn audit(mechanism: Mechanism) -> &'static str {
    if mechanism == Mechanism::Tracepoint {
        "-"
    } else {
        "1"
    }
}

fn mechanism() -> Mechanism {
    probe::choose(common::forced_probe_mode(), &needs())
        .expect("some mechanism")
        .mechanism
}

fn sees_denied_and_allowed(args: &[&str], mechanism: Mechanism) {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, args);
    common::assert_using(&tool, mechanism);
    // TIME UID PID COMM CAP NAME AUDIT VERDICT
    let pid = fx.cat(true, &["root-only"]);
    let c = dac_row(&tool, pid, 3);
    assert_eq!(c[1], "65534", "{c:?}");
    assert_eq!(c[3], fx.comm, "{c:?}");
    assert_eq!(
        (c[4].as_str(), c[5].as_str()),
        ("1", "CAP_DAC_OVERRIDE"),
        "{c:?}"
    );
    assert_eq!(c[6], audit(mechanism), "{c:?}");
    assert_eq!(c[7], "deny", "{c:?}");
    let pid = fx.cat(false, &["nobodys"]);
    let c = cap_row(&tool, pid, 3, DAC_READ_SEARCH);
    assert_eq!(
        (c[1].as_str(), c[3].as_str()),
        ("0", fx.comm.as_str()),
        "{c:?}"
    );
    assert_eq!(c[5], "CAP_DAC_READ_SEARCH", "{c:?}");
    assert_eq!(c[7], "allow", "{c:?}");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
}

#[test]
fn denied_and_allowed_checks() {
    let (args, m) = common::default_mechanism(&needs());
    sees_denied_and_allowed(&args, m);
}

#[test]
fn extra_fields_show_tid_and_insetid() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &["-x"]);
    let pid = fx.cat(true, &["root-only"]);
    // TIME UID PID TID COMM CAP NAME AUDIT VERDICT INSETID
    let c = dac_row(&tool, pid, 4);
    assert_eq!(
        c[3],
        pid.to_string(),
        "single-threaded: TID is the PID: {c:?}"
    );
    assert_eq!(c[4], fx.comm, "{c:?}");
    assert_eq!(c[8], "deny", "{c:?}");
    let insetid = if mechanism() == Mechanism::Tracepoint {
        "-"
    } else {
        "0"
    };
    assert_eq!(c[9], insetid, "{c:?}");
    assert!(tool.stop().status.success());
}

#[test]
fn json_rows() {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, &["--json"]);
    let pid = fx.cat(true, &["root-only"]);
    let v = tool.wait_line(|l| l.contains(&format!("\"pid\":{pid},")) && l.contains("\"cap\":1,"));
    let v: serde_json::Value = serde_json::from_str(&v.expect("a JSON row")).unwrap();
    let audit = match mechanism() {
        Mechanism::Tracepoint => json!(null),
        _ => json!(true),
    };
    for (key, want) in [
        ("uid", json!(65534)),
        ("tid", json!(pid)),
        ("comm", json!(fx.comm)),
        ("cap_name", json!("CAP_DAC_OVERRIDE")),
        ("verdict", json!("deny")),
        ("audit", audit),
    ] {
        assert_eq!(v[key], want, "{key} in {v}");
    }
    assert!(v["time"].is_string(), "{v}");
    tool.stop().assert_json_only();
}

/// Rows of `pid` with CAP 1 once the tool has stopped.
fn dac_rows_of(args: &[&str], files: &[&str]) -> usize {
    let fx = Fixture::new();
    let tool = Tool::start(TOOL, args);
    let pid = fx.cat(true, files);
    dac_row(&tool, pid, 3);
    std::thread::sleep(Duration::from_millis(500));
    let fin = tool.stop();
    let pid = pid.to_string();
    (fin.stdout.iter().map(|l| columns(l)))
        .filter(|c| c.get(2) == Some(&pid) && c.get(4).map(String::as_str) == Some("1"))
        .count()
}

#[test]
fn unique_pid_reports_each_capability_once() {
    assert!(dac_rows_of(&[], &["root-only", "root-only"]) >= 2);
    assert_eq!(dac_rows_of(&["-u", "pid"], &["root-only", "root-only"]), 1);
}

/// A process of ours (uid 65534) that makes the check once told to (a
/// line on stdin).
fn waiting_cat(fx: &Fixture) -> std::process::Child {
    let script = format!(
        "read x; exec {} {}",
        fx.dir.join(&fx.comm).display(),
        fx.dir.join("root-only").display()
    );
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn go(target: &mut std::process::Child) {
    use std::io::Write;
    writeln!(target.stdin.take().unwrap()).unwrap();
    target.wait().unwrap();
}

#[test]
fn pid_filter() {
    let fx = Fixture::new();
    let mut target = waiting_cat(&fx);
    let tool = Tool::start(TOOL, &["-p", &target.id().to_string()]);
    let other = fx.cat(true, &["root-only"]);
    go(&mut target);
    dac_row(&tool, target.id(), 3);
    let fin = tool.stop();
    let rows: Vec<Vec<String>> = fin.stdout.iter().skip(1).map(|l| columns(l)).collect();
    assert!(
        rows.iter().all(|c| c[2] == target.id().to_string()),
        "{rows:?}"
    );
    assert!(!rows.iter().any(|c| c[2] == other.to_string()));
}

#[test]
fn cgroup_filter() {
    let fx = Fixture::new();
    let cg = PathBuf::from("/sys/fs/cgroup/unified").join(format!("bpfkit-{}", fx.comm));
    std::fs::create_dir(&cg).unwrap();
    let mut target = waiting_cat(&fx);
    std::fs::write(cg.join("cgroup.procs"), target.id().to_string()).unwrap();
    let tool = Tool::start(TOOL, &["-c", cg.to_str().unwrap()]);
    let other = fx.cat(true, &["root-only"]);
    go(&mut target);
    dac_row(&tool, target.id(), 3);
    let fin = tool.stop();
    let _ = std::fs::remove_dir(&cg);
    let rows: Vec<Vec<String>> = fin.stdout.iter().skip(1).map(|l| columns(l)).collect();
    assert!(
        rows.iter().all(|c| c[2] == target.id().to_string()),
        "{rows:?}"
    );
    assert!(!rows.iter().any(|c| c[2] == other.to_string()));
}

#[test]
fn kernel_stacks_under_rows() {
    let fx = Fixture::new();
    // A stack whose hash bucket another stack holds is "[Missed Kernel
    // Stack]" (as in libbpf-tools): a large map keeps the machine's other
    // capability checks from taking our stack's bucket.
    let tool = Tool::start(TOOL, &["-K", "--stack-storage-size", "16384"]);
    let pid = fx.cat(true, &["root-only"]);
    dac_row(&tool, pid, 3);
    let trailer = format!("    -                {} ({pid})", fx.comm);
    assert!(
        tool.wait_line(|l| l == trailer).is_some(),
        "{:?}",
        tool.lines()
    );
    let fin = tool.stop();
    let pid = pid.to_string();
    // Frames between the row and its trailer, permission checks among them.
    let row = (fin.stdout.iter().map(|l| columns(l)))
        .position(|c| c.get(2) == Some(&pid) && c.get(4).map(String::as_str) == Some(DAC_OVERRIDE));
    let frames: Vec<&String> = fin.stdout[row.unwrap() + 1..]
        .iter()
        .take_while(|l| !l.starts_with("    - "))
        .collect();
    assert_eq!(fin.stdout[row.unwrap() + 1 + frames.len()], trailer);
    assert!(frames.iter().all(|f| f.starts_with("    ")), "{frames:?}");
    assert!(
        frames.iter().any(|f| f.contains("permission")),
        "{frames:?}"
    );
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn missing_cgroup_is_an_error() {
    let fin = common::run(
        TOOL,
        &["-c", "/sys/fs/cgroup/unified/bpfkit-no-such-cgroup"],
    );
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("no such cgroup")),
        "{fin:?}"
    );
}

// ---- one test per mechanism ----

crate::mechanism_tests!(TOOL, needs(), sees_denied_and_allowed);

#[test]
fn lifecycle() {
    let fx = Fixture::new();
    lifecycle_checks(TOOL, &[], || {
        fx.cat(true, &["root-only"]);
    });
}
