//! bashreadline — lesson 5 (uprobe): print the command lines bash reads.
//!
//! A uretprobe on readline(), which returns the line the user typed. Where
//! readline() lives is found the way libbpf-tools does: in /bin/bash when bash
//! carries its own copy (Debian's does), else in the libreadline.so bash
//! links; `-s PATH` names the file (a path or a library name) directly.
//! Same flag and columns as libbpf-tools bashreadline, plus `--json`.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use bpfkit::args::bashreadline::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::bashreadline::{BashreadlineSkelBuilder, types::readline_event};
use bpfkit::{bpf, events, fmt, uprobe};
use clap::Parser;

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
    // All processes (-1): every bash, including ones started later.
    let path = &target.path;
    let _link = uprobe::attach(&skel.progs.printret, -1, path, FUNC, true)?;
    let only = if target.only_bash {
        " (tasks named bash only)"
    } else {
        ""
    };
    bpfkit::output::note(format_args!("using {FUNC}() in {}{only}", path.display()));
    events::stream(&skel, &args.common, None, &table(), |e: &readline_event| {
        Some(Line::from(e))
    })
}

/// The file to probe: `-s` as given (a path or a library name), else bash
/// when it defines readline(), else the libreadline bash links.
fn find_target(shared: Option<&str>) -> Result<Target> {
    let bash = find_bash();
    let path = match (shared, &bash) {
        (Some(name), _) => {
            let path = uprobe::resolve(name, None)?;
            uprobe::require_symbol(&path, FUNC)?;
            path
        }
        (None, Ok(bash)) => uprobe::function_home(bash, FUNC, "libreadline")
            .map_err(|e| anyhow!("{e}: give the file with -s PATH"))?,
        (None, Err(e)) => return Err(anyhow!("{e}")),
    };
    let only_bash = !bash.is_ok_and(|b| uprobe::same_file(&b, &path));
    Ok(Target { path, only_bash })
}

/// /bin/bash as libbpf-tools uses, else the bash in PATH.
fn find_bash() -> Result<PathBuf> {
    ["/bin/bash", "bash"]
        .into_iter()
        .find_map(|bash| uprobe::resolve(bash, None).ok())
        .ok_or_else(|| anyhow!("no bash in /bin or PATH: give readline's file with -s"))
}

/// One line readline() returned.
struct Line {
    pid: u32,
    uid: u32,
    comm: String,
    command: String,
}

impl From<&readline_event> for Line {
    fn from(e: &readline_event) -> Self {
        Line {
            pid: e.pid,
            uid: e.uid,
            comm: fmt::c_chars(&e.comm),
            command: fmt::c_chars(&e.line),
        }
    }
}

/// libbpf-tools' `%-9s %-7d %s` (TIME is always 8 characters: 9 wide and
/// one space is 8 wide and two).
fn table() -> Table<'static, Line> {
    Table::new()
        .time(true)
        .left("PID", 7, "pid", |l: &Line| l.pid.into())
        .sep("  ")
        .json("uid", |l| l.uid.into())
        .json("comm", |l| Cell::text(&l.comm))
        .last("COMMAND", "command", |l| Cell::text(&l.command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn line(pid: u32, command: &str) -> Line {
        Line {
            pid,
            uid: 1000,
            comm: "bash".into(),
            command: command.into(),
        }
    }

    #[test]
    fn row_matches_libbpf_tools() {
        let t = table();
        assert_eq!(
            t.header_line(),
            format!("{:<9} {:<7} {}", "TIME", "PID", "COMMAND")
        );
        let row = t.table_line(&line(42, "ls -l"));
        assert_eq!(&row[8..], "  42      ls -l");
        assert_eq!(&t.table_line(&line(1234567, ""))[8..], "  1234567 ");
        // A typed ESC sequence cannot reach the terminal.
        assert!(t.table_line(&line(1, "\x1b[2J")).ends_with(r"\x1b[2J"));
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        table().print(&out, &line(42, "ls -l"));
        let mut v = cap.json_lines().remove(0);
        assert_eq!(v["time"].as_str().map(str::len), Some(8));
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(
            v,
            serde_json::json!({"pid": 42, "uid": 1000, "comm": "bash", "command": "ls -l"})
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("bashreadline", &table().keys());
    }

    #[test]
    fn default_target_is_bash_or_its_libreadline() {
        let t = find_target(None).unwrap();
        uprobe::require_symbol(&t.path, FUNC).unwrap();
        let bash = find_bash().unwrap();
        // Only a libreadline needs the comm check.
        assert_eq!(t.only_bash, !uprobe::same_file(&t.path, &bash), "{t:?}");
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
        // libreadline8 is a test dependency (scripts/deps.sh test).
        let lib = uprobe::resolve("libreadline", None).expect("libreadline (scripts/deps.sh test)");
        let t = find_target(Some(lib.to_str().unwrap())).unwrap();
        assert!(t.only_bash);
        assert_eq!(t.path, lib);
    }
}
