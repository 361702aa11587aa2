//! `xdpcount` command line (the tutorial's XDP source-address counter).

use std::time::Duration;

use clap::Parser;

use crate::cli;

pub const EXAMPLES: &str = "EXAMPLES:
    xdpcount -i eth0           # count packets per source address until Ctrl-C
    xdpcount -i eth0 1 10      # print 1 second summaries, 10 times
    xdpcount -i eth0 -S 5      # generic (skb) XDP, 5 second summaries
    xdpcount -i eth0 -T 1      # with timestamps
    xdpcount -i eth0 --json 1  # one JSON object per interval";

/// Count packets per source IPv4/IPv6 address with XDP.
#[derive(Parser, Debug)]
#[command(name = "xdpcount", version, after_help = EXAMPLES)]
pub struct Args {
    /// Seconds between prints (default: print once, at the end)
    #[arg(value_name = "interval", value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "count", value_parser = cli::parse_count)]
    pub count: Option<u64>,

    /// Interface to attach to
    #[arg(short, long, value_name = "IFNAME")]
    pub interface: String,

    /// Generic (skb) XDP mode; default: native (driver) mode where the driver has it
    #[arg(short = 'S', long = "skb-mode")]
    pub skb_mode: bool,

    /// Only print the N busiest addresses per interval
    #[arg(short = 'n', long = "top", value_name = "N", value_parser = cli::parse_count)]
    pub top: Option<u64>,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("xdpcount").chain(argv.iter().copied()))
    }

    #[test]
    fn interface_is_required() {
        assert!(args(&[]).is_err());
        let a = args(&["-i", "veth0", "-S", "2", "3"]).unwrap();
        assert_eq!(a.interface, "veth0");
        assert!(a.skb_mode);
        assert_eq!(a.interval, Some(Duration::from_secs(2)));
        assert_eq!(a.count, Some(3));
        assert!(args(&["-i", "x", "0"]).is_err());
        assert!(args(&["-i", "x", "-n", "0"]).is_err());
    }
}
