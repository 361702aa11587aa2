//! `statsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/statsnoop.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli;

pub const EXAMPLES: &str = "EXAMPLES:
    statsnoop             # trace all stat syscalls
    statsnoop -t          # include timestamps
    statsnoop -s          # include syscall name
    statsnoop -x          # only show failed stats
    statsnoop -p 1216     # only trace PID 1216";

/// Trace stat syscalls
#[derive(Parser, Debug)]
#[command(name = "statsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: cli::PidArg,

    /// Only show failed stats
    #[arg(short = 'x', long)]
    pub failed: bool,

    /// Include timestamp on output
    #[arg(short, long)]
    pub timestamp: bool,

    /// Include syscall name on output
    #[arg(short, long)]
    pub sysname: bool,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flags_like_libbpf_tools() {
        let a: Args = crate::args::try_parse(&["-txs", "-p", "1216"]).unwrap();
        assert!(a.timestamp && a.failed && a.sysname);
        assert_eq!(a.target.pid, Some(1216));
        let a: Args = crate::args::try_parse(&["-d", "2"]).unwrap();
        assert_eq!(a.run.duration, Some(Duration::from_secs(2)));
        assert!(crate::args::try_parse::<Args>(&["-p", "0"]).is_err());
        assert!(crate::args::try_parse::<Args>(&["extra"]).is_err());
    }
}
