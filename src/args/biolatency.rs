//! `biolatency`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/biolatency.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    biolatency              # summarize block I/O latency as a histogram
    biolatency 1 10         # print 1 second summaries, 10 times
    biolatency -mT 1        # 1s summaries, milliseconds, and timestamps
    biolatency -Q           # include OS queued time in I/O time
    biolatency -D           # show each disk device separately
    biolatency -F           # show I/O flags separately
    biolatency -d sdc       # Trace sdc only
    biolatency -c CG        # Trace process under cgroupsPath CG";

/// Summarize block device I/O latency as a histogram.
#[derive(Parser, Debug)]
#[command(name = "biolatency", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub prints: cli::PrintsArgs,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short, long)]
    pub milliseconds: bool,

    /// Include OS queued time in I/O time
    #[arg(short = 'Q', long)]
    pub queued: bool,

    /// Print a histogram per disk device
    #[arg(short = 'D', long = "disks")]
    pub per_disk: bool,

    /// Print a histogram per set of I/O flags
    #[arg(short = 'F', long = "flag")]
    pub per_flag: bool,

    /// Trace this disk only (a name from /proc/partitions: sda, nvme0n1, loop0)
    #[arg(short = 'd', long, value_name = "DISK")]
    pub disk: Option<String>,

    /// Trace I/O started by processes in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&["-mT", "1", "10"]).unwrap();
        assert_eq!(a.prints.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.prints.count, Some(10));
        assert!(a.milliseconds && a.timestamp && !a.queued);
        let a = parse(&["-QDF", "-d", "sdc", "-c", "/sys/fs/cgroup/x"]).unwrap();
        assert!(a.queued && a.per_disk && a.per_flag);
        assert_eq!(a.disk.as_deref(), Some("sdc"));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        let a = parse(&["--disks", "--flag", "--disk=loop3", "--json"]).unwrap();
        assert!(a.per_disk && a.per_flag && a.common.json);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-d"],
            &["-c"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
