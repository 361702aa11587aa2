//! `hardirqs`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/hardirqs.rs parses it; the man page generator reads it).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    hardirqs            # sum hard irq event time
    hardirqs -d         # show hard irq event time as histograms
    hardirqs 1 10       # print 1 second summaries, 10 times
    hardirqs -c CG      # Trace process under cgroupsPath CG
    hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps";

/// Summarize hard irq event time as histograms.
#[derive(Parser, Debug)]
#[command(name = "hardirqs", version, after_help = EXAMPLES)]
pub struct Args {
    /// Show event counts instead of timing
    #[arg(short = 'C', long, conflicts_with = "distributed")]
    pub count: bool,

    /// Show distributions as histograms
    #[arg(short, long)]
    pub distributed: bool,

    /// Trace process in cgroup path (interrupts that preempted a task in it)
    #[arg(short = 'c', long, value_name = "/sys/fs/cgroup/unified")]
    pub cgroup: Option<PathBuf>,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Output in nanoseconds
    #[arg(short = 'N', long)]
    pub nanoseconds: bool,

    /// Seconds between prints (default: print once, at Ctrl-C)
    #[arg(value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub times: Option<u64>,

    #[command(flatten)]
    pub common: CommonArgs,
}
