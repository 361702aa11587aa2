//! A loop device on a sparse file made for one test, optionally formatted
//! and mounted: the disk and file-system tools' real I/O goes to a device
//! nothing else on the machine uses.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct LoopDev {
    /// `/dev/loopN`.
    pub dev: String,
    image: PathBuf,
    mount: Option<PathBuf>,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl LoopDev {
    /// An unformatted device of `mib` MiB.
    pub fn new(mib: u64) -> LoopDev {
        // A guest kernel without udev's static nodes has no
        // /dev/loop-control until the (modular) driver is loaded.
        if !Path::new("/dev/loop-control").exists() {
            let _ = Command::new("modprobe").arg("loop").status();
        }
        let image = std::env::temp_dir().join(super::unique("bpfkit-disk-"));
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(mib << 20).unwrap();
        drop(f);
        let dev = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image));
        LoopDev {
            dev,
            image,
            mount: None,
        }
    }

    /// A device formatted `fstype` (`ext4`, `xfs`: xfs needs 300 MiB and
    /// more) and mounted on a fresh directory.
    pub fn mounted(fstype: &str, mib: u64) -> LoopDev {
        let mut d = LoopDev::new(mib);
        run(Command::new(format!("mkfs.{fstype}"))
            .arg(if fstype == "xfs" { "-qf" } else { "-qF" })
            .arg(&d.dev));
        let dir = std::env::temp_dir().join(super::unique("bpfkit-mnt-"));
        std::fs::create_dir(&dir).unwrap();
        run(Command::new("mount").arg(&d.dev).arg(&dir));
        d.mount = Some(dir);
        d
    }

    /// `loopN`, as /proc/partitions and `-d DISK` name it.
    pub fn name(&self) -> &str {
        self.dev.trim_start_matches("/dev/")
    }

    /// Where it is mounted ([`LoopDev::mounted`] only).
    pub fn dir(&self) -> &Path {
        self.mount.as_deref().expect("not mounted")
    }

    /// Writes `count` blocks of `bs` bytes with O_DIRECT at the device's
    /// start (`dd oflag=direct`): exactly `count` requests of `bs` bytes
    /// for `bs` up to the queue's limit (512 KiB on a loop device).
    pub fn write_direct(&self, bs: u64, count: u64) {
        run(Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", self.dev))
            .arg(format!("bs={bs}"))
            .arg(format!("count={count}"))
            .args(["oflag=direct", "status=none"]));
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        if let Some(dir) = &self.mount {
            let _ = Command::new("umount").arg(dir).status();
            let _ = std::fs::remove_dir(dir);
        }
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
        let _ = std::fs::remove_file(&self.image);
    }
}
