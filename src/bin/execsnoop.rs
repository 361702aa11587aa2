//! execsnoop — lesson 7: trace exec() syscalls, with their arguments,
//! through a perf buffer.
//!
//! Same flags and columns as libbpf-tools execsnoop (without `-c CGROUP`),
//! plus `--json`. A record is variable-length: the fixed `exec_event` header,
//! then `args_size` bytes of NUL-terminated argument strings.

use std::mem::{MaybeUninit, size_of};
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::execsnoop::Args;
use bpfkit::events::EventLoop;
use bpfkit::skel::execsnoop::{ExecsnoopSkelBuilder, types::exec_event};
use bpfkit::{Output, bpf, fmt, probe};
use clap::Parser;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("execsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(ExecsnoopSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.ignore_failed = !args.fails;
    rodata.targ_uid = args.uid.unwrap_or(u32::MAX);
    rodata.max_args = args.max_args;
    // execveat(2) (3.19+) is not traced on every kernel/architecture.
    let present = probe::tracepoint_exists("syscalls", "sys_enter_execveat")?;
    open.progs.enter_execveat.set_autoload(present);
    open.progs.exit_execveat.set_autoload(present);
    let mut skel = bpf::load(open)?;
    // Like libbpf-tools: TIME(s) counts from just before the probes attach.
    let start = fmt::Elapsed::start();
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    print_header(&out, &args);
    EventLoop::perf(&skel.maps.events, &out, |bytes: &[u8]| {
        if let Some(exec) = Exec::decode(bytes) {
            print_event(&out, &args, &start, &exec);
        }
    })?
    .count_drops(&skel.maps.drops)
    .run()
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
        let args = used
            .split_inclusive(|&b| b == 0)
            .take(hdr.args_count as usize)
            .map(|s| String::from_utf8_lossy(s.strip_suffix(&[0]).unwrap_or(s)).into_owned())
            .collect();
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
/// With `quote`, each one is in double quotes with `"`, `\`, tab and newline
/// escaped (libbpf-tools escapes all but `\`). Without it, a newline is shown
/// as `\n` so an argument cannot forge an output line.
fn args_text(args: &[String], truncated: bool, quote: bool) -> String {
    let mut s = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        if quote {
            s.push('"');
            for c in arg.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\t' => s.push_str("\\t"),
                    '\n' => s.push_str("\\n"),
                    c => s.push(c),
                }
            }
            s.push('"');
        } else {
            s.push_str(&arg.replace('\n', "\\n"));
        }
    }
    if truncated {
        s.push_str(" ...");
    }
    s
}

/// `-n` (PCOMM contains NAME) and `-l` (the argument line contains LINE).
fn selected(args: &Args, exec: &Exec) -> bool {
    if let Some(name) = &args.name
        && !exec.comm.contains(name.as_str())
    {
        return false;
    }
    if let Some(line) = &args.line
        && !exec.args.join(" ").contains(line.as_str())
    {
        return false;
    }
    true
}

fn print_header(out: &Output, args: &Args) {
    let mut h = String::new();
    if args.time {
        h.push_str(&format!("{:<8} ", "TIME"));
    }
    if args.timestamp {
        h.push_str(&format!("{:<8} ", "TIME(s)"));
    }
    if args.print_uid {
        h.push_str(&format!("{:<6} ", "UID"));
    }
    h.push_str(&format!(
        "{:<16} {:<6} {:<6} {:>3} ARGS",
        "PCOMM", "PID", "PPID", "RET"
    ));
    out.header(format_args!("{h}"));
}

fn print_event(out: &Output, args: &Args, start: &fmt::Elapsed, exec: &Exec) {
    if !selected(args, exec) {
        return;
    }
    if out.is_json() {
        let mut v = json!({
            "pid": exec.pid, "ppid": exec.ppid, "uid": exec.uid, "comm": exec.comm,
            "ret": exec.ret, "args": exec.args, "args_truncated": exec.truncated,
        });
        if args.time {
            v["time"] = json!(fmt::hms_now());
        }
        if args.timestamp {
            v["timestamp"] = json!(start.secs());
        }
        out.json(&v);
        return;
    }
    let mut row = String::with_capacity(128);
    if args.time {
        row.push_str(&format!("{:<8} ", fmt::hms_now()));
    }
    if args.timestamp {
        row.push_str(&format!("{:<8.3} ", start.secs()));
    }
    if args.print_uid {
        row.push_str(&format!("{:<6} ", exec.uid));
    }
    row.push_str(&format!(
        "{:<16} {:<6} {:<6} {:>3} {}",
        exec.comm,
        exec.pid,
        exec.ppid,
        exec.ret,
        args_text(&exec.args, exec.truncated, args.quote)
    ));
    out.line(format_args!("{row}"));
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (d, s) in hdr.comm.iter_mut().zip(comm.bytes()) {
            *d = s as i8;
        }
        let mut bytes = unsafe { plain::as_bytes(&hdr) }.to_vec();
        bytes.extend_from_slice(args);
        bytes.extend_from_slice(b"\xffjunk");
        bytes
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
    fn args_are_joined_with_spaces() {
        let a = strings(&["/bin/true", "a b", "c"]);
        assert_eq!(args_text(&a, false, false), "/bin/true a b c");
        assert_eq!(args_text(&a, true, false), "/bin/true a b c ...");
        assert_eq!(args_text(&strings(&["x\ny"]), false, false), "x\\ny");
        assert_eq!(args_text(&[], false, false), "");
    }

    #[test]
    fn quoting_escapes_like_libbpf_tools() {
        let a = strings(&["/bin/echo", "a b", "say \"hi\"", "t\tn\n", "c:\\d"]);
        assert_eq!(
            args_text(&a, false, true),
            r#""/bin/echo" "a b" "say \"hi\"" "t\tn\n" "c:\\d""#
        );
        assert_eq!(args_text(&a[..1], true, true), r#""/bin/echo" ..."#);
    }

    #[test]
    fn name_and_line_filters() {
        let exec = Exec {
            pid: 1,
            ppid: 0,
            uid: 0,
            ret: 0,
            comm: "mytool".into(),
            args: strings(&["/usr/bin/mytool", "--flag", "value"]),
            truncated: false,
        };
        let parse = |v: &[&str]| Args::try_parse_from(v).unwrap();
        assert!(selected(&parse(&["execsnoop"]), &exec));
        assert!(selected(&parse(&["execsnoop", "-n", "tool"]), &exec));
        assert!(!selected(&parse(&["execsnoop", "-n", "bin"]), &exec));
        assert!(selected(&parse(&["execsnoop", "-l", "valu"]), &exec));
        assert!(selected(&parse(&["execsnoop", "-l", "flag value"]), &exec));
        assert!(!selected(&parse(&["execsnoop", "-l", "other"]), &exec));
        assert!(!selected(
            &parse(&["execsnoop", "-n", "tool", "-l", "other"]),
            &exec
        ));
    }

    #[test]
    fn flags_parse_like_libbpf_tools() {
        let a = Args::try_parse_from([
            "execsnoop",
            "-T",
            "-t",
            "-x",
            "-U",
            "-q",
            "-u",
            "1000",
            "-n",
            "sh",
            "-l",
            "tpkg",
            "--max-args",
            "5",
        ])
        .unwrap();
        assert!(a.time && a.timestamp && a.fails && a.print_uid && a.quote);
        assert_eq!(a.uid, Some(1000));
        assert_eq!(a.max_args, 5);
        assert_eq!(Args::try_parse_from(["execsnoop"]).unwrap().max_args, 20);
        assert!(Args::try_parse_from(["execsnoop", "--max-args", "0"]).is_err());
        assert!(Args::try_parse_from(["execsnoop", "--max-args", "61"]).is_err());
        assert!(Args::try_parse_from(["execsnoop", "-u", "-1"]).is_err());
    }
}
