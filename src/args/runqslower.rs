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

    #[command(flatten)]
    pub target: cli::PidTidArgs,

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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("runqslower").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.min_us, 10000);
        assert!(!a.previous && a.target.pid.is_none() && a.target.tid.is_none());
        let a = parse(&["-P", "-p", "12", "-t", "13", "1000"]).unwrap();
        assert_eq!(a.min_us, 1000);
        assert!(a.previous);
        assert_eq!((a.target.pid, a.target.tid), (Some(12), Some(13)));
        let a = parse(&["--previous", "--pid=1", "--tid", "2", "--json", "1"]).unwrap();
        assert!(a.previous && a.common.json);
        assert_eq!(a.min_us, 1);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["-5"],
            &["ten"],
            &["1", "2"],
            &["-p", "0"],
            &["-t", "x"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
