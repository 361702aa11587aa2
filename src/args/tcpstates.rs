//! `tcpstates` command line: libbpf-tools tcpstates' flags plus `-d` and `--json`.

use clap::Parser;

use crate::cli;

pub const EXAMPLES: &str = "EXAMPLES:
    tcpstates                  # trace all TCP state changes
    tcpstates -T               # include timestamps
    tcpstates -L 80            # only trace local port 80
    tcpstates -D 80,443        # only trace remote ports 80 and 443
    tcpstates -4 -w            # IPv4 only, wide columns
    tcpstates --json           # one JSON object per state change";

/// The most ports one -L or -D list may hold (the BPF filter map's size).
pub const MAX_PORTS: usize = 64;

/// Trace TCP session state changes and durations.
#[derive(Parser, Debug)]
#[command(name = "tcpstates", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub inet: cli::FamilyArgs,

    /// Comma-separated list of local ports to trace.
    #[arg(short = 'L', long = "localport", value_name = "LPORT", value_parser = parse_ports)]
    pub lports: Option<Ports>,

    /// Comma-separated list of remote ports to trace.
    #[arg(short = 'D', long = "remoteport", value_name = "DPORT", value_parser = parse_ports)]
    pub dports: Option<Ports>,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Wide column output (fits IPv6 addresses)
    #[arg(short = 'w', long)]
    pub wide: bool,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

/// A -L/-D port list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports(pub Vec<u16>);

/// `80,443`: ports 1-65535, at most MAX_PORTS of them (duplicates dropped).
pub fn parse_ports(s: &str) -> Result<Ports, String> {
    let mut ports = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {
                if !ports.contains(&n) {
                    ports.push(n);
                }
            }
            _ => return Err(format!("'{p}' is not a valid port (1-65535)")),
        }
    }
    if ports.len() > MAX_PORTS {
        return Err(format!("at most {MAX_PORTS} ports"));
    }
    Ok(Ports(ports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("tcpstates").chain(argv.iter().copied()))
    }

    #[test]
    fn port_lists() {
        assert_eq!(parse_ports("80"), Ok(Ports(vec![80])));
        assert_eq!(parse_ports("80,443, 8080"), Ok(Ports(vec![80, 443, 8080])));
        assert_eq!(parse_ports("80,80"), Ok(Ports(vec![80])));
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("65536").is_err());
        assert!(parse_ports("80,").is_err());
        assert!(parse_ports("http").is_err());
        let many: Vec<String> = (1..=65).map(|p| p.to_string()).collect();
        assert!(parse_ports(&many.join(",")).is_err());
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = args(&["-4", "-T", "-w", "-L", "80,81", "-D", "443"]).unwrap();
        assert!(a.inet.ipv4 && !a.inet.ipv6 && a.timestamp && a.wide);
        assert_eq!(a.lports, Some(Ports(vec![80, 81])));
        assert_eq!(a.dports, Some(Ports(vec![443])));
        let a = args(&["--ipv6", "--localport=22", "--remoteport", "22"]).unwrap();
        assert!(a.inet.ipv6);
        assert_eq!(a.lports, Some(Ports(vec![22])));
        assert!(args(&["-4", "-6"]).is_err());
        assert_eq!(args(&["-4"]).unwrap().inet.family(), crate::net::AF_INET);
        assert_eq!(args(&["-6"]).unwrap().inet.family(), crate::net::AF_INET6);
        assert_eq!(args(&[]).unwrap().inet.family(), 0);
        assert!(args(&["-L", "x"]).is_err());
        assert!(args(&["-d", "0"]).is_err());
    }
}
