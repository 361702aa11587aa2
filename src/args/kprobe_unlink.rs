//! `kprobe-unlink`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/kprobe-unlink.rs parses it; the man page generator reads it). The flags
//! are the ones both unlink tools share (src/unlink.rs).

use clap::Parser;

use crate::unlink::UnlinkArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    kprobe-unlink                     # trace every unlink() (kprobe, else tracepoints)
    kprobe-unlink -p 181              # only trace PID 181
    kprobe-unlink -d 10               # trace for 10 seconds only
    kprobe-unlink --probe tracepoint  # force the unlink tracepoints";

/// Trace unlink() of files: PID, command, file name and result. Hit Ctrl-C to end.
#[derive(Parser, Debug)]
#[command(name = "kprobe-unlink", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub unlink: UnlinkArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_of_both_unlink_tools() {
        let a = Args::try_parse_from(["kprobe-unlink", "-p", "181", "-d", "10", "--json"]).unwrap();
        assert_eq!(a.unlink.target.pid, Some(181));
        assert_eq!(a.unlink.duration, Some(std::time::Duration::from_secs(10)));
        assert!(a.unlink.common.json);
        let a = Args::try_parse_from(["kprobe-unlink", "--probe", "tracepoint"]).unwrap();
        assert_eq!(
            a.unlink.probe.mechanism,
            crate::probe::ProbeMode::Force(crate::probe::Mechanism::Tracepoint)
        );
        assert!(Args::try_parse_from(["kprobe-unlink", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["kprobe-unlink", "-d", "0"]).is_err());
        assert!(Args::try_parse_from(["kprobe-unlink", "--probe", "nope"]).is_err());
        // fentry-unlink has the same flags (UnlinkArgs).
        let f = crate::args::fentry_unlink::Args::try_parse_from(["fentry-unlink", "-p", "7"]);
        assert_eq!(f.unwrap().unlink.target.pid, Some(7));
    }
}
