//! bashreadline — lesson 5 (uprobe): print the command lines bash reads.
//!
//! A uretprobe on readline(), which returns the line the user typed. Where
//! readline() lives is found the way libbpf-tools does: in /bin/bash when bash
//! carries its own copy (Debian's does), else in the libreadline.so bash
//! links; `-s PATH` names the file (a path or a library name) directly.
//! Same flag and columns as libbpf-tools bashreadline, plus `--json`.

use std::mem::MaybeUninit;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use bpfkit::args::bashreadline::Args;
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::bashreadline::{
    BashreadlineSkel, BashreadlineSkelBuilder, types::readline_event,
};
use bpfkit::{Output, bpf, fmt, uprobe};
use clap::Parser;
use libbpf_rs::UprobeOpts;
use serde_json::json;

/// The function whose return value is the line just read.
const FUNC: &str = "readline";

/// Where the uretprobe goes, and whether events need the `bash` comm check.
#[derive(Debug, PartialEq)]
struct Target {
    path: PathBuf,
    /// A shared libreadline also runs in python, gdb, psql...: keep only
    /// tasks named `bash`, like libbpf-tools. The bash executable itself
    /// needs no check (only bash runs it, under whatever name).
    only_bash: bool,
}

fn main() -> ExitCode {
    bpfkit::main("bashreadline", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let target = find_target(args.shared.as_deref())?;

    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        BashreadlineSkelBuilder::default(),
        &mut object,
        &args.common,
    )?;
    bpf::rodata(open.maps.rodata_data.as_deref_mut())?.only_bash = target.only_bash;
    let skel = bpf::load(open)?;
    let opts = UprobeOpts {
        retprobe: true,
        func_name: Some(FUNC.to_string()),
        ..Default::default()
    };
    // All processes (-1): every bash, including ones started later.
    let link = skel
        .progs
        .printret
        .attach_uprobe_with_opts(-1, &target.path, 0, opts)
        .map_err(|e| {
            bpf::explain(
                e,
                &format!(
                    "attaching a uretprobe to {FUNC}() in {}",
                    target.path.display()
                ),
            )
        })?;
    bpfkit::output::note(format_args!(
        "using {FUNC}() in {}{}",
        target.path.display(),
        if target.only_bash {
            " (tasks named bash only)"
        } else {
            ""
        }
    ));

    let result = trace(&args, &skel);
    drop(link);
    drop(skel);
    result
}

fn trace(args: &Args, skel: &BashreadlineSkel) -> Result<()> {
    let out = Output::stdout(args.common.json)?;
    out.header(format_args!("{:<9} {:<7} {}", "TIME", "PID", "COMMAND"));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &readline_event| print_event(&out, e)),
    )?
    .count_drops(&skel.maps.drops)
    .run()
}

/// The file to probe: `-s` as given (a path or a library name), else bash
/// when it defines readline(), else the libreadline bash links.
fn find_target(shared: Option<&str>) -> Result<Target> {
    let bash = find_bash();
    if let Some(name) = shared {
        let path = uprobe::resolve(name, None)?;
        uprobe::require_symbol(&path, FUNC)?;
        let is_bash = bash.as_deref().is_ok_and(|b| same_file(b, &path));
        return Ok(Target {
            path,
            only_bash: !is_bash,
        });
    }
    let bash = bash?;
    if uprobe::has_function(&bash, FUNC)? {
        return Ok(Target {
            path: bash,
            only_bash: false,
        });
    }
    match uprobe::linked_library(&bash, "libreadline")? {
        Some(lib) => {
            uprobe::require_symbol(&lib, FUNC)?;
            Ok(Target {
                path: lib,
                only_bash: true,
            })
        }
        None => bail!(
            "no {FUNC}() in {} and it links no libreadline: give the file with -s PATH",
            bash.display()
        ),
    }
}

/// /bin/bash as libbpf-tools uses, else the bash in PATH.
fn find_bash() -> Result<PathBuf> {
    let bin_bash = Path::new("/bin/bash");
    if bin_bash.is_file() {
        return Ok(bin_bash.to_path_buf());
    }
    uprobe::resolve("bash", None)
        .map_err(|_| anyhow!("no bash found (/bin/bash, PATH): give readline's file with -s PATH"))
}

/// The same file (uprobes belong to the inode, not the path).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn print_event(out: &Output, e: &readline_event) {
    let line = fmt::c_chars(&e.line);
    let time = fmt::hms_now();
    if out.is_json() {
        out.json(&json!({
            "time": time,
            "pid": e.pid,
            "uid": e.uid,
            "comm": fmt::c_chars(&e.comm),
            "command": line,
        }));
    } else {
        out.line(format_args!("{}", row(&time, e.pid, &line)));
    }
}

/// One table row: libbpf-tools' `%-9s %-7d %s`.
fn row(time: &str, pid: u32, line: &str) -> String {
    format!("{time:<9} {pid:<7} {line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_matches_libbpf_tools() {
        assert_eq!(row("12:34:56", 42, "ls -l"), "12:34:56  42      ls -l");
        assert_eq!(row("12:34:56", 1234567, ""), "12:34:56  1234567 ");
    }

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["bashreadline", "-s", "/usr/lib/libreadline.so"]).unwrap();
        assert_eq!(a.shared.as_deref(), Some("/usr/lib/libreadline.so"));
        let a =
            Args::try_parse_from(["bashreadline", "--shared=libreadline", "--json", "-v"]).unwrap();
        assert_eq!(a.shared.as_deref(), Some("libreadline"));
        assert!(a.common.json && a.common.verbose);
        assert!(Args::try_parse_from(["bashreadline", "-s"]).is_err());
        assert!(Args::try_parse_from(["bashreadline", "-p", "1"]).is_err());
    }

    #[test]
    fn default_target_is_bash_or_its_libreadline() {
        let t = find_target(None).unwrap();
        uprobe::require_symbol(&t.path, FUNC).unwrap();
        let bash = find_bash().unwrap();
        // Only a libreadline needs the comm check.
        assert_eq!(t.only_bash, !same_file(&t.path, &bash), "{t:?}");
    }

    #[test]
    fn explicit_targets() {
        let bash = find_bash().unwrap();
        let t = find_target(Some(bash.to_str().unwrap())).unwrap();
        assert!(!t.only_bash);
        let err = find_target(Some("/no/such/libreadline.so")).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
        // A real ELF file without readline().
        let sh = uprobe::resolve("true", None).unwrap();
        let err = find_target(Some(sh.to_str().unwrap())).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("no function readline in {}", sh.display())
        );
    }

    #[test]
    fn shared_libreadline_gets_the_comm_check() {
        // Debian ships libreadline8 (bash does not use it); skip where absent.
        let Ok(lib) = uprobe::resolve("libreadline", None) else {
            return;
        };
        let t = find_target(Some(lib.to_str().unwrap())).unwrap();
        assert!(t.only_bash);
        assert_eq!(t.path, lib);
    }
}
