//! filelife — trace the lifespan of short-lived files: each file created
//! and then deleted while tracing, with its age at the unlink.
//!
//! Same flags and columns as libbpf-tools filelife (`-p`), plus `-d`,
//! `--json` and `--probe`: kprobes on vfs_create, vfs_open,
//! security_inode_create and vfs_unlink (as libbpf-tools). No tracepoint
//! can name the file an unlink removes: without kprobes it exits 1 saying so.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::filelife::Args;
use bpfkit::filelife::select_programs;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::filelife::FilelifeSkelBuilder;
use bpfkit::skel::filelife::types::filelife_event;
use bpfkit::{bpf, events, fmt};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("filelife", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(FilelifeSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    select_programs(open.open_object_mut(), args.probe.mechanism)?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    events::stream(
        &skel,
        &args.common,
        args.duration,
        &table(),
        |e: &filelife_event| Some(Life::from(e)),
    )
}

/// One file deleted after being created while tracing.
struct Life {
    pid: u32,
    comm: String,
    age_ns: u64,
    file: String,
}

impl From<&filelife_event> for Life {
    fn from(e: &filelife_event) -> Self {
        Life {
            pid: e.pid,
            comm: fmt::c_chars(&e.comm),
            age_ns: e.delta_ns,
            file: fmt::c_chars(&e.name),
        }
    }
}

/// libbpf-tools' columns: `%-8s %-6d %-16s %-7.2f %s` (TIME, PID, COMM,
/// AGE(s), FILE); JSON `age_s` unrounded.
fn table() -> Table<'static, Life> {
    Table::new()
        .time(true)
        .left("PID", 6, "pid", |l: &Life| l.pid.into())
        .left("COMM", 16, "comm", |l| Cell::text(&l.comm))
        .left("AGE(s)", 7, "age_s", |l| {
            Cell::both(
                format!("{:.2}", l.age_ns as f64 / 1e9),
                l.age_ns as f64 / 1e9,
            )
        })
        .last("FILE", "file", |l| Cell::text(&l.file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn life() -> Life {
        Life {
            pid: 1804,
            comm: "gzip".into(),
            age_ns: 2_345_678_901,
            file: "f\n.tmp".into(),
        }
    }

    #[test]
    fn rows_like_libbpf_tools() {
        let t = table();
        assert_eq!(
            t.header_line(),
            format!(
                "{:<8} {:<6} {:<16} {:<7} {}",
                "TIME", "PID", "COMM", "AGE(s)", "FILE"
            )
        );
        // The time column is the wall clock: compare what follows it.
        assert_eq!(
            &t.table_line(&life())[9..],
            "1804   gzip             2.35    f\\n.tmp"
        );
    }

    #[test]
    fn json_has_the_age_in_seconds() {
        let (out, capture) = Output::captured(true);
        table().print(&out, &life());
        let v = &capture.json_lines()[0];
        assert_eq!(v["age_s"].as_f64(), Some(2.345678901));
        assert_eq!(
            (v["pid"].as_u64(), v["file"].as_str()),
            (Some(1804), Some("f\n.tmp"))
        );
        assert_eq!(v["comm"], "gzip");
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("filelife", &table().keys());
    }
}
