//! gethostlatency — how long name lookups through libc take: getaddrinfo(),
//! gethostbyname() and gethostbyname2(), with the name asked for.
//!
//! A uprobe and a uretprobe on each of the three functions of the libc
//! (libbpf-tools' gethostlatency): by default the libc of `-p PID`, else this
//! system's; `-l LIBC` names it (a path or a library name). Same flags and
//! columns as libbpf-tools gethostlatency, plus `-d` and `--json`.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bpfkit::args::gethostlatency::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::gethostlatency::{GethostlatencySkelBuilder, types::gethost_event};
use bpfkit::{bpf, events, fmt, uprobe};
use clap::Parser;

/// The lookups traced, as libbpf-tools.
const FUNCS: [&str; 3] = ["getaddrinfo", "gethostbyname", "gethostbyname2"];

fn main() -> ExitCode {
    bpfkit::main("gethostlatency", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let libc = find_libc(args.libc.as_deref(), args.target.pid)?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        GethostlatencySkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    bpf::rodata(open.maps.rodata_data.as_deref_mut())?.target_pid = args.target.pid.unwrap_or(0);
    let skel = bpf::load(open)?;
    let pid = args.target.pid.unwrap_or(-1);
    let mut links = Vec::new();
    for func in FUNCS {
        links.push(uprobe::attach(
            &skel.progs.handle_entry,
            pid,
            &libc,
            func,
            false,
        )?);
        links.push(uprobe::attach(
            &skel.progs.handle_return,
            pid,
            &libc,
            func,
            true,
        )?);
    }
    bpfkit::output::note(format_args!("using {}", libc.display()));
    events::stream(&skel, &args.run.common, args.run.duration, &table(), |e| {
        Some(Lookup::from(e))
    })
}

/// `-l` as given (a path or a library name), else the libc `pid` maps (this
/// process's without `-p`: the system's, as libbpf-tools); it must define
/// every function traced.
fn find_libc(libc: Option<&str>, pid: Option<i32>) -> Result<PathBuf> {
    let pid = pid.unwrap_or(std::process::id() as i32);
    let path = uprobe::resolve(libc.unwrap_or("libc"), Some(pid))
        .context("finding the libc (name it with -l LIBC)")?;
    for f in FUNCS {
        uprobe::require_symbol(&path, f)?;
    }
    Ok(path)
}

/// One lookup.
struct Lookup {
    pid: u32,
    tid: u32,
    comm: String,
    lat_ns: u64,
    host: String,
}

impl From<&gethost_event> for Lookup {
    fn from(e: &gethost_event) -> Self {
        Lookup {
            pid: e.pid,
            tid: e.tid,
            comm: fmt::c_chars(&e.comm),
            lat_ns: e.lat_ns,
            host: fmt::c_chars(&e.host),
        }
    }
}

/// libbpf-tools' `%-8s %-7d %-16s %-10.3f %-s`.
fn table() -> Table<'static, Lookup> {
    Table::new()
        .time(true)
        .left("PID", 7, "pid", |l: &Lookup| l.pid.into())
        .json("tid", |l| l.tid.into())
        .left("COMM", 16, "comm", |l| Cell::text(&l.comm))
        .left("LATms", 10, "lat_ms", |l| {
            Cell::float(l.lat_ns as f64 / 1e6, 3)
        })
        .last("HOST", "host", |l| Cell::text(&l.host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn lookup(host: &str) -> Lookup {
        Lookup {
            pid: 4242,
            tid: 4243,
            comm: "curl".into(),
            lat_ns: 2_345_678,
            host: host.into(),
        }
    }

    #[test]
    fn row_matches_libbpf_tools() {
        let t = table();
        assert_eq!(
            t.header_line(),
            "TIME     PID     COMM             LATms      HOST"
        );
        let row = t.table_line(&lookup("example.com"));
        assert_eq!(
            &row[8..],
            " 4242    curl             2.346      example.com"
        );
        // A name with an escape sequence cannot reach the terminal.
        assert!(t.table_line(&lookup("\x1b[2J")).ends_with(r"\x1b[2J"));
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        table().print(&out, &lookup("example.com"));
        let mut v = cap.json_lines().remove(0);
        assert_eq!(v["time"].as_str().map(str::len), Some(8));
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(
            v,
            serde_json::json!({"pid": 4242, "tid": 4243, "comm": "curl", "lat_ms": 2.345678, "host": "example.com"})
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("gethostlatency", &table().keys());
    }

    #[test]
    fn system_libc_has_the_lookups() {
        let libc = find_libc(None, None).unwrap();
        assert!(libc.to_string_lossy().contains("libc"), "{libc:?}");
        let err = find_libc(Some("/no/such/libc.so.6"), None).unwrap_err();
        assert!(format!("{err:#}").contains("no such file"), "{err:#}");
        let sh = uprobe::resolve("true", None).unwrap();
        let err = find_libc(Some(sh.to_str().unwrap()), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("no function getaddrinfo in {}", sh.display())
        );
    }
}
