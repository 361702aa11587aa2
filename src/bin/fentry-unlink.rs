//! fentry-unlink — lesson 3: fentry/fexit on do_unlinkat, falling back to
//! kprobes, then to the unlink tracepoints.
use bpfkit::unlink::{Flavor, run};

fn main() -> std::process::ExitCode {
    bpfkit::main("fentry-unlink", || run("fentry-unlink", Flavor::Fentry))
}
