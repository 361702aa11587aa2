//! `vfsstat`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/vfsstat.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    vfsstat      # interval one second
    vfsstat 5 3  # interval five seconds, three output lines";

/// Count some VFS calls
#[derive(Parser, Debug)]
#[command(name = "vfsstat", version, after_help = EXAMPLES)]
pub struct Args {
    /// Seconds between prints
    #[arg(default_value = "1", value_parser = parse_interval)]
    pub interval: u64,

    /// Number of prints (default: until Ctrl-C)
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub count: Option<u64>,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// A whole number of seconds, at least 1 (libbpf-tools' rates divide by it).
fn parse_interval(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=i32::MAX as u64).contains(&n) => Ok(n),
        _ => Err(format!("invalid interval: {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_like_libbpf_tools() {
        let a: Args = crate::args::try_parse(&[]).unwrap();
        assert_eq!((a.interval, a.count), (1, None));
        let a: Args = crate::args::try_parse(&["5", "3"]).unwrap();
        assert_eq!((a.interval, a.count), (5, Some(3)));
        for bad in [&["0"][..], &["-1"], &["x"], &["1", "0"], &["1", "2", "3"]] {
            assert!(crate::args::try_parse::<Args>(bad).is_err(), "{bad:?}");
        }
        let a: Args = crate::args::try_parse(&["-d", "3"]).unwrap();
        assert_eq!(a.duration, Some(Duration::from_secs(3)));
        let a: Args = crate::args::try_parse(&["--probe", "tracepoint"]).unwrap();
        assert_eq!(
            a.probe.mechanism,
            crate::probe::ProbeMode::Force(crate::probe::Mechanism::Tracepoint)
        );
    }
}
