//! `minimal`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/minimal.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli;

pub const EXAMPLES: &str = "EXAMPLES:
    minimal            # every write() except our own
    minimal -p 181     # only PID 181";

/// Trace write() syscalls (lesson 1). Hit Ctrl-C to end.
#[derive(Parser, Debug)]
#[command(name = "minimal", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: cli::PidArg,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pid_and_duration_parse() {
        let a = Args::try_parse_from(["minimal", "-p", "181", "-d", "2", "--json"]).unwrap();
        assert_eq!(a.target.pid, Some(181));
        assert_eq!(a.run.duration, Some(Duration::from_secs(2)));
        assert!(a.run.common.json);
        assert!(Args::try_parse_from(["minimal", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["minimal", "-d", "0"]).is_err());
    }
}
