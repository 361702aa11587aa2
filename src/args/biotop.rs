//! `biotop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/biotop.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs, PidArg};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    biotop            # block device I/O top, refresh every 1s
    biotop 5 10       # 5s summaries, 10 times
    biotop -p 181     # only trace PID 181
    biotop -C -s io   # don't clear the screen, sort by I/O count";

/// Trace block device I/O by process: top processes by disk I/O.
#[derive(Parser, Debug)]
#[command(name = "biotop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Don't clear the screen
    #[arg(short = 'C', long)]
    pub noclear: bool,

    /// Sort rows by all (I/O count + bytes + microseconds), io, bytes or time
    #[arg(short, long, value_name = "SORT", value_enum, default_value_t = Sort::All,
          hide_possible_values = true)]
    pub sort: Sort,

    /// Maximum rows to print (at most 10240)
    #[arg(short, long, value_name = "ROWS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rows: u32,

    #[command(flatten)]
    pub target: PidArg,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Seconds between prints
    #[arg(value_name = "interval", default_value = "1",
          value_parser = cli::parse_duration_secs)]
    pub interval: Duration,

    /// Number of prints
    #[arg(value_name = "count", value_parser = cli::parse_count)]
    pub count: Option<u64>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `-s`: what orders the rows, largest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sort {
    All,
    Io,
    Bytes,
    Time,
}

/// libbpf-tools' `OUTPUT_ROWS_LIMIT`.
pub const ROWS_LIMIT: u32 = 10240;

impl Args {
    /// `-r`, capped at libbpf-tools' limit.
    pub fn max_rows(&self) -> usize {
        self.rows.min(ROWS_LIMIT) as usize
    }
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
        assert_eq!(a.interval, Duration::from_secs(1));
        assert_eq!(
            (a.count, a.sort, a.rows, a.noclear),
            (None, Sort::All, 20, false)
        );
        let a = parse(&["-C", "-s", "io", "-r", "5", "-p", "181", "5", "10"]).unwrap();
        assert!(a.noclear);
        assert_eq!(
            (a.sort, a.max_rows(), a.target.pid),
            (Sort::Io, 5, Some(181))
        );
        assert_eq!((a.interval, a.count), (Duration::from_secs(5), Some(10)));
        for (s, sort) in [
            ("bytes", Sort::Bytes),
            ("time", Sort::Time),
            ("all", Sort::All),
        ] {
            assert_eq!(parse(&["--sort", s]).unwrap().sort, sort);
        }
        assert_eq!(parse(&["-r", "99999"]).unwrap().max_rows(), 10240);
        let a = parse(&["--json", "-d", "3", "--probe", "tracepoint"]).unwrap();
        assert!(a.common.json);
        assert_eq!(a.duration, Some(Duration::from_secs(3)));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-s", "size"][..],
            &["-r", "0"],
            &["-r", "x"],
            &["-p", "0"],
            &["0"],
            &["1", "0"],
            &["1", "2", "3"],
            &["--probe", "uprobe"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
