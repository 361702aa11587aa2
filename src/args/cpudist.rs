//! `cpudist`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/cpudist.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::Parser;

use crate::args::runqlat::Per;
use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    cpudist              # summarize on-CPU time as a histogram
    cpudist -O           # summarize off-CPU time as a histogram
    cpudist -c CG        # Trace process under cgroupsPath CG
    cpudist 1 10         # print 1 second summaries, 10 times
    cpudist -mT 1        # 1s summaries, milliseconds, and timestamps
    cpudist -P           # show each PID separately
    cpudist -p 185       # trace PID 185 only";

/// Summarize on-CPU time per task as a histogram.
#[derive(Parser, Debug)]
#[command(name = "cpudist", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub prints: cli::PrintsArgs,

    /// Measure off-CPU time
    #[arg(short = 'O', long)]
    pub offcpu: bool,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short, long)]
    pub milliseconds: bool,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    /// Print a histogram per process ID
    #[arg(short = 'P', long, conflicts_with = "tids")]
    pub pids: bool,

    /// Print a histogram per thread ID
    #[arg(short = 'L', long)]
    pub tids: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// `-P`, `-L` or one histogram for everything.
    pub fn per(&self) -> Per {
        if self.pids {
            Per::Process
        } else if self.tids {
            Per::Thread
        } else {
            Per::All
        }
    }

    /// libbpf-tools' banner.
    pub fn banner(&self) -> String {
        let side = if self.offcpu { "off" } else { "on" };
        format!("Tracing {side}-CPU time... Hit Ctrl-C to end.")
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
        assert!(a.milliseconds && a.timestamp && !a.offcpu);
        assert_eq!(a.per(), Per::All);
        assert_eq!(a.banner(), "Tracing on-CPU time... Hit Ctrl-C to end.");
        let a = parse(&["-O", "-P", "-p", "185", "-c", "/sys/fs/cgroup/x"]).unwrap();
        assert_eq!(a.per(), Per::Process);
        assert_eq!(a.banner(), "Tracing off-CPU time... Hit Ctrl-C to end.");
        assert_eq!(a.target.pid, Some(185));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert_eq!(parse(&["-L"]).unwrap().per(), Per::Thread);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-P", "-L"][..],
            &["0"],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-p", "0"],
            &["-c"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
