//! fsslower against the real kernel: each test makes its own loop device
//! (ext4 or xfs), does its I/O there from this process, and looks for rows
//! of this pid and its own file names.
mod common;

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bpfkit::fsops::FsType;
use bpfkit::probe::{Mechanism, Needs};
use common::loopdev::LoopDev;
use common::{Tool, lifecycle_checks};
use serde_json::json;

const TOOL: &str = "fsslower";

fn needs() -> Needs {
    FsType::Ext4.needs(false)
}

fn pid() -> String {
    std::process::id().to_string()
}

/// A file of `len` bytes under `dir`, synced (its later reads and fsyncs
/// are this test's only I/O on it).
fn file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&vec![7u8; len]).unwrap();
    f.sync_all().unwrap();
    path
}

/// 64 MiB written without a sync, then fsync: the fsync writes them all.
fn slow_fsync(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![1u8; 1 << 20];
    for _ in 0..64 {
        f.write_all(&chunk).unwrap();
    }
    f.sync_all().unwrap();
}

/// One row's columns: TIME COMM PID T BYTES OFF_KB LAT(ms) FILENAME.
fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

#[test]
fn slow_fsync_shows_as_f_row() {
    let disk = LoopDev::mounted("ext4", 256);
    let name = common::unique("fsync");
    let tool = Tool::start(TOOL, &["-t", "ext4", "-m", "1", "-p", &pid()]);
    slow_fsync(&disk.dir().join(&name));
    let line = tool.expect_line_with(&[" F LL_MAX  0        ", &name]);
    let c = columns(&line);
    let fin = tool.stop();
    assert_eq!(
        (c[2].as_str(), c[3].as_str()),
        (pid().as_str(), "F"),
        "{line}"
    );
    assert_eq!(c[7], name, "{line}");
    let ms: f64 = c[6].parse().unwrap();
    assert!(ms > 1.0, "{line}");
    assert_eq!(
        fin.stdout[0],
        "Tracing ext4 operations slower than 1 ms... Hit Ctrl-C to end."
    );
}

#[test]
fn reads_show_exact_bytes_and_offset() {
    let disk = LoopDev::mounted("ext4", 64);
    let name = common::unique("read");
    let path = file(disk.dir(), &name, 64 << 10);
    let f = std::fs::File::open(&path).unwrap();
    let tool = Tool::start(TOOL, &["-t", "ext4", "-m", "0", "-p", &pid(), "--json"]);
    let mut buf = vec![0u8; 12345];
    assert_eq!(f.read_at(&mut buf, 20480).unwrap(), 12345);
    let v = tool.expect_json("filename", &json!(name));
    tool.stop().assert_json_only();
    assert_eq!(v["op"], "read", "{v}");
    assert_eq!(v["bytes"], 12345, "{v}");
    assert_eq!(v["offset_bytes"], 20480, "{v}");
    assert_eq!(v["pid"].as_u64(), Some(std::process::id() as u64), "{v}");
}

#[test]
fn other_file_systems_do_not_show() {
    let disk = LoopDev::mounted("ext4", 64);
    let name = common::unique("other");
    let shm_name = format!("{name}shm");
    let shm = file(Path::new("/dev/shm"), &shm_name, 4096);
    let ext4 = file(disk.dir(), &name, 4096);
    let tool = Tool::start(TOOL, &["-t", "ext4", "-m", "0", "-p", &pid()]);
    std::fs::read(&shm).unwrap();
    std::fs::read(&ext4).unwrap();
    // The ext4 read comes after the tmpfs one: once it shows, the other
    // would have.
    tool.expect_line_with(&[" R 4096    0 ", &name]);
    let fin = tool.stop();
    let _ = std::fs::remove_file(&shm);
    assert!(
        fin.stdout.iter().any(|l| l.ends_with(&format!(" {name}"))),
        "{fin:?}"
    );
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&shm_name)),
        "a tmpfs file shows: {fin:?}"
    );
}

#[test]
fn xfs_with_t_xfs() {
    let disk = LoopDev::mounted("xfs", 320);
    let name = common::unique("xfs");
    let path = file(disk.dir(), &name, 8192);
    let tool = Tool::start(TOOL, &["-t", "xfs", "-m", "0", "-p", &pid()]);
    std::fs::read(&path).unwrap();
    let line = tool.expect_line(&format!(" {name}"));
    tool.stop();
    let c = columns(&line);
    assert!(matches!(c[3].as_str(), "O" | "R"), "{line}");
}

#[test]
fn installed_as_ext4slower() {
    let dir = std::env::temp_dir().join(common::unique("bpfkit-ext4slower-"));
    std::fs::create_dir(&dir).unwrap();
    let link = dir.join("ext4slower");
    std::os::unix::fs::symlink(common::bin(TOOL), &link).unwrap();
    let out = std::process::Command::new(&link)
        .args(["-d", "1", "-m", "50"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.starts_with("Tracing ext4 operations slower than 50 ms for 1 secs."),
        "{stdout}"
    );
}

#[test]
fn no_type_is_an_error() {
    let fin = common::run(TOOL, &["-d", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("filesystem must be specified using -t option")),
        "{fin:?}"
    );
}

/// Through `mechanism`: this process's fsync and read on its own ext4.
fn sees_fsync_and_read(args: &[&str], mechanism: Mechanism) {
    let disk = LoopDev::mounted("ext4", 64);
    let name = common::unique("mech");
    let mut argv = vec!["-t", "ext4", "-m", "0"];
    let p = pid();
    argv.extend(["-p", &p]);
    argv.extend(args);
    let tool = Tool::start(TOOL, &argv);
    common::assert_using(&tool, mechanism);
    // With -m 0 any fsync shows: a small file keeps emulated guests quick.
    let path = file(disk.dir(), &name, 16384);
    let f = std::fs::File::open(&path).unwrap();
    let mut buf = vec![0u8; 5000];
    assert_eq!(f.read_at(&mut buf, 4096).unwrap(), 5000);
    tool.expect_line_with(&[" F LL_MAX  0 ", &name]);
    let line = tool.expect_line_with(&[" R 5000    4 ", &name]);
    tool.stop();
    assert!(line.ends_with(&name), "{line}");
}

// ---- one test per mechanism (common::check_mechanism, with -t ext4) ----

#[test]
fn mechanism_auto() {
    sees_fsync_and_read(&["--probe=auto"], common::expected_auto_mechanism());
}

#[test]
fn mechanism_fentry() {
    common::check_mechanism_with(
        TOOL,
        &["-t", "ext4"],
        &needs(),
        Mechanism::Fentry,
        sees_fsync_and_read,
    );
}

#[test]
fn mechanism_kprobe() {
    common::check_mechanism_with(
        TOOL,
        &["-t", "ext4"],
        &needs(),
        Mechanism::Kprobe,
        sees_fsync_and_read,
    );
}

#[test]
fn mechanism_tracepoint() {
    common::check_mechanism_with(
        TOOL,
        &["-t", "ext4"],
        &needs(),
        Mechanism::Tracepoint,
        sees_fsync_and_read,
    );
}

#[test]
fn lifecycle() {
    let disk = LoopDev::mounted("ext4", 64);
    let path = file(disk.dir(), &common::unique("life"), 4096);
    lifecycle_checks(TOOL, &["-t", "ext4", "-m", "0"], || {
        std::fs::read(&path).unwrap();
    });
}
