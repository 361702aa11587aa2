//! `execsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/execsnoop.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

/// `TOTAL_MAX_ARGS` and `DEFAULT_MAXARGS` of execsnoop.h.
pub const TOTAL_MAX_ARGS: i64 = 60;
pub const DEFAULT_MAX_ARGS: &str = "20";

pub const EXAMPLES: &str = "EXAMPLES:
    execsnoop           # trace all exec() syscalls
    execsnoop -x        # include failed exec()s
    execsnoop -T        # include time (HH:MM:SS)
    execsnoop -U        # include UID
    execsnoop -u 1000   # only trace UID 1000
    execsnoop -t        # include timestamps
    execsnoop -q        # add \"quotemarks\" around arguments
    execsnoop -n main   # only print command lines containing \"main\"
    execsnoop -l tpkg   # only print command where arguments contains \"tpkg\"";

/// Trace exec syscalls
#[derive(Parser, Debug)]
#[command(name = "execsnoop", version, after_help = EXAMPLES)]
pub struct Args {
    /// Include time column on output (HH:MM:SS)
    #[arg(short = 'T', long)]
    pub time: bool,

    /// Include timestamp (seconds since start) on output
    #[arg(short = 't', long)]
    pub timestamp: bool,

    /// Include failed exec()s
    #[arg(short = 'x', long)]
    pub fails: bool,

    /// Trace this UID only
    #[arg(short, long, value_parser = cli::parse_uid)]
    pub uid: Option<u32>,

    /// Add quotemarks (") around arguments
    #[arg(short, long)]
    pub quote: bool,

    /// Only print commands whose name (PCOMM) contains this
    #[arg(short, long)]
    pub name: Option<String>,

    /// Only print commands where an argument contains this
    #[arg(short, long)]
    pub line: Option<String>,

    /// Print UID column
    #[arg(short = 'U', long)]
    pub print_uid: bool,

    /// Maximum number of arguments parsed and displayed (1-60)
    #[arg(long, value_name = "MAX_ARGS", default_value = DEFAULT_MAX_ARGS,
          value_parser = clap::value_parser!(i32).range(1..=TOTAL_MAX_ARGS))]
    pub max_args: i32,

    #[command(flatten)]
    pub common: CommonArgs,
}
