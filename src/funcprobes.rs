//! Entry and return uprobes on a set of functions of one ELF file (an
//! allocator library's `malloc`, `free`…), each function with its own BPF
//! programs, attached by symbol name for one process.
//!
//! Functions marked required must attach; the others are skipped when the
//! file lacks them (an enter probe is kept only with its exit probe).
//!
//! Where the kernel has uprobe_multi (6.6+), [`attach_multi`] attaches one
//! entry program and one return program to all the functions as two links,
//! the function told by the attach cookie: the kernel then waits for its
//! probes to drain once per link at detach, not once per function (22
//! single uprobes take seconds to detach).

use std::path::Path;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use libbpf_rs::{Link, Object, UprobeMultiOpts, UprobeOpts};

/// `BPFKIT_SINGLE_UPROBES=1`: single uprobes even where uprobe_multi exists
/// (tests and benchmarks of the fallback).
pub const FORCE_SINGLE_ENV: &str = "BPFKIT_SINGLE_UPROBES";

/// Whether this kernel can attach many uprobes as one link (uprobe_multi,
/// 6.6+: its link type is in the kernel's BTF), unless
/// [`FORCE_SINGLE_ENV`] says not to use it.
pub fn multi_supported() -> bool {
    use libbpf_rs::btf::{Btf, BtfType};
    if std::env::var(FORCE_SINGLE_ENV).is_ok_and(|v| v == "1") {
        return false;
    }
    Btf::from_vmlinux().is_ok_and(|btf| {
        btf.type_by_name::<BtfType<'_>>("bpf_uprobe_multi_link")
            .is_some()
    })
}

/// One function to trace and the programs that trace it.
#[derive(Clone, Copy, Debug)]
pub struct FuncProbe {
    pub func: &'static str,
    /// The `SEC("uprobe")` program run on entry.
    pub enter: &'static str,
    /// The `SEC("uretprobe")` program run on return, if any.
    pub exit: Option<&'static str>,
}

/// The ELF file to attach to: `name` (a path or a library name, see
/// [`crate::uprobe::resolve`]; looked up in `pid`'s mappings first), else
/// the `default` library. It must define `prefix` + each of `required`.
/// (A process that has not mapped it yet, still in its dynamic loader,
/// gets the system's copy, which it is about to map.)
pub fn find_object(
    name: Option<&str>,
    default: &str,
    pid: Option<i32>,
    prefix: &str,
    required: &[&str],
) -> Result<PathBuf> {
    let name = name.unwrap_or(default);
    let path = crate::uprobe::resolve(name, pid)
        .with_context(|| format!("finding the allocator object {name}"))?;
    for f in required {
        crate::uprobe::require_symbol(&path, &format!("{prefix}{f}"))?;
    }
    Ok(path)
}

/// What [`attach`] did.
pub struct Attached {
    pub links: Vec<Link>,
    /// Functions traced (with their prefix).
    pub traced: Vec<String>,
    /// Optional functions not found in the file (with their prefix).
    pub skipped: Vec<String>,
    /// As uprobe_multi links.
    pub multi: bool,
}

impl Attached {
    /// Says on stderr how the functions were attached and, with `verbose`,
    /// which optional ones `path` lacks.
    pub fn note(&self, path: &Path, verbose: bool) {
        crate::output::note(format_args!(
            "{} functions traced with {}",
            self.traced.len(),
            if self.multi {
                "2 uprobe_multi links"
            } else {
                "single uprobes (uprobe_multi unavailable, or off by BPFKIT_SINGLE_UPROBES=1)"
            }
        ));
        if verbose && !self.skipped.is_empty() {
            crate::output::note(format_args!(
                "not traced (absent from {}): {}",
                path.display(),
                self.skipped.join(", ")
            ));
        }
    }
}

/// Attaches `probes` for `pid` to the functions `prefix` + `func` of `path`;
/// `required(func)` says which must attach. With `multi` (the names of the
/// two uprobe_multi programs, loaded where [`multi_supported`]) through
/// [`attach_multi`], else one uprobe per program and function.
pub fn attach(
    object: &Object,
    probes: &[FuncProbe],
    multi: Option<(&str, &str)>,
    (pid, path): (i32, &Path),
    prefix: &str,
    required: impl Fn(&str) -> bool,
) -> Result<Attached> {
    match multi {
        Some(progs) => attach_multi(object, progs, probes, pid, path, prefix, required),
        None => attach_single(object, probes, pid, path, prefix, required),
    }
}

fn attach_single(
    object: &Object,
    probes: &[FuncProbe],
    pid: i32,
    path: &Path,
    prefix: &str,
    required: impl Fn(&str) -> bool,
) -> Result<Attached> {
    let mut links = Vec::new();
    let mut skipped = Vec::new();
    let mut traced = Vec::new();
    for p in probes {
        let sym = format!("{prefix}{}", p.func);
        let mut attached = Vec::new();
        let mut failure = None;
        for (prog_name, retprobe) in [(Some(p.enter), false), (p.exit, true)] {
            let Some(prog_name) = prog_name else { continue };
            match attach_one(object, prog_name, pid, path, &sym, retprobe) {
                Ok(link) => attached.push(link),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        match failure {
            None => {
                links.extend(attached);
                traced.push(sym);
            }
            Some(e) if required(p.func) => {
                return Err(e.context(format!(
                    "attaching to {sym} in {} (use -O to name the allocator library)",
                    path.display()
                )));
            }
            // An enter probe without its exit would only leave sizes behind.
            Some(_) => skipped.push(sym),
        }
    }
    Ok(Attached {
        links,
        traced,
        skipped,
        multi: false,
    })
}

/// The file offset of each function of `syms` in the ELF file at `path`
/// (`None`: no such function), as uprobes take them.
pub fn function_offsets(path: &Path, syms: &[String]) -> Result<Vec<Option<usize>>> {
    use blazesym::SymType;
    use blazesym::inspect::{Inspector, source};

    crate::uprobe::require_elf(path)?;
    let mut elf = source::Elf::new(path);
    elf.debug_syms = false;
    let src = source::Source::from(elf);
    let names: Vec<&str> = syms.iter().map(String::as_str).collect();
    let inspector = Inspector::new();
    let found = inspector
        .lookup(&src, &names)
        .map_err(|e| anyhow!("reading symbols of {}: {e}", path.display()))?;
    Ok(names
        .iter()
        .zip(found)
        .map(|(name, infos)| {
            infos
                .iter()
                .find(|s| s.name == *name && s.sym_type == SymType::Function && s.addr != 0)
                .and_then(|s| s.file_offset)
                .map(|o| o as usize)
        })
        .collect())
}

/// [`attach`] with the two uprobe_multi programs `enter` and `exit`
/// (sections `uprobe.multi` and `uretprobe.multi`) serving every function;
/// a function's attach cookie is its position in `probes`, from 1.
#[allow(clippy::too_many_arguments)]
fn attach_multi(
    object: &Object,
    (enter, exit): (&str, &str),
    probes: &[FuncProbe],
    pid: i32,
    path: &Path,
    prefix: &str,
    required: impl Fn(&str) -> bool,
) -> Result<Attached> {
    let (mut traced, mut skipped) = (Vec::new(), Vec::new());
    let (mut enter_offsets, mut enter_cookies) = (Vec::new(), Vec::new());
    let (mut exit_offsets, mut exit_cookies) = (Vec::new(), Vec::new());
    let syms: Vec<String> = probes
        .iter()
        .map(|p| format!("{prefix}{}", p.func))
        .collect();
    let offsets = function_offsets(path, &syms)?;
    for (i, ((p, sym), offset)) in probes.iter().zip(syms).zip(offsets).enumerate() {
        let Some(offset) = offset else {
            if required(p.func) {
                bail!(
                    "attaching to {sym} in {}: no such function (use -O to name the allocator library)",
                    path.display()
                );
            }
            skipped.push(sym);
            continue;
        };
        let cookie = i as u64 + 1;
        enter_offsets.push(offset);
        enter_cookies.push(cookie);
        if p.exit.is_some() {
            exit_offsets.push(offset);
            exit_cookies.push(cookie);
        }
        traced.push(sym);
    }
    let mut links = Vec::new();
    for (prog_name, offsets, cookies, retprobe) in [
        (enter, enter_offsets, enter_cookies, false),
        (exit, exit_offsets, exit_cookies, true),
    ] {
        if offsets.is_empty() {
            continue;
        }
        let prog = object
            .progs_mut()
            .find(|p| p.name() == prog_name)
            .ok_or_else(|| anyhow!("BPF program {prog_name} missing"))?;
        let opts = UprobeMultiOpts {
            offsets,
            cookies,
            retprobe,
            ..Default::default()
        };
        let link = prog
            .attach_uprobe_multi_with_opts(pid, path, "", opts)
            .map_err(|e| crate::bpf::explain(e, &format!("uprobe_multi {prog_name}")))?;
        links.push(link);
    }
    Ok(Attached {
        links,
        traced,
        skipped,
        multi: true,
    })
}

fn attach_one(
    object: &Object,
    prog_name: &str,
    pid: i32,
    path: &Path,
    sym: &str,
    retprobe: bool,
) -> Result<Link> {
    let prog = object
        .progs_mut()
        .find(|p| p.name() == prog_name)
        .ok_or_else(|| anyhow!("BPF program {prog_name} missing"))?;
    let opts = UprobeOpts {
        func_name: Some(sym.to_string()),
        retprobe,
        ..Default::default()
    };
    prog.attach_uprobe_with_opts(pid, path, 0, opts)
        .map_err(|e| crate::bpf::explain(e, &format!("uprobe {sym}")))
}
