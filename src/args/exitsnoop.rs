//! `exitsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/exitsnoop.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::Parser;

use crate::cli;

pub const EXAMPLES: &str = "EXAMPLES:
    exitsnoop             # trace process exit events
    exitsnoop -t          # include timestamps
    exitsnoop -x          # trace error exits only
    exitsnoop -p 1216     # only trace PID 1216
    exitsnoop -T          # trace by thread
    exitsnoop -c CG       # trace process under cgroupsPath CG
    exitsnoop --json      # one JSON object per exit";

/// Trace process termination
#[derive(Parser, Debug)]
#[command(name = "exitsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Include timestamp on output
    #[arg(short = 't', long)]
    pub timestamp: bool,

    /// Trace error exits only (non-zero exit code or killed by a signal)
    #[arg(short = 'x', long)]
    pub failed: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Trace by thread: report every thread exit, not only process exits
    #[arg(short = 'T', long)]
    pub threaded: bool,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flags_follow_libbpf_tools() {
        let a =
            Args::try_parse_from(["exitsnoop", "-t", "-x", "-T", "-p", "42", "-d", "3"]).unwrap();
        assert!(a.timestamp && a.failed && a.threaded);
        assert_eq!(a.target.pid, Some(42));
        assert_eq!(a.run.duration, Some(Duration::from_secs(3)));
        assert_eq!(a.cgroup, None);
        let a = Args::try_parse_from(["exitsnoop", "-c", "/sys/fs/cgroup/unified/x"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/unified/x")));
        let a = Args::try_parse_from(["exitsnoop", "--cgroup=/cg"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/cg")));
        let a = Args::try_parse_from(["exitsnoop", "--threaded", "--json"]).unwrap();
        assert!(a.threaded && !a.timestamp && a.run.common.json);
        assert!(Args::try_parse_from(["exitsnoop", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["exitsnoop", "-d", "0"]).is_err());
        assert!(Args::try_parse_from(["exitsnoop", "extra"]).is_err());
    }
}
