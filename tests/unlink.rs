//! kprobe-unlink and fentry-unlink, in every mechanism: each test forces one
//! (`--probe`) and either sees a real unlink through it or, where this kernel
//! cannot do it, gets exit 1 with a message naming it.
mod common;

use bpfkit::probe::Mechanism;
use bpfkit::unlink::{Flavor, needs};
use common::{Tool, lifecycle_checks, unique};
use serde_json::json;

fn unlink_unique() -> String {
    let path = format!("/tmp/{}", unique("bpfkit-unlink-"));
    std::fs::write(&path, b"x").unwrap();
    std::fs::remove_file(&path).unwrap();
    path
}

fn needs_of(tool: &str) -> bpfkit::probe::Needs {
    needs(if tool == "fentry-unlink" {
        Flavor::Fentry
    } else {
        Flavor::Kprobe
    })
}

/// The names (at most 15 bytes, as the kernel keeps them) of the BPF
/// programs `tool` holds.
fn prog_names(tool: &Tool) -> Vec<String> {
    let mut names: Vec<String> = (tool.prog_ids().iter())
        .map(|id| {
            let out = std::process::Command::new("bpftool")
                .args(["prog", "show", "id", &id.to_string(), "-j"])
                .output()
                .expect("running bpftool");
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
            v["name"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    names.sort();
    names
}

/// The lessons' pairs: the entry program reads pid, comm and name (the
/// lesson's `fentry:`/`KPROBE ENTRY` line), the exit program adds the
/// result to what the entry stashed and sends the row: a row proves both
/// ran. The tracepoints pair sys_enter/sys_exit the same way.
fn programs_of(mechanism: Mechanism) -> &'static [&'static str] {
    match mechanism {
        Mechanism::Fentry => &["fentry_do_unlin", "fexit_do_unlink"],
        Mechanism::Kprobe => &["kprobe_do_unlin", "kretprobe_do_u"],
        Mechanism::Tracepoint => &["tp_enter_unlink", "tp_exit_unlinka"],
    }
}

fn sees_unlinks(tool: &str, args: &[&str], mechanism: Mechanism) {
    let t = Tool::start(tool, args);
    common::assert_using(&t, mechanism);
    let names = prog_names(&t);
    for p in programs_of(mechanism) {
        assert!(
            names.iter().any(|n| n.starts_with(p)),
            "{tool} {args:?}: no {p} program attached: {names:?}"
        );
    }
    let path = unlink_unique();
    // PID COMM FILENAME RET
    let line = t.expect_line(&path);
    let c: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(c[0], std::process::id().to_string());
    assert_eq!(c[2], path);
    assert_eq!(c[3], "0");
    // A failing unlink reports its errno.
    let missing = format!("/tmp/{}", unique("bpfkit-unlink-missing-"));
    assert!(std::fs::remove_file(&missing).is_err());
    let line = t.expect_line(&missing);
    assert!(line.trim_end().ends_with("-2"), "ENOENT: {line}");
    let fin = t.stop();
    assert!(fin.status.success(), "{fin:?}");
}

fn forced(tool: &str, mechanism: Mechanism) {
    common::check_mechanism(tool, &needs_of(tool), mechanism, |args, m| {
        sees_unlinks(tool, args, m)
    });
}

fn default_run(tool: &str) {
    let (args, m) = common::default_mechanism(&needs_of(tool));
    sees_unlinks(tool, &args, m);
}

#[test]
fn kprobe_unlink_auto() {
    default_run("kprobe-unlink");
}
#[test]
fn kprobe_unlink_kprobe() {
    forced("kprobe-unlink", Mechanism::Kprobe);
}
#[test]
fn kprobe_unlink_tracepoint() {
    forced("kprobe-unlink", Mechanism::Tracepoint);
}
#[test]
fn kprobe_unlink_fentry_is_not_offered() {
    forced("kprobe-unlink", Mechanism::Fentry);
}
#[test]
fn fentry_unlink_auto() {
    default_run("fentry-unlink");
}
#[test]
fn fentry_unlink_fentry() {
    forced("fentry-unlink", Mechanism::Fentry);
}
#[test]
fn fentry_unlink_kprobe() {
    forced("fentry-unlink", Mechanism::Kprobe);
}
#[test]
fn fentry_unlink_tracepoint() {
    forced("fentry-unlink", Mechanism::Tracepoint);
}

/// `-p` and `--json` of `tool`: a process that unlinks a file and a missing
/// path when told to (its pid known first) is seen, with errno and error;
/// the test's own unlink is hidden.
fn json_and_pid_filter(tool: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let theirs = format!("/tmp/{}", unique("bpfkit-unlink-child-"));
    let missing = format!("/tmp/{}", unique("bpfkit-unlink-missing-"));
    std::fs::write(&theirs, b"x").unwrap();
    let mut child = Command::new("sh")
        .args(["-c", &format!("read x; exec rm -f {theirs} {missing}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut args = common::default_mechanism(&needs_of(tool)).0;
    let pid_arg = pid.to_string();
    args.extend(["--json", "-p", &pid_arg]);
    let t = Tool::start(tool, &args);
    let mine = unlink_unique();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let v = t.expect_json("filename", &json!(theirs));
    assert_eq!(v["pid"], json!(pid));
    assert_eq!(v["tid"], json!(pid));
    assert_eq!(v["comm"], "rm");
    assert_eq!(
        (&v["ret"], &v["errno"], &v["error"]),
        (&json!(0), &json!(0), &json!(null))
    );
    let v = t.expect_json("filename", &json!(missing));
    assert_eq!(v["pid"], json!(pid));
    assert_eq!(
        (&v["ret"], &v["errno"], &v["error"]),
        (&json!(-2), &json!(2), &json!("ENOENT"))
    );
    child.wait().unwrap();
    let fin = t.stop();
    assert!(fin.status.success(), "{fin:?}");
    fin.assert_json_only();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&mine)),
        "-p must hide the test's own unlink: {:?}",
        fin.stdout
    );
}

#[test]
fn kprobe_unlink_json_and_pid_filter() {
    json_and_pid_filter("kprobe-unlink");
}

#[test]
fn fentry_unlink_json_and_pid_filter() {
    json_and_pid_filter("fentry-unlink");
}

#[test]
fn lifecycle() {
    for tool in ["kprobe-unlink", "fentry-unlink"] {
        lifecycle_checks(tool, &common::default_mechanism(&needs_of(tool)).0, || {
            let _ = unlink_unique();
        });
    }
}
