//! `sigsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/sigsnoop.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    sigsnoop             # trace signals system-wide
    sigsnoop -k          # trace signals issued by kill syscall only
    sigsnoop -x          # trace failed signals only
    sigsnoop -p 1216     # only trace PID 1216
    sigsnoop -s 9        # only trace signal 9
    sigsnoop -s 1,9,TERM # trace signals 1, 9 and 15
    sigsnoop -n          # print signal names (SIGUSR1) instead of numbers

RESULT is the kernel's signal_generate result (0 delivered, 1 ignored,
2 already pending, 3 overflow, 4 info lost), or with -k the syscall's
return value (0, or -errno such as -3 for ESRCH).";

/// Trace standard and real-time signals
#[derive(Parser, Debug)]
#[command(name = "sigsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Trace failed signals only
    #[arg(short = 'x', long)]
    pub failed: bool,

    /// Trace signals issued by kill syscall only (kill, tkill, tgkill)
    #[arg(short = 'k', long)]
    pub kill: bool,

    #[command(flatten)]
    pub target: cli::PidArg,

    /// Signal(s) to trace: numbers or names, comma-separated (9,SIGTERM,usr1)
    #[arg(short, long, value_name = "SIGNAL", value_parser = cli::parse_signal, value_delimiter = ',')]
    pub signal: Vec<i32>,

    /// Output signal name instead of signal number
    #[arg(short, long)]
    pub name: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// The command line; as `killsnoop` (libbpf-tools installs the tool
    /// under both names) `-k` is implied.
    pub fn parse_as_invoked() -> Args {
        let mut args = Args::parse();
        args.kill |= invoked_as_killsnoop(std::env::args_os().next());
        args
    }

    /// The kernel-side filter: bit `sig - 1` for each wanted signal, 0 for all.
    pub fn signal_mask(&self) -> u64 {
        self.signal
            .iter()
            .filter(|&&s| (1..=64).contains(&s))
            .fold(0, |mask, &s| mask | 1u64 << (s - 1))
    }
}

/// libbpf-tools installs sigsnoop also as `killsnoop`, which means `-k`.
pub fn invoked_as_killsnoop(argv0: Option<std::ffi::OsString>) -> bool {
    argv0
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .is_some_and(|n| n.to_string_lossy().contains("killsnoop"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_masks() {
        let mask = |v: &[&str]| {
            Args::try_parse_from([&["sigsnoop"], v].concat())
                .unwrap()
                .signal_mask()
        };
        assert_eq!(mask(&[]), 0);
        assert_eq!(mask(&["-s", "1"]), 1);
        assert_eq!(mask(&["-s", "9,15"]), (1 << 8) | (1 << 14));
        assert_eq!(mask(&["-s", "64"]), 1 << 63);
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from(["sigsnoop", "-x", "-k", "-n", "-p", "5", "-s", "9"]).unwrap();
        assert!(a.failed && a.kill && a.name);
        assert_eq!(a.target.pid, Some(5));
        assert_eq!(a.signal, [9]);
        let a = Args::try_parse_from(["sigsnoop", "-s", "SIGUSR1,term", "-s", "2"]).unwrap();
        assert_eq!(a.signal, [10, 15, 2]);
        assert!(!a.kill && !a.failed && !a.name && a.target.pid.is_none());
        let a = Args::try_parse_from(["sigsnoop", "--json", "-v"]).unwrap();
        assert!(a.common.json && a.common.verbose && a.signal.is_empty());
        assert!(Args::try_parse_from(["sigsnoop", "-s", "SIGNOPE"]).is_err());
        assert!(Args::try_parse_from(["sigsnoop", "-s", "0"]).is_err());
        assert!(Args::try_parse_from(["sigsnoop", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["sigsnoop", "-d", "1"]).is_err());
    }

    #[test]
    fn killsnoop_alias() {
        assert!(invoked_as_killsnoop(Some("/usr/sbin/killsnoop".into())));
        assert!(!invoked_as_killsnoop(Some("/usr/sbin/sigsnoop".into())));
        assert!(!invoked_as_killsnoop(None));
    }
}
