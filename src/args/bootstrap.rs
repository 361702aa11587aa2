//! `bootstrap`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/bootstrap.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::CommonArgs;

pub const ABOUT: &str = "BPF bootstrap demo application.

It traces process start and exits and shows associated
information (filename, process duration, PID and PPID, etc).";

pub const EXAMPLES: &str = "EXAMPLES:
    bootstrap             # every exec and process exit
    bootstrap -d 500      # only exits of processes that ran >= 500 ms
    bootstrap --json      # one JSON object per event";

/// BPF bootstrap demo application
#[derive(Parser, Debug)]
#[command(name = "bootstrap", version, long_about = ABOUT, after_help = EXAMPLES)]
pub struct Args {
    /// Minimum process duration (ms) to report; hides exec events
    #[arg(short = 'd', long = "duration", value_name = "DURATION-MS", value_parser = parse_min_duration_ms)]
    pub min_duration_ms: Option<u64>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// A minimum duration in whole milliseconds, greater than zero (as the C tool).
pub fn parse_min_duration_ms(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) if ms > 0 && ms.checked_mul(1_000_000).is_some() => Ok(ms),
        _ => Err(format!("'{s}' is not a valid duration (milliseconds, > 0)")),
    }
}
