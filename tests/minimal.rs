//! minimal against the real kernel: writes from the test are seen, with -p.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Tool, lifecycle_checks};
use serde_json::json;

#[test]
fn pid_filter_sees_the_writes_of_that_process() {
    // `cat` copies its stdin to /dev/null: each line we send is one write(2).
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = cat.id();
    let tool = Tool::start("minimal", &["-p", &pid.to_string()]);
    let mut stdin = cat.stdin.take().unwrap();
    stdin.write_all(b"0123456789abcdef\n").unwrap(); // 17 bytes
    stdin.flush().unwrap();
    // PID TID COMM FD BYTES
    let line = tool.expect_line(" 17");
    let c: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(c[0], pid.to_string());
    assert_eq!(c[2], "cat");
    assert_eq!((c[3], c[4]), ("1", "17"));
    drop(stdin);
    cat.wait().unwrap();
    let fin = tool.stop();
    assert!(fin.status.success());
    assert!(
        fin.stdout
            .iter()
            .skip(1)
            .all(|l| l.starts_with(&pid.to_string())),
        "-p filters: {:?}",
        fin.stdout
    );
}

#[test]
fn json_events() {
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = cat.id();
    let tool = Tool::start("minimal", &["--json", "-p", &pid.to_string()]);
    cat.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let v = tool.expect_json("pid", &json!(pid));
    assert_eq!(v["comm"], "cat");
    assert_eq!(v["bytes"], 6);
    assert_eq!(v["fd"], 1);
    cat.wait().unwrap();
    assert!(tool.stop().status.success());
}

#[test]
fn lifecycle() {
    lifecycle_checks("minimal", &[], || {
        let _ = std::fs::write("/tmp/bpfkit-minimal-lifecycle", b"x");
    });
}
