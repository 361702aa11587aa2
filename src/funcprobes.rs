//! Entry and return uprobes on a set of functions of one ELF file (an
//! allocator library's `malloc`, `free`…), each function with its own BPF
//! programs, attached by symbol name for one process.
//!
//! Functions marked required must attach; the others are skipped when the
//! file lacks them (an enter probe is kept only with its exit probe).

use std::path::Path;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use libbpf_rs::{Link, Object, UprobeOpts};

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
/// [`crate::uprobe::resolve`]), else the `default` library, which must then
/// be mapped in `pid` when given (a process without it would be traced for
/// nothing). It must define `prefix` + each of `required`.
pub fn find_object(
    name: Option<&str>,
    default: &str,
    pid: Option<i32>,
    prefix: &str,
    required: &[&str],
) -> Result<PathBuf> {
    if name.is_none()
        && let Some(pid) = pid
        && crate::uprobe::mapped_library(pid, &format!("{default}.so")).is_err()
    {
        bail!("process {pid} has no {default} mapped: name its allocator library with -O");
    }
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
    /// Optional functions not found in the file (with their prefix).
    pub skipped: Vec<String>,
}

impl Attached {
    /// Says on stderr which optional functions `path` lacks, if any.
    pub fn note_skipped(&self, path: &Path) {
        if !self.skipped.is_empty() {
            crate::output::note(format_args!(
                "not traced (absent from {}): {}",
                path.display(),
                self.skipped.join(", ")
            ));
        }
    }
}

/// Attaches `probes` for `pid` to the functions `prefix` + `func` of `path`;
/// `required(func)` says which must attach.
pub fn attach(
    object: &Object,
    probes: &[FuncProbe],
    pid: i32,
    path: &Path,
    prefix: &str,
    required: impl Fn(&str) -> bool,
) -> Result<Attached> {
    let mut links = Vec::new();
    let mut skipped = Vec::new();
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
            None => links.extend(attached),
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
    Ok(Attached { links, skipped })
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
