//! mountsnoop against real mounts: each test mounts a tmpfs (or fails to
//! mount one) on a directory of its own, with mount(2) and umount2(2)
//! called by the test itself, and finds its rows by that directory.
mod common;

use std::ffi::CString;
use std::path::PathBuf;

use common::{Tool, lifecycle_checks, unique};
use serde_json::{Value, json};

const TOOL: &str = "mountsnoop";

const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MNT_DETACH: i32 = 2;

/// A directory of this test's to mount on; unmounted (if still mounted)
/// and removed when dropped.
struct MountDir {
    path: PathBuf,
}

impl MountDir {
    fn new(name: &str) -> MountDir {
        let path = std::env::temp_dir().join(unique(name));
        std::fs::create_dir(&path).unwrap();
        MountDir { path }
    }

    fn display(&self) -> String {
        self.path.display().to_string()
    }

    fn c_path(&self) -> CString {
        CString::new(self.path.as_os_str().as_encoded_bytes()).unwrap()
    }

    /// mount(2): its result and errno.
    fn mount(&self, source: &str, fstype: &str, flags: u64, data: Option<&str>) -> (i32, i32) {
        let (src, fs) = (CString::new(source).unwrap(), CString::new(fstype).unwrap());
        let data = data.map(|d| CString::new(d).unwrap());
        let data_ptr = data
            .as_ref()
            .map_or(std::ptr::null(), |d| d.as_ptr().cast());
        let target = self.c_path();
        // SAFETY: NUL-terminated strings that outlive the call.
        let rc =
            unsafe { libc::mount(src.as_ptr(), target.as_ptr(), fs.as_ptr(), flags, data_ptr) };
        (
            rc,
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        )
    }

    /// umount2(2): its result.
    fn umount(&self, flags: i32) -> i32 {
        let target = self.c_path();
        // SAFETY: a NUL-terminated string that outlives the call.
        unsafe { libc::umount2(target.as_ptr(), flags) }
    }
}

impl Drop for MountDir {
    fn drop(&mut self) {
        self.umount(MNT_DETACH);
        let _ = std::fs::remove_dir(&self.path);
    }
}

fn gettid() -> u32 {
    nix::unistd::gettid().as_raw() as u32
}

/// The inode number of this process's mount namespace.
fn mnt_ns() -> String {
    let link = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let s = link.display().to_string();
    s.trim_start_matches("mnt:[")
        .trim_end_matches(']')
        .to_string()
}

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn lifecycle() {
    let dir = MountDir::new("bpfkit-mntl-");
    lifecycle_checks(TOOL, &[], || {
        dir.mount("bpfkit", "bpfkit-nosuchfs", 0, None);
    });
}

#[test]
fn tmpfs_mount_and_umount_rows() {
    let me = std::process::id().to_string();
    let tool = Tool::start(TOOL, &["-p", &me]);
    let dir = MountDir::new("bpfkit-mnt-");
    let source = unique("bpfkit-src-");
    assert_eq!(
        dir.mount(&source, "tmpfs", MS_NOSUID | MS_NODEV, Some("size=1m"))
            .0,
        0
    );
    assert_eq!(dir.umount(0), 0);
    let target = dir.display();
    let call = format!(
        "mount(\"{source}\", \"{target}\", \"tmpfs\", MS_NOSUID | MS_NODEV, \"size=1m\") = 0"
    );
    let line = tool.expect_line(&call);
    // COMM PID TID MNT_NS CALL
    let c = columns(&line);
    let (tid, ns) = (gettid().to_string(), mnt_ns());
    assert_eq!(
        (c[1], c[2], c[3]),
        (me.as_str(), tid.as_str(), ns.as_str()),
        "{line}"
    );
    // CALL starts at column 45: `%-16s %-7d %-7d %-11u `.
    assert_eq!(&line[45..], call, "{line}");
    let line = tool.expect_line(&format!("umount(\"{target}\", 0x0) = 0"));
    assert_eq!(columns(&line)[1], me, "{line}");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["COMM", "PID", "TID", "MNT_NS", "CALL"]
    );
}

#[test]
fn failing_mount_shows_the_error_name() {
    let tool = Tool::start(TOOL, &["--json"]);
    let dir = MountDir::new("bpfkit-mntf-");
    let (rc, errno) = dir.mount("bpfkit", "bpfkit-nosuchfs", MS_NODEV, None);
    assert_eq!((rc, errno), (-1, libc::ENODEV));
    let v = tool.expect_json("target", &json!(dir.display()));
    assert_eq!(v["pid"], std::process::id());
    assert_eq!(v["tid"], gettid());
    assert_eq!(v["call"], "mount");
    assert_eq!(v["source"], "bpfkit");
    assert_eq!(v["fstype"], "bpfkit-nosuchfs");
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["flags"], MS_NODEV);
    assert_eq!(v["flag_names"], json!(["MS_NODEV"]));
    assert_eq!(v["ret"], -libc::ENODEV);
    assert_eq!(
        (v["errno"].clone(), v["error"].clone()),
        (json!(libc::ENODEV), json!("ENODEV"))
    );
    assert!(v["lat_us"].is_u64(), "{v}");
    tool.stop().assert_json_only();
}

#[test]
fn failing_mount_in_the_table() {
    let tool = Tool::start(TOOL, &["-t"]);
    let dir = MountDir::new("bpfkit-mntt-");
    dir.mount("bpfkit", "bpfkit-nosuchfs", 0, None);
    let line = tool.expect_line(&format!(
        "mount(\"bpfkit\", \"{}\", \"bpfkit-nosuchfs\", 0x0, NULL) = -ENODEV",
        dir.display()
    ));
    // TIME first: HH:MM:SS.
    assert_eq!(&line[2..3], ":", "{line}");
    let fin = tool.stop();
    assert!(fin.stdout[0].starts_with("TIME     COMM"), "{fin:?}");
}

#[test]
fn detailed_lines_with_timestamp() {
    let tool = Tool::start(TOOL, &["-d", "-t", "-p", &std::process::id().to_string()]);
    let dir = MountDir::new("bpfkit-mntd-");
    assert_eq!(dir.mount("bpfkit-d", "tmpfs", 0, Some("size=1m")).0, 0);
    assert_eq!(dir.umount(MNT_DETACH), 0);
    tool.expect_line(&format!("    TARGET: {}", dir.display()));
    let fin = tool.stop();
    let target = format!("    TARGET: {}", dir.display());
    // The mount's block: time, then the values indented, then an empty line.
    let at = fin.stdout.iter().position(|l| *l == target).unwrap();
    let block = &fin.stdout[at - 10..at + 4];
    assert_eq!(block[0].len(), 8, "{block:?}");
    assert_eq!(block[1], format!("    PID:    {}", std::process::id()));
    assert_eq!(block[2], format!("    TID:    {}", gettid()));
    assert_eq!(block[4], "    OP:     MOUNT");
    assert_eq!(block[5], "    RET:    0");
    assert!(
        block[6].starts_with("    LAT:    ") && block[6].ends_with("us"),
        "{block:?}"
    );
    assert_eq!(block[7], format!("    MNT_NS: {}", mnt_ns()));
    assert_eq!(block[8], "    FS:     tmpfs");
    assert_eq!(block[9], "    SOURCE: bpfkit-d");
    assert_eq!(block[11], "    DATA:   size=1m");
    assert_eq!(block[12], "    FLAGS:  0x0");
    assert_eq!(block[13], "");
    // The umount's block names umount2's flags.
    let umount = fin.stdout[at + 4..]
        .iter()
        .position(|l| *l == target)
        .unwrap()
        + at
        + 4;
    assert_eq!(fin.stdout[umount - 6], "    OP:     UMOUNT");
    assert_eq!(fin.stdout[umount + 2], "    FLAGS:  MNT_DETACH");
    // No header line in detail mode.
    assert!(!fin.stdout.iter().any(|l| l.contains("MNT_NS ")), "{fin:?}");
}

#[test]
fn control_bytes_in_paths_are_escaped() {
    let tool = Tool::start(TOOL, &["-p", &std::process::id().to_string()]);
    let dir = MountDir::new("bpfkit-mnt\n\x1b[31m-");
    dir.mount("src\tx", "bpfkit-nosuchfs", 0, None);
    let escaped = dir.display().replace('\n', "\\n").replace('\x1b', "\\x1b");
    let line = tool.expect_line(&format!("mount(\"src\\tx\", \"{escaped}\""));
    assert!(!line.contains('\x1b'), "{line:?}");
    let fin = tool.stop();
    assert!(fin.stdout.iter().all(|l| !l.contains('\x1b')), "{fin:?}");
}

const MOUNTER_C: &str = r#"
#include <sys/mount.h>
int main(int argc, char **argv) { return mount("bpfkit-child", argv[1], "bpfkit-nosuchfs", 0, 0) == 0; }
"#;

#[test]
fn pid_filter_hides_other_processes() {
    let mounter = common::compile_c("mounter", MOUNTER_C, "-O1");
    let me = std::process::id().to_string();
    let tool = Tool::start(TOOL, &["-p", &me]);
    let all = Tool::start(TOOL, &[]);
    let dir = MountDir::new("bpfkit-mntp-");
    let status = std::process::Command::new(&mounter)
        .arg(&dir.path)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the child's mount fails with ENODEV: {status:?}"
    );
    dir.mount("bpfkit-parent", "bpfkit-nosuchfs", 0, None);
    let child = format!("mount(\"bpfkit-child\", \"{}\"", dir.display());
    // Without -p the child's call is there; with -p only ours.
    all.expect_line(&child);
    tool.expect_line(&format!("mount(\"bpfkit-parent\", \"{}\"", dir.display()));
    let fin = tool.stop();
    assert!(!fin.stdout.iter().any(|l| l.contains(&child)), "{fin:?}");
    all.stop();
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}
