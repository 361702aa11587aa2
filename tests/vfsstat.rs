//! vfsstat against the real kernel: the test makes a known number of each
//! counted call within one interval (fsyncs, opens, mknods, unlinks...) and
//! the interval's rates times the interval reach at least that number,
//! through each mechanism; table layout; lifecycle.

mod common;

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use bpfkit::probe::Mechanism;
use common::Tool;
use serde_json::Value;

const TOOL: &str = "vfsstat";
/// Calls of each kind the test makes: a multiple of every interval used.
const N: u64 = 40;
const KEYS: [&str; 8] = [
    "read_per_s",
    "write_per_s",
    "fsync_per_s",
    "open_per_s",
    "create_per_s",
    "unlink_per_s",
    "mkdir_per_s",
    "rmdir_per_s",
];

/// Waits until the tool has printed more than `n` lines; the lines.
fn wait_lines(tool: &Tool, n: usize) -> Vec<String> {
    let deadline = Instant::now() + common::event_timeout();
    loop {
        let lines = tool.lines();
        if lines.len() > n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{TOOL}: fewer than {} lines: {lines:?}; stderr {:?}",
            n + 1,
            tool.stderr_lines()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn mknod_regular(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path that lives across the call.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFREG | 0o600, 0) };
    assert_eq!(rc, 0, "mknod {path:?}: {}", std::io::Error::last_os_error());
}

/// N calls of each counted kind, in a directory of the test's own.
fn make_calls(dir: &Path) {
    let path = dir.join("file");
    let mut f = File::options()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut buf = [0u8; 1];
    for i in 0..N {
        f.write_all(b"x").unwrap();
        f.sync_all().unwrap();
        f.rewind().unwrap();
        assert_eq!(f.read(&mut buf).unwrap(), 1);
        drop(File::open(&path).unwrap());
        let node = dir.join(format!("node{i}"));
        mknod_regular(&node);
        fs::remove_file(&node).unwrap();
        let sub = dir.join(format!("dir{i}"));
        fs::create_dir(&sub).unwrap();
        fs::remove_dir(&sub).unwrap();
    }
}

/// Runs vfsstat with `args`: the interval after the first one printed
/// holds the test's N calls of each kind.
fn counts_known_calls(args: &[&str], mechanism: Mechanism) {
    let interval = 2 * u64::from(common::slowdown());
    let secs = interval.to_string();
    let mut all = args.to_vec();
    all.extend(["--json", &secs]);
    let tool = Tool::start(TOOL, &all);
    common::assert_using(&tool, mechanism);
    let said = tool.stderr_lines().join("\n");
    assert_eq!(
        said.contains("count syscalls"),
        mechanism == Mechanism::Tracepoint,
        "{said}"
    );
    let dir = std::env::temp_dir().join(common::unique("bpfkit-vfsstat-"));
    fs::create_dir(&dir).unwrap();
    // Right after an interval's line: the calls all fall in the next one.
    let first = wait_lines(&tool, 0).len();
    make_calls(&dir);
    let lines = wait_lines(&tool, first);
    fs::remove_dir_all(&dir).unwrap();
    let fin = tool.stop();
    let row: Value = serde_json::from_str(&lines[first]).unwrap();
    assert!(row["time"].is_string(), "{row}");
    for key in KEYS {
        let per_s = row[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no {key}: {row}"));
        // Other processes add to these, never take away.
        assert!(
            per_s * interval >= N,
            "{key} {per_s}/s over {interval} s < {N} calls: {row}; {fin:?}"
        );
    }
    assert!(fin.status.success(), "{fin:?}");
}

crate::mechanism_tests!(TOOL, bpfkit::hooks::vfsstat(), counts_known_calls);

#[test]
fn table_rows_like_libbpf_tools() {
    let (args, _) = common::default_mechanism(&bpfkit::hooks::vfsstat());
    let mut all = args.clone();
    all.extend(["1", "2"]);
    let fin = Tool::start(TOOL, &all).wait();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0],
        "TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s UNLINK/s  MKDIR/s  RMDIR/s"
    );
    assert_eq!(fin.stdout.len(), 3, "{fin:?}");
    for row in &fin.stdout[1..] {
        // `%-8s: ` then ` %8llu` per operation.
        let (time, rates) = row.split_at(10);
        assert!(
            time.ends_with(": ") && time.matches(':').count() == 3,
            "{row}"
        );
        assert_eq!(rates.len(), 8 * 9, "{row}");
        for col in rates.as_bytes().chunks(9) {
            let col = std::str::from_utf8(col).unwrap();
            assert!(col.trim().parse::<u64>().is_ok(), "{col:?} in {row}");
        }
    }
}

#[test]
fn lifecycle() {
    let (args, _) = common::default_mechanism(&bpfkit::hooks::vfsstat());
    let mut all = args.clone();
    all.push("1");
    common::lifecycle_checks(TOOL, &all, || {});
}

#[test]
fn bad_interval_is_a_usage_error() {
    for bad in [&["0"][..], &["x"], &["1", "0"]] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
}
