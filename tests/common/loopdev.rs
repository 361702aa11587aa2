//! A loop device on a sparse file made for one test, optionally formatted
//! and mounted: the disk and file-system tools' real I/O goes to a device
//! nothing else on the machine uses.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct LoopDev {
    /// `/dev/loopN`.
    pub dev: String,
    /// A node of our own for the same device, where the tests write: udev
    /// watches /dev/loopN and, when a writer closes it, reads it (blkid:
    /// 48 more requests in Debian's 6.12 guest), which would land in the
    /// counts of a test that writes there.
    pub node: PathBuf,
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

/// Waits for udev's queue to empty (blkid's probe of a device included);
/// returns at once where no udev runs (the host) or udevadm is missing.
fn settle_udev() {
    let _ = Command::new("udevadm")
        .args(["settle", "--timeout=60"])
        .status();
}

impl LoopDev {
    /// An unformatted device of `mib` MiB.
    pub fn new(mib: u64) -> LoopDev {
        // A guest without udev has no /dev/loop-control until the module is
        // loaded (Debian builds loop as a module).
        if !Path::new("/dev/loop-control").exists() {
            run(Command::new("modprobe").arg("loop"));
        }
        let image = std::env::temp_dir().join(super::unique("bpfkit-disk-"));
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(mib << 20).unwrap();
        drop(f);
        let dev = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image));
        // udev answers the new device's uevent by reading it (blkid), at
        // its own pace: in a slow guest those reads came after a tool had
        // attached and landed in its counts. Wait until udev is done.
        settle_udev();
        // In /dev: a temporary directory may be mounted nodev.
        let node = Path::new("/dev").join(super::unique("bpfkit-blk-"));
        let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata(&dev).unwrap());
        nix::sys::stat::mknod(
            &node,
            nix::sys::stat::SFlag::S_IFBLK,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            rdev,
        )
        .unwrap_or_else(|e| panic!("mknod {} for {dev}: {e}", node.display()));
        LoopDev {
            dev,
            node,
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
        // mkfs closed /dev/loopN after writing: udev reads it again.
        settle_udev();
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
            .arg(format!("of={}", self.node.display()))
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
        let _ = std::fs::remove_file(&self.node);
    }
}
