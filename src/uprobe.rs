//! Finding the user-space file a uprobe or USDT probe attaches to.
//!
//! Tools name their target the way a user would: a path (`./a.out`,
//! `/bin/bash`), a bare program name searched in `PATH` (`bash`), or a
//! library name (`libc`, `libc.so.6`, `libreadline`) found in the target
//! process's mappings, the `ldconfig` cache or the standard library
//! directories. Errors are one line and say what was searched.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, anyhow, bail};

/// Where shared libraries live when neither the process nor ldconfig know.
pub const LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// Resolves a uprobe target to an existing ELF file.
///
/// - a name containing `/` is a path: it must exist and be a regular ELF file;
/// - a library name (`lib…`, or containing `.so`) is looked up in
///   `/proc/PID/maps` of `pid` when given, then in `ldconfig -p`, then in
///   [`LIB_DIRS`];
/// - any other bare name is an executable searched in `PATH`.
pub fn resolve(target: &str, pid: Option<i32>) -> Result<PathBuf> {
    if target.is_empty() {
        bail!("empty binary or library name");
    }
    if target.contains('/') {
        let path = PathBuf::from(target);
        require_elf(&path)?;
        return Ok(path);
    }
    if is_library_name(target) {
        return resolve_library(target, pid);
    }
    if let Some(path) = search_path(target) {
        return Ok(path);
    }
    bail!("no such binary or library: {target} (searched PATH)")
}

/// Fails unless `path` is a readable regular file starting with the ELF magic.
pub fn require_elf(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| anyhow!("{}: {}", path.display(), io_reason(&e)))?;
    if !meta.is_file() {
        bail!("{}: not a regular file", path.display());
    }
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| anyhow!("{}: {}", path.display(), io_reason(&e)))?;
    if &magic != b"\x7fELF" {
        bail!("{}: not an ELF file", path.display());
    }
    Ok(())
}

/// Fails with "no function SYMBOL in PATH" unless the ELF file's `.dynsym` or
/// `.symtab` defines a function of that name.
pub fn require_symbol(path: &Path, symbol: &str) -> Result<()> {
    if has_function(path, symbol)? {
        Ok(())
    } else {
        bail!("no function {symbol} in {}", path.display())
    }
}

/// Whether the ELF file at `path` defines a function named `symbol` (in
/// `.dynsym` or `.symtab`; separate debug files are not consulted, since
/// libbpf does not consult them either when attaching by name).
pub fn has_function(path: &Path, symbol: &str) -> Result<bool> {
    use blazesym::SymType;
    use blazesym::inspect::{Inspector, source};

    require_elf(path)?;
    let mut elf = source::Elf::new(path);
    elf.debug_syms = false;
    let src = source::Source::from(elf);
    let inspector = Inspector::new();
    let found = inspector
        .lookup(&src, &[symbol])
        .map_err(|e| anyhow!("reading symbols of {}: {e}", path.display()))?;
    Ok(found
        .iter()
        .flatten()
        .any(|s| s.name == symbol && s.sym_type == SymType::Function && s.addr != 0))
}

/// The file mapped into process `pid` whose file name starts with `prefix`
/// (`libjvm.so`, `libc.so`), from `/proc/PID/maps`.
pub fn mapped_library(pid: i32, prefix: &str) -> Result<PathBuf> {
    let maps = crate::procmaps::read(pid)?;
    find_mapped(&maps, prefix)
        .map(|p| proc_root_path(pid, &p))
        .ok_or_else(|| {
            anyhow!(
                "process {pid} has no {prefix} mapped{}",
                match prefix {
                    p if p.starts_with("libjvm") => ": is it a JVM?",
                    _ => "",
                }
            )
        })
}

/// The first mapped file whose file name starts with `prefix`.
pub fn find_mapped(maps: &str, prefix: &str) -> Option<PathBuf> {
    crate::procmaps::paths(maps)
        .into_iter()
        .find(|p| file_name_matches(p, prefix))
}

/// Paths in `/proc/PID/maps` are in the process's mount namespace: reach
/// them through `/proc/PID/root` when that namespace differs from ours.
fn proc_root_path(pid: i32, path: &Path) -> PathBuf {
    let ours = fs::read_link("/proc/self/ns/mnt").ok();
    let theirs = fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
    if ours.is_some() && theirs.is_some() && ours != theirs {
        let rel = path.strip_prefix("/").unwrap_or(path);
        let inside = Path::new(&format!("/proc/{pid}/root")).join(rel);
        if inside.exists() {
            return inside;
        }
    }
    path.to_path_buf()
}

/// `libc`, `libc.so.6`, `libreadline.so`, `ld-linux-x86-64.so.2`.
fn is_library_name(name: &str) -> bool {
    name.starts_with("lib") || name.contains(".so")
}

/// Whether a library file name answers to a user's library name: `libc`
/// matches `libc.so.6` (not `libcap.so.2`), `libc.so` matches `libc.so.6`,
/// `libc.so.6` matches itself; `libjvm.so` matches `libjvm.so`.
fn library_matches(file: &str, name: &str) -> bool {
    if file == name {
        return true;
    }
    match file.strip_prefix(name) {
        Some(rest) if name.contains(".so") => rest.starts_with('.'),
        Some(rest) => rest.starts_with(".so") || rest.starts_with('-') && rest.contains(".so"),
        None => false,
    }
}

fn file_name_matches(path: &Path, prefix: &str) -> bool {
    path.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|f| f.starts_with(prefix))
}

fn resolve_library(name: &str, pid: Option<i32>) -> Result<PathBuf> {
    let mut searched = Vec::new();
    if let Some(pid) = pid {
        let maps = crate::procmaps::read(pid)?;
        let found = crate::procmaps::paths(&maps).into_iter().find(|p| {
            p.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|f| library_matches(f, name))
        });
        if let Some(path) = found {
            return Ok(proc_root_path(pid, &path));
        }
        searched.push(format!("process {pid}"));
    }
    if let Some(path) = ldconfig_cache()
        .iter()
        .filter(|(file, _)| library_matches(file, name))
        // Prefer the native architecture's copy (x86-64 before i386).
        .map(|(_, path)| path)
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
    {
        return Ok(path.clone());
    }
    searched.push("ldconfig".to_string());
    for dir in LIB_DIRS {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        let mut matches: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(OsStr::to_str)
                    .is_some_and(|f| library_matches(f, name))
            })
            .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
            .collect();
        // The shortest name is the soname link (libc.so.6), not a versioned file.
        matches.sort_by_key(|p| p.as_os_str().len());
        if let Some(path) = matches.into_iter().find(|p| require_elf(p).is_ok()) {
            return Ok(path);
        }
    }
    searched.push("library dirs".to_string());
    bail!(
        "no such binary or library: {name} (searched {})",
        searched.join(", ")
    )
}

/// `(file name, path)` pairs of `ldconfig -p`, in its order; empty when
/// ldconfig is missing.
fn ldconfig_cache() -> Vec<(String, PathBuf)> {
    let output = ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]
        .iter()
        .find_map(|cmd| Command::new(cmd).arg("-p").output().ok());
    match output {
        Some(o) if o.status.success() => parse_ldconfig(&String::from_utf8_lossy(&o.stdout)),
        _ => Vec::new(),
    }
}

/// Parses `ldconfig -p` lines: `\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6`.
/// Entries of the native word size come first.
pub fn parse_ldconfig(text: &str) -> Vec<(String, PathBuf)> {
    let native = cfg!(target_pointer_width = "64");
    let mut entries: Vec<(bool, String, PathBuf)> = text
        .lines()
        .filter_map(|line| {
            let (left, path) = line.split_once("=>")?;
            let left = left.trim();
            let file = left.split_whitespace().next()?.to_string();
            let is64 = left.contains("64");
            Some((is64 == native, file, PathBuf::from(path.trim())))
        })
        .collect();
    entries.sort_by_key(|(preferred, _, _)| !preferred);
    entries.into_iter().map(|(_, f, p)| (f, p)).collect()
}

fn search_path(name: &str) -> Option<PathBuf> {
    crate::process::search_path(name, |p| require_elf(p).is_ok())
}

/// Reads a whole file, naming the capability a permission error asks for:
/// another process's files (`/proc/PID/root/...`) are for who may ptrace
/// it, other unreadable files for who may bypass read permission.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            let cap = if path.starts_with("/proc") {
                "CAP_SYS_PTRACE"
            } else {
                "CAP_DAC_READ_SEARCH"
            };
            anyhow!(
                "reading {}: permission denied: needs root, or {cap}",
                path.display()
            )
        } else {
            anyhow!("reading {}: {e}", path.display())
        }
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// The libraries an ELF file depends on (`DT_NEEDED`: `libc.so.6`, ...).
pub fn needed_libraries(path: &Path) -> Result<Vec<String>> {
    let data = read_file(path)?;
    parse_needed(&data).ok_or_else(|| anyhow!("{}: not a valid 64-bit ELF file", path.display()))
}

/// Finds the library `binary` links whose name starts with `prefix`
/// (`libreadline` for a bash built against the shared libreadline), resolved
/// like [`resolve`] does.
pub fn linked_library(binary: &Path, prefix: &str) -> Result<Option<PathBuf>> {
    match needed_libraries(binary)?
        .into_iter()
        .find(|lib| lib.starts_with(prefix))
    {
        Some(lib) => resolve(&lib, None).map(Some),
        None => Ok(None),
    }
}

/// Where `program`'s `function` runs: in the program itself when it defines
/// it (Debian's bash carries its own readline), else in the library it links
/// whose name starts with `library` (`libreadline`), which must define it.
pub fn function_home(program: &Path, function: &str, library: &str) -> Result<PathBuf> {
    if has_function(program, function)? {
        return Ok(program.to_path_buf());
    }
    match linked_library(program, library)? {
        Some(lib) => require_symbol(&lib, function).map(|()| lib),
        None => bail!(
            "no {function}() in {} and it links no {library}",
            program.display()
        ),
    }
}

/// Attaches `prog` at function `func` of the ELF file `path` by name (a
/// uretprobe when `retprobe`), in process `pid` or in every process (-1),
/// started later ones included. The error says what and where.
pub fn attach(
    prog: &libbpf_rs::ProgramMut<'_>,
    pid: i32,
    path: &Path,
    func: &str,
    retprobe: bool,
) -> Result<libbpf_rs::Link> {
    let opts = libbpf_rs::UprobeOpts {
        retprobe,
        func_name: Some(func.to_string()),
        ..Default::default()
    };
    let kind = if retprobe { "uretprobe" } else { "uprobe" };
    prog.attach_uprobe_with_opts(pid, path, 0, opts)
        .map_err(|e| {
            crate::bpf::explain(
                e,
                &format!("attaching a {kind} to {func}() in {}", path.display()),
            )
        })
}

/// Attaches `prog` to the USDT probe `provider:name` of the ELF file `path`
/// in process `pid`. The error says which probe and where.
pub fn attach_usdt(
    prog: &libbpf_rs::ProgramMut<'_>,
    pid: i32,
    path: &Path,
    provider: &str,
    name: &str,
) -> Result<libbpf_rs::Link> {
    prog.attach_usdt(pid, path, provider, name).map_err(|e| {
        let what = format!("attaching to USDT {provider}:{name} in {}", path.display());
        crate::bpf::explain(e, &what)
    })
}

/// The same file: a uprobe belongs to the inode, not to the path.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Section headers of a little-endian ELF64 image: (type, offset, size, link).
fn elf64_sections(data: &[u8]) -> Option<Vec<(u32, usize, usize, usize)>> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    if data.get(..4)? != b"\x7fELF" || *data.get(4)? != 2 || *data.get(5)? != 1 {
        return None;
    }
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let shentsize = usize::from(u16_at(0x3a)?);
    let shnum = usize::from(u16_at(0x3c)?);
    (0..shnum)
        .map(|i| {
            let sh = shoff.checked_add(i.checked_mul(shentsize)?)?;
            Some((
                u32_at(sh + 4)?,
                usize::try_from(u64_at(sh + 0x18)?).ok()?,
                usize::try_from(u64_at(sh + 0x20)?).ok()?,
                usize::try_from(u32_at(sh + 0x28)?).ok()?,
            ))
        })
        .collect()
}

/// `DT_NEEDED` names from the `.dynamic` section of an ELF64 image.
fn parse_needed(data: &[u8]) -> Option<Vec<String>> {
    const SHT_DYNAMIC: u32 = 6;
    const DT_NEEDED: u64 = 1;
    let sections = elf64_sections(data)?;
    let mut needed = Vec::new();
    for &(kind, off, size, link) in &sections {
        if kind != SHT_DYNAMIC {
            continue;
        }
        let &(_, str_off, str_size, _) = sections.get(link)?;
        let strtab = data.get(str_off..str_off.checked_add(str_size)?)?;
        let dynamic = data.get(off..off.checked_add(size)?)?;
        for entry in dynamic.chunks_exact(16) {
            let tag = u64::from_le_bytes(entry[..8].try_into().ok()?);
            let val = usize::try_from(u64::from_le_bytes(entry[8..].try_into().ok()?)).ok()?;
            if tag == 0 {
                break;
            }
            if tag == DT_NEEDED {
                let name = strtab.get(val..)?.split(|&b| b == 0).next()?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Some(needed)
}

/// A USDT probe note of an ELF file: `provider:name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    pub provider: String,
    pub name: String,
}

/// The USDT probes (`.note.stapsdt` notes) an ELF file declares.
pub fn usdt_notes(path: &Path) -> Result<Vec<UsdtNote>> {
    let data = read_file(path)?;
    parse_usdt_notes(&data)
        .ok_or_else(|| anyhow!("{}: not a valid 64-bit ELF file", path.display()))
}

/// Fails with a clear message unless `path` declares USDT probe `provider:name`.
pub fn require_usdt(path: &Path, provider: &str, name: &str) -> Result<()> {
    let notes = usdt_notes(path)?;
    if notes
        .iter()
        .any(|n| n.provider == provider && n.name == name)
    {
        Ok(())
    } else if notes.is_empty() {
        bail!(
            "{} has no USDT probes (built without --enable-dtrace / sys/sdt.h?)",
            path.display()
        )
    } else {
        bail!("no USDT probe {provider}:{name} in {}", path.display())
    }
}

/// Reads the `.note.stapsdt` section of a little-endian ELF64 image.
fn parse_usdt_notes(data: &[u8]) -> Option<Vec<UsdtNote>> {
    const SHT_NOTE: u32 = 7;
    let mut notes = Vec::new();
    for (kind, off, size, _) in elf64_sections(data)? {
        if kind != SHT_NOTE {
            continue;
        }
        let section = data.get(off..off.checked_add(size)?)?;
        let mut pos = 0;
        while pos + 12 <= section.len() {
            let at = |o: usize| -> Option<usize> {
                Some(u32::from_le_bytes(section.get(o..o + 4)?.try_into().ok()?) as usize)
            };
            let namesz = at(pos)?;
            let descsz = at(pos + 4)?;
            let ntype = at(pos + 8)?;
            let name_start = pos + 12;
            let desc_start = name_start + namesz.div_ceil(4) * 4;
            let next = desc_start + descsz.div_ceil(4) * 4;
            let owner = section.get(name_start..name_start + namesz)?;
            if owner == b"stapsdt\0" && ntype == 3 {
                // desc: pc, base, semaphore (3 x u64), provider\0 name\0 args\0
                let desc = section.get(desc_start..desc_start + descsz)?;
                let mut strings = desc.get(24..)?.split(|&b| b == 0);
                let provider = String::from_utf8_lossy(strings.next()?).into_owned();
                let name = String::from_utf8_lossy(strings.next()?).into_owned();
                notes.push(UsdtNote { provider, name });
            }
            if next <= pos {
                break;
            }
            pos = next;
        }
    }
    Some(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_home_is_the_program_or_its_library() {
        let sh = resolve("true", None).unwrap();
        let libc = function_home(&sh, "malloc", "libc.so").unwrap();
        assert!(
            same_file(&libc, &resolve("libc.so.6", None).unwrap()),
            "{libc:?}"
        );
        let err = function_home(&sh, "malloc", "libnope")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("no malloc() in {} and it links no libnope", sh.display())
        );
        assert!(same_file(&sh, &sh) && !same_file(&sh, &libc));
        assert!(!same_file(&sh, Path::new("/no/such/file")));
    }

    #[test]
    fn resolves_program_in_path() {
        let sh = resolve("sh", None).unwrap();
        assert!(sh.is_absolute(), "{}", sh.display());
        assert!(sh.ends_with("sh"));
    }

    #[test]
    fn resolves_paths() {
        assert!(resolve("/bin/sh", None).is_ok());
        let err = resolve("/no/such/file", None).unwrap_err().to_string();
        assert!(
            err.contains("/no/such/file") && err.contains("no such file"),
            "{err}"
        );
        let err = resolve("/etc/passwd", None).unwrap_err().to_string();
        assert!(err.contains("not an ELF file"), "{err}");
        let err = resolve("/tmp", None).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn resolves_libc() {
        for name in ["libc", "libc.so.6", "libc.so"] {
            let libc = resolve(name, None).unwrap();
            let file = libc.file_name().unwrap().to_str().unwrap();
            assert!(file.starts_with("libc.so"), "{name} -> {}", libc.display());
        }
        // In our own mappings too.
        let own = resolve("libc", Some(std::process::id() as i32)).unwrap();
        assert!(own.to_str().unwrap().contains("libc"), "{}", own.display());
    }

    #[test]
    fn missing_names_are_clear_errors() {
        let err = resolve("libbpfkit-nope", None).unwrap_err().to_string();
        assert_eq!(
            err,
            "no such binary or library: libbpfkit-nope (searched ldconfig, library dirs)"
        );
        let err = resolve("bpfkit-no-such-program", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no such binary or library: bpfkit-no-such-program"),
            "{err}"
        );
    }

    #[test]
    fn library_name_matching() {
        assert!(library_matches("libc.so.6", "libc"));
        assert!(library_matches("libc.so.6", "libc.so"));
        assert!(library_matches("libc.so.6", "libc.so.6"));
        assert!(!library_matches("libcap.so.2", "libc"));
        assert!(!library_matches("libc.so.6", "libc.so.7"));
        assert!(library_matches("libreadline.so.8", "libreadline"));
        assert!(library_matches("libpython3.11.so.1.0", "libpython3.11"));
        assert!(library_matches("libjvm.so", "libjvm.so"));
    }

    #[test]
    fn symbols() {
        let libc = resolve("libc.so.6", None).unwrap();
        require_symbol(&libc, "malloc").unwrap();
        let err = require_symbol(&libc, "bpfkit_no_such_fn")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("no function bpfkit_no_such_fn in {}", libc.display())
        );
        // A variable is not a function.
        assert!(!has_function(&libc, "environ").unwrap());
        // An import (undefined in sh, defined in libc) is not a definition.
        let sh = resolve("sh", None).unwrap();
        assert!(has_function(&libc, "__errno_location").unwrap());
        assert!(!has_function(&sh, "__errno_location").unwrap());
    }

    const MAPS: &str = "\
55d0c0a00000-55d0c0a2e000 r--p 00000000 fe:01 1311 /usr/bin/bash
7f1e5c000000-7f1e5c021000 rw-p 00000000 00:00 0 
7f1e60000000-7f1e60028000 r--p 00000000 fe:01 2921 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e60028000-7f1e6019d000 r-xp 00028000 fe:01 2921 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e61000000-7f1e62000000 r-xp 00000000 fe:01 4000 /usr/lib/jvm/java-17/lib/server/libjvm.so
7f1e63000000-7f1e63001000 r--p 00000000 fe:01 4001 /tmp/my lib/libx.so (deleted)
7f1e64000000-7f1e64001000 r--p 00000000 fe:01 4002 /opt/with space/libspace.so
7ffd1a3d0000-7ffd1a3f1000 rw-p 00000000 00:00 0                          [stack]
7ffd1a3fc000-7ffd1a3fe000 r-xp 00000000 00:00 0                          [vdso]
";

    #[test]
    fn maps_parsing() {
        let paths = crate::procmaps::paths(MAPS);
        assert_eq!(
            paths,
            vec![
                PathBuf::from("/usr/bin/bash"),
                PathBuf::from("/usr/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/usr/lib/jvm/java-17/lib/server/libjvm.so"),
                PathBuf::from("/opt/with space/libspace.so"),
            ]
        );
        assert_eq!(
            find_mapped(MAPS, "libjvm.so"),
            Some(PathBuf::from("/usr/lib/jvm/java-17/lib/server/libjvm.so"))
        );
        assert_eq!(find_mapped(MAPS, "libx.so"), None);
        assert_eq!(find_mapped(MAPS, "libpython"), None);
    }

    #[test]
    fn mapped_library_errors() {
        let me = std::process::id() as i32;
        let libc = mapped_library(me, "libc.so").unwrap();
        assert!(libc.exists(), "{}", libc.display());
        let err = mapped_library(me, "libjvm.so").unwrap_err().to_string();
        assert_eq!(
            err,
            format!("process {me} has no libjvm.so mapped: is it a JVM?")
        );
        let err = mapped_library(1 << 23, "libc.so").unwrap_err().to_string();
        assert_eq!(err, format!("no such process: {}", 1 << 23));
    }

    #[test]
    fn ldconfig_parsing() {
        let text = "\
1234 libs found in cache `/etc/ld.so.cache'
\tlibc.so.6 (libc6) => /lib/i386-linux-gnu/libc.so.6
\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6
Cache generated by: ldconfig (GNU libc) stable release version 2.36
";
        let entries = parse_ldconfig(text);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].1,
            PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6")
        );
    }

    #[test]
    fn needed_libraries_of_sh() {
        let sh = resolve("sh", None).unwrap();
        let needed = needed_libraries(&sh).unwrap();
        assert!(
            needed.iter().any(|l| l.starts_with("libc.so")),
            "{needed:?}"
        );
        let libc = linked_library(&sh, "libc.so").unwrap().unwrap();
        assert!(libc.is_absolute(), "{}", libc.display());
        assert_eq!(linked_library(&sh, "libbpfkit-nope").unwrap(), None);
        assert!(parse_needed(b"\x7fELF garbage").is_none());
    }

    #[test]
    fn usdt_notes_of_libjvm() {
        // Debian's OpenJDK is built with DTrace probes; skip where no JDK is.
        let Some(jvm) = ["/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"]
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
        else {
            return;
        };
        let notes = usdt_notes(jvm).unwrap();
        assert!(notes.len() > 100, "{}", notes.len());
        require_usdt(jvm, "hotspot", "gc__begin").unwrap();
        let err = require_usdt(jvm, "hotspot", "nope")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no USDT probe hotspot:nope"), "{err}");
    }

    #[test]
    fn usdt_notes_of_non_elf() {
        assert!(parse_usdt_notes(b"not an elf").is_none());
        let sh = resolve("sh", None).unwrap();
        // sh declares no hotspot probes.
        let err = require_usdt(&sh, "hotspot", "gc__begin")
            .unwrap_err()
            .to_string();
        assert!(err.contains("USDT"), "{err}");
    }
}
