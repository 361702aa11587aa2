//! `tcptop` command line: libbpf-tools tcptop's flags plus `-d`, `--json`
//! and `--probe`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::cli::{self, IntervalArgs, PidArg};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    tcptop            # TCP top, refresh every 1s
    tcptop -p 1216    # only trace PID 1216
    tcptop -c path    # only trace the given cgroup path
    tcptop 5 10       # 5s summaries, 10 times
    tcptop -C -S -s sent -r 5   # no clearing, no summary, top 5 senders
    tcptop --json 1 3 # three JSON objects, one per second";

/// The most rows libbpf-tools prints (OUTPUT_ROWS_LIMIT).
pub const MAX_ROWS: usize = 10240;

/// What the rows are sorted by (within a family: IPv4 first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Sort {
    /// Bytes sent plus received
    #[default]
    All,
    /// Bytes sent
    Sent,
    /// Bytes received
    Received,
}

/// Summarize the top active TCP sessions - like top, but for TCP.
#[derive(Parser, Debug)]
#[command(name = "tcptop", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: PidArg,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    #[command(flatten)]
    pub inet: cli::FamilyArgs,

    /// Skip system summary line
    #[arg(short = 'S', long)]
    pub nosummary: bool,

    /// Don't clear the screen
    #[arg(short = 'C', long)]
    pub noclear: bool,

    /// Sort columns
    #[arg(short, long, value_enum, default_value_t = Sort::All)]
    pub sort: Sort,

    /// Maximum rows to print (at most 10240)
    #[arg(short, long, default_value_t = 20, value_parser = parse_rows)]
    pub rows: usize,

    #[command(flatten)]
    pub interval: IntervalArgs,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

impl Args {
    /// The interval, 1 s unless given (libbpf-tools' default).
    pub fn every(&self) -> Duration {
        self.interval.interval.unwrap_or(Duration::from_secs(1))
    }
}

/// A positive row count; above MAX_ROWS is capped there (as libbpf-tools).
fn parse_rows(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n.min(MAX_ROWS)),
        _ => Err(format!(
            "'{s}' is not a valid row count (a positive integer)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = args(&[
            "-p", "1216", "-C", "-S", "-s", "sent", "-r", "5", "-4", "5", "10",
        ])
        .unwrap();
        assert_eq!(a.target.pid, Some(1216));
        assert!(a.noclear && a.nosummary && a.inet.ipv4);
        assert_eq!((a.sort, a.rows), (Sort::Sent, 5));
        assert_eq!(a.every(), Duration::from_secs(5));
        assert_eq!(a.interval.times, Some(10));
        assert_eq!(a.inet.family(), crate::net::AF_INET);
        let a = args(&["-c", "/sys/fs/cgroup/unified", "-6", "--sort", "received"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(
            (a.sort, a.rows, a.every()),
            (Sort::Received, 20, Duration::from_secs(1))
        );
        assert_eq!(a.inet.family(), crate::net::AF_INET6);
        assert_eq!(args(&["-r", "99999"]).unwrap().rows, MAX_ROWS);
        for bad in [
            &["-4", "-6"][..],
            &["-r", "0"],
            &["-s", "bytes"],
            &["-p", "0"],
            &["0"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
