//! `kprobe-unlink` and `fentry-unlink` (lessons 2 and 3): one implementation,
//! two tools that differ only in the mechanisms they offer. `fentry-unlink`
//! tries fentry → kprobe → tracepoint; `kprobe-unlink` kprobe → tracepoint.

use std::mem::MaybeUninit;
use std::time::Duration;

use anyhow::Result;
use libbpf_rs::skel::OpenSkel;

use crate::cli::{self, CommonArgs};
use crate::probe::{self, Needs, ProbeArgs};
use crate::row::{Cell, Table};
use crate::skel::unlink::{UnlinkSkelBuilder, types::unlink_event};
use crate::{bpf, events, fmt};

/// The flags both tools have; each tool's own `Args` (src/args/) flattens
/// them under its name, help and EXAMPLES.
#[derive(clap::Args, Debug)]
pub struct UnlinkArgs {
    #[command(flatten)]
    pub target: cli::PidArg,

    /// Duration to trace, in seconds
    #[arg(short, long, value_parser = cli::parse_duration_secs)]
    pub duration: Option<Duration>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Which tool is running: the mechanisms it offers follow from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Kprobe,
    Fentry,
}

/// What the tool hooks (hooks.rs): fentry only for fentry-unlink.
pub fn needs(flavor: Flavor) -> Needs {
    crate::hooks::unlink(flavor == Flavor::Fentry)
}

pub fn run(flavor: Flavor, args: UnlinkArgs) -> Result<()> {
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(UnlinkSkelBuilder::default(), &mut object, &args.common)?;
    bpf::rodata(open.maps.rodata_data.as_deref_mut())?.targ_tgid = args.target.pid.unwrap_or(0);
    let mechanism = probe::apply(open.open_object_mut(), args.probe.mechanism, &needs(flavor))?;
    if mechanism == probe::Mechanism::Tracepoint
        && !probe::tracepoint_exists("syscalls", "sys_enter_unlink")?
    {
        open.progs.tp_enter_unlink.set_autoload(false);
        open.progs.tp_exit_unlink.set_autoload(false);
    }
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    events::stream(
        &skel,
        &args.common,
        args.duration,
        &table(),
        |e: &unlink_event| Some(Unlink::from(e)),
    )
}

/// One unlink and its result.
struct Unlink {
    pid: u32,
    tid: u32,
    comm: String,
    filename: String,
    /// 0, or -errno.
    ret: i64,
}

impl From<&unlink_event> for Unlink {
    fn from(e: &unlink_event) -> Self {
        Unlink {
            pid: e.pid,
            tid: e.tid,
            comm: fmt::c_chars(&e.comm),
            filename: fmt::c_chars(&e.filename),
            ret: e.ret.into(),
        }
    }
}

/// The lessons' columns: `%-7d %-16s %-40s %4d`.
fn table() -> Table<'static, Unlink> {
    Table::new()
        .left("PID", 7, "pid", |u: &Unlink| u.pid.into())
        .json("tid", |u| u.tid.into())
        .left("COMM", 16, "comm", |u| Cell::text(&u.comm))
        .left("FILENAME", 40, "filename", |u| Cell::text(&u.filename))
        .right("RET", 4, "ret", |u| u.ret.into())
        .errno_of_ret(true, |u| u.ret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Output;

    fn unlink(filename: &str, ret: i32) -> Unlink {
        let mut e = unlink_event {
            pid: 20553,
            tid: 20554,
            ret,
            ..Default::default()
        };
        fmt::to_c_chars("rm", &mut e.comm);
        fmt::to_c_chars(filename, &mut e.filename);
        Unlink::from(&e)
    }

    #[test]
    fn rows_keep_the_lessons_columns() {
        let t = table();
        assert_eq!(
            t.header_line(),
            format!(
                "{:<7} {:<16} {:<40} {:>4}",
                "PID", "COMM", "FILENAME", "RET"
            )
        );
        assert_eq!(
            t.table_line(&unlink("test1", -2)),
            format!("{:<7} {:<16} {:<40} {:>4}", 20553, "rm", "test1", -2)
        );
        // A file name holding a newline cannot forge a row.
        assert!(t.table_line(&unlink("a\nb", 0)).contains(r"a\nb"));
    }

    #[test]
    fn json_has_errno_and_error() {
        let (out, cap) = Output::captured(true);
        table().print(&out, &unlink("test1", 0));
        table().print(&out, &unlink("gone", -2));
        let v = cap.json_lines();
        assert_eq!(
            v[0],
            serde_json::json!({"pid": 20553, "tid": 20554, "comm": "rm", "filename": "test1",
                "ret": 0, "errno": 0, "error": null})
        );
        assert_eq!(
            (&v[1]["errno"], &v[1]["error"]),
            (&2.into(), &"ENOENT".into())
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        crate::row::assert_keys_in_schema("kprobe-unlink", &table().keys());
        crate::row::assert_keys_in_schema("fentry-unlink", &table().keys());
    }
}
