//! kprobe-unlink — lesson 2: kprobe/kretprobe on do_unlinkat, falling back to
//! the unlink tracepoints where the kernel has no kprobes.
use bpfkit::unlink::{Flavor, run};

fn main() -> std::process::ExitCode {
    bpfkit::main("kprobe-unlink", || run("kprobe-unlink", Flavor::Kprobe))
}
