//! `runqslower`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/runqslower.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    runqslower         # trace latency higher than 10000 us (default)
    runqslower 1000    # trace latency higher than 1000 us
    runqslower -p 123  # trace pid 123
    runqslower -t 123  # trace tid 123 (use for threads only)
    runqslower -c ksof # trace processes with names starting with 'ksof'
    runqslower -P      # also show previous task name and TID";

/// Trace high run queue latency.
#[derive(Parser, Debug)]
#[command(name = "runqslower", version, after_help = EXAMPLES)]
pub struct Args {
    /// Report waits longer than this many microseconds
    #[arg(value_name = "min_us", default_value = "10000", value_parser = parse_min_us)]
    pub min_us: u64,

    #[command(flatten)]
    pub target: cli::PidTidArgs,

    /// filter processes by command name prefix
    #[arg(short, long, value_name = "COMM")]
    pub comm: Option<String>,

    /// also show previous task name and TID
    #[arg(short = 'P', long)]
    pub previous: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The kernel keeps a task's name in 16 bytes, NUL included.
pub const COMM_BYTES: usize = 15;

impl Args {
    /// `-c`'s prefix as the kernel compares it (its first [`COMM_BYTES`]
    /// bytes), and the warning to print when it was longer (libbpf-tools
    /// truncates with a warning too).
    pub fn comm_prefix(&self) -> Option<(Vec<u8>, Option<String>)> {
        let comm = self.comm.as_deref()?;
        let bytes = comm.as_bytes();
        if bytes.len() <= COMM_BYTES {
            return Some((bytes.to_vec(), None));
        }
        let kept = bytes[..COMM_BYTES].to_vec();
        let warning = format!(
            "warning: command name '{comm}' is too long (max {COMM_BYTES} bytes), \
             matching its first {COMM_BYTES}: '{}'",
            String::from_utf8_lossy(&kept)
        );
        Some((kept, Some(warning)))
    }
}

/// libbpf-tools: a positive number of microseconds.
pub fn parse_min_us(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(us) if us > 0 => Ok(us),
        _ => Err(format!("'{s}' is not a valid delay (in us, > 0)")),
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
        assert_eq!(a.min_us, 10000);
        assert!(!a.previous && a.target.pid.is_none() && a.target.tid.is_none());
        let a = parse(&["-P", "-p", "12", "-t", "13", "1000"]).unwrap();
        assert_eq!(a.min_us, 1000);
        assert!(a.previous);
        assert_eq!((a.target.pid, a.target.tid), (Some(12), Some(13)));
        let a = parse(&["--previous", "--pid=1", "--tid", "2", "--json", "1"]).unwrap();
        assert!(a.previous && a.common.json);
        assert_eq!(a.min_us, 1);
        assert_eq!(a.comm, None);
        let a = parse(&["-c", "ksof", "100"]).unwrap();
        assert_eq!((a.comm.as_deref(), a.min_us), (Some("ksof"), 100));
        assert_eq!(parse(&["--comm=sh"]).unwrap().comm.as_deref(), Some("sh"));
    }

    #[test]
    fn comm_prefix_is_cut_to_what_the_kernel_keeps() {
        assert_eq!(parse(&[]).unwrap().comm_prefix(), None);
        let a = parse(&["-c", "ksoftirqd/0"]).unwrap();
        assert_eq!(a.comm_prefix(), Some((b"ksoftirqd/0".to_vec(), None)));
        let a = parse(&["-c", "123456789012345"]).unwrap();
        assert_eq!(
            a.comm_prefix().unwrap(),
            (b"123456789012345".to_vec(), None)
        );
        let a = parse(&["-c", "systemd-journald"]).unwrap();
        let (kept, warning) = a.comm_prefix().unwrap();
        assert_eq!(kept, b"systemd-journal");
        assert_eq!(
            warning.unwrap(),
            "warning: command name 'systemd-journald' is too long (max 15 bytes), \
             matching its first 15: 'systemd-journal'"
        );
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["-5"],
            &["ten"],
            &["1", "2"],
            &["-p", "0"],
            &["-t", "x"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }
}
