//! oomkill against the real kernel: each OOM kill is of a process of the
//! test's own, in a memory cgroup (v1, /sys/fs/cgroup/memory) the test
//! makes with a 32 MiB limit; the process allocates until it is killed.
mod common;

use bpfkit::probe::{Mechanism, Needs};
use common::oom::{LIMIT_BYTES, oom_kill};
use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "oomkill";

fn needs() -> Needs {
    bpfkit::hooks::oomkill()
}

/// The pages as the mechanism shows them: the tracepoint has no
/// oom_control; elsewhere the cgroup's limit (no swap is counted).
fn assert_pages(pages: &str, mechanism: Mechanism) {
    if mechanism == Mechanism::Tracepoint {
        assert_eq!(pages, "?");
    } else {
        let n: u64 = pages.parse().unwrap_or_else(|_| panic!("pages {pages:?}"));
        assert!(n >= LIMIT_BYTES / 4096, "pages {n}");
    }
}

fn sees_kill(args: &[&str], mechanism: Mechanism) {
    let tool = Tool::start(TOOL, args);
    common::assert_using(&tool, mechanism);
    let pid = oom_kill();
    let needle =
        format!("Triggered by PID {pid} (\"python3\"), OOM kill of PID {pid} (\"python3\"), ");
    let line = tool.expect_line(&needle);
    let rest = &line[line.find(&needle).unwrap() + needle.len()..];
    let (pages, loadavg) = rest.split_once(" pages, loadavg: ").expect(&line);
    assert_pages(pages, mechanism);
    assert_eq!(loadavg.split_whitespace().count(), 5, "{line}");
    assert!(
        line.as_bytes()[2] == b':' && line.as_bytes()[8] == b' ',
        "time first: {line}"
    );
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert!(
        !fin.stdout.iter().any(|l| l.is_empty()),
        "no header, no blank lines: {:?}",
        fin.stdout
    );
}

#[test]
fn kill_in_a_memory_cgroup() {
    let (args, m) = common::default_mechanism(&needs());
    sees_kill(&args, m);
}

#[test]
fn json_rows() {
    let (mut args, m) = common::default_mechanism(&needs());
    args.push("--json");
    let tool = Tool::start(TOOL, &args);
    let pid = oom_kill();
    let v = tool.expect_json("victim_pid", &json!(pid));
    assert_eq!(v["trigger_pid"], json!(pid), "{v}");
    assert_eq!(v["victim_comm"], "python3", "{v}");
    assert_eq!(v["trigger_comm"], "python3", "{v}");
    if m == Mechanism::Tracepoint {
        assert!(v["pages"].is_null(), "{v}");
    } else {
        assert!(
            v["pages"].as_u64().is_some_and(|n| n >= LIMIT_BYTES / 4096),
            "{v}"
        );
    }
    assert!(v["loadavg"].is_string() && v["time"].is_string(), "{v}");
    tool.stop().assert_json_only();
}

// ---- one test per mechanism ----

crate::mechanism_tests!(TOOL, needs(), sees_kill);

#[test]
fn lifecycle() {
    lifecycle_checks(TOOL, &[], || {
        oom_kill();
    });
}
