//! `tcpconnlat`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/tcpconnlat.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    tcpconnlat              # trace all TCP connects
    tcpconnlat 1            # trace connection latency slower than 1 ms
    tcpconnlat 0.1          # trace connection latency slower than 100 us
    tcpconnlat -t           # include timestamps (seconds since the first event)
    tcpconnlat -p 185       # trace PID 185 only
    tcpconnlat -L           # include LPORT while printing outputs
    tcpconnlat -d 10        # trace for 10 seconds only
    tcpconnlat --json       # one JSON object per connect";

/// Trace TCP connects and show connection latency
#[derive(Parser, Debug)]
#[command(name = "tcpconnlat", version, after_help = EXAMPLES)]
pub struct Args {
    /// Only show connects slower than this many milliseconds (e.g. 1 or 0.1)
    #[arg(value_name = "MIN_MS", value_parser = parse_min_latency)]
    pub min_us: Option<u64>,

    /// Include timestamp on output
    #[arg(short = 't', long)]
    pub timestamp: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Include LPORT on output
    #[arg(short = 'L', long, short_alias = 'l')]
    pub lport: bool,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

/// The positional minimum: milliseconds (fractions allowed) → whole
/// microseconds, which must come out above zero (as libbpf-tools requires).
pub fn parse_min_latency(s: &str) -> Result<u64, String> {
    let bad = || format!("'{s}' is not a valid minimum latency (milliseconds, > 0, e.g. 1 or 0.1)");
    let ms: f64 = s.trim().parse().map_err(|_| bad())?;
    if !ms.is_finite() || ms <= 0.0 || ms > (u64::MAX / 1000) as f64 {
        return Err(bad());
    }
    match (ms * 1000.0).round() as u64 {
        0 => Err(bad()),
        us => Ok(us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tcpconnlat").chain(argv.iter().copied())).unwrap()
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = args(&["-t", "-p", "185", "-L", "0.5"]);
        assert!(a.timestamp && a.lport);
        assert_eq!(a.target.pid, Some(185));
        assert_eq!(a.min_us, Some(500));
        assert!(args(&["-l"]).lport);
        assert!(args(&["--lport", "--timestamp"]).lport);
        assert_eq!(args(&[]).min_us, None);
        assert!(Args::try_parse_from(["tcpconnlat", "1", "2"]).is_err());
        assert!(Args::try_parse_from(["tcpconnlat", "-p", "x"]).is_err());
        assert!(Args::try_parse_from(["tcpconnlat", "--probe", "uprobe"]).is_err());
        assert!(Args::try_parse_from(["tcpconnlat", "-d", "0"]).is_err());
    }

    #[test]
    fn min_latency_is_milliseconds_in_microseconds() {
        assert_eq!(parse_min_latency("1"), Ok(1000));
        assert_eq!(parse_min_latency("0.1"), Ok(100));
        assert_eq!(parse_min_latency("10000"), Ok(10_000_000));
        assert_eq!(parse_min_latency("1.001"), Ok(1001));
        assert!(parse_min_latency("0").is_err());
        assert!(parse_min_latency("0.0001").is_err());
        assert!(parse_min_latency("-1").is_err());
        assert!(parse_min_latency("abc").is_err());
        assert!(parse_min_latency("inf").is_err());
        assert!(parse_min_latency("nan").is_err());
    }
}
