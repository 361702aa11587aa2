//! `minimal`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/minimal.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    minimal            # every write() except our own
    minimal -p 181     # only PID 181";

/// Trace write() syscalls (lesson 1). Hit Ctrl-C to end.
#[derive(Parser, Debug)]
#[command(name = "minimal", version, after_help = EXAMPLES)]
pub struct Args {
    /// Process ID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub common: CommonArgs,
}
