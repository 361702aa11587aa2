//! A cgroup v2 directory made for one test, for the `-c CGROUP` filters.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

/// Where cgroup v2 is mounted (here /sys/fs/cgroup/unified); mounts one
/// under /tmp where it is not (never a mkdir in the tmpfs above it).
pub fn cgroup2_root() -> PathBuf {
    if let Some(root) = bpfkit::cgroup::cgroup2_root() {
        return root;
    }
    let dir = Path::new("/tmp/bpfkit-cgroup2");
    std::fs::create_dir_all(dir).unwrap();
    let st = Command::new("mount")
        .args(["-t", "cgroup2", "none"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success(), "mounting cgroup2 failed");
    dir.to_path_buf()
}

/// An empty cgroup named after the test; removed on drop, once the
/// processes the test moved into it have ended.
pub struct Cgroup {
    pub path: PathBuf,
}

impl Cgroup {
    pub fn new(prefix: &str) -> Cgroup {
        let path = cgroup2_root().join(super::unique(prefix));
        std::fs::create_dir(&path).unwrap();
        Cgroup { path }
    }

    /// The path as a tool argument.
    pub fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Moves process `pid` (all its threads) into the cgroup.
    pub fn add(&self, pid: u32) {
        std::fs::write(self.path.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // rmdir fails while an exited task is still being released: retry.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.path).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A busy-looping `sh`, killed on drop (drop it before its cgroup).
pub struct Spinner(std::process::Child);

impl Spinner {
    /// Starts one; at nice 19 if `nice` (see `common::nice_self`), so that
    /// many of them do not starve the tool under test in an emulated guest.
    pub fn start(nice: bool) -> Spinner {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "while :; do :; done"]);
        if nice {
            // SAFETY: pre_exec runs in the forked child; setpriority is
            // async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    super::nice_self();
                    Ok(())
                });
            }
        }
        Spinner(cmd.spawn().unwrap())
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Cgroup {
    /// A [`Spinner`] moved into the cgroup.
    pub fn spinner(&self, nice: bool) -> Spinner {
        let s = Spinner::start(nice);
        self.add(s.pid());
        s
    }
}
