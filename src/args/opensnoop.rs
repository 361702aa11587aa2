//! `opensnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/opensnoop.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    opensnoop           # trace all open() syscalls
    opensnoop -T        # include timestamps
    opensnoop -U        # include UID
    opensnoop -x        # only show failed opens
    opensnoop -s        # only show successful opens
    opensnoop -p 1234 -s  # only PID 1234, leave out failed opens
    opensnoop -p 181    # only trace PID 181
    opensnoop -t 123    # only trace TID 123
    opensnoop -u 1000   # only trace UID 1000
    opensnoop -d 10     # trace for 10 seconds only
    opensnoop -n main   # only print process names containing \"main\"
    opensnoop -e        # show extended fields
    opensnoop -c        # show calling functions
    opensnoop -F        # show full path for an open file";

/// Trace open family syscalls
#[derive(Parser, Debug)]
#[command(name = "opensnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Print timestamp
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Print UID
    #[arg(short = 'U', long)]
    pub print_uid: bool,

    /// Failed opens only
    #[arg(short = 'x', long)]
    pub failed: bool,

    /// Successful opens only (failed calls are dropped in the kernel)
    #[arg(short = 's', long, conflicts_with = "failed")]
    pub success: bool,

    #[command(flatten)]
    pub target: cli::PidTidArgs,

    /// User ID to trace
    #[arg(short, long, value_parser = cli::parse_uid)]
    pub uid: Option<u32>,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Trace process names containing this
    #[arg(short, long)]
    pub name: Option<String>,

    /// Print extended fields (open flags)
    #[arg(short, long = "extended-fields")]
    pub extended: bool,

    /// Show calling functions: two frames of the opener's user stack
    /// (above the libc wrapper), under each row
    #[arg(short, long)]
    pub callers: bool,

    /// Show full path: a relative path joined to the opener's working
    /// directory, or to the directory its dirfd names
    #[arg(short = 'F', long)]
    pub full_path: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// `-n NAME`: whether a task named `comm` is shown (libbpf-tools
    /// matches a substring, in user space).
    pub fn selects(&self, comm: &str) -> bool {
        self.name.as_deref().is_none_or(|n| comm.contains(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_selects_comms_containing_it() {
        let a: Args = crate::args::try_parse(&["-n", "cat"]).unwrap();
        assert!(a.selects("cat") && a.selects("concatenate") && !a.selects("ls"));
        let a: Args = crate::args::try_parse(&[]).unwrap();
        assert!(a.selects("anything"));
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from([
            "opensnoop",
            "-T",
            "-U",
            "-x",
            "-p",
            "5",
            "-t",
            "6",
            "-u",
            "0",
            "-n",
            "cat",
            "-e",
            "-c",
        ])
        .unwrap();
        assert!(a.timestamp && a.print_uid && a.failed && a.extended && a.callers);
        assert_eq!((a.target.pid, a.target.tid), (Some(5), Some(6)));
        assert_eq!(a.uid, Some(0));
        assert_eq!(a.name.as_deref(), Some("cat"));
        assert!(Args::try_parse_from(["opensnoop", "-p", "zero"]).is_err());
        assert!(Args::try_parse_from(["opensnoop", "-d", "0"]).is_err());
    }

    #[test]
    fn success_and_failed_only_exclude_each_other() {
        let a = Args::try_parse_from(["opensnoop", "-p", "1234", "-s"]).unwrap();
        assert!(a.success && !a.failed);
        let e = Args::try_parse_from(["opensnoop", "-s", "-x"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(e.exit_code(), 2);
    }
}
