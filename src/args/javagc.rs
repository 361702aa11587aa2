//! `javagc`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/javagc.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::{self, CommonArgs};

pub const EXAMPLES: &str = "EXAMPLES:
    javagc -p 185         # trace PID 185 only
    javagc -p 185 -t 100  # trace PID 185 java gc time beyond 100us";

/// Monitor javagc time cost
#[derive(Parser, Debug)]
#[command(name = "javagc", version, after_help = EXAMPLES)]
pub struct Args {
    /// Trace this PID only (a Java process)
    #[arg(short, long, value_parser = cli::parse_pid)]
    pub pid: i32,

    /// Report only collections longer than this, in microseconds
    #[arg(short, long, value_name = "TIME", default_value_t = 1000)]
    pub time: u64,

    /// Also time each memory pool's part of a collection (adds a POOL column)
    #[arg(long)]
    pub pools: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["javagc", "-p", "185", "-t", "100"]).unwrap();
        assert_eq!((a.pid, a.time), (185, 100));
        assert!(!a.pools);
        let a = Args::try_parse_from(["javagc", "--pid=185", "--json", "--pools"]).unwrap();
        assert_eq!(a.time, 1000, "libbpf-tools' default threshold");
        assert!(a.common.json && a.pools);
        // -p is required: there is no system-wide mode.
        let e = Args::try_parse_from(["javagc"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(Args::try_parse_from(["javagc", "-p", "x"]).is_err());
        assert!(Args::try_parse_from(["javagc", "-p", "1", "-t", "-5"]).is_err());
    }
}
