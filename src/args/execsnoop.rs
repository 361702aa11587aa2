//! `execsnoop`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/execsnoop.rs parses it; the man page generator reads it).

use std::path::PathBuf;

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
    execsnoop -l tpkg   # only print command where arguments contains \"tpkg\"
    execsnoop -c CG     # trace process under cgroupsPath CG";

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

    /// Trace process in cgroup path (a cgroup v2 directory)
    #[arg(short, long, value_name = "CGROUP")]
    pub cgroup: Option<PathBuf>,

    /// Maximum number of arguments parsed and displayed (1-60)
    #[arg(long, value_name = "MAX_ARGS", default_value = DEFAULT_MAX_ARGS,
          value_parser = clap::value_parser!(i32).range(1..=TOTAL_MAX_ARGS))]
    pub max_args: i32,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Args {
    /// `-n` (PCOMM contains NAME) and `-l` (the argument line contains LINE).
    pub fn selects(&self, comm: &str, argv: &[String]) -> bool {
        self.name.as_ref().is_none_or(|n| comm.contains(n.as_str()))
            && self
                .line
                .as_ref()
                .is_none_or(|l| argv.join(" ").contains(l.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_line_filters() {
        let argv: Vec<String> = ["/usr/bin/mytool", "--flag", "value"]
            .map(String::from)
            .to_vec();
        let selects = |v: &[&str]| {
            Args::try_parse_from([&["execsnoop"], v].concat())
                .unwrap()
                .selects("mytool", &argv)
        };
        assert!(selects(&[]));
        assert!(selects(&["-n", "tool"]));
        assert!(!selects(&["-n", "bin"]));
        assert!(selects(&["-l", "valu"]));
        assert!(selects(&["-l", "flag value"]));
        assert!(!selects(&["-l", "other"]));
        assert!(!selects(&["-n", "tool", "-l", "other"]));
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from([
            "execsnoop",
            "-T",
            "-t",
            "-x",
            "-U",
            "-q",
            "-u",
            "1000",
            "-n",
            "sh",
            "-l",
            "tpkg",
            "--max-args",
            "5",
            "-c",
            "/sys/fs/cgroup/unified/x",
        ])
        .unwrap();
        assert!(a.time && a.timestamp && a.fails && a.print_uid && a.quote);
        assert_eq!(a.uid, Some(1000));
        assert_eq!(a.cgroup, Some(PathBuf::from("/sys/fs/cgroup/unified/x")));
        assert_eq!(a.max_args, 5);
        let long = Args::try_parse_from(["execsnoop", "--cgroup", "/cg"]).unwrap();
        assert_eq!(long.cgroup, Some(PathBuf::from("/cg")));
        assert_eq!(Args::try_parse_from(["execsnoop"]).unwrap().cgroup, None);
        assert_eq!(Args::try_parse_from(["execsnoop"]).unwrap().max_args, 20);
        assert!(Args::try_parse_from(["execsnoop", "--max-args", "0"]).is_err());
        assert!(Args::try_parse_from(["execsnoop", "--max-args", "61"]).is_err());
        assert!(Args::try_parse_from(["execsnoop", "-u", "-1"]).is_err());
    }
}
