//! `tcsnoop` command line (the tutorial's tc classifier).

use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::cli::{self, CommonArgs};
use crate::netif::{self, TcMode};

pub const EXAMPLES: &str = "EXAMPLES:
    tcsnoop                    # IPv4 packets arriving on lo
    tcsnoop -i eth0            # IPv4 packets arriving on eth0
    tcsnoop -i eth0 --egress   # IPv4 packets leaving eth0
    tcsnoop -i eth0 -T         # include timestamps
    tcsnoop --attach clsact    # a classic clsact filter even where tcx exists
    tcsnoop --json -d 5        # JSON for 5 seconds";

/// Print the length and TTL of IPv4 packets through a tc hook.
#[derive(Parser, Debug)]
#[command(name = "tcsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Interface to attach to
    #[arg(short, long, value_name = "IFNAME", default_value = "lo")]
    pub interface: String,

    /// Trace packets leaving the interface instead of arriving
    #[arg(short = 'e', long)]
    pub egress: bool,

    /// How to attach: tcx link (Linux 6.6+), clsact qdisc filter, or auto (tcx, else clsact)
    #[arg(long = "attach", value_name = "MODE", default_value = "auto", value_parser = netif::parse_tc_mode)]
    pub mode: TcMode,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// `-i` was not given: the interface is the default, `lo` (the tool
    /// says so, since tracing `lo` by accident looks like "no packets").
    #[arg(skip)]
    pub default_interface: bool,
}

impl Args {
    /// Parses the process's arguments (exiting on a usage error, like
    /// `Args::parse()`), noting whether `-i` was left at its default.
    pub fn from_env() -> Args {
        Self::from_matches(Args::command().get_matches())
    }

    fn from_matches(matches: clap::ArgMatches) -> Args {
        let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        args.default_interface =
            matches.value_source("interface") == Some(ValueSource::DefaultValue);
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("tcsnoop").chain(argv.iter().copied()))
    }

    #[test]
    fn defaults_to_lo_ingress_auto() {
        let a = args(&[]).unwrap();
        assert_eq!(a.interface, "lo");
        assert!(!a.egress);
        assert_eq!(a.mode, TcMode::Auto);
        let a = args(&["-i", "eth0", "--egress", "--attach", "clsact", "-T"]).unwrap();
        assert_eq!(a.interface, "eth0");
        assert!(a.egress && a.timestamp);
        assert_eq!(a.mode, TcMode::Clsact);
        assert!(args(&["--attach", "xdp"]).is_err());
    }

    #[test]
    fn default_interface_is_flagged() {
        let parse = |argv: &[&str]| {
            let m = Args::command()
                .try_get_matches_from(std::iter::once("tcsnoop").chain(argv.iter().copied()))
                .unwrap();
            Args::from_matches(m)
        };
        assert!(parse(&[]).default_interface);
        assert!(!parse(&["-i", "lo"]).default_interface);
        assert!(!parse(&["--interface=eth0"]).default_interface);
    }
}
