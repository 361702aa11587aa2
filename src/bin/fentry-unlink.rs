//! fentry-unlink — lesson 3: fentry/fexit on do_unlinkat, falling back to
//! kprobes, then to the unlink tracepoints.
#![forbid(unsafe_code)]

use bpfkit::args::fentry_unlink::Args;
use bpfkit::unlink::{Flavor, run};
use clap::Parser;

fn main() -> std::process::ExitCode {
    bpfkit::main("fentry-unlink", || {
        run(Flavor::Fentry, Args::parse().unlink)
    })
}
