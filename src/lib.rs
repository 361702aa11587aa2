//! bpfkit: eBPF observability tools in the libbpf-tools tradition.
//!
//! Every tool in `src/bin/` is built from these shared pieces:
//! [`cli`] (common flags and argument parsers), [`bpf`] (open/load/attach with
//! clear errors), [`events`] (ring/perf buffer loop with drop accounting),
//! [`output`] (table or JSON lines, EPIPE-safe), [`fmt`] (time, errno and
//! signal formatting), [`probe`] (what this kernel offers) and [`skel`] (the
//! generated skeletons).

pub mod allocs;
pub mod args;
pub mod bpf;
pub mod cgroup;
pub mod cli;
pub mod events;
pub mod fmt;
pub mod funcprobes;
pub mod hist;
pub mod hooks;
pub mod maps;
pub mod net;
pub mod netif;
pub mod output;
pub mod perf;
pub mod pprof;
pub mod probe;
pub mod process;
pub mod procmaps;
pub mod progs;
pub mod stack_counts;
pub mod stacks;
pub mod stop;
pub mod sym;
pub mod unlink;
pub mod uprobe;

/// Generated skeletons, one module per `src/bpf/<name>.bpf.c`.
#[allow(
    clippy::all,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    unused_imports
)]
pub mod skel {
    include!(concat!(env!("OUT_DIR"), "/skels.rs"));
}

pub use output::Output;

/// Copies a BPF event out of raw buffer bytes (which need not be aligned).
///
/// Returns `None` when the record is shorter than `T`, which only a
/// mismatched kernel/user struct could cause.
pub fn decode<T: plain::Plain + Default>(bytes: &[u8]) -> Option<T> {
    let mut value = T::default();
    plain::copy_from_bytes(&mut value, bytes).ok()?;
    Some(value)
}

/// Runs a tool's body and turns its outcome into the process status:
/// 0 on success, 1 with a one-line `tool: error` on stderr otherwise.
/// (Usage errors exit 2 earlier, from clap.)
pub fn main(tool: &str, body: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    // Before anything is attached, so a signal at any point ends the tool
    // through the same clean path.
    stop::install_handler();
    let result = body();
    // The body's skeletons and links are dropped by now.
    bpf::wait_released();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` joins the cause chain on one line.
            output::note(format_args!("{tool}: {e:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}
