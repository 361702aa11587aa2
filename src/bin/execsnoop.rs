//! execsnoop — lesson 7: trace exec() syscalls, with their arguments,
//! through a perf buffer.
//!
//! Same flags and columns as libbpf-tools execsnoop, plus `--json`. A record is variable-length: the fixed `exec_event` header,
//! then `args_size` bytes of NUL-terminated argument strings.
#![forbid(unsafe_code)]

use std::mem::{MaybeUninit, size_of};
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::execsnoop::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::execsnoop::{ExecsnoopSkelBuilder, types::exec_event};
use bpfkit::{bpf, cgroup, events, fmt, probe};
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main("execsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(ExecsnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.ignore_failed = !args.fails;
    rodata.targ_uid = args.uid.unwrap_or(u32::MAX);
    rodata.max_args = args.max_args;
    rodata.filter_cg = cgroup.is_on();
    // execveat(2) (3.19+) is not traced on every kernel/architecture.
    let present = probe::tracepoint_exists("syscalls", "sys_enter_execveat")?;
    open.progs.enter_execveat.set_autoload(present);
    open.progs.exit_execveat.set_autoload(present);
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    // Like libbpf-tools: TIME(s) counts from just before the probes attach.
    let start = fmt::Elapsed::start();
    bpf::attach(&mut skel)?;
    let table = table(&args, start);
    events::stream_records(&skel, &args.common, None, &table, |bytes| {
        Exec::decode(bytes).filter(|e| args.selects(&e.comm, &e.args))
    })
}

/// One exec as the kernel reported it: the fixed header and its arguments.
#[derive(Debug)]
struct Exec {
    pid: u32,
    ppid: u32,
    uid: u32,
    ret: i32,
    comm: String,
    /// The exec'd path, then argv[1..].
    args: Vec<String>,
    /// argv had more arguments than `--max-args` (or they did not fit).
    truncated: bool,
}

impl Exec {
    /// Splits a perf-buffer record into its header and `args_count` strings
    /// from the `args_size` bytes after it. Perf pads records to 8 bytes, so
    /// anything past `args_size` is ignored; a record shorter than it claims
    /// yields the strings that are there.
    fn decode(bytes: &[u8]) -> Option<Exec> {
        let hdr: exec_event = bpfkit::decode(bytes)?;
        let rest = &bytes[size_of::<exec_event>()..];
        let used = &rest[..(hdr.args_size as usize).min(rest.len())];
        let args = fmt::c_strings(used, hdr.args_count as usize);
        Some(Exec {
            pid: hdr.pid,
            ppid: hdr.ppid,
            uid: hdr.uid,
            ret: hdr.retval,
            comm: fmt::c_chars(&hdr.comm),
            args,
            truncated: hdr.args_truncated != 0,
        })
    }
}

/// The ARGS column: arguments separated by spaces, `" ..."` when truncated.
/// With `quote`, each one is in double quotes with `"` and `\` escaped
/// (libbpf-tools escapes `"`). Control bytes (tab, newline, ESC...) are
/// escaped by the table in both forms, so an argument cannot forge a line.
fn args_text(args: &[String], truncated: bool, quote: bool) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| match quote {
            true => format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\"")),
            false => a.clone(),
        })
        .collect();
    let mut text = words.join(" ");
    if truncated {
        text.push_str(" ...");
    }
    text
}

/// libbpf-tools' columns; JSON keeps the arguments as an array.
fn table(args: &Args, start: fmt::Elapsed) -> Table<'static, Exec> {
    let quote = args.quote;
    Table::new()
        .time(args.time)
        .elapsed(args.timestamp, start, "TIME(s)", 8)
        .left("UID", 6, "uid", |e: &Exec| e.uid.into())
        .shown_if(args.print_uid)
        .left("PCOMM", 16, "comm", |e| Cell::text(&e.comm))
        .left("PID", 6, "pid", |e| e.pid.into())
        .left("PPID", 6, "ppid", |e| e.ppid.into())
        .right("RET", 3, "ret", |e| e.ret.into())
        .last("ARGS", "args", move |e| {
            Cell::both(args_text(&e.args, e.truncated, quote), e.args.clone())
        })
        .json("args_truncated", |e| e.truncated.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A record as the kernel sends it: header, args bytes, perf padding.
    fn record(count: u32, size: u32, truncated: u32, comm: &str, args: &[u8]) -> Vec<u8> {
        let mut hdr = exec_event {
            pid: 42,
            ppid: 7,
            uid: 1000,
            retval: -2,
            args_count: count,
            args_size: size,
            args_truncated: truncated,
            ..Default::default()
        };
        fmt::to_c_chars(comm, &mut hdr.comm);
        let mut bytes = bpfkit::encode(&hdr);
        bytes.extend_from_slice(args);
        bytes.extend_from_slice(b"\xffjunk");
        bytes
    }

    fn exec(args: &[&str]) -> Exec {
        Exec {
            pid: 42,
            ppid: 7,
            uid: 1000,
            ret: 0,
            comm: "true".into(),
            args: strings(args),
            truncated: false,
        }
    }

    fn line(flags: &[&str], e: &Exec) -> String {
        let args = Args::try_parse_from([&["execsnoop"], flags].concat()).unwrap();
        table(&args, fmt::Elapsed::start()).table_line(e)
    }

    #[test]
    fn header_is_the_c_layout() {
        // 7 x u32 + comm[16]; the args start right after (checked in C too).
        assert_eq!(size_of::<exec_event>(), 44);
    }

    #[test]
    fn decodes_header_and_args() {
        let args = b"/bin/true\0a b\0\0x\0";
        let e = Exec::decode(&record(4, args.len() as u32, 0, "true", args)).unwrap();
        assert_eq!((e.pid, e.ppid, e.uid, e.ret), (42, 7, 1000, -2));
        assert_eq!(e.comm, "true");
        assert_eq!(e.args, strings(&["/bin/true", "a b", "", "x"]));
        assert!(!e.truncated);
    }

    #[test]
    fn decode_ignores_padding_and_tolerates_short_records() {
        // args_size covers only the first string: padding after it is not an arg.
        let e = Exec::decode(&record(1, 4, 1, "sh", b"/sh\0")).unwrap();
        assert_eq!(e.args, strings(&["/sh"]));
        assert!(e.truncated);
        // A record claiming more than it carries: keep what is there.
        let mut r = record(3, 100, 0, "sh", b"a\0bc\0");
        r.truncate(size_of::<exec_event>() + 4);
        assert_eq!(Exec::decode(&r).unwrap().args, strings(&["a", "bc"]));
        // Shorter than the header: no event.
        assert!(Exec::decode(&r[..10]).is_none());
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let args = Args::try_parse_from(["execsnoop"]).unwrap();
        let t = table(&args, fmt::Elapsed::start());
        assert_eq!(t.header_line(), "PCOMM            PID    PPID   RET ARGS");
        let mut e = exec(&["/bin/true", "a b", "c"]);
        assert_eq!(
            t.table_line(&e),
            "true             42     7        0 /bin/true a b c"
        );
        e.truncated = true;
        e.ret = -2;
        assert_eq!(
            line(&["-U"], &e),
            "1000   true             42     7       -2 /bin/true a b c ..."
        );
        let args = Args::try_parse_from(["execsnoop", "-T", "-t", "-U"]).unwrap();
        assert_eq!(
            table(&args, fmt::Elapsed::start()).header_line(),
            "TIME     TIME(s)  UID    PCOMM            PID    PPID   RET ARGS"
        );
        assert!(line(&["-t"], &e).starts_with("0.000    true "));
        assert_eq!(line(&[], &exec(&[])), "true             42     7        0 ");
    }

    #[test]
    fn quoting_escapes_like_libbpf_tools() {
        let e = exec(&["/bin/echo", "a b", "say \"hi\"", "t\tn\n", "c:\\d"]);
        assert!(
            line(&["-q"], &e).ends_with(r#" "/bin/echo" "a b" "say \"hi\"" "t\tn\n" "c:\\d""#),
            "{}",
            line(&["-q"], &e)
        );
        let mut e = exec(&["/bin/echo"]);
        e.truncated = true;
        assert!(line(&["-q"], &e).ends_with(r#" "/bin/echo" ..."#));
    }

    #[test]
    fn control_bytes_in_args_are_escaped_quoted_or_not() {
        let e = exec(&["/bin/true", "a\x1b[31mred\nnext\r\x07\x7f"]);
        let plain = line(&[], &e);
        let quoted = line(&["-q"], &e);
        for l in [&plain, &quoted] {
            assert!(!l.chars().any(char::is_control), "{l:?}");
        }
        assert!(plain.ends_with(r"/bin/true a\x1b[31mred\nnext\r\x07\x7f"));
        assert!(quoted.ends_with(r#""/bin/true" "a\x1b[31mred\nnext\r\x07\x7f""#));
    }

    #[test]
    fn json_keeps_args_as_an_array() {
        let args = Args::try_parse_from(["execsnoop", "--json", "-q"]).unwrap();
        let (out, cap) = Output::captured(true);
        let mut e = exec(&["/bin/true", "a\x1bb"]);
        e.truncated = true;
        table(&args, fmt::Elapsed::start()).print(&out, &e);
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({"uid": 1000, "comm": "true", "pid": 42, "ppid": 7, "ret": 0,
                "args": ["/bin/true", "a\x1bb"], "args_truncated": true})
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let args = Args::try_parse_from(["execsnoop", "-T", "-t", "-U"]).unwrap();
        let keys = table(&args, fmt::Elapsed::start()).keys();
        bpfkit::row::assert_keys_in_schema("execsnoop", &keys);
    }
}
