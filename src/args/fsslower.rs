//! `fsslower`'s command line (also run as `ext4slower`, `xfsslower`,
//! `btrfsslower`, `nfsslower`, `f2fsslower`): flags, help text and EXAMPLES
//! (the binary in src/bin/fsslower.rs parses it; the man page generator
//! reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};
use crate::fsops::FsType;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    fsslower -t ext4             # trace ext4 operations slower than 10 ms
    fsslower -t nfs -p 1216      # trace nfs operations with PID 1216 only
    fsslower -t xfs -c -d 1      # trace xfs operations for 1s with csv output
    fsslower -t ext4 -m 0        # every ext4 operation

Installed also as ext4slower, xfsslower, btrfsslower, nfsslower and
f2fsslower: each is -t with the file-system type its name starts with.";

/// Trace file system operations slower than a threshold.
#[derive(Parser, Debug)]
#[command(name = "fsslower", version, after_help = EXAMPLES)]
pub struct Args {
    /// Output as csv
    #[arg(short, long)]
    pub csv: bool,

    /// Total duration of trace in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Min latency to trace, in ms
    #[arg(short, long, value_name = "MIN", default_value_t = 10)]
    pub min: u64,

    /// Which filesystem to trace (default: from the name run as, ext4slower...)
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
        let a: Args = crate::args::try_parse(&["-t", "xfs", "-c", "-d", "1"]).unwrap();
        assert_eq!(a.fs, Some(FsType::Xfs));
        assert!(a.csv);
        assert_eq!(a.duration, Some(Duration::from_secs(1)));
        assert_eq!(a.min, 10);
        let a: Args = crate::args::try_parse(&["-t", "f2fs", "-m", "0", "-p", "1216"]).unwrap();
        assert_eq!((a.fs, a.min), (Some(FsType::F2fs), 0));
        assert_eq!(a.target.pid, Some(1216));
        assert!(crate::args::try_parse::<Args>(&["-t", "ntfs"]).is_err());
        assert!(crate::args::try_parse::<Args>(&["-m", "-1"]).is_err());
    }
}
