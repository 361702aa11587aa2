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

    /// Process ID (of the sender) to trace
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: Option<i32>,

    /// Signal(s) to trace: numbers or names, comma-separated (9,SIGTERM,usr1)
    #[arg(short, long, value_name = "SIGNAL", value_parser = cli::parse_signal, value_delimiter = ',')]
    pub signal: Vec<i32>,

    /// Output signal name instead of signal number
    #[arg(short, long)]
    pub name: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}
