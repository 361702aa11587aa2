//! OOM kills of the test's own processes: a fresh memory cgroup (v1's
//! memory controller where mounted, else cgroup2's) with a small limit, and
//! a process in it that allocates until the OOM killer kills it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The test cgroup's memory limit (no swap).
pub const LIMIT_BYTES: u64 = 32 << 20;

/// A fresh memory cgroup limited to [`LIMIT_BYTES`] without swap: v1's
/// memory controller where mounted (this machine), else cgroup2's (the
/// guests), enabled for the root's children.
pub fn memory_cgroup() -> PathBuf {
    let name = super::unique("bpfkit-oom");
    let v1 = PathBuf::from("/sys/fs/cgroup/memory");
    if v1.join("memory.limit_in_bytes").exists() {
        let cg = v1.join(name);
        std::fs::create_dir(&cg).unwrap();
        std::fs::write(cg.join("memory.limit_in_bytes"), LIMIT_BYTES.to_string()).unwrap();
        return cg;
    }
    let root = bpfkit::cgroup::cgroup2_root().expect("a memory cgroup: no v1 memory, no cgroup2");
    std::fs::write(root.join("cgroup.subtree_control"), "+memory")
        .expect("cgroup2 memory controller");
    let cg = root.join(name);
    std::fs::create_dir(&cg).unwrap();
    std::fs::write(cg.join("memory.max"), LIMIT_BYTES.to_string()).unwrap();
    let _ = std::fs::write(cg.join("memory.swap.max"), "0");
    cg
}

/// Runs a Python process in a fresh memory cgroup that allocates until the
/// OOM killer kills it; its pid.
pub fn oom_kill() -> u32 {
    let cg = memory_cgroup();
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec python3 -c 'x = [bytearray(1 << 20) for _ in range(1 << 20)]'",
        cg.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir(&cg);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "not OOM-killed: {status:?}");
    pid
}
