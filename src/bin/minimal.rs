//! minimal — lesson 1: every write(2) on the system, or of one process.
//!
//! The tutorial's `sys_enter_write` tracepoint with its `pid_filter`, sending
//! the fields through a ring buffer instead of `bpf_printk`.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::minimal::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::minimal::{MinimalSkelBuilder, types::minimal_event};
use bpfkit::{bpf, events, fmt};
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main("minimal", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(MinimalSkelBuilder::default(), &mut object, &args.run.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.pid_filter = args.target.pid.unwrap_or(0);
    rodata.self_pid = std::process::id() as i32;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    events::stream(
        &skel,
        &args.run.common,
        args.run.duration,
        &table(),
        |e: &minimal_event| Some(Write::from(e)),
    )
}

/// One write(2) as it entered the kernel.
struct Write {
    pid: u32,
    tid: u32,
    comm: String,
    fd: i32,
    bytes: i64,
}

impl From<&minimal_event> for Write {
    fn from(e: &minimal_event) -> Self {
        Write {
            pid: e.pid,
            tid: e.tid,
            comm: fmt::c_chars(&e.comm),
            fd: e.fd,
            bytes: e.count,
        }
    }
}

fn table() -> Table<'static, Write> {
    Table::new()
        .left("PID", 7, "pid", |w: &Write| w.pid.into())
        .left("TID", 7, "tid", |w| w.tid.into())
        .left("COMM", 16, "comm", |w| Cell::text(&w.comm))
        .right("FD", 4, "fd", |w| w.fd.into())
        .right("BYTES", 8, "bytes", |w| w.bytes.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn write() -> Write {
        Write {
            pid: 181,
            tid: 182,
            comm: "cat".into(),
            fd: 1,
            bytes: 17,
        }
    }

    #[test]
    fn rows_keep_their_columns() {
        let t = table();
        assert_eq!(
            t.header_line(),
            "PID     TID     COMM               FD    BYTES"
        );
        assert_eq!(
            t.table_line(&write()),
            "181     182     cat                 1       17"
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("minimal", &table().keys());
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        table().print(&out, &write());
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({"pid": 181, "tid": 182, "comm": "cat", "fd": 1, "bytes": 17})
        );
    }
}
