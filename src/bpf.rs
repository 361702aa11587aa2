//! Opening, loading and attaching skeletons, with one-line errors that say
//! what to do (privileges, tracefs, BTF) instead of libbpf's raw errno.

use std::mem::MaybeUninit;

use anyhow::{Result, anyhow};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{ErrorKind, MapCore, MapFlags, OpenObject, PrintLevel};

use crate::args::tcpstates::Ports;
use crate::probe;

fn print_to_stderr(_level: PrintLevel, msg: String) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

/// Routes libbpf's log to stderr with `-v`, silences it otherwise (our own
/// errors say what failed).
pub fn set_verbose(verbose: bool) {
    if verbose {
        libbpf_rs::set_print(Some((PrintLevel::Debug, print_to_stderr)));
    } else {
        libbpf_rs::set_print(None);
    }
}

/// Checks privileges and BTF, sets libbpf's log level (`-v`), and opens the
/// skeleton, with CO-RE against `--btf FILE` when one was given.
pub fn open<'obj, B: SkelBuilder<'obj>>(
    mut builder: B,
    object: &'obj mut MaybeUninit<OpenObject>,
    common: &crate::cli::CommonArgs,
) -> Result<B::Output> {
    set_verbose(common.verbose);
    probe::require_bpf_privileges()?;
    match &common.btf {
        Some(path) => {
            crate::btf::check_file(path)?;
            builder
                .object_builder_mut()
                .btf_custom_path(path)
                .map_err(|e| anyhow!("--btf {}: {e}", path.display()))?;
        }
        None => crate::btf::require_kernel_btf()?,
    }
    builder
        .open(object)
        .map_err(|e| explain(e, "opening the BPF object"))
}

/// The `.rodata` of an open skeleton (`open.maps.rodata_data.as_deref_mut()`),
/// where tools set their `const volatile` filters before load.
pub fn rodata<T>(data: Option<&mut T>) -> Result<&mut T> {
    data.ok_or_else(|| anyhow!("the BPF object has no .rodata (no const volatile settings)"))
}

/// Loads (verifies) every program whose autoload is on, and remembers their
/// ids so the tool can wait for the kernel to free them at exit.
pub fn load<'obj, O: OpenSkel<'obj>>(open: O) -> Result<O::Output> {
    let skel = open
        .load()
        .map_err(|e| explain(e, "loading BPF programs (run with -v for the verifier log)"))?;
    remember_programs(skel.object());
    Ok(skel)
}

/// Ids of every program this process loaded through [`load`].
static LOADED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn remember_programs(object: &libbpf_rs::Object) {
    use libbpf_rs::AsRawLibbpf;
    use std::os::fd::BorrowedFd;
    let ids = object.progs().filter_map(|p| {
        // SAFETY: a plain libbpf getter: -1 for a program that was not loaded.
        let fd = unsafe { libbpf_sys::bpf_program__fd(p.as_libbpf_object().as_ptr()) };
        // SAFETY: the program's own fd, open while `object` lives.
        (fd >= 0)
            .then(|| libbpf_rs::Program::id_from_fd(unsafe { BorrowedFd::borrow_raw(fd) }).ok())?
    });
    if let Ok(mut loaded) = LOADED.lock() {
        loaded.extend(ids);
    }
}

/// Waits (2 s at most) until the kernel has freed every program this process
/// loaded. Call it once the skeletons and links are dropped: the kernel frees
/// a program only after an RCU grace period past its last link (tens of ms
/// for uprobes), and a tool should end only when nothing of it is left.
pub fn wait_released() {
    let mut left: Vec<u32> = LOADED.lock().map(|l| l.clone()).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !left.is_empty() && std::time::Instant::now() < deadline {
        left.retain(|&id| libbpf_rs::Program::fd_from_id(id).is_ok());
        if !left.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Attaches every loaded program; links live as long as the skeleton.
/// When one of them attaches through tracefs and tracefs is not mounted,
/// mounts it first where this process may (else the error says how).
pub fn attach<'obj, S: Skel<'obj>>(skel: &mut S) -> Result<()> {
    let needs_tracefs = skel
        .object()
        .progs()
        .any(|p| p.autoload() && probe::section_needs_tracefs(&p.section().to_string_lossy()));
    if needs_tracefs {
        probe::require_tracefs().map_err(|e| anyhow!("attaching BPF programs: {e}"))?;
    }
    skel.attach()
        .map_err(|e| explain(e, "attaching BPF programs"))
}

/// Names the likely cause of a libbpf failure.
pub fn explain(err: libbpf_rs::Error, what: &str) -> anyhow::Error {
    match err.kind() {
        ErrorKind::PermissionDenied => anyhow!(
            "{what}: permission denied ({err}): needs root, or CAP_BPF and CAP_PERFMON; \
             the kernel may also forbid BPF (lockdown, unprivileged_bpf_disabled)"
        ),
        _ => anyhow!("{what}: {err}"),
    }
}

/// A loaded skeleton's count of events BPF could not hand over: the
/// per-CPU `drops` map of `drops.bpf.h`, where the program includes it.
/// build.rs implements it for every skeleton.
pub trait Drops {
    fn drops(&self) -> Option<&libbpf_rs::MapMut<'_>>;

    /// The events lost so far; None for a program that cannot lose any.
    fn lost(&self) -> Result<Option<u64>> {
        self.drops().map(|m| percpu_sum(m)).transpose()
    }
}

/// Sums a one-slot per-CPU `u64` counter map, such as `drops` from `drops.bpf.h`.
pub fn percpu_sum(map: &dyn MapCore) -> Result<u64> {
    let values = map
        .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
        .map_err(|e| anyhow!("reading map {}: {e}", map.name().to_string_lossy()))?
        .unwrap_or_default();
    Ok(values
        .iter()
        .filter_map(|v| {
            v.get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes)
        })
        .sum())
}

/// Puts each of `values` in a BPF hash map used as a set (key and value
/// the same, as tcpstates' port filters).
pub fn fill_u16_set(map: &dyn MapCore, values: &[u16]) -> Result<()> {
    for v in values {
        map.update(&v.to_ne_bytes(), &v.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| anyhow!("filling map {} ({v}): {e}", map.name().to_string_lossy()))?;
    }
    Ok(())
}

/// A port list flag's BPF set (-P, -L, -D: bindsnoop's and tcpconnect's
/// `ports`, tcp_filter.bpf.h's `sports` and `dports`); an absent list leaves
/// it empty, and its rodata flag off.
pub fn fill_port_set(map: &dyn MapCore, ports: &Option<Ports>) -> Result<()> {
    fill_u16_set(map, ports.as_ref().map_or(&[], |p| &p.0[..]))
}

/// Takes every entry out of a hash map, decoded: see [`crate::maps::drain`].
pub fn drain_map<K, V>(map: &dyn MapCore) -> Result<Vec<(K, V)>>
where
    K: plain::Plain + Default,
    V: plain::Plain + Default,
{
    crate::maps::drain(map)
}

/// Loads only the programs whose name `wanted` accepts: for a tool with
/// alternative sets of programs (sigsnoop's tracepoint or its `-k` syscalls).
pub fn autoload_by_name(object: &mut libbpf_rs::OpenObject, wanted: impl Fn(&str) -> bool) {
    for mut prog in object.progs_mut() {
        let on = wanted(&prog.name().to_string_lossy());
        prog.set_autoload(on);
    }
}
