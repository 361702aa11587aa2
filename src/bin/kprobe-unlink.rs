//! kprobe-unlink — lesson 2: kprobe/kretprobe on do_unlinkat, falling back to
//! the unlink tracepoints where the kernel has no kprobes.
#![forbid(unsafe_code)]

use bpfkit::args::kprobe_unlink::Args;
use bpfkit::unlink::{Flavor, run};
use clap::Parser;

fn main() -> std::process::ExitCode {
    bpfkit::main("kprobe-unlink", || {
        run(Flavor::Kprobe, Args::parse().unlink)
    })
}
