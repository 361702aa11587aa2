//! `hardirqs`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/hardirqs.rs parses it; the man page generator reads it).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    hardirqs            # sum hard irq event time
    hardirqs -d         # show hard irq event time as histograms
    hardirqs 1 10       # print 1 second summaries, 10 times
    hardirqs -c CG      # Trace process under cgroupsPath CG
    hardirqs --cpu 1    # only stat irq on cpu 1
    hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps";

/// Summarize hard irq event time as histograms.
#[derive(Parser, Debug)]
#[command(name = "hardirqs", version, after_help = EXAMPLES)]
pub struct Args {
    /// Show event counts instead of timing
    #[arg(short = 'C', long, conflicts_with = "distributed")]
    pub count: bool,

    /// Show distributions as histograms
    #[arg(short, long)]
    pub distributed: bool,

    /// Trace process in cgroup path (interrupts that preempted a task in it)
    #[arg(short = 'c', long, value_name = "/sys/fs/cgroup/unified")]
    pub cgroup: Option<PathBuf>,

    /// Only stat irq on selected cpu
    #[arg(short = 's', long, value_name = "CPU", value_parser = cli::parse_cpu)]
    pub cpu: Option<u32>,

    /// Include timestamp on output
    #[arg(short = 'T', long)]
    pub timestamp: bool,

    /// Output in nanoseconds
    #[arg(short = 'N', long)]
    pub nanoseconds: bool,

    /// Seconds between prints (default: print once, at Ctrl-C)
    #[arg(value_parser = cli::parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub times: Option<u64>,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// The unit of times: `nsecs` with `-N`, else `usecs`.
    pub fn unit(&self) -> &'static str {
        if self.nanoseconds { "nsecs" } else { "usecs" }
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
        let a = parse(&[]).unwrap();
        assert!(!a.count && !a.distributed);
        assert_eq!((a.interval, a.times, a.cpu), (None, None, None));
        assert_eq!(a.unit(), "usecs");
        let a = parse(&["-NT", "1", "10"]).unwrap();
        assert!(a.nanoseconds && a.timestamp);
        assert_eq!(a.unit(), "nsecs");
        assert_eq!(a.interval, Some(Duration::from_secs(1)));
        assert_eq!(a.times, Some(10));
        assert!(parse(&["-C"]).unwrap().count);
        assert!(parse(&["--count"]).unwrap().count);
        assert!(parse(&["-d", "5"]).unwrap().distributed);
        let a = parse(&["-c", "/sys/fs/cgroup/x", "--json", "-v"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert!(a.common.json && a.common.verbose);
        let a = parse(&["--cgroup=/cg", "--distributed", "--nanoseconds"]).unwrap();
        assert_eq!(a.cgroup, Some(PathBuf::from("/cg")));
        assert!(a.distributed);
        assert_eq!(parse(&["-s", "0"]).unwrap().cpu, Some(0));
        assert_eq!(parse(&["--cpu", "0"]).unwrap().cpu, Some(0));
    }

    #[test]
    fn help_names_values_like_libbpf_tools() {
        let help = <Args as clap::CommandFactory>::command()
            .render_help()
            .to_string();
        assert!(
            help.contains("-c, --cgroup </sys/fs/cgroup/unified>"),
            "{help}"
        );
        assert!(help.contains("-s, --cpu <CPU>"), "{help}");
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["-C", "-d"][..],
            &["0"],
            &["x"],
            &["1", "0"],
            &["1", "-3"],
            &["1", "2", "3"],
            &["-c"],
            &["-p", "1"],
            &["-s", "-1"],
            &["-s", "100000"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
