//! `runqlen`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/runqlen.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    runqlen         # summarize run queue length as a histogram
    runqlen 1 10    # print 1 second summaries, 10 times
    runqlen -T 1    # 1s summaries and timestamps
    runqlen -O      # report run queue occupancy
    runqlen -C      # show each CPU separately
    runqlen -H      # show nr_running from host's rq instead of cfs_rq
    runqlen -f 199  # sample at 199HZ";

/// Summarize scheduler run queue length as a histogram.
#[derive(Parser, Debug)]
#[command(name = "runqlen", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub prints: cli::PrintsArgs,

    /// Print output for each CPU separately
    #[arg(short = 'C', long)]
    pub cpus: bool,

    /// Sample with a certain frequency (Hz)
    #[arg(short, long, value_name = "FREQUENCY", default_value = "99",
          value_parser = crate::args::profile::parse_frequency)]
    pub frequency: u64,

    /// Report run queue occupancy
    #[arg(short = 'O', long)]
    pub runqocc: bool,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Report nr_running from host's rq (all tasks on the CPU's run queue)
    #[arg(short = 'H', long)]
    pub host: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.frequency, 99);
        assert!(!a.cpus && !a.runqocc && !a.timestamp && !a.host);
        assert_eq!((a.prints.interval, a.prints.count), (None, None));
        let a = parse(&["-COTH", "-f", "199", "1", "10"]).unwrap();
        assert!(a.cpus && a.runqocc && a.timestamp && a.host);
        assert_eq!(a.frequency, 199);
        assert_eq!(a.prints.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.prints.count, Some(10));
        let a = parse(&["--cpus", "--runqocc", "--frequency=49", "--json", "2"]).unwrap();
        assert!(a.cpus && a.runqocc && a.common.json);
        assert_eq!(a.frequency, 49);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-f", "0"][..],
            &["-f", "x"],
            &["-f"],
            &["0"],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
