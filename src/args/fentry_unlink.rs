//! `fentry-unlink`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/fentry-unlink.rs parses it; the man page generator reads it). The flags
//! are the ones both unlink tools share (src/unlink.rs).

use clap::Parser;

use crate::unlink::UnlinkArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    fentry-unlink                     # trace every unlink() (fentry, else kprobe, else tracepoints)
    fentry-unlink -p 181              # only trace PID 181
    fentry-unlink -d 10               # trace for 10 seconds only
    fentry-unlink --probe kprobe      # force kprobes";

/// Trace unlink() of files: PID, command, file name and result. Hit Ctrl-C to end.
#[derive(Parser, Debug)]
#[command(name = "fentry-unlink", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub unlink: UnlinkArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["fentry-unlink", "-p", "181", "-d", "10", "--json"]).unwrap();
        assert_eq!(a.unlink.target.pid, Some(181));
        assert_eq!(a.unlink.duration, Some(std::time::Duration::from_secs(10)));
        assert!(a.unlink.common.json);
        let a = Args::try_parse_from(["fentry-unlink", "--probe", "tracepoint"]).unwrap();
        assert_eq!(
            a.unlink.probe.mechanism,
            crate::probe::ProbeMode::Force(crate::probe::Mechanism::Tracepoint)
        );
        assert!(Args::try_parse_from(["fentry-unlink", "-p", "0"]).is_err());
        assert!(Args::try_parse_from(["fentry-unlink", "-d", "0"]).is_err());
        assert!(Args::try_parse_from(["fentry-unlink", "--probe", "nope"]).is_err());
    }
}
