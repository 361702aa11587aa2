//! `profile`: sample stacks on every CPU at a fixed frequency.

use std::time::Duration;

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    profile             # profile stack traces at 49 Hertz until Ctrl-C
    profile -F 99       # profile stack traces at 99 Hertz
    profile 5           # profile at 49 Hertz for 5 seconds only
    profile -f          # output in folded format for flame graphs
    profile -p 185      # only profile process with PID 185
    profile -L 185      # only profile thread with TID 185
    profile -U          # only show user space stacks (no kernel)
    profile -K          # only show kernel space stacks (no user)
    profile --samples   # print every sample with symbolized frames (the lesson's view)
    profile -f 10 > out.folded && flamegraph.pl out.folded > flame.svg";

/// Most PIDs (-p) or TIDs (-L) one run can filter on.
pub const MAX_IDS: usize = 30;

/// Profile CPU usage by sampling stack traces at a timed interval.
#[derive(Parser, Debug)]
#[command(name = "profile", version, after_help = EXAMPLES)]
pub struct Args {
    /// Profile processes with one or more comma-separated PIDs only
    #[arg(short, long, value_name = "PID", value_delimiter = ',', value_parser = cli::parse_pid, conflicts_with = "tid")]
    pub pid: Vec<i32>,

    /// Profile threads with one or more comma-separated TIDs only
    #[arg(short = 'L', long, value_name = "TID", value_delimiter = ',', value_parser = cli::parse_pid)]
    pub tid: Vec<i32>,

    /// Show stacks from user space only (no kernel space stacks)
    #[arg(short = 'U', long, conflicts_with = "kernel_stacks_only")]
    pub user_stacks_only: bool,

    /// Show stacks from kernel space only (no user space stacks)
    #[arg(short = 'K', long)]
    pub kernel_stacks_only: bool,

    /// Sample frequency, Hertz
    #[arg(short = 'F', long, value_name = "FREQUENCY", default_value = "49", value_parser = parse_frequency)]
    pub frequency: u64,

    /// Insert delimiter between kernel/user stacks
    #[arg(short, long)]
    pub delimited: bool,

    /// Include CPU idle stacks
    #[arg(short = 'I', long)]
    pub include_idle: bool,

    /// Output folded format, one line per stack (for flame graphs)
    #[arg(short, long, conflicts_with = "samples")]
    pub folded: bool,

    /// Print every sample as it is taken, with symbolized kernel and user
    /// frames (symbol+offset file:line), instead of counts at the end
    #[arg(long)]
    pub samples: bool,

    /// The number of unique stack traces that can be stored and displayed
    #[arg(long, value_name = "STACK-STORAGE-SIZE", default_value = "1024", value_parser = cli::parse_positive_u32)]
    pub stack_storage_size: u32,

    /// Cpu number to run profile on
    #[arg(short = 'C', long, value_name = "CPU")]
    pub cpu: Option<u32>,

    /// The limit for both kernel and user stack traces
    #[arg(long, value_name = "PERF-MAX-STACK-DEPTH", default_value = "127", value_parser = cli::parse_stack_depth)]
    pub perf_max_stack_depth: u32,

    /// Profile for this many seconds (default: until Ctrl-C)
    #[arg(value_name = "DURATION", value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    /// Also write the profile to FILE as gzipped pprof (profile.proto), for go tool pprof, Pyroscope or Parca
    #[arg(long, value_name = "FILE", conflicts_with = "samples")]
    pub pprof: Option<std::path::PathBuf>,

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

    /// libbpf-tools' `Sampling at 49 Hertz of all threads by user + kernel…`,
    /// on stderr so stdout holds only the report.
    pub fn header(&self, ctrl_c: bool) -> String {
        let list = |ids: &[i32]| {
            ids.iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!("Sampling at {} Hertz of", self.frequency);
        if !self.pid.is_empty() {
            s += &format!(" PID [{}]", list(&self.pid));
        } else if !self.tid.is_empty() {
            s += &format!(" TID [{}]", list(&self.tid));
        } else {
            s += " all threads";
        }
        s += if self.user_stacks_only {
            " by user"
        } else if self.kernel_stacks_only {
            " by kernel"
        } else {
            " by user + kernel"
        };
        if let Some(c) = self.cpu {
            s += &format!(" on CPU#{c}");
        }
        match (self.duration, ctrl_c) {
            (Some(d), true) => s += &format!(" for {} secs. Hit Ctrl-C to end.", d.as_secs()),
            (Some(d), false) => s += &format!(" for {} secs.", d.as_secs()),
            (None, true) => s += "... Hit Ctrl-C to end.",
            (None, false) => s += ".",
        }
        s
    }

    /// At most [`MAX_IDS`] pids (-p) or tids (-L): the BPF filter's size.
    pub fn check(&self) -> Result<(), clap::Error> {
        use clap::CommandFactory;
        for (ids, flag) in [(&self.pid, "-p"), (&self.tid, "-L")] {
            if ids.len() > MAX_IDS {
                return Err(Self::command().error(
                    clap::error::ErrorKind::TooManyValues,
                    format!("{flag} takes at most {MAX_IDS} ids"),
                ));
            }
        }
        Ok(())
    }
}

/// A sampling frequency in Hz: positive (the kernel caps it at
/// `kernel.perf_event_max_sample_rate` and says so when opening).
pub fn parse_frequency(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a valid frequency (Hz, > 0)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_like_libbpf_tools() {
        let a = Args::try_parse_from(["profile", "-p", "1,2", "-U", "5"]).unwrap();
        assert_eq!(
            a.header(true),
            "Sampling at 49 Hertz of PID [1, 2] by user for 5 secs. Hit Ctrl-C to end."
        );
        let a = Args::try_parse_from(["profile", "-C", "1"]).unwrap();
        assert_eq!(
            a.header(true),
            "Sampling at 49 Hertz of all threads by user + kernel on CPU#1... Hit Ctrl-C to end."
        );
    }

    #[test]
    fn too_many_ids_are_usage_errors() {
        let ids = (1..=31)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        for flag in ["-p", "-L"] {
            let a = Args::try_parse_from(["profile", flag, &ids]).unwrap();
            assert_eq!(a.check().unwrap_err().exit_code(), 2);
        }
        let a = Args::try_parse_from(["profile", "-p", "1,2"]).unwrap();
        assert!(a.check().is_ok());
    }

    #[test]
    fn pid_lists_and_defaults() {
        let a = Args::try_parse_from(["profile", "-p", "1,22", "-f", "5"]).unwrap();
        assert_eq!(a.pid, vec![1, 22]);
        assert!(a.folded);
        assert_eq!(a.duration, Some(Duration::from_secs(5)));
        assert_eq!(a.frequency, 49);
        assert_eq!(a.stack_storage_size, 1024);
        assert_eq!(a.perf_max_stack_depth, 127);
        assert!(Args::try_parse_from(["profile", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["profile", "-U", "-K"]).is_err());
        assert!(Args::try_parse_from(["profile", "-p", "1", "-L", "2"]).is_err());
        assert!(Args::try_parse_from(["profile", "-F", "0"]).is_err());
        assert!(Args::try_parse_from(["profile", "--samples", "-f"]).is_err());
        assert!(Args::try_parse_from(["profile", "--perf-max-stack-depth", "128"]).is_err());
        assert!(Args::try_parse_from(["profile", "0"]).is_err());
    }
}
