//! The `-c CGROUP_PATH` filter shared by the tools that have one.
//!
//! The BPF side (`src/bpf/cgroup.bpf.h`) declares a one-slot
//! `BPF_MAP_TYPE_CGROUP_ARRAY` named `cgroup_map`, a `filter_cg` rodata
//! flag and `cgroup_allowed()`. A tool opens its [`Filter`] with the
//! arguments, sets `filter_cg` before loading and applies it after:
//!
//! ```text
//! let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
//! rodata.filter_cg = cgroup.is_on();
//! let skel = bpf::load(open)?;
//! cgroup.apply(&skel.maps.cgroup_map)?;
//! ```

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use libbpf_rs::{MapCore, MapFlags};

/// Where cgroup v2 is mounted: `/sys/fs/cgroup` on unified systems,
/// `/sys/fs/cgroup/unified` on hybrid ones, else the first `cgroup2` line
/// of /proc/self/mounts. `None` when cgroup v2 is not mounted.
pub fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut found: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, dir, fstype) = (f.next()?, f.next()?, f.next()?);
            (fstype == "cgroup2").then(|| PathBuf::from(unescape_mount_path(dir)))
        })
        .collect();
    // Prefer the conventional places when several are mounted.
    found.sort_by_key(|p| match p.to_str() {
        Some("/sys/fs/cgroup") => 0,
        Some("/sys/fs/cgroup/unified") => 1,
        _ => 2,
    });
    found.into_iter().next()
}

/// /proc/self/mounts writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens the cgroup v2 directory `path`, with a one-line error that says
/// what is wrong: missing (`no such cgroup: PATH`), not a directory, or not
/// on a cgroup v2 filesystem (and where cgroup v2 is mounted).
pub fn open_cgroup(path: &Path) -> Result<File> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("no such cgroup: {}", path.display())
        }
        Err(e) => bail!("cgroup {}: {e}", path.display()),
    };
    if !meta.is_dir() {
        bail!(
            "not a cgroup: {} is not a directory (give a cgroup v2 directory such as {})",
            path.display(),
            cgroup2_root()
                .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"))
                .join("NAME")
                .display()
        );
    }
    let file = File::open(path).map_err(|e| anyhow!("opening cgroup {}: {e}", path.display()))?;
    let fs = nix::sys::statfs::fstatfs(&file)
        .map_err(|e| anyhow!("statfs on cgroup {}: {e}", path.display()))?;
    if fs.filesystem_type() != nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        let hint = match cgroup2_root() {
            Some(root) => format!("cgroup v2 is mounted at {}", root.display()),
            None => "cgroup v2 is not mounted: run `mount -t cgroup2 none /sys/fs/cgroup/unified`"
                .to_string(),
        };
        bail!("not a cgroup v2 directory: {} ({hint})", path.display());
    }
    Ok(file)
}

/// A tool's `-c CGROUP` filter. Opened when the arguments are read, so a
/// wrong path fails before anything is loaded; [`Filter::apply`] then
/// stores it in the loaded program's `cgroup_map` (cgroup.bpf.h), and the
/// program's `filter_cg` is [`Filter::is_on`].
pub struct Filter(Option<(PathBuf, File)>);

impl Filter {
    /// No filter for `None`; else the cgroup v2 directory `path`, or the
    /// one-line error of [`open_cgroup`].
    pub fn open(path: Option<&Path>) -> Result<Filter> {
        match path {
            None => Ok(Filter(None)),
            Some(p) => Ok(Filter(Some((p.to_path_buf(), open_cgroup(p)?)))),
        }
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Restricts the loaded program to the cgroup's tasks (and its
    /// descendants'); nothing without a filter.
    pub fn apply(&self, map: &dyn MapCore) -> Result<()> {
        let Some((path, file)) = &self.0 else {
            return Ok(());
        };
        let fd = file.as_raw_fd() as u32;
        map.update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| anyhow!("setting the cgroup filter to {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_cgroup_is_named() {
        let err = open_cgroup(Path::new("/sys/fs/cgroup/no-such-bpfkit-cg")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no such cgroup: /sys/fs/cgroup/no-such-bpfkit-cg"
        );
    }

    #[test]
    fn a_file_is_not_a_cgroup() {
        let err = open_cgroup(Path::new("/proc/self/status")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not a cgroup: /proc/self/status is not a directory"),
            "{err}"
        );
    }

    #[test]
    fn a_plain_directory_is_not_a_cgroup() {
        let err = open_cgroup(Path::new("/proc")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not a cgroup v2 directory: /proc ("),
            "{err}"
        );
    }

    #[test]
    fn the_cgroup2_root_opens() {
        // Only where cgroup v2 is mounted (it is on every systemd machine).
        if let Some(root) = cgroup2_root() {
            open_cgroup(&root).unwrap();
        }
    }

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/a\\040b"), "/a b");
        assert_eq!(unescape_mount_path("/a\\011b\\134"), "/a\tb\\");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
        assert_eq!(unescape_mount_path("/bad\\09"), "/bad\\09");
    }
}
