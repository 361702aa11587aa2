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
