//! Stack symbolization for the tools that print kernel or user stacks
//! (memleak, and any tool reading a `BPF_MAP_TYPE_STACK_TRACE` map).
//!
//! One [`Symbolizer`] is meant to live as long as the tool: blazesym keeps
//! every ELF file, DWARF index and `kallsyms` it has parsed, so the second
//! stack through libc costs a lookup, not a parse. Failures never become
//! errors here: an address that cannot be named (unmapped, stripped, the
//! process has exited and left nothing cached) is a [`Frame`] without a
//! name and prints as `[unknown]`, as bcc does.
//!
//! A process's memory maps are remembered (refreshed at most every
//! [`MAPS_REFRESH`] while it runs, or continuously by [`Symbolizer::watch`]),
//! so stacks of a process that has exited since can still be named from its
//! last known mappings, as long as its files exist.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blazesym::symbolize::source::{Elf, Kernel, Process, Source};
use blazesym::symbolize::{Input, Sym, Symbolized};
use serde::Serialize;

/// How often [`Symbolizer::user`] re-reads a live process's memory maps
/// for later use (it may have loaded a library since).
pub const MAPS_REFRESH: Duration = Duration::from_millis(500);

/// One symbolized stack frame.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// The address as the stack held it.
    pub addr: u64,
    /// The function containing `addr`; `None` when unknown.
    pub name: Option<String>,
    /// `addr` minus the start of `name`.
    pub offset: u64,
    /// File name (no directory) of the binary or library holding a user
    /// frame, or the module of a kernel-module frame.
    pub module: Option<String>,
    /// Source file, when debug info exists.
    pub file: Option<String>,
    /// Source line, when debug info exists.
    pub line: Option<u32>,
    /// Functions inlined at `addr` (only from a symbolizer made by
    /// [`Symbolizer::with_inlined`], where DWARF says so), innermost
    /// first. With inlined functions, `file`/`line` are where the
    /// outermost of them is called in `name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlined: Vec<Inlined>,
}

/// A function inlined into a [`Frame`]'s function, at the source location
/// inside it that the address (or the next inner inlined call) falls on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inlined {
    pub name: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl Frame {
    /// A frame nothing is known about.
    pub fn unknown(addr: u64) -> Self {
        Frame {
            addr,
            ..Default::default()
        }
    }

    /// `func+0x1a`, or `[unknown]`.
    pub fn symbol(&self) -> String {
        match &self.name {
            Some(n) => format!("{n}+{:#x}", self.offset),
            None => "[unknown]".to_string(),
        }
    }

    /// The JSON form tools print: `{"addr": "0x7f…", "symbol", "offset",
    /// "module", "file", "line"}`, plus `"inlined": [{"name", "file",
    /// "line"}…]` (innermost first) when there are any.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "addr": format!("{:#x}", self.addr),
            "symbol": self.name,
            "offset": self.offset,
            "module": self.module,
            "file": self.file,
            "line": self.line,
        });
        if !self.inlined.is_empty() {
            v["inlined"] = serde_json::json!(self.inlined);
        }
        v
    }

    fn from_sym(addr: u64, sym: &Sym<'_>) -> Self {
        let module = sym.module.as_ref().map(|m| {
            let p = Path::new(m);
            p.file_name()
                .unwrap_or(p.as_os_str())
                .to_string_lossy()
                .into_owned()
        });
        let (file, line) = match &sym.code_info {
            Some(ci) => (Some(ci.to_path().display().to_string()), ci.line),
            None => (None, None),
        };
        // blazesym lists them outermost first; a stack reads innermost first.
        let inlined = sym
            .inlined
            .iter()
            .rev()
            .map(|i| Inlined {
                name: i.name.to_string(),
                file: i
                    .code_info
                    .as_ref()
                    .map(|ci| ci.to_path().display().to_string()),
                line: i.code_info.as_ref().and_then(|ci| ci.line),
            })
            .collect();
        Frame {
            addr,
            name: Some(sym.name.to_string()),
            offset: sym.offset as u64,
            module,
            file,
            line,
            inlined,
        }
    }
}

/// `[<00007f1c2a4b3c5d>] func+0x1a [libc.so.6] file.c:42`, the libbpf-tools
/// stack line without its index; `[<…>] [unknown]` when nothing is known.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[<{:016x}>] {}", self.addr, self.symbol())?;
        if let Some(m) = &self.module {
            write!(f, " [{m}]")?;
        }
        if let Some(file) = &self.file {
            write!(f, " {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        Ok(())
    }
}

/// How often [`Symbolizer::watch`] reads maps in its first 200 ms.
const WATCH_EARLY: Duration = Duration::from_millis(5);

pub use crate::procmaps::Mapping;

/// The last non-empty `/proc/PID/maps` seen per pid, and when.
type Snapshots = Arc<Mutex<HashMap<u32, (Instant, Vec<Mapping>)>>>;

/// Reads `pid`'s maps into `snapshots`; false once the process is gone.
/// An exiting process shows empty maps: those keep the previous snapshot.
fn snapshot(snapshots: &Snapshots, pid: u32) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return false;
    };
    let maps = crate::procmaps::parse(&text);
    if !maps.is_empty()
        && let Ok(mut s) = snapshots.lock()
    {
        s.insert(pid, (Instant::now(), maps));
    }
    true
}

/// Keeps a process's memory maps fresh until dropped (see
/// [`Symbolizer::watch`]).
pub struct Watch {
    stop: Arc<AtomicBool>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A long-lived symbolizer for kernel and per-process user addresses.
pub struct Symbolizer {
    inner: blazesym::symbolize::Symbolizer,
    snapshots: Snapshots,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Symbolizer {
    /// A symbolizer reporting function names, offsets and, where debug
    /// info exists, source file and line.
    pub fn new() -> Self {
        Self::build(false)
    }

    /// Like [`new`](Self::new), also reporting the functions inlined at
    /// each address ([`Frame::inlined`]) where DWARF debug info has them.
    pub fn with_inlined() -> Self {
        Self::build(true)
    }

    fn build(inlined: bool) -> Self {
        let inner = blazesym::symbolize::Symbolizer::builder()
            .enable_code_info(true)
            .enable_inlined_fns(inlined)
            .enable_demangling(true)
            .build();
        Symbolizer {
            inner,
            snapshots: Arc::default(),
        }
    }

    /// Takes a snapshot of `pid`'s memory maps now (unless a recent one
    /// exists), so its stacks can be named after it exits; false when the
    /// process is gone.
    pub fn remember(&self, pid: u32) -> bool {
        pid != 0 && self.refresh(pid)
    }

    /// Re-reads `pid`'s memory maps every `every` in a background thread
    /// while it runs, so its stacks can be named after it exits (a process
    /// that exits between two [`user`](Self::user) calls, such as the
    /// short-lived command of `memleak -c`).
    pub fn watch(&self, pid: u32, every: Duration) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, snapshots) = (Arc::clone(&stop), Arc::clone(&self.snapshots));
        std::thread::spawn(move || {
            // Closely at first: a command just exec'd is still mapping its
            // libraries.
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed) && snapshot(&snapshots, pid) {
                let early = started.elapsed() < Duration::from_millis(200);
                std::thread::sleep(if early { every.min(WATCH_EARLY) } else { every });
            }
        });
        Watch { stop }
    }

    /// Kernel addresses (from a kernel stack), named through vmlinux when
    /// one is found, else `/proc/kallsyms`.
    pub fn kernel(&self, addrs: &[u64]) -> Vec<Frame> {
        let src = Source::Kernel(Kernel::default());
        self.symbolize(&src, addrs)
    }

    /// User addresses of process `pid` (a user stack of that process).
    /// Once the process has exited, its last known maps are used.
    pub fn user(&self, pid: u32, addrs: &[u64]) -> Vec<Frame> {
        if pid == 0 {
            // blazesym would read pid 0 as "this process".
            return addrs.iter().map(|&a| Frame::unknown(a)).collect();
        }
        if self.refresh(pid) {
            let src = Source::Process(Process::new(pid.into()));
            let frames = self.symbolize(&src, addrs);
            // It may have exited just now: try what it had mapped.
            if frames.iter().all(|f| f.name.is_none()) {
                return self.with_snapshot(pid, addrs);
            }
            return frames;
        }
        self.with_snapshot(pid, addrs)
    }

    /// Takes a maps snapshot unless a recent one exists; false when the
    /// process is gone.
    fn refresh(&self, pid: u32) -> bool {
        let fresh = self
            .snapshots
            .lock()
            .is_ok_and(|s| s.get(&pid).is_some_and(|(t, _)| t.elapsed() < MAPS_REFRESH));
        if fresh {
            return Path::new(&format!("/proc/{pid}/maps")).exists();
        }
        snapshot(&self.snapshots, pid)
    }

    /// Names addresses through the files of the last known maps of `pid`.
    fn with_snapshot(&self, pid: u32, addrs: &[u64]) -> Vec<Frame> {
        let maps = match self.snapshots.lock() {
            Ok(s) => s.get(&pid).map(|(_, m)| m.clone()).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut frames: Vec<Frame> = addrs.iter().map(|&a| Frame::unknown(a)).collect();
        // Addresses per file, as file offsets.
        let mut by_file: HashMap<&Path, Vec<(usize, u64)>> = HashMap::new();
        for (i, &addr) in addrs.iter().enumerate() {
            if let Some(m) = maps.iter().find(|m| (m.start..m.end).contains(&addr)) {
                let off = addr - m.start + m.offset;
                by_file.entry(m.path.as_path()).or_default().push((i, off));
            }
        }
        for (path, wanted) in by_file {
            let offsets: Vec<u64> = wanted.iter().map(|w| w.1).collect();
            let src = Source::Elf(Elf::new(path));
            let Ok(syms) = self.inner.symbolize(&src, Input::FileOffset(&offsets)) else {
                continue;
            };
            for ((i, _), sym) in wanted.iter().zip(syms.iter()) {
                if let Symbolized::Sym(sym) = sym {
                    let mut f = Frame::from_sym(addrs[*i], sym);
                    f.module = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    frames[*i] = f;
                }
            }
        }
        frames
    }

    fn symbolize(&self, src: &Source<'_>, addrs: &[u64]) -> Vec<Frame> {
        match self.inner.symbolize(src, Input::AbsAddr(addrs)) {
            Ok(syms) if syms.len() == addrs.len() => addrs
                .iter()
                .zip(syms.iter())
                .map(|(&addr, s)| match s {
                    Symbolized::Sym(sym) => Frame::from_sym(addr, sym),
                    Symbolized::Unknown(_) => Frame::unknown(addr),
                })
                .collect(),
            _ => addrs.iter().map(|&a| Frame::unknown(a)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    #[unsafe(no_mangle)]
    extern "C" fn bpfkit_sym_test_target(x: u64) -> u64 {
        std::hint::black_box(x.wrapping_mul(31).rotate_left(7))
    }

    fn target_addr() -> u64 {
        bpfkit_sym_test_target as *const () as usize as u64
    }

    #[test]
    fn names_a_function_of_this_process() {
        let s = Symbolizer::new();
        let addr = target_addr() + 4;
        let frames = s.user(std::process::id(), &[addr]);
        assert_eq!(frames.len(), 1);
        let f = &frames[0];
        assert_eq!(f.addr, addr);
        assert_eq!(f.name.as_deref(), Some("bpfkit_sym_test_target"), "{f:?}");
        assert_eq!(f.offset, 4);
        let exe = std::env::current_exe().unwrap();
        let exe_name = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(f.module.as_deref(), Some(exe_name.as_str()));
        // Test binaries carry debug info: the source line is known.
        assert!(
            f.file.as_deref().is_some_and(|p| p.ends_with("sym.rs")),
            "{f:?}"
        );
        assert!(f.line.is_some_and(|l| l > 0), "{f:?}");
        let shown = f.to_string();
        assert!(
            shown.starts_with(&format!("[<{addr:016x}>] bpfkit_sym_test_target+0x4 [")),
            "{shown}"
        );
        // The cache serves a second request the same way.
        assert_eq!(s.user(std::process::id(), &[addr]), frames);
        std::hint::black_box(bpfkit_sym_test_target(1));
    }

    #[test]
    fn unmapped_and_gone_are_unknown() {
        let s = Symbolizer::new();
        let frames = s.user(std::process::id(), &[0x10, target_addr()]);
        assert_eq!(frames[0], Frame::unknown(0x10));
        assert!(frames[1].name.is_some());
        // pid_max is at most 2^22: nothing to read, nothing cached.
        let frames = s.user(1 << 23, &[target_addr()]);
        assert_eq!(frames, vec![Frame::unknown(target_addr())]);
        assert_eq!(
            frames[0].to_string(),
            format!("[<{:016x}>] [unknown]", target_addr())
        );
    }

    #[test]
    fn remembered_maps_name_addresses_of_a_gone_process() {
        let s = Symbolizer::new();
        let me = std::process::id();
        assert!(s.refresh(me));
        // Pretend a process that no longer exists had our maps.
        let gone = 1 << 23;
        let maps = s.snapshots.lock().unwrap()[&me].1.clone();
        s.snapshots
            .lock()
            .unwrap()
            .insert(gone, (Instant::now(), maps));
        let frames = s.user(gone, &[target_addr() + 2, 0x10]);
        assert_eq!(
            frames[0].name.as_deref(),
            Some("bpfkit_sym_test_target"),
            "{frames:?}"
        );
        assert_eq!(frames[0].offset, 2);
        assert!(frames[0].module.is_some());
        assert_eq!(frames[1], Frame::unknown(0x10));
    }

    /// The address in process `pid` of the byte at `addr` of this
    /// process's mapping of the same file.
    fn same_byte_in(pid: u32, addr: u64) -> u64 {
        let mine = crate::procmaps::parse(&std::fs::read_to_string("/proc/self/maps").unwrap());
        let m = mine
            .iter()
            .find(|m| (m.start..m.end).contains(&addr))
            .unwrap();
        let off = addr - m.start + m.offset;
        let theirs =
            crate::procmaps::parse(&std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap());
        let t = theirs
            .iter()
            .find(|t| t.path == m.path && (t.offset..t.offset + (t.end - t.start)).contains(&off))
            .unwrap();
        t.start + (off - t.offset)
    }

    #[test]
    fn watched_process_is_named_after_it_exits() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let s = Symbolizer::new();
        let _watch = s.watch(pid, Duration::from_millis(10));
        // Wait until sleep has exec'd and mapped libc.
        let malloc = libc::malloc as *const () as usize as u64;
        let mut addr = None;
        for _ in 0..200 {
            let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
            if maps.contains("libc.so") && s.snapshots.lock().unwrap().contains_key(&pid) {
                addr = Some(same_byte_in(pid, malloc));
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let addr = addr.expect("sleep never mapped libc");
        std::thread::sleep(Duration::from_millis(50));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        let frames = s.user(pid, &[addr]);
        let name = frames[0].name.as_deref().unwrap_or_default();
        assert!(name.contains("malloc"), "{frames:?}");
        assert!(
            frames[0]
                .module
                .as_deref()
                .is_some_and(|m| m.starts_with("libc")),
            "{frames:?}"
        );
    }

    #[inline(always)]
    fn bpfkit_sym_inlined_leaf(x: u64) -> u64 {
        std::hint::black_box(x.wrapping_mul(17) ^ 0x5a5a)
    }

    #[inline(never)]
    #[unsafe(no_mangle)]
    extern "C" fn bpfkit_sym_inline_host(x: u64) -> u64 {
        bpfkit_sym_inlined_leaf(x).wrapping_add(3)
    }

    #[test]
    fn inlined_functions_are_reported() {
        std::hint::black_box(bpfkit_sym_inline_host(2));
        let start = bpfkit_sym_inline_host as *const () as usize as u64;
        let addrs: Vec<u64> = (start..start + 96).collect();
        let me = std::process::id();
        let with = Symbolizer::with_inlined().user(me, &addrs);
        let hit = with
            .iter()
            .find(|f| {
                f.name.as_deref() == Some("bpfkit_sym_inline_host")
                    && f.inlined
                        .iter()
                        .any(|i| i.name.ends_with("bpfkit_sym_inlined_leaf"))
            })
            .unwrap_or_else(|| panic!("no inlined leaf in {with:?}"));
        // Innermost first: what the leaf itself inlined (wrapping_mul)
        // comes before it; the leaf, inlined straight into the host, last.
        let leaf = hit.inlined.last().unwrap();
        assert!(leaf.name.ends_with("bpfkit_sym_inlined_leaf"), "{hit:?}");
        assert!(
            leaf.file.as_deref().is_some_and(|f| f.ends_with("sym.rs")),
            "{hit:?}"
        );
        assert!(leaf.line.is_some(), "{hit:?}");
        // Without asking, nothing inlined is reported.
        let without = Symbolizer::new().user(me, &addrs);
        assert!(without.iter().all(|f| f.inlined.is_empty()));
    }

    #[test]
    fn display_forms() {
        let f = Frame {
            addr: 0x7f00_0000_1234,
            name: Some("malloc".into()),
            offset: 0x1a,
            module: Some("libc.so.6".into()),
            file: None,
            line: None,
            inlined: Vec::new(),
        };
        assert_eq!(
            f.to_string(),
            "[<00007f0000001234>] malloc+0x1a [libc.so.6]"
        );
        let f = Frame {
            module: None,
            file: Some("/src/a.c".into()),
            line: Some(7),
            ..f
        };
        assert_eq!(f.to_string(), "[<00007f0000001234>] malloc+0x1a /src/a.c:7");
        assert_eq!(Frame::unknown(1).symbol(), "[unknown]");
    }

    #[test]
    fn names_a_kernel_function() {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
        let addr = text
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && f[2] == "vfs_read" && f[1].eq_ignore_ascii_case("t"))
                    .then(|| u64::from_str_radix(f[0], 16).ok())
                    .flatten()
            })
            .expect("vfs_read in /proc/kallsyms");
        if addr == 0 {
            // kallsyms hides addresses from unprivileged users.
            assert!(!nix::unistd::geteuid().is_root());
            return;
        }
        let frames = Symbolizer::new().kernel(&[addr + 3]);
        assert_eq!(frames[0].name.as_deref(), Some("vfs_read"), "{frames:?}");
        assert_eq!(frames[0].offset, 3);
        assert!(
            frames[0].to_string().contains("] vfs_read+0x3"),
            "{frames:?}"
        );
    }

    #[test]
    fn kernel_addresses_never_fail() {
        let s = Symbolizer::new();
        // Not a kernel text address: unknown, not an error or a panic.
        let frames = s.kernel(&[0x1]);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].addr, 0x1);
    }
}
