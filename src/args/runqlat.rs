//! `runqlat`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/runqlat.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    runqlat         # summarize run queue latency as a histogram
    runqlat 1 10    # print 1 second summaries, 10 times
    runqlat -mT 1   # 1s summaries, milliseconds, and timestamps
    runqlat -P      # show each PID separately
    runqlat -p 185  # trace PID 185 only
    runqlat -c CG   # Trace process under cgroupsPath CG";

/// Summarize run queue (scheduler) latency as a histogram.
#[derive(Parser, Debug)]
#[command(name = "runqlat", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub prints: cli::PrintsArgs,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short, long)]
    pub milliseconds: bool,

    /// Print a histogram per PID namespace
    #[arg(long, conflicts_with_all = ["pids", "tids"])]
    pub pidnss: bool,

    /// Print a histogram per process ID
    #[arg(short = 'P', long, conflicts_with = "tids")]
    pub pids: bool,

    /// Print a histogram per thread ID
    #[arg(short = 'L', long)]
    pub tids: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// What the histograms are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Per {
    All,
    Process,
    Thread,
    PidNs,
}

impl Args {
    /// `-P`, `-L`, `--pidnss` or one histogram for everything.
    pub fn per(&self) -> Per {
        if self.pids {
            Per::Process
        } else if self.tids {
            Per::Thread
        } else if self.pidnss {
            Per::PidNs
        } else {
            Per::All
        }
    }
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
        assert!(a.milliseconds && a.timestamp);
        assert_eq!(a.per(), Per::All);
        let a = parse(&["-P", "-p", "185", "-c", "/sys/fs/cgroup/x"]).unwrap();
        assert_eq!(a.per(), Per::Process);
        assert_eq!(a.target.pid, Some(185));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert_eq!((a.prints.interval, a.prints.count), (None, None));
        assert_eq!(parse(&["-L"]).unwrap().per(), Per::Thread);
        assert_eq!(parse(&["--pidnss"]).unwrap().per(), Per::PidNs);
        let a = parse(&["--pids", "--milliseconds", "--pid=3", "--json", "5"]).unwrap();
        assert!(a.pids && a.milliseconds && a.common.json);
        assert_eq!(a.prints.interval, Some(Duration::from_secs(5)));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-P", "-L"][..],
            &["-P", "--pidnss"],
            &["-L", "--pidnss"],
            &["0"],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-p", "0"],
            &["-p", "abc"],
            &["-c"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
