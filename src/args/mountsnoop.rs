//! `mountsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/mountsnoop.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    mountsnoop         # trace mount and umount syscalls
    mountsnoop -d      # detailed output (one line per column value)
    mountsnoop -p 1216 # only trace PID 1216";

/// Trace mount and umount syscalls.
#[derive(Parser, Debug)]
#[command(name = "mountsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: cli::PidArg,

    /// Include timestamp on output
    #[arg(short, long)]
    pub timestamp: bool,

    /// Output result in detail mode (one line per column value)
    #[arg(short, long)]
    pub detailed: bool,

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
        let a = parse(&["-td", "-p", "1216"]).unwrap();
        assert!(a.timestamp && a.detailed);
        assert_eq!(a.target.pid, Some(1216));
        let a = parse(&["--timestamp", "--detailed", "--pid=3", "--json"]).unwrap();
        assert!(a.timestamp && a.detailed && a.common.json);
        let a = parse(&[]).unwrap();
        assert!(!a.timestamp && !a.detailed && a.target.pid.is_none());
        for argv in [&["-p", "0"][..], &["-p", "x"], &["extra"], &["-d", "1"]] {
            assert_eq!(parse(argv).unwrap_err().exit_code(), 2, "{argv:?}");
        }
    }
}
