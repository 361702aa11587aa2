//! opensnoop — trace the open family of syscalls (the tutorial's lesson 4).
//!
//! Same flags and columns as libbpf-tools opensnoop, plus `--json`; `-c`
//! prints the opener's calling functions under its row, as libbpf-tools.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::opensnoop::Args;
use bpfkit::event_stacks;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::opensnoop::OpensnoopSkelBuilder;
use bpfkit::skel::opensnoop::types::{open_event, open_event_full};
use bpfkit::stacks::Side;
use bpfkit::sym::Symbolizer;
use bpfkit::{bpf, events, fmt, progs};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("opensnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(OpensnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.targ_pid = args.target.tid.unwrap_or(0);
    rodata.targ_uid = args.uid.unwrap_or(u32::MAX);
    rodata.targ_failed = args.failed;
    rodata.targ_success = args.success;
    rodata.full_path = args.full_path;
    rodata.callers = args.callers;
    progs::load_syscall_programs(open.open_object_mut())?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let symbolizer = Symbolizer::new();
    events::stream_records(&skel, &args.common, args.duration, &table(&args), |bytes| {
        let mut open = match args.full_path {
            true => Open::from(&bpfkit::decode::<open_event_full>(bytes)?),
            false => Open::from(&bpfkit::decode::<open_event>(bytes)?),
        };
        if args.callers {
            let (verbose, pid) = (args.common.verbose, open.pid as u32);
            open.callers = event_stacks::user_buffer(&symbolizer, verbose, pid, &open.caller_addrs);
        }
        args.selects(&open.comm).then_some(open)
    })
}

/// One open as the kernel reported it.
struct Open {
    pid: i32,
    tid: i32,
    uid: u32,
    comm: String,
    ret: i32,
    flags: u64,
    path: String,
    /// With `-c`: the return addresses the kernel took, then their names.
    caller_addrs: Vec<u64>,
    callers: Side,
}

impl From<&open_event> for Open {
    fn from(e: &open_event) -> Self {
        Open {
            pid: e.pid as i32,
            tid: e.tid as i32,
            uid: e.uid,
            comm: fmt::c_chars(&e.comm),
            ret: e.ret,
            flags: e.flags,
            path: fmt::c_chars(&e.path),
            caller_addrs: e.callers.to_vec(),
            callers: Side::Absent,
        }
    }
}

/// With `-F`, the path is joined to the directory it started from.
impl From<&open_event_full> for Open {
    fn from(f: &open_event_full) -> Self {
        let mut open = Open::from(&f.e);
        open.path = fmt::join_dir_path(&f.dir, &open.path);
        open
    }
}

/// libbpf-tools' columns: FD is -1 and ERR the errno when the open failed.
/// With `-c`, the header's last column is `PATH/CALLER` and the callers'
/// names are listed under the row, lined up with the path.
fn table(args: &Args) -> Table<'static, Open> {
    let path = if args.callers { "PATH/CALLER" } else { "PATH" };
    let table = Table::new()
        .time(args.timestamp)
        .left("UID", 7, "uid", |o: &Open| o.uid.into())
        .shown_if(args.print_uid)
        .left("PID", 6, "pid", |o| o.pid.into())
        .json("tid", |o| o.tid.into())
        .left("COMM", 16, "comm", |o| Cell::text(&o.comm))
        .right("FD", 3, "fd", |o| o.ret.max(-1).into())
        .right("ERR", 3, "errno", |o| {
            (if o.ret < 0 { -o.ret } else { 0 }).into()
        })
        .left("FLAGS", 8, "flags", |o| Cell::Octal(o.flags))
        .shown_if(args.extended)
        .last(path, "path", |o| Cell::text(&o.path))
        .json("callers", |o| event_stacks::json(&o.callers))
        .only_if(args.callers);
    let indent = table.last_column_offset();
    table.lines_below(move |o| event_stacks::indented(&o.callers, indent, "[Missed User Stack]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn open(ret: i32, path: &str) -> Open {
        Open {
            pid: 181,
            tid: 182,
            uid: 1000,
            comm: "cat".into(),
            ret,
            flags: 0o100,
            path: path.into(),
            caller_addrs: Vec::new(),
            callers: Side::Absent,
        }
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let args = Args::try_parse_from(["opensnoop"]).unwrap();
        let t = table(&args);
        assert_eq!(t.header_line(), "PID    COMM              FD ERR PATH");
        assert_eq!(
            t.table_line(&open(3, "/etc/passwd")),
            "181    cat                3   0 /etc/passwd"
        );
        assert_eq!(
            t.table_line(&open(-2, "/x")),
            "181    cat               -1   2 /x"
        );
        let args = Args::try_parse_from(["opensnoop", "-U", "-e"]).unwrap();
        let t = table(&args);
        assert_eq!(
            t.header_line(),
            "UID     PID    COMM              FD ERR FLAGS    PATH"
        );
        assert_eq!(
            t.table_line(&open(3, "/etc/passwd")),
            "1000    181    cat                3   0 00000100 /etc/passwd"
        );
    }

    /// libbpf-tools -c: `PATH/CALLER`, each caller on a line of its own,
    /// starting under the path.
    #[test]
    fn callers_print_under_the_path() {
        for argv in [
            &["opensnoop", "-c"][..],
            &["opensnoop", "-c", "-T", "-U", "-e"],
        ] {
            let args = Args::try_parse_from(argv).unwrap();
            let t = table(&args);
            let header = t.header_line();
            assert!(header.ends_with(" PATH/CALLER"), "{header}");
            let (out, cap) = Output::captured(false);
            let mut o = open(3, "/etc/passwd");
            o.callers = Side::Frames(vec!["load_config".into(), "main".into()]);
            t.print(&out, &o);
            let text = cap.text();
            let lines: Vec<&str> = text.lines().collect();
            let at = header.find("PATH").unwrap();
            assert_eq!(lines[0].find("/etc/passwd"), Some(at), "{lines:?}");
            assert_eq!(
                lines[1..],
                [format!("{:at$}load_config", ""), format!("{:at$}main", "")]
            );
        }
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let args = Args::try_parse_from(["opensnoop", "-T", "-U", "-e", "-c"]).unwrap();
        bpfkit::row::assert_keys_in_schema("opensnoop", &table(&args).keys());
    }

    #[test]
    fn json_has_every_field() {
        let args = Args::try_parse_from(["opensnoop", "--json"]).unwrap();
        let (out, cap) = Output::captured(true);
        table(&args).print(&out, &open(-2, "/nope"));
        let v = &cap.json_lines()[0];
        assert_eq!(
            *v,
            serde_json::json!({"uid": 1000, "pid": 181, "tid": 182, "comm": "cat",
                "fd": -1, "errno": 2, "flags": 64, "path": "/nope"})
        );
        let args = Args::try_parse_from(["opensnoop", "--json", "-c"]).unwrap();
        let (out, cap) = Output::captured(true);
        let mut o = open(3, "/etc/passwd");
        o.callers = Side::Frames(vec!["load_config".into(), "main".into()]);
        table(&args).print(&out, &o);
        o.callers = Side::Missed;
        table(&args).print(&out, &o);
        let v = cap.json_lines();
        assert_eq!(v[0]["callers"], serde_json::json!(["load_config", "main"]));
        assert_eq!(v[1]["callers"], serde_json::Value::Null);
    }
}
