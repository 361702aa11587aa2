//! `tcplife` command line: libbpf-tools tcplife's flags plus `-d` and `--json`.

use clap::Parser;

use crate::args::tcpstates::{Ports, parse_ports};
use crate::cli::{self, PidArg};

pub const EXAMPLES: &str = "EXAMPLES:
    tcplife                    # trace every TCP session as it closes
    tcplife -p 1215            # only trace PID 1215
    tcplife -p 1215 -4         # trace IPv4 only
    tcplife -L 80              # only sessions with local port 80
    tcplife -D 80,443          # only sessions with remote port 80 or 443
    tcplife -T -w              # timestamps, wide columns (fits IPv6)
    tcplife --json             # one JSON object per session";

/// Trace the lifespan of TCP sessions and summarize.
#[derive(Parser, Debug)]
#[command(name = "tcplife", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: PidArg,

    #[command(flatten)]
    pub inet: cli::FamilyArgs,

    /// Wide column output (fits IPv6 addresses)
    #[arg(short = 'w', long)]
    pub wide: bool,

    /// Include timestamp on output
    #[arg(short = 'T', long = "time")]
    pub timestamp: bool,

    /// Comma-separated list of local ports to trace.
    #[arg(short = 'L', long = "localport", value_name = "LOCALPORT", value_parser = parse_ports)]
    pub lports: Option<Ports>,

    /// Comma-separated list of remote ports to trace.
    #[arg(short = 'D', long = "remoteport", value_name = "REMOTEPORT", value_parser = parse_ports)]
    pub dports: Option<Ports>,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("tcplife").chain(argv.iter().copied()))
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = args(&["-p", "1215", "-4", "-T", "-w", "-L", "80,81", "-D", "443"]).unwrap();
        assert_eq!(a.target.pid, Some(1215));
        assert!(a.inet.ipv4 && !a.inet.ipv6 && a.timestamp && a.wide);
        assert_eq!(a.lports, Some(Ports(vec![80, 81])));
        assert_eq!(a.dports, Some(Ports(vec![443])));
        assert_eq!(a.inet.family(), crate::net::AF_INET);
        let a = args(&["--ipv6", "--time", "--localport=22", "--remoteport", "22"]).unwrap();
        assert!(a.inet.ipv6 && a.timestamp);
        assert_eq!(a.inet.family(), crate::net::AF_INET6);
        assert_eq!(args(&[]).unwrap().inet.family(), 0);
        assert!(args(&["-4", "-6"]).is_err());
        assert!(args(&["-p", "0"]).is_err());
        assert!(args(&["-L", "x"]).is_err());
        assert!(args(&["-d", "0"]).is_err());
    }
}
