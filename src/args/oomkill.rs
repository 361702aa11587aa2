//! `oomkill`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/oomkill.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    oomkill                 # trace OOM kills
    oomkill -d 60           # trace for 60 seconds only
    oomkill --json          # one JSON object per kill";

/// Monitor when the OOM killer is triggered and kills a process
#[derive(Parser, Debug)]
#[command(name = "oomkill", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from(["oomkill", "-d", "5", "--probe", "tracepoint"]).unwrap();
        assert_eq!(a.run.duration, Some(Duration::from_secs(5)));
        assert!(Args::try_parse_from(["oomkill", "-d", "0"]).is_err());
        assert!(Args::try_parse_from(["oomkill", "extra"]).is_err());
        assert!(Args::try_parse_from(["oomkill", "--probe", "uprobe"]).is_err());
    }
}
