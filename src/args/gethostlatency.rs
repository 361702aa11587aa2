//! `gethostlatency`'s command line: flags, help text and EXAMPLES (the binary
//! in src/bin/gethostlatency.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli;

pub const EXAMPLES: &str = "EXAMPLES:
    gethostlatency                 # time getaddrinfo/gethostbyname[2] calls
    gethostlatency -p 1216         # only trace PID 1216
    gethostlatency -l libc.so.6    # this libc (a path or a library name)
    gethostlatency --json          # one JSON object per lookup";

/// Show latency for getaddrinfo/gethostbyname[2] calls.
#[derive(Parser, Debug)]
#[command(name = "gethostlatency", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: cli::PidArg,

    /// Specify which libc.so to use (a path or a library name; default: the libc of -p PID, else this system's)
    #[arg(short = 'l', long, value_name = "LIBC")]
    pub libc: Option<String>,

    #[command(flatten)]
    pub run: cli::RunArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        crate::args::try_parse(argv)
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = args(&["-p", "1216", "-l", "/lib/x86_64-linux-gnu/libc.so.6"]).unwrap();
        assert_eq!(a.target.pid, Some(1216));
        assert_eq!(a.libc.as_deref(), Some("/lib/x86_64-linux-gnu/libc.so.6"));
        let a = args(&["--pid=1", "--libc=libc", "--json", "-d", "2"]).unwrap();
        assert_eq!(a.libc.as_deref(), Some("libc"));
        assert!(a.run.common.json);
        assert_eq!(a.run.duration, Some(Duration::from_secs(2)));
        for bad in [&["-p", "0"][..], &["-l"], &["-d", "0"], &["-x"]] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
