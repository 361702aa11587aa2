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
    opensnoop -e        # show extended fields";

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

    /// Process ID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Thread ID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub tid: Option<i32>,

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

    #[command(flatten)]
    pub common: CommonArgs,
}
