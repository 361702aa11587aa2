//! `tcptracer`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/tcptracer.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli;
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    tcptracer             # trace all TCP connections
    tcptracer -t          # include timestamps
    tcptracer -p 181      # only trace PID 181
    tcptracer -U          # include UID
    tcptracer -u 1000     # only trace UID 1000
    tcptracer -4          # only trace IPv4 connections
    tcptracer --json      # one JSON object per connect, accept or close";

/// Trace TCP connections: connects (C), accepts (A) and closes (X)
#[derive(Parser, Debug)]
#[command(name = "tcptracer", version, after_help = EXAMPLES)]
pub struct Args {
    /// Include timestamp on output
    #[arg(short = 't', long)]
    pub timestamp: bool,

    /// Include UID on output
    #[arg(short = 'U', long)]
    pub print_uid: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Process UID to trace
    #[arg(short = 'u', long, value_parser = cli::parse_uid)]
    pub uid: Option<u32>,

    #[command(flatten)]
    pub inet: cli::FamilyArgs,

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
        let a = args(&["-t", "-U", "-p", "181", "-u", "1000"]).unwrap();
        assert!(a.timestamp && a.print_uid);
        assert_eq!(a.target.pid, Some(181));
        assert_eq!(a.uid, Some(1000));
        let a = args(&["--timestamp", "--print-uid", "--pid=7", "--uid=0"]).unwrap();
        assert!(a.timestamp && a.print_uid);
        assert_eq!((a.target.pid, a.uid), (Some(7), Some(0)));
        for bad in [
            &["-u", "-1"][..],
            &["-u", "4294967295"],
            &["-p", "0"],
            &["-p", "x"],
            &["-d", "0"],
            &["-4", "-6"],
            &["--probe", "uprobe"],
            &["-c"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
