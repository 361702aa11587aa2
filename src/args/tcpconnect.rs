//! `tcpconnect`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/tcpconnect.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::Parser;

use crate::args::tcpstates::{Ports, parse_ports};
use crate::cli;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    tcpconnect             # trace all TCP connect()s
    tcpconnect -t          # include timestamps
    tcpconnect -p 181      # only trace PID 181
    tcpconnect -P 80       # only trace port 80
    tcpconnect -P 80,81    # only trace port 80 and 81
    tcpconnect -U          # include UID
    tcpconnect -u 1000     # only trace UID 1000
    tcpconnect -c          # count connects per src, dest, port
    tcpconnect -cs         # count per source port too
    tcpconnect -4          # only trace IPv4 connects
    tcpconnect --cgroup /sys/fs/cgroup/system.slice  # only this cgroup (v2)
    tcpconnect --json      # one JSON object per connect";

/// Count/Trace active tcp connections
#[derive(Parser, Debug)]
#[command(name = "tcpconnect", version, after_help = EXAMPLES)]
pub struct Args {
    /// Include timestamp on output
    #[arg(short = 't', long)]
    pub timestamp: bool,

    /// Count connects per src ip and dst ip/port
    #[arg(short = 'c', long)]
    pub count: bool,

    /// Include UID on output
    #[arg(short = 'U', long)]
    pub print_uid: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Process UID to trace
    #[arg(short = 'u', long, value_parser = cli::parse_uid)]
    pub uid: Option<u32>,

    /// Include SPORT on output; consider source port when counting
    #[arg(short = 's', long)]
    pub source_port: bool,

    /// Comma-separated list of destination ports to trace
    #[arg(short = 'P', long = "port", value_name = "PORTS", value_parser = parse_ports)]
    pub ports: Option<Ports>,

    #[command(flatten)]
    pub inet: cli::FamilyArgs,

    /// Trace processes in this cgroup only (a cgroup v2 directory)
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<PathBuf>,

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
        let a = args(&["-t", "-U", "-p", "181", "-u", "1000", "-s", "-P", "80,81"]).unwrap();
        assert!(a.timestamp && a.print_uid && a.source_port && !a.count);
        assert_eq!(a.target.pid, Some(181));
        assert_eq!(a.uid, Some(1000));
        assert_eq!(a.ports, Some(Ports(vec![80, 81])));
        let a = args(&["-c", "--port=443", "--print-uid", "--source-port"]).unwrap();
        assert!(a.count && a.source_port && a.print_uid);
        assert_eq!(a.ports, Some(Ports(vec![443])));
        let a = args(&["-cs"]).unwrap();
        assert!(a.count && a.source_port);
        assert_eq!(args(&["-u", "0"]).unwrap().uid, Some(0));
        for bad in [
            &["-u", "-1"][..],
            &["-u", "4294967295"],
            &["-P", "0"],
            &["-P", "80,"],
            &["-p", "0"],
            &["-d", "0"],
            &["-4", "-6"],
            &["--probe", "uprobe"],
            &["--cgroup"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
