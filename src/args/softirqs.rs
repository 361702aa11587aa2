//! `softirqs`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/softirqs.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    softirqs            # sum soft irq event time
    softirqs -d         # show soft irq event time as histograms
    softirqs -C         # show event counts with the time
    softirqs -c 1       # show soft irq event time on cpu 1
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

    /// Trace this cpu only
    #[arg(short = 'c', long, value_name = "CPU", value_parser = cli::parse_cpu)]
    pub cpu: Option<u32>,

    /// Seconds between prints (default: print once, at Ctrl-C)
    #[arg(value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub times: Option<u64>,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert!(!a.distributed && !a.count && !a.nanoseconds && !a.timestamp);
        assert_eq!((a.interval, a.times, a.cpu), (None, None, None));
        let a = parse(&["-NT", "1", "10"]).unwrap();
        assert!(a.nanoseconds && a.timestamp);
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.times, Some(10));
        let a = parse(&["-d", "-C", "--json", "5"]).unwrap();
        assert!(a.distributed && a.count && a.common.json);
        assert_eq!(a.times, None);
        let a = parse(&["--distributed", "--count", "--nanoseconds", "--timestamp"]).unwrap();
        assert!(a.distributed && a.count && a.nanoseconds && a.timestamp);
        assert_eq!(parse(&["-c", "0"]).unwrap().cpu, Some(0));
        assert_eq!(parse(&["--cpu=0", "1"]).unwrap().cpu, Some(0));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-c", "-1"],
            &["-c", "100000"],
            &["-c"],
            &["-p", "1"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
