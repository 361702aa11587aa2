//! `fsdist`'s command line (also run as `ext4dist`, `xfsdist`, `btrfsdist`,
//! `nfsdist`, `f2fsdist`): flags, help text and EXAMPLES (the binary in
//! src/bin/fsdist.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};
use crate::fsops::FsType;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    fsdist -t ext4             # show ext4 operations latency as a histogram
    fsdist -t nfs -p 1216      # trace nfs operations with PID 1216 only
    fsdist -t xfs 1 10         # trace xfs operations, 1s summaries, 10 times
    fsdist -t btrfs -m 5       # trace btrfs operation, 5s summaries, in ms

Installed also as ext4dist, xfsdist, btrfsdist, nfsdist and f2fsdist: each
is -t with the file-system type its name starts with.";

/// Summarize file system operations latency.
#[derive(Parser, Debug)]
#[command(name = "fsdist", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub prints: cli::PrintsArgs,

    /// Print timestamp
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short, long)]
    pub milliseconds: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Total duration of trace in seconds (then one print, as at Ctrl-C)
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Which filesystem to trace (default: from the name run as, ext4dist...)
    #[arg(short = 't', long = "type", value_name = "Filesystem", value_enum)]
    pub fs: Option<FsType>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_like_libbpf_tools() {
        let a: Args = crate::args::try_parse(&["-t", "xfs", "1", "10"]).unwrap();
        assert_eq!(a.fs, Some(FsType::Xfs));
        assert_eq!(a.prints.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.prints.count, Some(10));
        let a: Args = crate::args::try_parse(&["-t", "btrfs", "-m", "-T", "5"]).unwrap();
        assert!(a.milliseconds && a.timestamp);
        assert!(crate::args::try_parse::<Args>(&["-t", "ntfs"]).is_err());
        assert!(crate::args::try_parse::<Args>(&["1", "2", "3"]).is_err());
    }
}
