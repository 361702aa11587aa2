//! `exitsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/exitsnoop.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    exitsnoop             # trace process exit events
    exitsnoop -t          # include timestamps
    exitsnoop -x          # trace error exits only
    exitsnoop -p 1216     # only trace PID 1216
    exitsnoop -T          # trace by thread
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

    /// Process ID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Trace by thread: report every thread exit, not only process exits
    #[arg(short = 'T', long)]
    pub threaded: bool,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub common: CommonArgs,
}
