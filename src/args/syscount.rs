//! `syscount`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/syscount.rs parses it; the man page generator reads it).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    syscount                 # print top 10 syscalls by count, at Ctrl-C
    syscount -p $(pidof dd)  # look only at a particular process
    syscount -L              # measure and sort output by latency
    syscount -P              # group statistics by pid, not by syscall
    syscount -x -i 5         # count only failed syscalls
    syscount -e ENOENT -i 5  # count only syscalls failed with a given errno
    syscount -c CG           # Trace process under cgroupsPath CG";

/// Summarize syscall counts and latencies.
#[derive(Parser, Debug)]
#[command(name = "syscount", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: cli::PidArg,

    /// Print summary at this interval (seconds), 0 for infinite wait (default)
    #[arg(short, long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub interval: Option<Duration>,

    /// Total tracing duration (seconds)
    #[arg(short, long, value_name = "DURATION", value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Print only the top syscalls
    #[arg(short = 'T', long, value_name = "TOP", default_value = "10", value_parser = cli::parse_count)]
    pub top: u64,

    /// Trace process in cgroup path
    #[arg(short, long, value_name = "/sys/fs/cgroup/unified/<CG>")]
    pub cgroup: Option<PathBuf>,

    /// Trace only failed syscalls
    #[arg(short = 'x', long)]
    pub failures: bool,

    /// Collect syscall latency
    #[arg(short = 'L', long)]
    pub latency: bool,

    /// Display latency in milliseconds (default: microseconds)
    #[arg(short, long)]
    pub milliseconds: bool,

    /// Count by process and not by syscall
    #[arg(short = 'P', long)]
    pub process: bool,

    /// Trace only syscalls that return this error (numeric or EPERM, etc.)
    #[arg(short, long, value_name = "ERRNO", value_parser = parse_errno)]
    pub errno: Option<i32>,

    /// Print list of recognized syscalls and exit
    #[arg(short, long)]
    pub list: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `-i`: whole seconds; 0 (as libbpf-tools) means print only at the end.
fn parse_interval(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        _ => Err(format!("'{s}' is not a valid interval (seconds, >= 0)")),
    }
}

/// `-e`: an errno by number (`2`) or name (`ENOENT`, `enoent`).
pub fn parse_errno(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        return if (1..4096).contains(&n) {
            Ok(n)
        } else {
            Err(format!("'{s}' is not a valid errno (1-4095)"))
        };
    }
    let upper = t.to_ascii_uppercase();
    (1..4096)
        .find(|&n| crate::fmt::errno_name(n) == upper)
        .ok_or_else(|| format!("'{s}' is not an errno name (such as ENOENT) or number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert_eq!(
            (a.top, a.interval, a.duration, a.errno),
            (10, None, None, None)
        );
        assert!(!a.failures && !a.latency && !a.milliseconds && !a.process && !a.list);
        let a = parse(&["-p", "7", "-i", "5", "-d", "20", "-T", "3", "-xLmP"]).unwrap();
        assert_eq!(a.target.pid, Some(7));
        assert_eq!(a.interval, Some(Duration::from_secs(5)));
        assert_eq!(a.duration, Some(Duration::from_secs(20)));
        assert_eq!(a.top, 3);
        assert!(a.failures && a.latency && a.milliseconds && a.process);
        assert_eq!(parse(&["-i", "0"]).unwrap().interval, Some(Duration::ZERO));
        assert_eq!(parse(&["-e", "ENOENT"]).unwrap().errno, Some(2));
        assert_eq!(parse(&["--errno=einval"]).unwrap().errno, Some(22));
        assert_eq!(parse(&["-e", "13"]).unwrap().errno, Some(13));
        assert!(parse(&["-l"]).unwrap().list);
        let a = parse(&["-c", "/sys/fs/cgroup/unified/x", "--json", "-v"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/unified/x")));
        assert!(a.common.json && a.common.verbose);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-p", "0"][..],
            &["-p", "x"],
            &["-i", "-1"],
            &["-d", "0"],
            &["-T", "0"],
            &["-e", "ENOSUCH"],
            &["-e", "0"],
            &["-e", "-2"],
            &["1"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
