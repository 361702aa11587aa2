//! Block devices by name and by the kernel's `dev_t` (`major << 20 | minor`,
//! what the block tracepoints and `struct gendisk` carry), read from
//! /proc/partitions as libbpf-tools' `partitions__load` does.

use std::fmt;

/// The kernel's internal `MKDEV` (not glibc's `makedev`).
pub fn mkdev(major: u32, minor: u32) -> u32 {
    (major << 20) | minor
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub dev: u32,
}

/// The disks and partitions the kernel lists.
#[derive(Debug, Default, Clone)]
pub struct Partitions(Vec<Partition>);

/// `-d DISK` named no disk the kernel lists.
#[derive(Debug, PartialEq, Eq)]
pub struct NoSuchDisk(pub String);

impl fmt::Display for NoSuchDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no such disk: {} (see /proc/partitions)", self.0)
    }
}

impl std::error::Error for NoSuchDisk {}

impl Partitions {
    pub fn load() -> std::io::Result<Partitions> {
        Ok(Self::parse(&std::fs::read_to_string("/proc/partitions")?))
    }

    /// `major minor #blocks name` lines under a header line.
    pub fn parse(text: &str) -> Partitions {
        Partitions(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let major = f.next()?.parse().ok()?;
                    let minor = f.next()?.parse().ok()?;
                    let name = f.nth(1)?.to_string();
                    Some(Partition {
                        name,
                        dev: mkdev(major, minor),
                    })
                })
                .collect(),
        )
    }

    pub fn by_name(&self, name: &str) -> Result<&Partition, NoSuchDisk> {
        // `-d /dev/sda` works as well as `-d sda`.
        let short = name.strip_prefix("/dev/").unwrap_or(name);
        self.0
            .iter()
            .find(|p| p.name == short)
            .ok_or_else(|| NoSuchDisk(name.to_string()))
    }

    pub fn by_dev(&self, dev: u32) -> Option<&Partition> {
        self.0.iter().find(|p| p.dev == dev)
    }

    /// The disk's name, or `Unknown` as libbpf-tools prints for a device
    /// that is gone (or appeared after we loaded the list).
    pub fn name_of(&self, dev: u32) -> &str {
        self.by_dev(dev).map_or("Unknown", |p| p.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "major minor  #blocks  name\n\n 254        0  268435456 vda\n   7        3     65536 loop3\n 259        1   1000 nvme0n1p1\n";

    #[test]
    fn parses_names_and_kernel_dev_t() {
        let p = Partitions::parse(TEXT);
        assert_eq!(p.by_name("vda").unwrap().dev, 254 << 20);
        assert_eq!(p.by_name("/dev/loop3").unwrap().dev, (7 << 20) | 3);
        assert_eq!(p.name_of((259 << 20) | 1), "nvme0n1p1");
        assert_eq!(p.name_of(42), "Unknown");
    }

    #[test]
    fn unknown_disk_is_an_error_naming_it() {
        let p = Partitions::parse(TEXT);
        let e = p.by_name("sdz").unwrap_err();
        assert_eq!(e.to_string(), "no such disk: sdz (see /proc/partitions)");
    }
}
