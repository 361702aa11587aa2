//! `/proc/PID/maps`: which files a process has mapped, and where. Used by
//! uprobe target resolution and by the symbolizer.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

/// One file-backed line of `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// Offset in the file of `start`.
    pub offset: u64,
    /// Whether the mapping is executable (code).
    pub exec: bool,
    pub path: PathBuf,
}

/// `/proc/PID/maps` of `pid`, with "no such process" when it is gone.
pub fn read(pid: i32) -> Result<String> {
    let file = format!("/proc/{pid}/maps");
    std::fs::read_to_string(&file).map_err(|e| read_error(pid, &file, &e))
}

fn read_error(pid: i32, file: &str, e: &std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("no such process: {pid}"),
        // The kernel shows another user's (or a non-dumpable) process's
        // maps only to who may ptrace it.
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "reading {file}: permission denied (another user's process needs root, \
             or CAP_SYS_PTRACE)"
        ),
        _ => anyhow!("reading {file}: {e}"),
    }
}

/// The file-backed mappings of a maps text. Anonymous memory, `[heap]`,
/// `[vdso]` and the like are left out, and so are deleted files (their path
/// no longer names them).
pub fn parse(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_line).collect()
}

/// The mapped files, in order of first appearance, without repeats.
pub fn paths(text: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for m in parse(text) {
        if !paths.contains(&m.path) {
            paths.push(m.path);
        }
    }
    paths
}

/// `address perms offset dev inode pathname`; the path may hold spaces.
fn parse_line(line: &str) -> Option<Mapping> {
    let mut rest = line;
    let mut fields = [""; 5];
    for field in &mut fields {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        *field = &rest[..end];
        rest = &rest[end..];
    }
    let path = rest.trim();
    if !path.starts_with('/') || path.ends_with(" (deleted)") {
        return None;
    }
    let (start, end) = fields[0].split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        offset: u64::from_str_radix(fields[2], 16).ok()?,
        exec: fields[1].contains('x'),
        path: PathBuf::from(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_errors_say_what_to_do() {
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        let msg = read_error(42, "/proc/42/maps", &denied).to_string();
        assert!(
            msg.starts_with("reading /proc/42/maps: permission denied"),
            "{msg}"
        );
        assert!(msg.contains("CAP_SYS_PTRACE"), "{msg}");
        let gone = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(
            read_error(42, "/proc/42/maps", &gone).to_string(),
            "no such process: 42"
        );
    }

    const MAPS: &str = "\
55d0c0a00000-55d0c0a2e000 r--p 00000000 fe:01 1311 /usr/bin/bash
7f1e5c000000-7f1e5c021000 rw-p 00000000 00:00 0 
7f1e60000000-7f1e60028000 r--p 00000000 fe:01 2921 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e60028000-7f1e6019d000 r-xp 00028000 fe:01 2921                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e63000000-7f1e63001000 r--p 00000000 fe:01 4001 /tmp/my lib/libx.so (deleted)
7f1e64000000-7f1e64001000 r--p 00000000 fe:01 4002 /opt/with space/libspace.so
7ffd1a3d0000-7ffd1a3f1000 rw-p 00000000 00:00 0                          [stack]
7ffd1a3fc000-7ffd1a3fe000 r-xp 00000000 00:00 0                          [vdso]
";

    #[test]
    fn file_backed_lines() {
        let maps = parse(MAPS);
        assert_eq!(maps.len(), 4);
        assert_eq!(
            maps[2],
            Mapping {
                start: 0x7f1e60028000,
                end: 0x7f1e6019d000,
                offset: 0x28000,
                exec: true,
                path: "/usr/lib/x86_64-linux-gnu/libc.so.6".into()
            }
        );
        assert!(!maps[0].exec);
        assert_eq!(maps[3].path, PathBuf::from("/opt/with space/libspace.so"));
    }

    #[test]
    fn unique_paths_in_order() {
        assert_eq!(
            paths(MAPS),
            vec![
                PathBuf::from("/usr/bin/bash"),
                PathBuf::from("/usr/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/opt/with space/libspace.so"),
            ]
        );
    }

    #[test]
    fn missing_process() {
        let err = read(1 << 23).unwrap_err().to_string();
        assert!(err.contains("no such process"), "{err}");
    }
}
