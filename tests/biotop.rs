//! biotop against real block I/O: a loop device made for each test, written
//! by a copy of dd under a name of the test's own, with O_DIRECT so its 100
//! blocks of 64 KiB are exactly 100 write requests of 64 KiB; the row is
//! found by that dd's pid.
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bpfkit::probe::{Mechanism, Needs};
use common::loopdev::LoopDev;
use common::{Finished, Tool, lifecycle_checks, unique};
use serde_json::{Value, json};

const TOOL: &str = "biotop";

fn needs() -> Needs {
    bpfkit::biotop::needs()
}

/// A copy of dd named `bt<unique>` (at most 15 bytes: it is the comm).
struct NamedDd {
    path: PathBuf,
}

impl NamedDd {
    fn new() -> NamedDd {
        let mut name = unique("bt");
        name.truncate(15);
        let dir = std::env::temp_dir().join(unique("bpfkit-biotop-"));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join(name);
        std::fs::copy("/usr/bin/dd", &path).unwrap();
        NamedDd { path }
    }

    fn comm(&self) -> &str {
        self.path.file_name().unwrap().to_str().unwrap()
    }

    fn args(disk: &LoopDev) -> [String; 5] {
        [
            "if=/dev/zero".into(),
            format!("of={}", disk.dev),
            "bs=65536".into(),
            "count=100".into(),
            "oflag=direct".into(),
        ]
    }

    /// 100 direct writes of 64 KiB to `disk`; its pid.
    fn write(&self, disk: &LoopDev) -> u32 {
        let mut child = Command::new(&self.path)
            .args(Self::args(disk))
            .arg("status=none")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(child.wait().unwrap().success());
        pid
    }

    /// A shell, waiting for a line on stdin before it execs the writes:
    /// its pid (the dd's, after exec) is known before any I/O.
    fn write_on_cue(&self, disk: &LoopDev) -> Child {
        let cmd = format!(
            "read _; exec {} {} status=none",
            self.path.display(),
            Self::args(disk).join(" ")
        );
        Command::new("sh")
            .args(["-c", &cmd])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for NamedDd {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}

/// Table rows (whitespace-split) of process `pid`.
fn rows_of(fin: &Finished, pid: u32) -> Vec<Vec<String>> {
    fin.stdout
        .iter()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|c| c.len() == 9 && c[0] == pid.to_string())
        .collect()
}

/// dd's one row: PID COMM D MAJ MIN DISK I/O Kbytes AVGms.
fn assert_dd_row(fin: &Finished, pid: u32, dd: &NamedDd, disk: &LoopDev) {
    let rows = rows_of(fin, pid);
    assert_eq!(rows.len(), 1, "{fin:?}");
    let c = &rows[0];
    let minor = disk.name().trim_start_matches("loop");
    assert_eq!(
        c[..8],
        [
            &pid.to_string(),
            dd.comm(),
            "W",
            "7",
            minor,
            disk.name(),
            "100",
            "6400"
        ],
        "{fin:?}"
    );
    assert!(c[8].parse::<f64>().unwrap() > 0.0, "{c:?}");
}

/// biotop `args` with one long interval (printed at SIGINT) around dd's writes.
fn sees(args: &[&str], mechanism: Mechanism) {
    let disk = LoopDev::new(16);
    let dd = NamedDd::new();
    let mut all = args.to_vec();
    all.extend(["-C", "600"]);
    let tool = Tool::start(TOOL, &all);
    common::assert_using(&tool, mechanism);
    let pid = dd.write(&disk);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_dd_row(&fin, pid, &dd, &disk);
    // The interval's first line: HH:MM:SS and the load average.
    let head = &fin.stdout[1];
    assert_eq!(&head[2..3], ":", "{fin:?}");
    assert_eq!(head.split_whitespace().count(), 6, "{head}");
    assert!(
        fin.stdout[2].starts_with("PID     COMM             D MAJ MIN DISK"),
        "{fin:?}"
    );
}

#[test]
fn lifecycle() {
    let disk = LoopDev::new(16);
    lifecycle_checks(TOOL, &["-C", "1"], || disk.write_direct(4096, 1));
}

#[test]
fn row_of_our_dd_with_io_kbytes_and_disk() {
    let (args, m) = common::default_mechanism(&needs());
    sees(&args, m);
}

#[test]
fn pid_filter_keeps_only_that_process() {
    let disk = LoopDev::new(16);
    let dd = NamedDd::new();
    let mut cued = dd.write_on_cue(&disk);
    let pid = cued.id();
    let tool = Tool::start(TOOL, &["-C", "-p", &pid.to_string(), "600"]);
    // Another writer, not to be shown.
    let other = dd.write(&disk);
    cued.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(cued.wait().unwrap().success());
    let fin = tool.stop();
    assert_dd_row(&fin, pid, &dd, &disk);
    assert!(rows_of(&fin, other).is_empty(), "{fin:?}");
    let data_rows = fin
        .stdout
        .iter()
        .filter(|l| l.split_whitespace().count() == 9);
    assert_eq!(data_rows.count(), 2, "header and one row: {fin:?}");
}

#[test]
fn json_interval_with_rows() {
    let disk = LoopDev::new(16);
    let dd = NamedDd::new();
    let tool = Tool::start(TOOL, &["--json", "600"]);
    let pid = dd.write(&disk);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(fin.stdout.len(), 1, "{fin:?}");
    let v: Value = serde_json::from_str(&fin.stdout[0]).unwrap();
    assert!(v["loadavg"].is_string() && v["time"].is_string(), "{v}");
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pid"] == json!(pid))
        .unwrap_or_else(|| panic!("no row of {pid}: {v}"));
    let minor: u64 = disk.name().trim_start_matches("loop").parse().unwrap();
    assert_eq!(
        (
            &row["comm"],
            &row["rw"],
            &row["major"],
            &row["minor"],
            &row["disk"]
        ),
        (
            &json!(dd.comm()),
            &json!("W"),
            &json!(7),
            &json!(minor),
            &json!(disk.name())
        )
    );
    assert_eq!(
        (&row["count"], &row["bytes"]),
        (&json!(100), &json!(6400 * 1024))
    );
    assert!(row["time_us"].as_u64().unwrap() > 0, "{row}");
}

// ---- one test per mechanism ----

#[test]
fn mechanism_auto() {
    sees(&["--probe=auto"], common::expected_auto_mechanism());
}

#[test]
fn mechanism_fentry() {
    common::check_mechanism(TOOL, &needs(), Mechanism::Fentry, sees);
}

#[test]
fn mechanism_kprobe() {
    common::check_mechanism(TOOL, &needs(), Mechanism::Kprobe, sees);
}

/// block_io_start/done are 6.5+: before, `--probe tracepoint` must exit 1
/// naming the missing tracepoint (the runner's expectation that every
/// guest offers tracepoints does not hold for these).
#[test]
fn mechanism_tracepoint() {
    let new_enough = bpfkit::probe::tracepoint_exists("block", "block_io_start").unwrap();
    if new_enough {
        common::check_mechanism(TOOL, &needs(), Mechanism::Tracepoint, sees);
    } else {
        let fin = common::run(TOOL, &["--probe=tracepoint", "-d", "1"]);
        assert_eq!(fin.status.code(), Some(1), "{fin:?}");
        assert_eq!(
            fin.stderr,
            [
                "biotop: --probe tracepoint is not available on this kernel: tracepoint block:block_io_start does not exist"
            ]
        );
    }
}
