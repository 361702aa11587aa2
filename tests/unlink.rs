//! kprobe-unlink and fentry-unlink, in every mechanism: each test forces one
//! (`--probe`) and either sees a real unlink through it or, where this kernel
//! cannot do it, gets exit 1 with a message naming it.
mod common;

use bpfkit::probe::{self, Mechanism};
use bpfkit::unlink::{Flavor, needs};
use common::{Tool, expected_mechanisms, lifecycle_checks, unique};
use serde_json::json;

fn unlink_unique() -> String {
    let path = format!("/tmp/{}", unique("bpfkit-unlink-"));
    std::fs::write(&path, b"x").unwrap();
    std::fs::remove_file(&path).unwrap();
    path
}

fn flavor(tool: &str) -> Flavor {
    if tool == "fentry-unlink" {
        Flavor::Fentry
    } else {
        Flavor::Kprobe
    }
}

/// Whether the runner's forced mechanism (BPFKIT_PROBE) is one `tool` offers;
/// kprobe-unlink has no fentry programs, so under BPFKIT_PROBE=fentry its
/// tests run with an explicit `--probe auto`.
fn forced_mode_offered(tool: &str) -> bool {
    !(tool == "kprobe-unlink"
        && common::forced_probe_mode() == probe::ProbeMode::Force(Mechanism::Fentry))
}

/// Arguments for a run in the runner's default mode.
fn default_args(tool: &str) -> Vec<&'static str> {
    if forced_mode_offered(tool) {
        vec![]
    } else {
        vec!["--probe=auto"]
    }
}

/// The mechanism a run with `default_args` must use: the first this kernel
/// offers for the tool, or the one the runner forces through BPFKIT_PROBE.
fn default_choice(tool: &str) -> Mechanism {
    let mode = if forced_mode_offered(tool) {
        common::forced_probe_mode()
    } else {
        probe::ProbeMode::Auto
    };
    probe::choose(mode, &needs(flavor(tool)))
        .expect("mechanism available")
        .mechanism
}

fn sees_unlinks(tool: &str, args: &[&str], mechanism: Mechanism) {
    let t = Tool::start(tool, args);
    assert!(
        t.stderr_lines()
            .iter()
            .any(|l| l.starts_with(&format!("using {mechanism}"))),
        "{tool} {args:?}: expected `using {mechanism}` on stderr: {:?}",
        t.stderr_lines()
    );
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
    let why = probe::unavailable_reason(mechanism, &needs(flavor(tool)));
    let offered = tool == "fentry-unlink" || mechanism != Mechanism::Fentry;
    if let Some(expected) = expected_mechanisms().filter(|_| offered) {
        assert_eq!(
            why.is_none(),
            expected.iter().any(|m| m == mechanism.name()),
            "{tool}: detection says {mechanism} {why:?}, the runner expects {expected:?}"
        );
    }
    let flag = format!("--probe={mechanism}");
    match why {
        None => sees_unlinks(tool, &[&flag], mechanism),
        Some(reason) => {
            let fin = common::run(tool, &[&flag, "-d", "1"]);
            assert_eq!(fin.status.code(), Some(1), "{tool} {flag}: {fin:?}");
            let err = fin.stderr.join("\n");
            assert!(
                err.contains(&format!("--probe {mechanism} is not available")),
                "{err}"
            );
            assert!(err.contains(&reason), "{err} should say why: {reason}");
        }
    }
}

#[test]
fn kprobe_unlink_auto() {
    sees_unlinks(
        "kprobe-unlink",
        &default_args("kprobe-unlink"),
        default_choice("kprobe-unlink"),
    );
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
    sees_unlinks(
        "fentry-unlink",
        &default_args("fentry-unlink"),
        default_choice("fentry-unlink"),
    );
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

#[test]
fn json_and_pid_filter() {
    // A shell that unlinks a path when told to, so its pid is known first.
    use std::io::Write;
    use std::process::{Command, Stdio};
    let theirs = format!("/tmp/{}", unique("bpfkit-unlink-child-"));
    std::fs::write(&theirs, b"x").unwrap();
    let mut child = Command::new("sh")
        .args(["-c", &format!("read x; exec rm {theirs}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let t = Tool::start("fentry-unlink", &["--json", "-p", &pid.to_string()]);
    let mine = unlink_unique();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let v = t.expect_json("filename", &json!(theirs));
    assert_eq!(v["pid"], json!(pid));
    assert_eq!(v["comm"], "rm");
    assert_eq!(v["ret"], 0);
    child.wait().unwrap();
    let fin = t.stop();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&mine)),
        "-p must hide the test's own unlink"
    );
}

#[test]
fn lifecycle() {
    for tool in ["kprobe-unlink", "fentry-unlink"] {
        lifecycle_checks(tool, &default_args(tool), || {
            let _ = unlink_unique();
        });
    }
}
