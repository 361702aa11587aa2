//! filelife against the real kernel: where kprobes work, a file
//! the test creates and deletes 200 ms later appears with its name, the
//! test's pid and an age of at least 0.2 s, and `-p` leaves out a file
//! another process made; without kprobes (this host), the tool exits 1
//! with one line naming what it needs.

mod common;

use std::fs::{self, File};
use std::time::Duration;

use bpfkit::probe::Mechanism;
use common::Tool;
use serde_json::json;

const TOOL: &str = "filelife";

/// A file of the test's own, created and deleted 200 ms later; its name.
fn short_lived_file() -> String {
    let name = common::unique("bpfkit-filelife-");
    let path = std::env::temp_dir().join(&name);
    File::create(&path).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    fs::remove_file(&path).unwrap();
    name
}

/// On a kernel without kprobes: exit 1, one line.
fn exits_naming_what_is_missing(args: &[&str]) {
    let fin = common::run(TOOL, &[args, &["-d", "1"]].concat());
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "one line: {fin:?}");
    assert!(
        fin.stderr[0].starts_with("filelife: needs kprobes on vfs_create"),
        "{fin:?}"
    );
    assert!(fin.stderr[0].contains("this kernel has none"), "{fin:?}");
}

fn sees_short_lived_files(args: &[&str], mechanism: Mechanism) {
    if mechanism == Mechanism::Tracepoint {
        // Only `--probe=auto` on a kernel without kprobes gets here
        // (filelife has no tracepoint programs).
        return exits_naming_what_is_missing(args);
    }
    // JSON: the file's name, the test's pid, its age.
    let tool = Tool::start(TOOL, &[args, &["--json"]].concat());
    common::assert_using(&tool, mechanism);
    let name = short_lived_file();
    let v = tool.expect_json("file", &json!(name));
    let fin = tool.stop();
    assert_eq!(v["pid"], json!(std::process::id()), "{v}");
    let age = v["age_s"].as_f64().unwrap();
    assert!(age >= 0.2, "age {age} < 0.2: {v}");
    assert!(v["comm"].is_string() && v["time"].is_string(), "{v}");
    fin.assert_json_only();

    // The table: libbpf-tools' columns.
    let tool = Tool::start(TOOL, args);
    let name = short_lived_file();
    let line = tool.expect_line(&name);
    let fin = tool.stop();
    assert_eq!(
        fin.stdout[0],
        format!(
            "{:<8} {:<6} {:<16} {:<7} {}",
            "TIME", "PID", "COMM", "AGE(s)", "FILE"
        )
    );
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[1], std::process::id().to_string(), "{line}");
    assert_eq!(cols.last(), Some(&name.as_str()), "{line}");
    let age: f64 = cols[cols.len() - 2].parse().unwrap();
    assert!(age >= 0.2, "{line}");
    if mechanism == Mechanism::Kprobe {
        common::lifecycle_checks(TOOL, args, || {
            short_lived_file();
        });
    }
}

/// What `--probe=auto` must pick: kprobes in the test guests (filelife has
/// no fentry programs), nothing on this host (no kprobes: the error).
fn auto_mechanism() -> Mechanism {
    match common::expected_mechanisms() {
        Some(list) => {
            assert!(list.iter().any(|m| m == "kprobe"), "{list:?}");
            Mechanism::Kprobe
        }
        None => Mechanism::Tracepoint,
    }
}

#[test]
fn mechanism_auto() {
    sees_short_lived_files(&["--probe=auto"], auto_mechanism());
}

#[test]
fn mechanism_fentry() {
    let needs = bpfkit::hooks::filelife();
    common::check_mechanism(TOOL, &needs, Mechanism::Fentry, sees_short_lived_files);
}

#[test]
fn mechanism_kprobe() {
    let needs = bpfkit::hooks::filelife();
    common::check_mechanism(TOOL, &needs, Mechanism::Kprobe, sees_short_lived_files);
}

#[test]
fn mechanism_tracepoint() {
    let needs = bpfkit::hooks::filelife();
    common::check_mechanism(TOOL, &needs, Mechanism::Tracepoint, sees_short_lived_files);
}

/// `-p` keeps the files the given process creates and leaves out another
/// process's (or, without kprobes, the one-line error).
#[test]
fn pid_filter_keeps_only_the_creator() {
    let mechanism = auto_mechanism();
    if mechanism == Mechanism::Tracepoint {
        return exits_naming_what_is_missing(&["-p", "1"]);
    }
    let me = std::process::id().to_string();
    let tool = Tool::start(TOOL, &["--json", "-p", &me]);
    common::assert_using(&tool, mechanism);
    let other = common::unique("bpfkit-filelife-other-");
    let other_path = std::env::temp_dir().join(&other);
    let (status, _, err) = common::shell(&format!(
        "touch {0} && sleep 0.2 && rm {0}",
        other_path.display()
    ));
    assert!(status.success(), "{err}");
    // Ours comes after the other one: once it is printed, the other one
    // would have been too.
    let name = short_lived_file();
    let v = tool.expect_json("file", &json!(name));
    assert_eq!(v["pid"], json!(std::process::id()), "{v}");
    let fin = tool.stop();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&other)),
        "-p {me} showed another process's file: {fin:?}"
    );
    fin.assert_json_only();
}
