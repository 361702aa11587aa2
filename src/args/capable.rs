//! `capable`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/capable.rs parses it; the man page generator reads it).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::cli::{self, PidArg};
use crate::probe::ProbeArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    capable                  # trace capability checks
    capable -p 185           # trace this PID only
    capable -c CG            # trace process under cgroupsPath CG
    capable -K               # add kernel stacks to trace
    capable -x               # extra fields: show TID and INSETID columns
    capable -U               # add user-space stacks to trace
    capable -u pid           # print each capability once per process
    capable --json           # one JSON object per check";

/// What `-u` reports once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Unique {
    /// Each capability once per process
    Pid,
    /// Each capability once per cgroup
    Cgroup,
}

/// Trace security capability checks (cap_capable())
#[derive(Parser, Debug)]
#[command(name = "capable", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: PidArg,

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    /// Output kernel stack trace
    #[arg(short = 'K', long)]
    pub kernel_stack: bool,

    /// Output user stack trace
    #[arg(short = 'U', long)]
    pub user_stack: bool,

    /// Extra fields: show TID and INSETID columns
    #[arg(short = 'x', long)]
    pub extra_fields: bool,

    /// Print unique output for TYPE: each capability once per pid or per cgroup
    #[arg(short = 'u', long, value_name = "TYPE")]
    pub unique: Option<Unique>,

    /// The limit for both kernel and user stack traces
    #[arg(long, value_name = "PERF-MAX-STACK-DEPTH", default_value = "127", value_parser = cli::parse_stack_depth)]
    pub perf_max_stack_depth: u32,

    /// The number of unique stack traces that can be stored and displayed
    #[arg(long, value_name = "STACK-STORAGE-SIZE", default_value = "1024", value_parser = cli::parse_positive_u32)]
    pub stack_storage_size: u32,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from([
            "capable",
            "-p",
            "185",
            "-c",
            "/sys/fs/cgroup/unified/x",
            "-K",
            "-U",
            "-x",
            "-u",
            "cgroup",
        ])
        .unwrap();
        assert_eq!(a.target.pid, Some(185));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/unified/x")));
        assert!(a.kernel_stack && a.user_stack && a.extra_fields);
        assert_eq!(a.unique, Some(Unique::Cgroup));
        assert_eq!(
            Args::try_parse_from(["capable", "--unique", "pid"])
                .unwrap()
                .unique,
            Some(Unique::Pid)
        );
        let d = Args::try_parse_from(["capable"]).unwrap();
        assert_eq!((d.perf_max_stack_depth, d.stack_storage_size), (127, 1024));
        assert_eq!(d.unique, None);
        assert!(!d.run.common.verbose);
        assert!(Args::try_parse_from(["capable", "-u", "thread"]).is_err());
        assert!(Args::try_parse_from(["capable", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["capable", "--stack-storage-size", "0"]).is_err());
        assert!(Args::try_parse_from(["capable", "--probe", "uprobe"]).is_err());
    }
}
