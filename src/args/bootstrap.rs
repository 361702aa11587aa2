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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_duration_flag() {
        let a = Args::try_parse_from(["bootstrap", "-d", "500", "-v"]).unwrap();
        assert_eq!(a.min_duration_ms, Some(500));
        assert!(a.common.verbose);
        let a = Args::try_parse_from(["bootstrap", "--duration", "1"]).unwrap();
        assert_eq!(a.min_duration_ms, Some(1));
        assert_eq!(
            Args::try_parse_from(["bootstrap"]).unwrap().min_duration_ms,
            None
        );
        for bad in ["0", "-5", "1.5", "abc", "99999999999999999"] {
            assert!(
                Args::try_parse_from(["bootstrap", "-d", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
