//! bitesize against real block I/O: a loop device made for each test and a
//! copy of dd under a name of the test's own (its comm), writing with
//! O_DIRECT so each block is exactly one request of that size.
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::loopdev::LoopDev;
use common::{Finished, Section, Tool, lifecycle_checks, unique};
use serde_json::{Value, json};

/// A copy of dd named `bz<unique>` (at most 15 bytes: it is the comm).
struct NamedDd {
    path: PathBuf,
}

impl NamedDd {
    fn new() -> NamedDd {
        let mut name = unique("bz");
        name.truncate(15);
        let dir = std::env::temp_dir().join(unique("bpfkit-bitesize-"));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join(name);
        std::fs::copy("/usr/bin/dd", &path).unwrap();
        NamedDd { path }
    }

    fn comm(&self) -> &str {
        self.path.file_name().unwrap().to_str().unwrap()
    }

    /// `count` direct writes of `bs` bytes to `disk`.
    fn write(&self, disk: &LoopDev, bs: u64, count: u64) {
        let st = Command::new(&self.path)
            .args(["if=/dev/zero", &format!("of={}", disk.dev)])
            .args([format!("bs={bs}"), format!("count={count}")])
            .args(["oflag=direct", "status=none"])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for NamedDd {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}

/// Runs bitesize `args` (ended by SIGINT: one print at the end) around
/// 30 writes of 4 KiB and 20 of 64 KiB by `dd` to `disk`.
fn run_around_writes(
    args: &[&str],
    env: &[(&str, &str)],
    dd: &NamedDd,
    disk: &LoopDev,
) -> Finished {
    let tool = Tool::start_env("bitesize", args, env);
    dd.write(disk, 4096, 30);
    dd.write(disk, 65536, 20);
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    fin
}

/// The histogram headed `Process Name = comm`, if printed.
fn section_of(fin: &Finished, comm: &str) -> Option<Section> {
    let secs = common::hist_sections(&fin.stdout);
    let header = format!("Process Name = {comm}");
    let mut found: Vec<Section> = secs.into_iter().filter(|s| s.header == header).collect();
    assert!(found.len() <= 1, "{:?}", fin.stdout);
    found.pop()
}

/// Exactly 30 in `4 -> 7` and 20 in `64 -> 127` KiB, nothing else.
fn assert_sizes(s: &Section) {
    assert_eq!(s.unit, "Kbytes");
    let nonzero: Vec<(u64, u64, u64)> = s.rows.iter().copied().filter(|r| r.2 > 0).collect();
    assert_eq!(nonzero, [(4, 7, 30), (64, 127, 20)], "{s:?}");
}

#[test]
fn lifecycle() {
    let disk = LoopDev::new(16);
    lifecycle_checks("bitesize", &["-d", disk.name(), "1"], || {
        disk.write_direct(4096, 1)
    });
}

#[test]
fn sizes_of_our_comm_in_kib_buckets() {
    let disk = LoopDev::new(64);
    let dd = NamedDd::new();
    let fin = run_around_writes(&["-c", dd.comm()], &[], &dd, &disk);
    let s = section_of(&fin, dd.comm()).unwrap_or_else(|| panic!("no histogram: {fin:?}"));
    assert_sizes(&s);
    // -c keeps only our name.
    let secs = common::hist_sections(&fin.stdout);
    assert_eq!(secs.len(), 1, "{:?}", fin.stdout);
    assert_eq!(fin.stdout.first().map(String::as_str), Some(""));
    assert!(
        fin.stderr.iter().any(|l| l == "using tp_btf"),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn disk_filter_keeps_only_that_disk() {
    let disk = LoopDev::new(64);
    let other = LoopDev::new(16);
    let dd = NamedDd::new();
    let fin = run_around_writes(&["-d", disk.name(), "-T"], &[], &dd, &disk);
    assert_sizes(&section_of(&fin, dd.comm()).unwrap_or_else(|| panic!("{fin:?}")));
    // -T: an HH:MM:SS line after the empty line.
    assert_eq!(fin.stdout[1].len(), 8, "{:?}", fin.stdout);
    let fin = run_around_writes(&["-d", &other.dev], &[], &dd, &disk);
    assert!(section_of(&fin, dd.comm()).is_none(), "{:?}", fin.stdout);
}

#[test]
fn raw_tp_fallback() {
    let disk = LoopDev::new(64);
    let dd = NamedDd::new();
    let env = [("BPFKIT_RAW_TP", "1")];
    let fin = run_around_writes(&["-c", dd.comm(), "-d", disk.name()], &env, &dd, &disk);
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "using raw_tp (BPFKIT_RAW_TP=1)"),
        "{:?}",
        fin.stderr
    );
    assert_sizes(&section_of(&fin, dd.comm()).unwrap_or_else(|| panic!("{fin:?}")));
}

#[test]
fn json_histogram_per_comm() {
    let disk = LoopDev::new(64);
    let dd = NamedDd::new();
    let fin = run_around_writes(&["--json", "-c", dd.comm()], &[], &dd, &disk);
    let objs: Vec<Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(objs.len(), 1, "{:?}", fin.stdout);
    let v = &objs[0];
    assert_eq!(
        (&v["comm"], &v["unit"], &v["count"]),
        (&json!(dd.comm()), &json!("Kbytes"), &json!(50))
    );
    assert_eq!(v["buckets"][2], json!({"low": 4, "high": 7, "count": 30}));
    assert_eq!(
        v["buckets"][6],
        json!({"low": 64, "high": 127, "count": 20})
    );
}

#[test]
fn unknown_disk_is_an_error() {
    let fin = common::run("bitesize", &["-d", "nosuchdisk9"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(
        fin.stderr,
        ["bitesize: no such disk: nosuchdisk9 (see /proc/partitions)"]
    );
}
