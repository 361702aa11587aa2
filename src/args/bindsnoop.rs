//! `bindsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/bindsnoop.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::Parser;

use crate::args::tcpstates::{Ports, parse_ports};
use crate::cli;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    bindsnoop             # trace all bind syscall
    bindsnoop -t          # include timestamps
    bindsnoop -x          # include errors on output
    bindsnoop -p 1216     # only trace PID 1216
    bindsnoop -c CG       # Trace process under cgroupsPath CG
    bindsnoop -P 80,81    # only trace port 80 and 81
    bindsnoop --json      # one JSON object per bind

OPTS shows the socket options as five letters, '.' where unset: F
IP_FREEBIND, T IP_TRANSPARENT, N IP_BIND_ADDRESS_NO_PORT (SOL_IP), R
SO_REUSEADDR, r SO_REUSEPORT (SOL_SOCKET).";

/// Trace bind syscalls.
#[derive(Parser, Debug)]
#[command(name = "bindsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Include timestamp on output
    #[arg(short = 't', long)]
    pub timestamp: bool,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    /// Include errors on output (failed binds too)
    #[arg(short = 'x', long)]
    pub failed: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Comma-separated list of ports to trace
    #[arg(short = 'P', long, value_name = "PORTS", value_parser = parse_ports)]
    pub ports: Option<Ports>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = args(&[
            "-t",
            "-x",
            "-p",
            "1216",
            "-P",
            "80,81",
            "-c",
            "/sys/fs/cgroup/x",
        ])
        .unwrap();
        assert!(a.timestamp && a.failed);
        assert_eq!(a.target.pid, Some(1216));
        assert_eq!(a.ports, Some(Ports(vec![80, 81])));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        let a = args(&["--ports=443", "--failed", "--timestamp", "--json"]).unwrap();
        assert!(a.failed && a.timestamp && a.run.common.json);
        assert_eq!(a.ports, Some(Ports(vec![443])));
        for bad in [
            &["-P", "0"][..],
            &["-P", "80,"],
            &["-P", "65536"],
            &["-p", "0"],
            &["-d", "0"],
            &["--probe", "uprobe"],
            &["-c"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
