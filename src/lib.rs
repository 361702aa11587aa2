//! bpfkit: eBPF observability tools in the libbpf-tools tradition.
//!
//! Each tool in `src/bin/` is its flags (`args`), the `.rodata` it sets, its
//! program choice and one declaration of its output row; everything else is
//! here, once:
//!
//! - start-up and exit: [`main`] (exit codes, one-line errors), [`cli`]
//!   (common flags, flattened groups, parsers), [`args`] (every tool's CLI,
//!   for man pages), [`stop`] (terminating signals);
//! - BPF objects: [`bpf`] (open with [`btf`], load, attach, map reads),
//!   [`skel`] (the generated skeletons), [`probe`] and [`hooks`] (what the
//!   kernel offers; fentry → kprobe → tracepoint), [`perf`], [`uprobe`],
//!   [`procmaps`], [`netif`] (tc and XDP), [`cgroup`];
//! - output: [`row`] (a row declared once → table and JSON), [`events`]
//!   (ring/perf buffer streams), [`output`] (buffering, EPIPE), [`hist`]
//!   (histograms and the interval loop), [`fmt`], [`net`];
//! - stacks: [`stacks`], [`sym`];
//! - one tool family's shared body: [`unlink`] (kprobe-unlink, fentry-unlink).

pub mod allocs;
pub mod args;
pub mod binds;
pub mod blk;
pub mod bpf;
pub mod btf;
pub mod capability;
pub mod cgroup;
pub mod cli;
pub mod connects;
pub mod cpudist;
pub mod disks;
pub mod event_stacks;
pub mod events;
pub mod export;
pub mod fmt;
pub mod fsops;
pub mod funcprobes;
pub mod globals;
pub mod hist;
pub mod hooks;
pub mod interval;
pub mod kernel;
pub mod maps;
pub mod modbtf;
pub mod mounts;
pub mod net;
pub mod netif;
pub mod offcpu;
pub mod output;
pub mod perf;
pub mod pprof;
pub mod probe;
pub mod process;
pub mod procmaps;
pub mod progs;
pub mod row;
pub mod runqlen;
pub mod stack_counts;
pub mod stacks;
pub mod stop;
pub mod sym;
pub mod syscount;
pub mod tcptop;
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

/// The bytes of a BPF event as the kernel would send them: tests build raw
/// records with it. Skeleton types spell out their padding as fields, so
/// every byte is initialized.
pub fn encode<T: plain::Plain>(event: &T) -> Vec<u8> {
    // SAFETY: `Plain` types are plain old data; the generated ones have no
    // implicit padding.
    unsafe { plain::as_bytes(event) }.to_vec()
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
            // `{:#}` joins the cause chain on one line; escaping keeps it one
            // line when it quotes user input (`-i $'lo\nx'`).
            let message = format!("{e:#}");
            output::note(format_args!("{tool}: {}", fmt::escape_control(&message)));
            std::process::ExitCode::FAILURE
        }
    }
}
