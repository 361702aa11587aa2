//! `offcputime`: time threads spend off-CPU, summed per kernel and user
//! stack.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    offcputime             # trace off-CPU stack time until Ctrl-C
    offcputime 5           # trace for 5 seconds only
    offcputime -m 1000     # trace only events that last more than 1000 usec
    offcputime -M 10000    # trace only events that last less than 10000 usec
    offcputime -p 185,175,165 # only trace threads for PID 185,175,165
    offcputime -t 188,120,134 # only trace threads 188,120,134
    offcputime -u          # only trace user threads (no kernel)
    offcputime -k          # only trace kernel threads (no user)
    offcputime -K          # only show kernel stacks (no user stacks)
    offcputime -f 10 > out.folded && flamegraph.pl --countname=us out.folded > offcpu.svg
    offcputime --pprof offcpu.pb.gz 10 # also write a pprof profile";

/// Most PIDs (-p) or TIDs (-t) one run can filter on.
pub const MAX_IDS: usize = 30;

/// Summarize off-CPU time by stack trace.
#[derive(Parser, Debug)]
#[command(name = "offcputime", version, after_help = EXAMPLES)]
pub struct Args {
    /// Trace these PIDs only, comma-separated list
    #[arg(short, long, value_name = "PID", value_delimiter = ',', value_parser = cli::parse_pid)]
    pub pid: Vec<i32>,

    /// Trace these TIDs only, comma-separated list
    #[arg(short, long, value_name = "TID", value_delimiter = ',', value_parser = cli::parse_pid)]
    pub tid: Vec<i32>,

    /// User threads only (no kernel threads)
    #[arg(short, long, conflicts_with = "kernel_threads_only")]
    pub user_threads_only: bool,

    /// Kernel threads only (no user threads)
    #[arg(short, long)]
    pub kernel_threads_only: bool,

    /// Show stacks from user space only (no kernel space stacks)
    #[arg(short = 'U', long, conflicts_with = "kernel_stacks_only")]
    pub user_stacks_only: bool,

    /// Show stacks from kernel space only (no user space stacks)
    #[arg(short = 'K', long)]
    pub kernel_stacks_only: bool,

    /// Insert delimiter between kernel/user stacks
    #[arg(short, long)]
    pub delimited: bool,

    /// Output folded format, one line per stack (for flame graphs)
    #[arg(short, long)]
    pub folded: bool,

    /// The limit for both kernel and user stack traces
    #[arg(long, value_name = "PERF-MAX-STACK-DEPTH", default_value = "127", value_parser = cli::parse_stack_depth)]
    pub perf_max_stack_depth: u32,

    /// The number of unique stack traces that can be stored and displayed
    #[arg(long, value_name = "STACK-STORAGE-SIZE", default_value = "1024", value_parser = cli::parse_positive_u32)]
    pub stack_storage_size: u32,

    /// The amount of time in microseconds over which we store traces
    #[arg(short, long, value_name = "MIN-BLOCK-TIME", default_value = "1")]
    pub min_block_time: u64,

    /// The amount of time in microseconds under which we store traces (default U64_MAX)
    #[arg(short = 'M', long, value_name = "MAX-BLOCK-TIME", default_value_t = u64::MAX, hide_default_value = true)]
    pub max_block_time: u64,

    /// Filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE) see include/linux/sched.h
    #[arg(long, value_name = "STATE", value_parser = clap::value_parser!(i64).range(0..=2))]
    pub state: Option<i64>,

    /// Trace for this many seconds (default: until Ctrl-C)
    #[arg(value_name = "DURATION", value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Also write the off-CPU time to FILE as gzipped pprof (profile.proto), for go tool pprof, Pyroscope or Parca
    #[arg(long, value_name = "FILE")]
    pub pprof: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// Parses the command line, exiting with a usage error (2) as clap does
    /// for what clap cannot check itself.
    pub fn parse_checked() -> Self {
        let args = Self::parse();
        if let Err(e) = args.check() {
            e.exit();
        }
        args
    }

    /// At most [`MAX_IDS`] pids and tids (the BPF filters' size); the
    /// minimum block time below the maximum.
    pub fn check(&self) -> Result<(), clap::Error> {
        use clap::CommandFactory;
        use clap::error::ErrorKind;
        for (ids, flag) in [(&self.pid, "-p"), (&self.tid, "-t")] {
            if ids.len() > MAX_IDS {
                return Err(Self::command().error(
                    ErrorKind::TooManyValues,
                    format!("{flag} takes at most {MAX_IDS} ids"),
                ));
            }
        }
        if self.min_block_time >= self.max_block_time {
            return Err(Self::command().error(
                ErrorKind::ValueValidation,
                "min_block_time should be smaller than max_block_time",
            ));
        }
        Ok(())
    }

    /// libbpf-tools' `Tracing off-CPU time (us) of all threads...`, on
    /// stderr so stdout holds only the report.
    pub fn header(&self) -> String {
        let list = |ids: &[i32]| {
            ids.iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = String::from("Tracing off-CPU time (us) of");
        if !self.pid.is_empty() {
            s += &format!(" PID [{}]", list(&self.pid));
        }
        if !self.tid.is_empty() {
            s += &format!(" TID [{}]", list(&self.tid));
        }
        if self.pid.is_empty() && self.tid.is_empty() {
            s += " all threads";
        }
        match self.duration {
            Some(d) => s += &format!(" for {} secs. Hit Ctrl-C to end.", d.as_secs()),
            None => s += "... Hit Ctrl-C to end.",
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::try_parse;

    #[test]
    fn flags_and_defaults() {
        let a: Args = try_parse(&["-p", "1,22", "-t", "3", "-f", "-m", "10", "5"]).unwrap();
        assert_eq!((a.pid, a.tid), (vec![1, 22], vec![3]));
        assert!(a.folded);
        assert_eq!(a.min_block_time, 10);
        assert_eq!(a.max_block_time, u64::MAX);
        assert_eq!(a.duration, Some(Duration::from_secs(5)));
        assert_eq!((a.stack_storage_size, a.perf_max_stack_depth), (1024, 127));
        let a: Args = try_parse(&["--state", "2"]).unwrap();
        assert_eq!(a.state, Some(2));
        for bad in [
            &["-u", "-k"][..],
            &["-U", "-K"],
            &["--state", "3"],
            &["-p", "0"],
            &["0"],
            &["-m", "x"],
            &["--perf-max-stack-depth", "128"],
        ] {
            assert!(try_parse::<Args>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checks_are_usage_errors() {
        let a: Args = try_parse(&["-m", "100", "-M", "100"]).unwrap();
        assert_eq!(a.check().unwrap_err().exit_code(), 2);
        let ids = (1..=31)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let a: Args = try_parse(&["-t", &ids]).unwrap();
        assert_eq!(a.check().unwrap_err().exit_code(), 2);
        let a: Args = try_parse(&["-m", "1", "-M", "100"]).unwrap();
        assert!(a.check().is_ok());
    }

    #[test]
    fn header_like_libbpf_tools() {
        let a: Args = try_parse(&[]).unwrap();
        assert_eq!(
            a.header(),
            "Tracing off-CPU time (us) of all threads... Hit Ctrl-C to end."
        );
        let a: Args = try_parse(&["-p", "1,2", "-t", "3", "5"]).unwrap();
        assert_eq!(
            a.header(),
            "Tracing off-CPU time (us) of PID [1, 2] TID [3] for 5 secs. Hit Ctrl-C to end."
        );
    }
}
