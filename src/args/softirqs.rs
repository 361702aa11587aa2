//! `softirqs`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/softirqs.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    softirqs            # sum soft irq event time
    softirqs -d         # show soft irq event time as histograms
    softirqs -C         # show event counts with the time
    softirqs 1 10       # print 1 second summaries, 10 times
    softirqs -NT 1      # 1s summaries, nanoseconds, and timestamps";

/// Summarize soft irq event time as histograms.
#[derive(Parser, Debug)]
#[command(name = "softirqs", version, after_help = EXAMPLES)]
pub struct Args {
    /// Show distributions as histograms
    #[arg(short, long)]
    pub distributed: bool,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Output in nanoseconds
    #[arg(short = 'N', long)]
    pub nanoseconds: bool,

    /// Show event counts with timing
    #[arg(short = 'C', long)]
    pub count: bool,

    /// Seconds between prints (default: print once, at Ctrl-C)
    #[arg(value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub times: Option<u64>,

    #[command(flatten)]
    pub common: CommonArgs,
}
