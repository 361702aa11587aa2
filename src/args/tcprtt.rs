//! `tcprtt`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/tcprtt.rs parses it; the man page generator reads it).

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    tcprtt            # summarize TCP RTT
    tcprtt -i 1 -d 10 # print 1 second summaries, 10 times
    tcprtt -m -T      # summarize in millisecond, and timestamps
    tcprtt -p 80      # filter for local port
    tcprtt -P 80      # filter for remote port
    tcprtt -a 1.2.3.4 # filter for local address
    tcprtt -A 1.2.3.4 # filter for remote address
    tcprtt -b         # show sockets histogram by local address
    tcprtt -B         # show sockets histogram by remote address
    tcprtt -e         # show extension summary(average)";

/// Summarize TCP RTT as a histogram.
#[derive(Parser, Debug)]
#[command(name = "tcprtt", version, after_help = EXAMPLES)]
pub struct Args {
    /// Summary interval, seconds
    #[arg(short, long, value_name = "INTERVAL", value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Total duration of trace, seconds
    #[arg(short, long, value_name = "DURATION", value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short, long)]
    pub millisecond: bool,

    /// Filter for local port
    #[arg(short = 'p', long, short_alias = 'l', value_name = "LPORT", value_parser = parse_port)]
    pub lport: Option<u16>,

    /// Filter for remote port
    #[arg(short = 'P', long, short_alias = 'r', value_name = "RPORT", value_parser = parse_port)]
    pub rport: Option<u16>,

    /// Filter for local address (IPv4 or IPv6)
    #[arg(short = 'a', long, value_name = "LADDR")]
    pub laddr: Option<IpAddr>,

    /// Filter for remote address (IPv4 or IPv6)
    #[arg(short = 'A', long, value_name = "RADDR")]
    pub raddr: Option<IpAddr>,

    /// Show sockets histogram by local address
    #[arg(short = 'b', long, conflicts_with = "byraddr")]
    pub byladdr: bool,

    /// Show sockets histogram by remote address
    #[arg(short = 'B', long)]
    pub byraddr: bool,

    /// Show extension summary (average)
    #[arg(short, long)]
    pub extension: bool,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// libbpf-tools refuses to mix an IPv4 and an IPv6 address filter.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let (Some(l), Some(r)) = (&self.laddr, &self.raddr)
            && l.is_ipv4() != r.is_ipv4()
        {
            anyhow::bail!("it is not permitted to filter by both IPv4 and IPv6 (-a {l}, -A {r})");
        }
        Ok(())
    }
}

pub fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("'{s}' is not a valid port (1-65535)")),
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
        let a = parse(&[
            "-i",
            "1",
            "-d",
            "10",
            "-T",
            "-m",
            "-p",
            "8080",
            "-P",
            "443",
            "-a",
            "127.0.0.1",
            "-A",
            "10.0.0.1",
            "-b",
            "-e",
        ])
        .unwrap();
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.duration, Some(Duration::from_secs(10)));
        assert!(a.timestamp && a.millisecond && a.byladdr && a.extension);
        assert_eq!((a.lport, a.rport), (Some(8080), Some(443)));
        assert_eq!(a.laddr, Some("127.0.0.1".parse().unwrap()));
        // -l/-r are accepted as aliases of -p/-P.
        let a = parse(&["-l", "22", "-r", "23"]).unwrap();
        assert_eq!((a.lport, a.rport), (Some(22), Some(23)));
        let a = parse(&["--lport", "1", "--rport=2", "--probe", "tracepoint"]).unwrap();
        assert_eq!((a.lport, a.rport), (Some(1), Some(2)));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["-i", "0"][..],
            &["-d", "x"],
            &["-p", "0"],
            &["-P", "65536"],
            &["-a", "1.2.3"],
            &["-b", "-B"],
            &["--probe", "uprobe"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn mixed_address_families_are_refused() {
        let a = parse(&["-a", "127.0.0.1", "-A", "::1"]).unwrap();
        assert!(a.validate().is_err());
        let a = parse(&["-a", "::1", "-A", "::2"]).unwrap();
        assert!(a.validate().is_ok());
    }
}
