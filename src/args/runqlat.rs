//! `runqlat`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/runqlat.rs parses it; the man page generator reads it).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    runqlat         # summarize run queue latency as a histogram
    runqlat 1 10    # print 1 second summaries, 10 times
    runqlat -mT 1   # 1s summaries, milliseconds, and timestamps
    runqlat -P      # show each PID separately
    runqlat -p 185  # trace PID 185 only
    runqlat -c CG   # Trace process under cgroupsPath CG";

/// Summarize run queue (scheduler) latency as a histogram.
#[derive(Parser, Debug)]
#[command(name = "runqlat", version, after_help = EXAMPLES)]
pub struct Args {
    /// Seconds between prints (default: print once, at the end)
    #[arg(value_name = "interval", value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "count", value_parser = cli::parse_count)]
    pub count: Option<u64>,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short, long)]
    pub milliseconds: bool,

    /// Print a histogram per PID namespace
    #[arg(long, conflicts_with_all = ["pids", "tids"])]
    pub pidnss: bool,

    /// Print a histogram per process ID
    #[arg(short = 'P', long, conflicts_with = "tids")]
    pub pids: bool,

    /// Print a histogram per thread ID
    #[arg(short = 'L', long)]
    pub tids: bool,

    /// Trace this PID only
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}
