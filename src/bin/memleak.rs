//! memleak — lesson 16: outstanding memory allocations and the stacks that
//! made them.
//!
//! With `-p PID` or `-c COMMAND` the allocator functions of libc (or `-O
//! OBJ`) are traced through uprobes; without either, the kernel's kmem and
//! percpu tracepoints. Every interval the top stacks by outstanding bytes
//! are printed, symbolized, as libbpf-tools memleak does, plus `--json`.

use std::collections::HashMap;
use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bpfkit::args::memleak::Args;
use bpfkit::cli::{self};
use bpfkit::hist::{IntervalLoop, Tick};
use bpfkit::skel::memleak::MemleakSkelBuilder;
use bpfkit::skel::memleak::types::{alloc_info, combined_alloc_info};
use bpfkit::stacks::{self, Missing};
use bpfkit::sym::{Frame, Symbolizer};
use bpfkit::{Output, bpf, fmt, probe, uprobe};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, Skel};
use libbpf_rs::{Link, MapCore, MapFlags, UprobeOpts};
use serde_json::{Value, json};

/// The allocator functions traced in user mode: (function, enter program,
/// exit program, required with the default libc).
const UPROBES: &[(&str, &str, Option<&str>, bool)] = &[
    ("malloc", "malloc_enter", Some("malloc_exit"), true),
    ("calloc", "calloc_enter", Some("calloc_exit"), true),
    ("realloc", "realloc_enter", Some("realloc_exit"), true),
    ("free", "free_enter", None, true),
    ("mmap", "mmap_enter", Some("mmap_exit"), true),
    ("mremap", "mremap_enter", Some("mremap_exit"), false),
    ("munmap", "munmap_enter", None, true),
    (
        "posix_memalign",
        "posix_memalign_enter",
        Some("posix_memalign_exit"),
        true,
    ),
    ("memalign", "memalign_enter", Some("memalign_exit"), true),
    // Deprecated, missing from some C libraries (bionic).
    ("valloc", "valloc_enter", Some("valloc_exit"), false),
    ("pvalloc", "pvalloc_enter", Some("pvalloc_exit"), false),
    // C11.
    (
        "aligned_alloc",
        "aligned_alloc_enter",
        Some("aligned_alloc_exit"),
        false,
    ),
];

/// Functions every allocator library must have, even with `-O`/`-S`.
const ALWAYS_REQUIRED: &[&str] = &["malloc", "calloc", "realloc", "free"];

/// Kernel tracepoints: (category, name, program, needs --percpu).
const TRACEPOINTS: &[(&str, &str, &str, bool)] = &[
    ("kmem", "kmalloc", "memleak__kmalloc", false),
    ("kmem", "kmalloc_node", "memleak__kmalloc_node", false),
    ("kmem", "kfree", "memleak__kfree", false),
    (
        "kmem",
        "kmem_cache_alloc",
        "memleak__kmem_cache_alloc",
        false,
    ),
    (
        "kmem",
        "kmem_cache_alloc_node",
        "memleak__kmem_cache_alloc_node",
        false,
    ),
    ("kmem", "kmem_cache_free", "memleak__kmem_cache_free", false),
    ("kmem", "mm_page_alloc", "memleak__mm_page_alloc", false),
    ("kmem", "mm_page_free", "memleak__mm_page_free", false),
    (
        "percpu",
        "percpu_alloc_percpu",
        "memleak__percpu_alloc_percpu",
        true,
    ),
    (
        "percpu",
        "percpu_free_percpu",
        "memleak__percpu_free_percpu",
        true,
    ),
];

/// `BPF_F_USER_STACK`: bpf_get_stackid() walks the user stack.
const BPF_F_USER_STACK: u64 = 1 << 8;

fn main() -> ExitCode {
    bpfkit::main("memleak", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let (min_size, max_size) = (
        args.min_size.unwrap_or(0),
        args.max_size.unwrap_or(u64::MAX),
    );
    if min_size > max_size {
        bail!("min size (-z) can't be greater than max size (-Z)");
    }
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
    }
    let kernel_mode = args.pid.is_none() && args.command.is_none();

    // The command is forked now and exec'd once the probes are attached.
    let mut child = match &args.command {
        // With --json the command's stdout goes to stderr, keeping stdout JSON.
        Some(cmd) => Some(PausedChild::spawn(cmd, args.common.json)?),
        None => None,
    };
    let target_pid = args.pid.or(child.as_ref().map(|c| c.pid));

    let object_path = if kernel_mode {
        None
    } else {
        let name = args.object.as_deref().unwrap_or("libc");
        // A forked child maps what this process maps until it execs.
        let lookup_pid = if child.is_some() { None } else { target_pid };
        let path = uprobe::resolve(name, lookup_pid)
            .with_context(|| format!("finding the allocator object {name}"))?;
        for f in ALWAYS_REQUIRED {
            uprobe::require_symbol(&path, &format!("{}{f}", args.symbols_prefix))?;
        }
        Some(path)
    };

    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(MemleakSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.min_size = min_size;
    rodata.max_size = max_size;
    rodata.page_size = page_size();
    rodata.sample_rate = args.sample_rate;
    rodata.trace_all = args.trace;
    rodata.stack_flags = if kernel_mode { 0 } else { BPF_F_USER_STACK };
    rodata.wa_missing_free = args.wa_missing_free;
    open.maps
        .stack_traces
        .set_value_size(args.perf_max_stack_depth * 8)
        .context("sizing the stack map")?;
    open.maps
        .stack_traces
        .set_max_entries(args.stack_storage_size)
        .context("sizing the stack map")?;
    select_programs(open.open_object_mut(), kernel_mode, args.percpu)?;
    let mut skel = bpf::load(open)?;

    // Tracepoints (kernel mode) attach here; SEC("uprobe") programs are
    // never auto-attached.
    bpf::attach(&mut skel)?;
    let mut _links = Vec::new();
    match (&object_path, target_pid) {
        (Some(path), Some(pid)) => {
            bpfkit::output::note(format_args!(
                "Attaching to pid {pid} ({}), Ctrl+C to quit.",
                path.display()
            ));
            _links = attach_uprobes(&skel, pid, path, &args)?;
        }
        _ => {
            bpfkit::output::note(format_args!(
                "Attaching to kernel allocators, Ctrl+C to quit."
            ));
        }
    }

    // The probes are in place: let the command run.
    let mut waiter = None;
    if let Some(c) = child.as_mut() {
        c.release()?;
        waiter = Some(c.watch());
    }

    let out = Output::stdout(args.common.json)?;
    let symbolizer = Symbolizer::new();
    // Remember the target's maps while it runs, so the stacks of a process
    // that exits (a short command) can still be named.
    // A command of ours is watched closely (it may be short-lived), a
    // process given by -p more lightly.
    let every = Duration::from_millis(if child.is_some() { 50 } else { 1000 });
    let _watch = target_pid
        .filter(|_| !kernel_mode)
        .map(|p| symbolizer.watch(p as u32, every));
    let maps = &skel.maps;
    let report = Report {
        args: &args,
        pid: if kernel_mode {
            None
        } else {
            target_pid.map(|p| p as u32)
        },
        symbolizer: &symbolizer,
    };
    let result = IntervalLoop::new(&out)
        .every(Some(Duration::from_secs(args.interval)))
        .count(args.count)
        .banner("Tracing outstanding memory allocs...  Hit Ctrl-C to end.")
        .run(|tick| {
            report.print(
                &out,
                &maps.allocs,
                &maps.combined_allocs,
                &maps.stack_traces,
                tick,
            )
        });
    if let Some(c) = child.take() {
        c.finish(waiter);
    }
    result
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as u64 } else { 4096 }
}

/// Kernel mode loads the tracepoint programs this kernel has (percpu ones
/// only with `-P`); user mode loads only the uprobe programs.
fn select_programs(
    object: &mut libbpf_rs::OpenObject,
    kernel_mode: bool,
    percpu: bool,
) -> Result<()> {
    let mut wanted: HashMap<&str, bool> = HashMap::new();
    if kernel_mode {
        for &(cat, name, prog, needs_percpu) in TRACEPOINTS {
            let on = (!needs_percpu || percpu) && probe::tracepoint_exists(cat, name)?;
            wanted.insert(prog, on);
        }
    }
    for mut prog in object.progs_mut() {
        let section = prog.section().to_string_lossy().into_owned();
        let name = prog.name().to_string_lossy().into_owned();
        let is_uprobe = section.starts_with("uprobe") || section.starts_with("uretprobe");
        let on = if kernel_mode {
            wanted.get(name.as_str()).copied().unwrap_or(false)
        } else {
            is_uprobe
        };
        prog.set_autoload(on);
    }
    if kernel_mode && !wanted.get("memleak__kmalloc").copied().unwrap_or(false) {
        bail!("tracepoint kmem:kmalloc not found: this kernel cannot be traced");
    }
    Ok(())
}

/// Attaches the allocator uprobes by function name in `path` for `pid`.
fn attach_uprobes(
    skel: &bpfkit::skel::memleak::MemleakSkel<'_>,
    pid: i32,
    path: &Path,
    args: &Args,
) -> Result<Vec<Link>> {
    let custom = args.object.is_some() || !args.symbols_prefix.is_empty();
    let mut links = Vec::new();
    let mut skipped = Vec::new();
    for &(func, enter, exit, required) in UPROBES {
        let required = ALWAYS_REQUIRED.contains(&func) || (required && !custom);
        let sym = format!("{}{func}", args.symbols_prefix);
        let mut attached = Vec::new();
        let mut failure = None;
        for (prog_name, retprobe) in [(Some(enter), false), (exit, true)] {
            let Some(prog_name) = prog_name else { continue };
            match attach_one(skel, prog_name, pid, path, &sym, retprobe) {
                Ok(link) => attached.push(link),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        match failure {
            None => links.extend(attached),
            Some(e) if required => {
                return Err(e.context(format!(
                    "attaching to {sym} in {} (use -O to name the allocator library)",
                    path.display()
                )));
            }
            // An enter probe without its exit would only leave sizes behind.
            Some(_) => skipped.push(sym),
        }
    }
    if args.common.verbose && !skipped.is_empty() {
        bpfkit::output::note(format_args!(
            "not traced (absent from {}): {}",
            path.display(),
            skipped.join(", ")
        ));
    }
    Ok(links)
}

fn attach_one(
    skel: &bpfkit::skel::memleak::MemleakSkel<'_>,
    prog_name: &str,
    pid: i32,
    path: &Path,
    sym: &str,
    retprobe: bool,
) -> Result<Link> {
    let prog = skel
        .object()
        .progs_mut()
        .find(|p| p.name() == prog_name)
        .ok_or_else(|| anyhow!("BPF program {prog_name} missing"))?;
    let opts = UprobeOpts {
        func_name: Some(sym.to_string()),
        retprobe,
        ..Default::default()
    };
    prog.attach_uprobe_with_opts(pid, path, 0, opts)
        .map_err(|e| bpf::explain(e, &format!("uprobe {sym}")))
}

// ---------------------------------------------------------------------------
// Reading the maps.

/// One outstanding allocation as the `allocs` map holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Alloc {
    addr: u64,
    size: u64,
    timestamp_ns: u64,
    stack_id: i64,
}

/// What one stack has outstanding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct StackSum {
    stack_id: i64,
    bytes: u64,
    count: u64,
    /// (address, size), with `-a`.
    allocs: Vec<(u64, u64)>,
}

/// Groups allocations by stack, drops the ones younger than `min_age_ns`,
/// and sorts by outstanding bytes (descending) as libbpf-tools does.
fn aggregate(
    allocs: impl IntoIterator<Item = Alloc>,
    now_ns: u64,
    min_age_ns: u64,
    keep_allocs: bool,
) -> (Vec<StackSum>, Missing) {
    let mut by_stack: HashMap<i64, StackSum> = HashMap::new();
    let mut missing = Missing::default();
    for a in allocs {
        if now_ns.saturating_sub(min_age_ns) < a.timestamp_ns {
            continue;
        }
        if a.stack_id < 0 {
            missing.note(a.stack_id, 1);
            continue;
        }
        let s = by_stack.entry(a.stack_id).or_insert_with(|| StackSum {
            stack_id: a.stack_id,
            ..Default::default()
        });
        s.bytes = s.bytes.saturating_add(a.size);
        s.count += 1;
        if keep_allocs {
            s.allocs.push((a.addr, a.size));
        }
    }
    let mut stacks: Vec<StackSum> = by_stack.into_values().collect();
    for s in &mut stacks {
        s.allocs.sort_unstable();
    }
    sort_stacks(&mut stacks);
    (stacks, missing)
}

fn sort_stacks(stacks: &mut [StackSum]) {
    stacks.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then(b.count.cmp(&a.count))
            .then(a.stack_id.cmp(&b.stack_id))
    });
}

/// The per-stack totals of `combined_allocs` (`-C`), sorted like [`aggregate`].
fn combined(entries: impl IntoIterator<Item = (i64, u64, u64)>) -> (Vec<StackSum>, Missing) {
    let mut missing = Missing::default();
    let mut stacks = Vec::new();
    for (stack_id, bytes, count) in entries {
        if count == 0 {
            continue;
        }
        if stack_id < 0 {
            missing.note(stack_id, count);
            continue;
        }
        stacks.push(StackSum {
            stack_id,
            bytes,
            count,
            allocs: Vec::new(),
        });
    }
    sort_stacks(&mut stacks);
    (stacks, missing)
}

/// Every (key, value) of a hash map, in batches where the kernel can (5.6+),
/// one lookup per key otherwise.
fn dump_map(map: &dyn MapCore) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let ks = map.key_size() as usize;
    let vs = map.value_size() as usize;
    let fd = map.as_fd().as_raw_fd();
    let name = map.name().to_string_lossy().into_owned();
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    let mut batch: usize = 4096;
    let mut out = Vec::new();
    // The kernel's resume token for hash maps is a 4-byte bucket index.
    let token_size = ks.max(4);
    let mut in_token: Option<Vec<u8>> = None;
    let mut out_token = vec![0u8; token_size];
    loop {
        let mut keys = vec![0u8; ks * batch];
        let mut values = vec![0u8; vs * batch];
        let mut count = batch as u32;
        let in_ptr = in_token
            .as_mut()
            .map_or(std::ptr::null_mut(), |t| t.as_mut_ptr().cast());
        // SAFETY: the buffers hold `count` keys/values of the map's sizes
        // and the tokens `token_size` bytes, as the syscall requires.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                fd,
                in_ptr,
                out_token.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let errno = if ret < 0 { -ret } else { 0 };
        match errno {
            0 | libc::ENOENT => {
                let n = (count as usize).min(batch);
                for i in 0..n {
                    out.push((
                        keys[i * ks..(i + 1) * ks].to_vec(),
                        values[i * vs..(i + 1) * vs].to_vec(),
                    ));
                }
                if errno == libc::ENOENT {
                    return Ok(out);
                }
                in_token = Some(out_token.clone());
            }
            // A bucket holds more than a batch: retry with a bigger one.
            libc::ENOSPC if batch < (1 << 20) => batch *= 2,
            libc::EINTR | libc::EAGAIN => {}
            // Batch operations unsupported (before 5.6): one by one.
            libc::EINVAL | libc::EOPNOTSUPP | 524 if in_token.is_none() => {
                return dump_map_slow(map);
            }
            e => {
                bail!(
                    "reading map {name}: {}",
                    std::io::Error::from_raw_os_error(e)
                )
            }
        }
    }
}

fn dump_map_slow(map: &dyn MapCore) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    // A walk restarts from the first key when BPF deletes the current one:
    // a key may come twice.
    let mut keys: Vec<Vec<u8>> = map.keys().collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let value = map
            .lookup(&key, MapFlags::ANY)
            .map_err(|e| anyhow!("reading map {}: {e}", map.name().to_string_lossy()))?;
        // A key freed between keys() and lookup() is simply gone.
        if let Some(v) = value {
            out.push((key, v));
        }
    }
    Ok(out)
}

fn read_allocs(map: &dyn MapCore) -> Result<Vec<Alloc>> {
    Ok(dump_map(map)?
        .into_iter()
        .filter_map(|(k, v)| {
            let addr = u64::from_ne_bytes(k.get(..8)?.try_into().ok()?);
            let info = bpfkit::decode::<alloc_info>(&v)?;
            Some(Alloc {
                addr,
                size: info.size,
                timestamp_ns: info.timestamp_ns,
                stack_id: info.stack_id,
            })
        })
        .collect())
}

fn read_combined(map: &dyn MapCore) -> Result<Vec<(i64, u64, u64)>> {
    Ok(dump_map(map)?
        .into_iter()
        .filter_map(|(k, v)| {
            let id = u64::from_ne_bytes(k.get(..8)?.try_into().ok()?) as i64;
            let c = bpfkit::decode::<combined_alloc_info>(&v)?;
            Some((id, c.total_size, c.number_of_allocs))
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Printing.

struct Report<'a> {
    args: &'a Args,
    /// The traced process; `None` in kernel mode.
    pid: Option<u32>,
    symbolizer: &'a Symbolizer,
}

impl Report<'_> {
    fn print(
        &self,
        out: &Output,
        allocs: &dyn MapCore,
        combined_map: &dyn MapCore,
        stack_map: &dyn MapCore,
        _tick: &Tick,
    ) -> Result<()> {
        let time = fmt::hms_now();
        let (stacks, missing) = if self.args.combined_only {
            combined(read_combined(combined_map)?)
        } else {
            let min_age_ns = self.args.older.unwrap_or(0).saturating_mul(1_000_000);
            aggregate(
                read_allocs(allocs)?,
                fmt::monotonic_ns()?,
                min_age_ns,
                self.args.show_allocs,
            )
        };
        let shown = &stacks[..stacks.len().min(self.args.top as usize)];
        let symbolized: Vec<Vec<Frame>> = shown
            .iter()
            .map(|s| {
                let addrs = stacks::addrs(stack_map, s.stack_id).unwrap_or_default();
                match self.pid {
                    Some(pid) => self.symbolizer.user(pid, &addrs),
                    None => self.symbolizer.kernel(&addrs),
                }
            })
            .collect();
        if out.is_json() {
            out.json(&report_json(
                &time,
                shown,
                &symbolized,
                self.args.show_allocs,
            ));
        } else {
            for line in report_lines(&time, shown, &symbolized, self.args.show_allocs) {
                out.line(format_args!("{line}"));
            }
        }
        if missing.stacks > 0 {
            bpfkit::output::note(format_args!(
                "WARNING: {} stack traces could not be displayed due to memory shortage, \
                 including {} caused by hash collisions. Consider increasing --stack-storage-size.",
                missing.stacks, missing.collisions
            ));
        }
        Ok(())
    }
}

/// The table form of one report, as libbpf-tools prints it.
fn report_lines(
    time: &str,
    stacks: &[StackSum],
    frames: &[Vec<Frame>],
    show_allocs: bool,
) -> Vec<String> {
    let mut lines = vec![format!(
        "[{time}] Top {} stacks with outstanding allocations:",
        stacks.len()
    )];
    for (s, fr) in stacks.iter().zip(frames) {
        lines.push(format!(
            "\t{} bytes in {} allocations from stack",
            s.bytes, s.count
        ));
        if show_allocs {
            for (addr, size) in &s.allocs {
                lines.push(format!("\taddr = {addr:#x} size = {size}"));
            }
        }
        for (i, f) in fr.iter().enumerate() {
            lines.push(format!("\t{i} {f}"));
        }
    }
    lines
}

/// The JSON form of one report: one object per interval.
fn report_json(time: &str, stacks: &[StackSum], frames: &[Vec<Frame>], show_allocs: bool) -> Value {
    let stacks: Vec<Value> = stacks
        .iter()
        .zip(frames)
        .map(|(s, fr)| {
            let mut o = json!({
                "stack_id": s.stack_id,
                "bytes": s.bytes,
                "count": s.count,
                "frames": fr.iter().map(Frame::to_json).collect::<Vec<_>>(),
            });
            if show_allocs {
                o["allocations"] = s
                    .allocs
                    .iter()
                    .map(|(a, sz)| json!({"addr": format!("{a:#x}"), "size": sz}))
                    .collect();
            }
            o
        })
        .collect();
    json!({"time": time, "stacks": stacks})
}

// ---------------------------------------------------------------------------
// `-c COMMAND`: a child that execs only once the probes are attached.

struct PausedChild {
    pid: i32,
    /// Writing a byte here lets the child exec; closing it makes it exit.
    go: Option<OwnedFd>,
    /// Closed by a successful exec; carries errno if exec failed.
    exec_err: Option<OwnedFd>,
    program: String,
    exited: Arc<AtomicBool>,
}

impl PausedChild {
    /// Forks a child that waits for [`release`](Self::release), then execs
    /// `command` (its stdout on our stderr with `stdout_to_stderr`).
    fn spawn(command: &str, stdout_to_stderr: bool) -> Result<Self> {
        let words = split_command(command)?;
        let program = words
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("empty command"))?;
        let exe = find_program(&program)?;
        let exe_c = CString::new(exe.as_os_str().as_encoded_bytes())
            .map_err(|_| anyhow!("command contains a NUL byte"))?;
        let argv_c: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow!("command contains a NUL byte"))?;
        let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
        argv.push(std::ptr::null());

        let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("creating the command's start pipe")?;
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .context("creating the command's start pipe")?;
        let (go_r_fd, go_w_fd, err_r_fd, err_w_fd) = (
            go_r.as_raw_fd(),
            go_w.as_raw_fd(),
            err_r.as_raw_fd(),
            err_w.as_raw_fd(),
        );
        // SAFETY: the child only calls async-signal-safe functions (close,
        // read, dup2, execv, write, _exit) on data prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            bail!("fork failed: {}", std::io::Error::last_os_error());
        }
        if pid == 0 {
            unsafe {
                libc::close(go_w_fd);
                libc::close(err_r_fd);
                let mut b = 0u8;
                let n = loop {
                    let n = libc::read(go_r_fd, (&mut b as *mut u8).cast(), 1);
                    if n >= 0 || *libc::__errno_location() != libc::EINTR {
                        break n;
                    }
                };
                if n != 1 {
                    // The tracer gave up (or died) before attaching.
                    libc::_exit(1);
                }
                if stdout_to_stderr {
                    libc::dup2(2, 1);
                }
                libc::execv(exe_c.as_ptr(), argv.as_ptr());
                let e: i32 = *libc::__errno_location();
                libc::write(err_w_fd, (&e as *const i32).cast(), 4);
                libc::_exit(127);
            }
        }
        drop(go_r);
        drop(err_w);
        Ok(PausedChild {
            pid,
            go: Some(go_w),
            exec_err: Some(err_r),
            program,
            exited: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Lets the child exec, and reports an exec failure.
    fn release(&mut self) -> Result<()> {
        let go = self.go.take().context("command already started")?;
        nix::unistd::write(&go, &[1u8]).context("starting the command")?;
        drop(go);
        let err = self.exec_err.take().context("command already started")?;
        let mut buf = [0u8; 4];
        let n = loop {
            match nix::unistd::read(&err, &mut buf) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.unwrap_or(0),
            }
        };
        if n == 4 {
            let e = i32::from_ne_bytes(buf);
            bail!(
                "cannot run {}: {}",
                self.program,
                std::io::Error::from_raw_os_error(e)
            );
        }
        Ok(())
    }

    /// Reaps the child in the background; its exit ends the tracing.
    fn watch(&self) -> JoinHandle<()> {
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let exited = Arc::clone(&self.exited);
        std::thread::spawn(move || {
            let _ = nix::sys::wait::waitpid(pid, None);
            exited.store(true, Ordering::SeqCst);
            bpfkit::stop::request();
        })
    }

    /// Ends the child if it still runs (SIGTERM, then SIGKILL) and reaps it.
    fn finish(mut self, waiter: Option<JoinHandle<()>>) {
        use nix::sys::signal::{Signal, kill};
        let pid = nix::unistd::Pid::from_raw(self.pid);
        // Never released: closing the pipe makes it exit by itself.
        self.go = None;
        let Some(waiter) = waiter else {
            let _ = nix::sys::wait::waitpid(pid, None);
            return;
        };
        if !self.exited.load(Ordering::SeqCst) {
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(2);
            while !self.exited.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !self.exited.load(Ordering::SeqCst) {
                let _ = kill(pid, Signal::SIGKILL);
            }
        }
        let _ = waiter.join();
    }
}

impl Drop for PausedChild {
    fn drop(&mut self) {
        // An error before release: the child sees EOF and exits; reap it.
        if self.go.take().is_some() {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None);
        }
    }
}

/// Splits a command line into words: whitespace separates, single quotes
/// keep everything, double quotes keep all but `\"` and `\\`, a backslash
/// outside quotes escapes the next character.
fn split_command(s: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => bail!("unterminated ' in command: {s}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => bail!("unterminated \" in command: {s}"),
                        },
                        Some(c) => cur.push(c),
                        None => bail!("unterminated \" in command: {s}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => bail!("trailing \\ in command: {s}"),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        bail!("empty command");
    }
    Ok(words)
}

/// The executable a command word names: a path, or a name searched in PATH.
fn find_program(name: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        if executable(&p) {
            return Ok(p);
        }
        bail!("cannot run {name}: not an executable file");
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| executable(p))
        .ok_or_else(|| anyhow!("cannot run {name}: not found in PATH"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::stacks::{EEXIST, EFAULT};
    use clap::CommandFactory;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("memleak").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[
            "-p",
            "42",
            "-a",
            "-o",
            "100",
            "-s",
            "3",
            "-T",
            "5",
            "-z",
            "16",
            "-Z",
            "4096",
            "-O",
            "libjemalloc",
            "-S",
            "je_",
            "-C",
            "-F",
            "-t",
            "2",
            "7",
        ])
        .unwrap();
        assert_eq!(a.pid, Some(42));
        assert!(a.show_allocs && a.combined_only && a.wa_missing_free && a.trace);
        assert_eq!(a.older, Some(100));
        assert_eq!((a.sample_rate, a.top), (3, 5));
        assert_eq!((a.min_size, a.max_size), (Some(16), Some(4096)));
        assert_eq!(a.object.as_deref(), Some("libjemalloc"));
        assert_eq!(a.symbols_prefix, "je_");
        assert_eq!((a.interval, a.count), (2, Some(7)));
        // Defaults.
        let a = parse(&[]).unwrap();
        assert_eq!(
            (a.interval, a.count, a.top, a.sample_rate),
            (5, None, 10, 1)
        );
        assert_eq!(a.perf_max_stack_depth, 127);
        assert_eq!(a.stack_storage_size, 10240);
        let a = parse(&["-ap", "7", "10"]).unwrap();
        assert!(a.show_allocs);
        assert_eq!((a.pid, a.interval), (Some(7), 10));
        let a = parse(&["-c", "./allocs --big 'a b'", "--json"]).unwrap();
        assert_eq!(a.command.as_deref(), Some("./allocs --big 'a b'"));
        assert!(a.common.json);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["1", "0"],
            &["1", "2", "3"],
            &["-T", "0"],
            &["-s", "0"],
            &["-o", "x"],
            &["-p", "0"],
            &["-p", "1", "-c", "ls"],
            &["--perf-max-stack-depth", "128"],
            &["--stack-storage-size", "0"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    fn alloc(addr: u64, size: u64, ts: u64, stack_id: i64) -> Alloc {
        Alloc {
            addr,
            size,
            timestamp_ns: ts,
            stack_id,
        }
    }

    #[test]
    fn aggregation_groups_sorts_and_filters() {
        let allocs = vec![
            alloc(0x30, 100, 10, 1),
            alloc(0x10, 100, 10, 1),
            alloc(0x20, 500, 10, 2),
            alloc(0x40, 7, 10, -EFAULT),
            alloc(0x50, 7, 10, -EEXIST),
            alloc(0x60, 7, 10, -12),
            // Too young for a 50 ns minimum age at now = 100.
            alloc(0x70, 9999, 60, 3),
        ];
        let (stacks, missing) = aggregate(allocs.clone(), 100, 50, true);
        assert_eq!(stacks.len(), 2);
        assert_eq!(
            (stacks[0].stack_id, stacks[0].bytes, stacks[0].count),
            (2, 500, 1)
        );
        assert_eq!(
            (stacks[1].stack_id, stacks[1].bytes, stacks[1].count),
            (1, 200, 2)
        );
        assert_eq!(stacks[1].allocs, vec![(0x10, 100), (0x30, 100)]);
        // EFAULT means "no stack", not a lost one.
        assert_eq!(
            missing,
            Missing {
                stacks: 2,
                collisions: 1
            }
        );
        // No minimum age: the young one counts and leads.
        let (stacks, _) = aggregate(allocs, 100, 0, false);
        assert_eq!(stacks[0].stack_id, 3);
        assert!(stacks.iter().all(|s| s.allocs.is_empty()));
    }

    #[test]
    fn combined_totals_skip_freed_stacks() {
        let (stacks, missing) = combined(vec![(4, 10, 1), (5, 0, 0), (6, 300, 3), (-EEXIST, 5, 2)]);
        assert_eq!(
            stacks.iter().map(|s| s.stack_id).collect::<Vec<_>>(),
            vec![6, 4]
        );
        assert_eq!(missing.stacks, 2);
    }

    fn frames() -> Vec<Frame> {
        vec![
            Frame {
                addr: 0x55d0_0000_1189,
                name: Some("bpfkit_leaky_function".into()),
                offset: 0x20,
                module: Some("leaky".into()),
                file: Some("/tmp/leaky.c".into()),
                line: Some(12),
                inlined: Vec::new(),
            },
            Frame::unknown(0x7f00_0000_0001),
        ]
    }

    #[test]
    fn table_like_libbpf_tools() {
        let stacks = vec![StackSum {
            stack_id: 3,
            bytes: 8642,
            count: 2,
            allocs: vec![(0x1000, 4321), (0x3000, 4321)],
        }];
        let lines = report_lines("12:34:56", &stacks, &[frames()], true);
        assert_eq!(
            lines,
            vec![
                "[12:34:56] Top 1 stacks with outstanding allocations:",
                "\t8642 bytes in 2 allocations from stack",
                "\taddr = 0x1000 size = 4321",
                "\taddr = 0x3000 size = 4321",
                "\t0 [<000055d000001189>] bpfkit_leaky_function+0x20 [leaky] /tmp/leaky.c:12",
                "\t1 [<00007f0000000001>] [unknown]",
            ]
        );
        let lines = report_lines("12:34:56", &stacks, &[frames()], false);
        assert_eq!(lines.len(), 4);
        let lines = report_lines("01:02:03", &[], &[], false);
        assert_eq!(
            lines,
            vec!["[01:02:03] Top 0 stacks with outstanding allocations:"]
        );
    }

    #[test]
    fn json_shape() {
        let stacks = vec![StackSum {
            stack_id: 3,
            bytes: 4321,
            count: 1,
            allocs: vec![(0x1000, 4321)],
        }];
        let v = report_json("12:34:56", &stacks, &[frames()], true);
        assert_eq!(v["time"], "12:34:56");
        let s = &v["stacks"][0];
        assert_eq!(
            (s["bytes"].as_u64(), s["count"].as_u64()),
            (Some(4321), Some(1))
        );
        assert_eq!(s["stack_id"], 3);
        assert_eq!(s["allocations"][0]["addr"], "0x1000");
        assert_eq!(s["allocations"][0]["size"], 4321);
        assert_eq!(s["frames"][0]["symbol"], "bpfkit_leaky_function");
        assert_eq!(s["frames"][0]["addr"], "0x55d000001189");
        assert_eq!(s["frames"][0]["offset"], 0x20);
        assert_eq!(s["frames"][0]["line"], 12);
        assert!(s["frames"][1]["symbol"].is_null());
        let v = report_json("12:34:56", &stacks, &[frames()], false);
        assert!(v["stacks"][0].get("allocations").is_none());
    }

    #[test]
    fn command_words() {
        assert_eq!(split_command("./a  b").unwrap(), vec!["./a", "b"]);
        assert_eq!(
            split_command(r#"prog 'x y' "a \"q\" \n" c\ d"#).unwrap(),
            vec!["prog", "x y", "a \"q\" \\n", "c d"]
        );
        assert_eq!(split_command("a ''").unwrap(), vec!["a", ""]);
        assert!(split_command("   ").is_err());
        assert!(split_command("a 'b").is_err());
        assert!(split_command("a \"b").is_err());
    }

    #[test]
    fn programs_are_found() {
        assert!(find_program("sh").is_ok());
        assert!(find_program("/bin/sh").is_ok());
        let e = find_program("bpfkit-no-such-program").unwrap_err();
        assert!(e.to_string().contains("not found in PATH"), "{e}");
        assert!(find_program("/nonexistent/x").is_err());
    }

    #[test]
    fn every_program_has_a_table_entry() {
        // The BPF object's programs and the attach tables agree.
        let names: Vec<&str> = UPROBES
            .iter()
            .flat_map(|(_, e, x, _)| std::iter::once(*e).chain(*x))
            .chain(TRACEPOINTS.iter().map(|t| t.2))
            .collect();
        let mut object = MaybeUninit::uninit();
        let open = libbpf_rs::skel::SkelBuilder::open(MemleakSkelBuilder::default(), &mut object)
            .expect("opening the BPF object needs no privileges");
        let progs: Vec<String> = open
            .open_object()
            .progs()
            .map(|p| p.name().to_string_lossy().into_owned())
            .collect();
        for p in &progs {
            assert!(names.contains(&p.as_str()), "{p} has no table entry");
        }
        for n in &names {
            assert!(progs.iter().any(|p| p == n), "{n} is not a BPF program");
        }
    }
}
