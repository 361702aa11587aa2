//! opensnoop against the real kernel: each test opens unique paths itself.
mod common;

use std::fs::File;
use std::process::{Command, Stdio};

use common::{Tool, lifecycle_checks, unique};
use serde_json::json;

fn missing_path() -> String {
    format!("/tmp/{}", unique("bpfkit-open-missing-"))
}

fn existing_path() -> String {
    let p = format!("/tmp/{}", unique("bpfkit-open-exists-"));
    std::fs::write(&p, b"x").unwrap();
    p
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn table_shows_pid_fd_err_and_path() {
    let tool = Tool::start("opensnoop", &[]);
    let missing = missing_path();
    let existing = existing_path();
    assert!(File::open(&missing).is_err());
    let _f = File::open(&existing).unwrap();
    let me = std::process::id().to_string();

    // PID COMM FD ERR PATH
    let c = columns(&tool.expect_line(&missing));
    assert_eq!(c[0], me);
    assert_eq!(
        (c[2].as_str(), c[3].as_str()),
        ("-1", "2"),
        "missing file: FD -1, ERR ENOENT"
    );
    assert_eq!(c[4], missing);
    let c = columns(&tool.expect_line(&existing));
    assert_eq!(c[0], me);
    assert!(c[2].parse::<i32>().unwrap() >= 0);
    assert_eq!(c[3], "0");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM", "FD", "ERR", "PATH"]
    );
}

#[test]
fn extended_columns_timestamp_uid_flags() {
    let tool = Tool::start("opensnoop", &["-T", "-U", "-e"]);
    let missing = missing_path();
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&missing);
    // TIME UID PID COMM FD ERR FLAGS PATH
    let c = columns(&tool.expect_line(&missing));
    assert_eq!(c[0].len(), 8, "HH:MM:SS");
    assert_eq!(c[1], "0", "uid of root");
    assert_eq!(c[2], std::process::id().to_string());
    // O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC = 01 | 0100 | 01000 | 02000000
    assert_eq!(c[6], "02001101");
    std::fs::remove_file(&missing).unwrap();
    assert!(tool.stop().status.success());
}

#[test]
fn json_fields() {
    let tool = Tool::start("opensnoop", &["--json"]);
    let missing = missing_path();
    assert!(File::open(&missing).is_err());
    let v = tool.expect_json("path", &json!(missing));
    assert_eq!(v["pid"], json!(std::process::id()));
    assert_eq!(v["fd"], json!(-1));
    assert_eq!(v["errno"], json!(2));
    assert_eq!(v["tid"], json!(nix::unistd::gettid().as_raw()));
    assert!(v["comm"].is_string() && v["uid"] == json!(0));
    let fin = tool.stop();
    assert!(fin.status.success());
    assert!(
        fin.stdout
            .iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "only JSON lines"
    );
}

#[test]
fn pid_filter_shows_only_that_process() {
    let target = missing_path();
    let other = missing_path();
    // A shell that waits for a line, then becomes cat (same pid) and opens `target`.
    let mut child = Command::new("sh")
        .args(["-c", &format!("read x; exec cat {target}")])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let tool = Tool::start("opensnoop", &["-p", &pid]);
    assert!(File::open(&other).is_err());
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let line = tool.expect_line(&target);
    assert_eq!(columns(&line)[0], pid);
    child.wait().unwrap();
    let fin = tool.stop();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&other)),
        "-p must hide other processes"
    );
    assert!(
        fin.stdout.iter().skip(1).all(|l| columns(l)[0] == pid),
        "only pid {pid}: {:?}",
        fin.stdout
    );
}

#[test]
fn tid_filter_shows_only_that_thread() {
    let tid = nix::unistd::gettid().to_string();
    let tool = Tool::start("opensnoop", &["-t", &tid]);
    let from_other_thread = missing_path();
    let p = from_other_thread.clone();
    std::thread::spawn(move || File::open(p).is_err())
        .join()
        .unwrap();
    let mine = missing_path();
    assert!(File::open(&mine).is_err());
    tool.expect_line(&mine);
    let fin = tool.stop();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&from_other_thread)),
        "-t must hide other threads"
    );
}

#[test]
fn failed_only() {
    let tool = Tool::start("opensnoop", &["-x"]);
    let existing = existing_path();
    let _f = File::open(&existing).unwrap();
    let missing = missing_path();
    assert!(File::open(&missing).is_err());
    tool.expect_line(&missing);
    let fin = tool.stop();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&existing)),
        "-x must hide successful opens"
    );
}

/// Seed 004's request, as one command: "trace all file opens, only pid
/// 1234, leave out failed calls" is `opensnoop -p PID -s`.
#[test]
fn success_only_with_pid_leaves_out_failed_calls() {
    let missing = missing_path();
    let existing = existing_path();
    // One process (a shell that becomes cat, same pid) opens a missing file,
    // then an existing one.
    let mut child = Command::new("sh")
        .args(["-c", &format!("read x; exec cat {missing} {existing}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let tool = Tool::start("opensnoop", &["-p", &pid, "-s"]);
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let c = columns(&tool.expect_line(&existing));
    assert_eq!(c[0], pid);
    assert!(c[2].parse::<i32>().unwrap() >= 0, "a real fd: {c:?}");
    assert_eq!(c[3], "0");
    child.wait().unwrap();
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&missing)),
        "-s must leave out the failed open: {:?}",
        fin.stdout
    );
    for l in fin.stdout.iter().skip(1) {
        let c = columns(l);
        assert_eq!((c[0].as_str(), c[3].as_str()), (pid.as_str(), "0"), "{l}");
    }
}

#[test]
fn success_and_failed_together_is_a_usage_error() {
    let fin = common::run("opensnoop", &["-s", "-x"]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("cannot be used with")),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn uid_and_name_filters() {
    // A copy of cat with a unique name, run as nobody.
    let name = unique("bkcat");
    let name = &name[..name.len().min(15)];
    let exe = format!("/tmp/{name}");
    std::fs::copy("/bin/cat", &exe).unwrap();
    let seen = missing_path();
    let hidden = missing_path();

    let tool = Tool::start("opensnoop", &["-u", "65534", "-n", name]);
    assert!(
        File::open(&hidden).is_err(),
        "root's open is filtered by -u"
    );
    Command::new(&exe)
        .arg(&hidden)
        .stderr(Stdio::null())
        .status()
        .unwrap(); // root: hidden by -u
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &exe,
            &seen,
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let line = tool.expect_line(&seen);
    assert!(line.contains(name));
    let fin = tool.stop();
    assert!(!fin.stdout.iter().any(|l| l.contains(&hidden)));
    assert!(
        fin.stdout.iter().skip(1).all(|l| l.contains(name)),
        "-n must hide other names: {:?}",
        fin.stdout
    );
    std::fs::remove_file(&exe).unwrap();
}

#[test]
fn duration_prints_the_opens_then_ends_by_itself() {
    // Scaled, so a slow guest has as long to report the open.
    let secs = 2 * u64::from(common::slowdown());
    let started = std::time::Instant::now();
    let tool = Tool::start("opensnoop", &["-d", &secs.to_string()]);
    let missing = missing_path();
    assert!(File::open(&missing).is_err());
    // Ends by itself: wait() fails the test after exit_timeout().
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(secs),
        "-d {secs} ended early"
    );
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM", "FD", "ERR", "PATH"]
    );
    let row = (fin.stdout.iter().map(|l| columns(l))).find(|c| c.get(4) == Some(&missing));
    let c = row.unwrap_or_else(|| panic!("no row for {missing}: {:?}", fin.stdout));
    assert_eq!(c[0], std::process::id().to_string());
    assert_eq!((c[2].as_str(), c[3].as_str()), ("-1", "2"), "{c:?}");
}

#[test]
fn missing_pid_is_a_clear_error() {
    common::assert_missing_pid_error("opensnoop");
}

#[test]
fn lifecycle() {
    lifecycle_checks("opensnoop", &[], || {
        let _ = File::open(missing_path());
    });
}

/// A path with a newline, a quote and an ESC sequence is one table row with
/// the bytes escaped (it used to split the row and reach the terminal raw);
/// JSON keeps the path as it was.
#[test]
fn control_bytes_in_paths_cannot_split_a_row() {
    let tag = unique("bpfkit-esc-");
    let path = format!("/tmp/{tag}\nnew\"line\x1b[31m");
    let table = Tool::start("opensnoop", &["-p", &std::process::id().to_string()]);
    let json = Tool::start(
        "opensnoop",
        &["--json", "-p", &std::process::id().to_string()],
    );
    assert!(File::open(&path).is_err());
    let line = table.expect_line(&tag);
    assert!(
        line.ends_with(&format!("/tmp/{tag}\\nnew\"line\\x1b[31m")),
        "{line:?}"
    );
    let v = json.expect_json("path", &json!(path));
    assert_eq!(v["errno"], json!(2));
    let fin = table.stop();
    assert!(fin.status.success());
    assert!(
        !fin.stdout.iter().any(|l| l.starts_with("new\"line")),
        "the path split the row: {:?}",
        fin.stdout
    );
    assert!(fin.stdout.iter().all(|l| !l.contains('\x1b')));
    assert!(json.stop().status.success());
}

/// `-F`: relative opens are shown from the opener's working directory, or
/// from the directory its dirfd names; a path across a mount point (/proc)
/// is whole; absolute paths are unchanged.
#[test]
fn full_path_resolves_cwd_and_dirfd() {
    let dir = std::env::temp_dir().join(unique("bpfkit-fullpath-"));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let dir = dir.canonicalize().unwrap();
    let (cwd_name, at_name, proc_name) = (unique("cwd-"), unique("at-"), unique("proc-"));
    let tool = Tool::start("opensnoop", &["-F", "-x", "-n", "python3"]);
    let script = format!(
        "import os\n\
         os.chdir({dir:?})\n\
         try: os.open({cwd:?}, os.O_RDONLY)\n\
         except OSError: pass\n\
         d = os.open('sub', os.O_RDONLY)\n\
         os.chdir('/')\n\
         try: os.open({at:?}, os.O_RDONLY, dir_fd=d)\n\
         except OSError: pass\n\
         os.chdir('/proc/self')\n\
         try: os.open({proc:?}, os.O_RDONLY)\n\
         except OSError: pass\n\
         try: os.open('/nonexistent/' + {proc:?}, os.O_RDONLY)\n\
         except OSError: pass\n",
        dir = dir.to_str().unwrap(),
        cwd = cwd_name,
        at = at_name,
        proc = proc_name,
    );
    let py = std::process::Command::new("python3")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let pid = py.id();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success());
    let line = tool.expect_line(&cwd_name);
    assert!(
        line.ends_with(&format!(" {}/{cwd_name}", dir.display())),
        "{line}"
    );
    let line = tool.expect_line(&at_name);
    assert!(
        line.ends_with(&format!(" {}/sub/{at_name}", dir.display())),
        "{line}"
    );
    let line = tool.expect_line(&format!("/proc/{pid}/{proc_name}"));
    assert!(
        line.ends_with(&format!(" /proc/{pid}/{proc_name}")),
        "{line}"
    );
    tool.expect_line(&format!(" /nonexistent/{proc_name}"));
    assert!(tool.stop().status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
