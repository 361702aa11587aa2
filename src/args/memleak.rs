//! `memleak`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/memleak.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    memleak -p $(pidof allocs)
            Trace allocations and display a summary of 'leaked' (outstanding)
            allocations every 5 seconds
    memleak -p $(pidof allocs) -t
            Trace allocations and display each individual allocator function
            call (in /sys/kernel/tracing/trace_pipe)
    memleak -ap $(pidof allocs) 10
            Trace allocations and display allocated addresses, sizes, and
            stacks every 10 seconds for outstanding allocations
    memleak -c './allocs'
            Run the specified command and trace its allocations
    memleak
            Trace allocations in kernel mode and display a summary of
            outstanding allocations every 5 seconds
    memleak -o 60000
            Trace allocations in kernel mode and display a summary of
            outstanding allocations that are at least one minute old
    memleak -s 5
            Trace roughly every 5th allocation, to reduce overhead
    memleak -p $(pidof allocs) -S je_
            Trace a task that uses jemalloc";

/// Trace outstanding memory allocations
#[derive(Parser, Debug)]
#[command(name = "memleak", version, after_help = EXAMPLES)]
#[command(group = clap::ArgGroup::new("user_mode").args(["pid", "command"]))]
pub struct Args {
    /// Process ID to trace; if not specified, trace kernel allocs
    #[arg(short, long, value_parser = cli::parse_pid, conflicts_with = "command")]
    pub pid: Option<i32>,

    /// Print trace messages for each alloc/free call (to trace_pipe)
    #[arg(short, long)]
    pub trace: bool,

    /// Show allocation addresses and sizes as well as call stacks
    #[arg(short = 'a', long)]
    pub show_allocs: bool,

    /// Prune allocations younger than this age in milliseconds
    #[arg(short = 'o', long, value_name = "AGE_MS", value_parser = cli::parse_count)]
    pub older: Option<u64>,

    /// Execute and trace the specified command (with --json, its stdout goes to stderr)
    #[arg(short, long, value_name = "COMMAND")]
    pub command: Option<String>,

    /// Show combined allocation statistics only
    #[arg(short = 'C', long)]
    pub combined_only: bool,

    /// Workaround to alleviate misjudgments when free is missing (kernel mode: not with -p or -c)
    #[arg(short = 'F', long, conflicts_with = "user_mode")]
    pub wa_missing_free: bool,

    /// Sample every N-th allocation to decrease the overhead
    #[arg(short, long, value_name = "SAMPLE_RATE", default_value = "1", value_parser = cli::parse_count)]
    pub sample_rate: u64,

    /// Display only this many top allocating stacks (by size)
    #[arg(short = 'T', long, value_name = "TOP_STACKS", default_value = "10", value_parser = cli::parse_count)]
    pub top: u64,

    /// Capture only allocations larger than or equal to this size
    #[arg(short = 'z', long, value_name = "MIN_SIZE")]
    pub min_size: Option<u64>,

    /// Capture only allocations smaller than or equal to this size
    #[arg(short = 'Z', long, value_name = "MAX_SIZE")]
    pub max_size: Option<u64>,

    /// Attach to allocator functions in the specified object (default libc; with -p or -c)
    #[arg(
        short = 'O',
        long = "obj",
        value_name = "OBJECT",
        requires = "user_mode"
    )]
    pub object: Option<String>,

    /// Trace percpu allocations (kernel mode: not with -p or -c)
    #[arg(short = 'P', long, conflicts_with = "user_mode")]
    pub percpu: bool,

    /// Memory allocator symbols prefix (e.g. je_ for jemalloc; with -p or -c)
    #[arg(
        short = 'S',
        long,
        value_name = "SYMBOLS_PREFIX",
        default_value = "",
        requires = "user_mode"
    )]
    pub symbols_prefix: String,

    /// The number of unique stack traces that can be stored and displayed
    #[arg(long, value_name = "STACK-STORAGE-SIZE", default_value = "10240", value_parser = cli::parse_positive_u32)]
    pub stack_storage_size: u32,

    /// The limit for both kernel and user stack traces
    #[arg(long, value_name = "PERF-MAX-STACK-DEPTH", default_value = "127", value_parser = cli::parse_stack_depth)]
    pub perf_max_stack_depth: u32,

    /// Interval in seconds to print outstanding allocations
    #[arg(value_name = "INTERVAL", default_value = "5", value_parser = cli::parse_count)]
    pub interval: u64,

    /// Number of times to print the report before exiting
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub count: Option<u64>,

    /// Also write each report to FILE as gzipped pprof (profile.proto: inuse_space, inuse_objects)
    #[arg(long, value_name = "FILE")]
    pub pprof: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}
