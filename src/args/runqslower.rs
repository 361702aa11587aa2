//! `runqslower`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/runqslower.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    runqslower         # trace latency higher than 10000 us (default)
    runqslower 1000    # trace latency higher than 1000 us
    runqslower -p 123  # trace pid 123
    runqslower -t 123  # trace tid 123 (use for threads only)
    runqslower -P      # also show previous task name and TID";

/// Trace high run queue latency.
#[derive(Parser, Debug)]
#[command(name = "runqslower", version, after_help = EXAMPLES)]
pub struct Args {
    /// Report waits longer than this many microseconds
    #[arg(value_name = "min_us", default_value = "10000", value_parser = parse_min_us)]
    pub min_us: u64,

    /// Process PID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Thread TID to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub tid: Option<i32>,

    /// also show previous task name and TID
    #[arg(short = 'P', long)]
    pub previous: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// libbpf-tools: a positive number of microseconds.
pub fn parse_min_us(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(us) if us > 0 => Ok(us),
        _ => Err(format!("'{s}' is not a valid delay (in us, > 0)")),
    }
}
