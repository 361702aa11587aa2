//! `biosnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/biosnoop.rs parses it; the man page generator reads it).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    biosnoop              # trace all block I/O
    biosnoop -Q           # include OS queued time in I/O time
    biosnoop -t           # use timestamps instead
    biosnoop 10           # trace for 10 seconds only
    biosnoop -d sdc       # trace sdc only
    biosnoop -c CG        # Trace process under cgroupsPath CG
    biosnoop -m 1         # trace for slower than 1ms";

/// Trace block I/O.
#[derive(Parser, Debug)]
#[command(name = "biosnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Seconds to trace (default: until Ctrl-C)
    #[arg(value_name = "duration", value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Include OS queued time in I/O time
    #[arg(short = 'Q', long)]
    pub queued: bool,

    /// Trace this disk only (a name from /proc/partitions: sda, nvme0n1, loop0)
    #[arg(short = 'd', long, value_name = "DISK")]
    pub disk: Option<String>,

    /// Trace I/O started by processes in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    /// Min latency to trace, in ms
    #[arg(short, long, value_name = "MIN")]
    pub min: Option<u64>,

    /// Include timestamp on output (wall-clock HH:MM:SS.mmm)
    #[arg(short, long)]
    pub timestamp: bool,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&["-Qt", "-d", "sdc", "-m", "1", "10"]).unwrap();
        assert!(a.queued && a.timestamp);
        assert_eq!(a.disk.as_deref(), Some("sdc"));
        assert_eq!(a.min, Some(1));
        assert_eq!(a.duration, Some(Duration::from_secs(10)));
        let a = parse(&["-c", "/sys/fs/cgroup/x", "--probe=tracepoint", "--json"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert!(a.common.json && a.duration.is_none());
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["x"],
            &["1", "2"],
            &["-m", "-1"],
            &["-d"],
            &["--probe=uprobe"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
