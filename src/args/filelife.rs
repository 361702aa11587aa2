//! `filelife`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/filelife.rs parses it; the man page generator reads it).

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    filelife         # trace all events
    filelife -p 123  # trace pid 123";

/// Trace the lifespan of short-lived files.
#[derive(Parser, Debug)]
#[command(name = "filelife", version, after_help = EXAMPLES)]
pub struct Args {
    /// Process PID to trace (the process that creates the file)
    #[command(flatten)]
    pub target: cli::PidArg,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_like_libbpf_tools() {
        let a: Args = crate::args::try_parse(&["-p", "123"]).unwrap();
        assert_eq!(a.target.pid, Some(123));
        let a: Args = crate::args::try_parse(&["-d", "2"]).unwrap();
        assert_eq!(a.duration, Some(Duration::from_secs(2)));
        assert!(crate::args::try_parse::<Args>(&["-p", "0"]).is_err());
        assert!(crate::args::try_parse::<Args>(&["extra"]).is_err());
    }
}
