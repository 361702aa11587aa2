//! fsdist against the real kernel: reads of this process on its own ext4
//! loop device, counted in the read histogram (`-p` this pid: exactly).
mod common;

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use bpfkit::fsops::FsType;
use bpfkit::probe::{Mechanism, Needs};
use common::loopdev::LoopDev;
use common::{Tool, lifecycle_checks};
use serde_json::Value;

const TOOL: &str = "fsdist";
const READS: u64 = 37;

fn needs() -> Needs {
    FsType::Ext4.needs(true)
}

/// A synced file of 64 KiB on `disk`.
fn file(disk: &LoopDev, prefix: &str) -> PathBuf {
    let path = disk.dir().join(common::unique(prefix));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&[3u8; 65536]).unwrap();
    f.sync_all().unwrap();
    path
}

fn read_n(path: &PathBuf, n: u64) {
    let f = std::fs::File::open(path).unwrap();
    let mut buf = [0u8; 512];
    for i in 0..n {
        assert_eq!(f.read_at(&mut buf, i * 512).unwrap(), 512);
    }
}

/// A process of its own that opens `path` at once, then reads it `n`
/// times (512 bytes each) when told to: its start-up reads are over before
/// the tool attaches, so `-p` its pid sees exactly those reads.
struct Reader(std::process::Child);

impl Reader {
    fn new(path: &std::path::Path, n: u64) -> Reader {
        let script = "import os, sys\n\
                      fd = os.open(sys.argv[1], os.O_RDONLY)\n\
                      sys.stdout.write('ready\\n'); sys.stdout.flush()\n\
                      sys.stdin.readline()\n\
                      for i in range(int(sys.argv[2])): os.pread(fd, 512, i * 512)\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(path)
            .arg(n.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line, "ready\n");
        Reader(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    /// Does the reads and waits for the process to end.
    fn read(mut self) {
        self.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
        assert!(self.0.wait().unwrap().success());
    }
}

/// The JSON histograms of one run of `fsdist args` during which a
/// [`Reader`] reads `READS` times; by operation name.
fn histograms(args: &[&str], mechanism: Option<Mechanism>) -> Vec<Value> {
    let disk = LoopDev::mounted("ext4", 64);
    let path = file(&disk, "dist");
    let reader = Reader::new(&path, READS);
    let pid = reader.pid();
    let mut argv = vec!["-t", "ext4", "-p", &pid, "--json"];
    argv.extend(args);
    let tool = Tool::start(TOOL, &argv);
    if let Some(m) = mechanism {
        common::assert_using(&tool, m);
    }
    reader.read();
    let fin = tool.stop();
    fin.assert_json_only();
    fin.stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn count_of(hists: &[Value], op: &str) -> u64 {
    hists
        .iter()
        .filter(|h| h["op"] == op)
        .map(|h| h["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn reads_counted_for_own_pid() {
    let hists = histograms(&[], None);
    assert_eq!(count_of(&hists, "read"), READS, "{hists:?}");
    assert_eq!(count_of(&hists, "write"), 0, "{hists:?}");
    assert!(hists.iter().all(|h| h["fs"] == "ext4"), "{hists:?}");
}

#[test]
fn table_like_libbpf_tools() {
    let disk = LoopDev::mounted("ext4", 64);
    let path = file(&disk, "table");
    let pid = std::process::id().to_string();
    let tool = Tool::start(TOOL, &["-t", "ext4", "-p", &pid, "-m"]);
    read_n(&path, 3);
    let fin = tool.stop();
    assert_eq!(fin.stdout[1], "operation = 'read'", "{fin:?}");
    assert!(fin.stdout[2].contains("msecs"), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("Tracing ext4 operation latency")),
        "{fin:?}"
    );
}

#[test]
fn installed_as_ext4dist() {
    let dir = std::env::temp_dir().join(common::unique("bpfkit-ext4dist-"));
    std::fs::create_dir(&dir).unwrap();
    let link = dir.join("ext4dist");
    std::os::unix::fs::symlink(common::bin(TOOL), &link).unwrap();
    let out = std::process::Command::new(&link)
        .args(["-d", "1"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stderr.contains("Tracing ext4 operation latency"),
        "{stderr}"
    );
}

/// Through `mechanism`: this process's reads, all counted.
fn sees_reads(args: &[&str], mechanism: Mechanism) {
    let hists = histograms(args, Some(mechanism));
    assert_eq!(count_of(&hists, "read"), READS, "{hists:?}");
}

// ---- one test per mechanism (common::check_mechanism, with -t ext4) ----

#[test]
fn mechanism_auto() {
    sees_reads(&["--probe=auto"], common::expected_auto_mechanism());
}

#[test]
fn mechanism_fentry() {
    common::check_mechanism_with(
        TOOL,
        &["-t", "ext4"],
        &needs(),
        Mechanism::Fentry,
        sees_reads,
    );
}

#[test]
fn mechanism_kprobe() {
    common::check_mechanism_with(
        TOOL,
        &["-t", "ext4"],
        &needs(),
        Mechanism::Kprobe,
        sees_reads,
    );
}

#[test]
fn mechanism_tracepoint() {
    common::check_mechanism_with(
        TOOL,
        &["-t", "ext4"],
        &needs(),
        Mechanism::Tracepoint,
        sees_reads,
    );
}

#[test]
fn lifecycle() {
    let disk = LoopDev::mounted("ext4", 64);
    let path = file(&disk, "life");
    // An interval makes it print while running (the closed-pipe check).
    lifecycle_checks(TOOL, &["-t", "ext4", "1"], || read_n(&path, 2));
}
