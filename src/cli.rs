//! Flags every tool shares, and the argument parsers tools plug into clap.
//!
//! Tool-specific flags differ too much between libbpf-tools (`-d` is a
//! duration in opensnoop and a minimum in bootstrap) to share more than this.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

/// Flags every bpfkit tool has.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Print one JSON object per line instead of a table
    #[arg(long)]
    pub json: bool,

    /// Verbose debug output (libbpf's log on stderr)
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// BTF of the running kernel, for kernels without /sys/kernel/btf/vmlinux
    #[arg(long, value_name = "FILE", env = "BPFKIT_BTF")]
    pub btf: Option<std::path::PathBuf>,
}

/// `-d DURATION` and the flags every tool has: how long a streaming tool
/// runs, and how it prints (flattened last into a tool's `Args`).
#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `-p PID`: the process to trace (flattened into a tool's `Args`).
#[derive(Args, Debug, Clone, Default)]
pub struct PidArg {
    /// Process ID to trace
    #[arg(short, long, value_parser = parse_pid)]
    pub pid: Option<i32>,
}

impl PidArg {
    /// Fails with one line when the process does not exist.
    pub fn require(&self) -> Result<()> {
        self.pid.map_or(Ok(()), require_process)
    }
}

/// `-p PID` and `-t TID`: the process or thread to trace.
#[derive(Args, Debug, Clone, Default)]
pub struct PidTidArgs {
    /// Process ID to trace
    #[arg(short, long, value_parser = parse_pid)]
    pub pid: Option<i32>,

    /// Thread ID to trace
    #[arg(short, long, value_parser = parse_pid)]
    pub tid: Option<i32>,
}

impl PidTidArgs {
    /// Fails with one line when the process or thread does not exist.
    pub fn require(&self) -> Result<()> {
        self.pid.map_or(Ok(()), require_process)?;
        self.tid.map_or(Ok(()), require_thread)
    }
}

/// `-4`/`-6`: one address family only (the TCP tools).
#[derive(Args, Debug, Clone, Default)]
pub struct FamilyArgs {
    /// Trace IPv4 family only
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Trace IPv6 family only
    #[arg(short = '6', long)]
    pub ipv6: bool,
}

impl FamilyArgs {
    /// The address family kept (0: both), as the BPF side compares it.
    pub fn family(&self) -> u16 {
        if self.ipv4 {
            crate::net::AF_INET
        } else if self.ipv6 {
            crate::net::AF_INET6
        } else {
            0
        }
    }
}

/// `[interval] [count]` of the histogram tools: print once, at the end,
/// unless an interval is given (flattened into a tool's `Args`).
#[derive(Args, Debug, Clone, Default)]
pub struct PrintsArgs {
    /// Seconds between prints (default: print once, at the end)
    #[arg(value_name = "interval", value_parser = parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of prints
    #[arg(value_name = "count", value_parser = parse_count)]
    pub count: Option<u64>,
}

/// `[INTERVAL] [COUNT]`: print every INTERVAL seconds, COUNT times.
#[derive(Args, Debug, Clone, Default)]
pub struct IntervalArgs {
    /// Output interval, in seconds
    #[arg(value_name = "INTERVAL", value_parser = parse_duration_secs)]
    pub interval: Option<Duration>,

    /// Number of outputs
    #[arg(value_name = "COUNT", value_parser = parse_count)]
    pub times: Option<u64>,
}

/// A process or thread id: a positive integer.
pub fn parse_pid(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(format!("'{s}' is not a valid PID (a positive integer)")),
    }
}

/// A user id: a non-negative integer below 2^32 - 1 ((uid_t)-1 means "none").
pub fn parse_uid(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(uid) if uid != u32::MAX => Ok(uid),
        _ => Err(format!("'{s}' is not a valid UID")),
    }
}

/// A tracing duration in whole seconds, greater than zero.
pub fn parse_duration_secs(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!("'{s}' is not a valid duration (seconds, > 0)")),
    }
}

/// A positive count (`interval [count]`, `-T TOP`...).
pub fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a valid count (a positive integer)")),
    }
}

/// A positive 32-bit integer (map sizes such as `--stack-storage-size`).
pub fn parse_positive_u32(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a positive integer")),
    }
}

/// `--perf-max-stack-depth`: the kernel caps stack depth at
/// `kernel.perf_event_max_stack` (127).
pub fn parse_stack_depth(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=127).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a stack depth between 1 and 127")),
    }
}

/// A CPU number (`--cpu`): one of this machine's possible CPUs.
pub fn parse_cpu(s: &str) -> Result<u32, String> {
    let possible = libbpf_rs::num_possible_cpus().unwrap_or(usize::MAX);
    match s.trim().parse::<u32>() {
        Ok(n) if (n as usize) < possible => Ok(n),
        Ok(_) => Err(format!(
            "'{s}' is not a CPU of this machine (0-{})",
            possible - 1
        )),
        _ => Err(format!("'{s}' is not a valid CPU number")),
    }
}

/// A signal given as a number (`10`) or a name (`SIGUSR1`, `usr1`).
pub fn parse_signal(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(format!("'{s}' is not a valid signal number"))
        };
    }
    let upper = t.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    (1..=libc::SIGRTMAX())
        .find(|&n| crate::fmt::signal_name(n).as_deref() == Some(name.as_str()))
        .ok_or_else(|| format!("'{s}' is not a known signal"))
}

/// Fails with a clear message when `pid` names no running process.
pub fn require_process(pid: i32) -> Result<()> {
    if !Path::new(&format!("/proc/{pid}")).exists() {
        bail!("no such process: {pid}");
    }
    Ok(())
}

/// Fails with a clear message when `tid` names no running thread.
pub fn require_thread(tid: i32) -> Result<()> {
    if !Path::new(&format!("/proc/{tid}/task/{tid}")).exists()
        && !Path::new(&format!("/proc/{tid}")).exists()
    {
        bail!("no such thread: {tid}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            inet: FamilyArgs,
        }
        let family = |argv: &[&str]| {
            <T as clap::Parser>::try_parse_from([&["t"], argv].concat()).map(|t| t.inet.family())
        };
        assert_eq!(family(&["-4"]).unwrap(), crate::net::AF_INET);
        assert_eq!(family(&["--ipv6"]).unwrap(), crate::net::AF_INET6);
        assert_eq!(family(&[]).unwrap(), 0);
        assert!(family(&["-4", "-6"]).is_err());
    }

    #[test]
    fn pids() {
        assert_eq!(parse_pid("123"), Ok(123));
        assert_eq!(parse_pid(" 7 "), Ok(7));
        assert!(parse_pid("0").is_err());
        assert!(parse_pid("-5").is_err());
        assert!(parse_pid("abc").is_err());
        assert!(parse_pid("99999999999").is_err());
    }

    #[test]
    fn uids() {
        assert_eq!(parse_uid("0"), Ok(0));
        assert_eq!(parse_uid("1000"), Ok(1000));
        assert!(parse_uid("-1").is_err());
        assert!(parse_uid("4294967295").is_err());
        assert!(parse_uid("root").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("10"), Ok(Duration::from_secs(10)));
        assert!(parse_duration_secs("0").is_err());
        assert!(parse_duration_secs("1.5").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("3"), Ok(3));
        assert!(parse_count("0").is_err());
        assert!(parse_count("-1").is_err());
        assert!(parse_count("x").is_err());
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpu("0"), Ok(0));
        assert!(parse_cpu("-1").is_err());
        assert!(parse_cpu("x").is_err());
        let err = parse_cpu("100000").unwrap_err();
        assert!(err.contains("not a CPU of this machine"), "{err}");
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("10"), Ok(10));
        assert_eq!(parse_signal("SIGUSR1"), Ok(10));
        assert_eq!(parse_signal("usr1"), Ok(10));
        assert_eq!(parse_signal("kill"), Ok(9));
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("SIGNOPE").is_err());
    }

    #[test]
    fn missing_process_is_an_error() {
        assert!(require_process(std::process::id() as i32).is_ok());
        // pid_max is at most 2^22, so this pid cannot exist.
        let err = require_process(1 << 23).unwrap_err().to_string();
        assert!(err.contains("no such process"), "{err}");
    }
}
