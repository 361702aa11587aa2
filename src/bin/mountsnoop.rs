//! mountsnoop — trace mount(2) and umount2(2) calls.
//!
//! Same flags and columns as libbpf-tools mountsnoop (`-p`, `-t`, `-d`'s
//! one line per value), plus `--json`. syscalls tracepoints: the entry saves
//! the arguments, the exit sends them with the result (src/bpf/mountsnoop.bpf.c);
//! the call's text is src/mounts.rs.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::mountsnoop::Args;
use bpfkit::mounts::{Mount, detail_lines};
use bpfkit::row::{Align, Cell, Table};
use bpfkit::skel::mountsnoop::MountsnoopSkelBuilder;
use bpfkit::{bpf, events};
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main("mountsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(MountsnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    events::stream(&skel, &args.common, None, &table(&args), |e| {
        Some(Mount::from(e))
    })
}

/// libbpf-tools' `%-16s %-7d %-7d %-11u %s` (COMM PID TID MNT_NS CALL),
/// after `TIME` with `-t`; with `-d` the lines of [`detail_lines`]. JSON
/// holds the same keys either way.
fn table(args: &Args) -> Table<'static, Mount> {
    let ts = args.timestamp;
    let t = Table::new().time_headed(ts, if args.detailed { "" } else { "TIME" });
    let t = if args.detailed {
        let first = |m: &Mount| Cell::text(format!("PID:    {}", m.pid));
        let t = if ts {
            t
        } else {
            t.table_only("", 0, Align::Left, first)
        };
        t.lines_below(move |m| detail_lines(m, ts))
            .json("comm", |m| Cell::text(&m.comm))
            .json("pid", |m| m.pid.into())
            .json("tid", |m| m.tid.into())
            .json("mnt_ns", |m| m.mnt_ns.into())
    } else {
        t.left("COMM", 16, "comm", |m| Cell::text(&m.comm))
            .left("PID", 7, "pid", |m| m.pid.into())
            .left("TID", 7, "tid", |m| m.tid.into())
            .left("MNT_NS", 11, "mnt_ns", |m| m.mnt_ns.into())
            .table_only("CALL", 0, Align::Left, |m| Cell::text(m.call.text(m.op)))
    };
    let opt = |s: &Option<String>| Cell::opt_text(s.clone(), "");
    t.json("call", |m| m.op.name().into())
        .json("source", move |m| opt(&m.call.source))
        .json("target", |m| Cell::text(&m.call.target))
        .json("fstype", move |m| opt(&m.call.fstype))
        .json("flags", |m| m.flags.into())
        .json("flag_names", |m| Cell::both("", m.flag_names.clone()))
        .json("data", move |m| opt(&m.call.data))
        .json("ret", |m| m.call.ret.into())
        .errno_of_ret(true, |m| m.call.ret.into())
        .json("lat_us", |m| (m.lat_ns / 1000).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;
    use bpfkit::fmt;
    use bpfkit::skel::mountsnoop::types::mount_event;

    fn umount() -> Mount {
        let mut e = mount_event {
            pid: 181,
            tid: 182,
            mnt_ns: 4026531832,
            op: 1,
            flags: 2,
            ret: -16,
            delta_ns: 12_345,
            ..Default::default()
        };
        fmt::to_c_chars("umount", &mut e.comm);
        fmt::to_c_chars("/mnt/a\nb", &mut e.dest);
        Mount::from(&e)
    }

    #[test]
    fn rows_like_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(
            t.header_line(),
            "COMM             PID     TID     MNT_NS      CALL"
        );
        assert_eq!(
            t.table_line(&umount()),
            r#"umount           181     182     4026531832  umount("/mnt/a\nb", MNT_DETACH) = -EBUSY"#
        );
        let t = table(&args(&["-d"]));
        assert_eq!(t.header_line(), "");
        assert_eq!(t.table_line(&umount()), "PID:    181");
        let lines = detail_lines(&umount(), false);
        assert_eq!(lines[0], "TID:    182");
        assert_eq!(lines[3], "RET:    -EBUSY");
        assert_eq!(lines[4], "LAT:    12us");
        assert_eq!(lines[8], r"TARGET: /mnt/a\nb");
        assert_eq!(lines.last().map(String::as_str), Some(""));
        assert_eq!(detail_lines(&umount(), true)[0], "    PID:    181");
    }

    #[test]
    fn json_is_the_same_with_and_without_d() {
        let json = |argv: &[&str]| {
            let (out, cap) = Output::captured(true);
            table(&args(argv)).print(&out, &umount());
            cap.json_lines().remove(0)
        };
        let v = json(&["--json"]);
        assert_eq!(v, json(&["--json", "-d"]));
        assert_eq!(v["target"], "/mnt/a\nb");
        assert_eq!(v["source"], serde_json::Value::Null);
        assert_eq!(v["flag_names"], serde_json::json!(["MNT_DETACH"]));
        assert_eq!(
            (v["errno"].as_i64(), v["error"].as_str()),
            (Some(16), Some("EBUSY"))
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        for argv in [&["-t"][..], &["-d", "-t"]] {
            bpfkit::row::assert_keys_in_schema("mountsnoop", &table(&args(argv)).keys());
        }
    }
}
