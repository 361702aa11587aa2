//! `bitesize`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/bitesize.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    bitesize              # summarize block I/O size as a histogram
    bitesize 1 10         # print 1 second summaries, 10 times
    bitesize -T 1         # 1s summaries with timestamps
    bitesize -c fio       # trace fio only
    bitesize -d sda       # trace disk sda only";

/// Summarize block device I/O size as a histogram per process name.
#[derive(Parser, Debug)]
#[command(name = "bitesize", version, after_help = EXAMPLES)]
pub struct Args {
    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Trace this comm only (names starting with it; at most 15 bytes count)
    #[arg(short, long, value_name = "COMM")]
    pub comm: Option<String>,

    /// Trace this disk only (a name in /proc/partitions: sda, nvme0n1, loop3)
    #[arg(short, long, value_name = "DISK", value_parser = parse_disk)]
    pub disk: Option<String>,

    /// Seconds between prints (default: print once, at Ctrl-C)
    #[arg(value_name = "interval", value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "count", value_parser = cli::parse_count)]
    pub count: Option<u64>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// libbpf-tools' `DISK_NAME_LEN` (32, with its NUL): longer names are usage errors.
fn parse_disk(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() + 1 > 32 {
        return Err("invalid disk name: empty or longer than 31 bytes".into());
    }
    Ok(s.to_string())
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
        assert_eq!((a.interval, a.count, a.timestamp), (None, None, false));
        let a = parse(&["-T", "-c", "fio", "-d", "sda", "1", "10"]).unwrap();
        assert!(a.timestamp);
        assert_eq!(a.comm.as_deref(), Some("fio"));
        assert_eq!(a.disk.as_deref(), Some("sda"));
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.count, Some(10));
        let a = parse(&["--comm=dd", "--disk=/dev/loop0", "--json"]).unwrap();
        assert_eq!(a.disk.as_deref(), Some("/dev/loop0"));
        assert!(a.common.json);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        let long = "x".repeat(32);
        for argv in [
            &["0"][..],
            &["x"],
            &["1", "0"],
            &["1", "2", "3"],
            &["-c"],
            &["-d", ""],
            &["-d", &long],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
