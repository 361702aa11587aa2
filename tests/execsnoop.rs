//! execsnoop against the real kernel: each test execs programs with unique
//! arguments itself and checks the row the tool printed for them.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::cgroup::{Cgroup, cgroup2_root};
use common::{Tool, lifecycle_checks, unique};
use serde_json::json;

/// Runs `prog args…` to completion and returns its pid.
fn exec(prog: &str, args: &[&str]) -> u32 {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("running {prog}: {e}"));
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn me() -> String {
    std::process::id().to_string()
}

/// A table row: `lead` extra columns (TIME, UID...), then
/// PCOMM PID PPID RET and the ARGS text (which may hold spaces).
#[derive(Debug)]
struct Row {
    lead: Vec<String>,
    comm: String,
    pid: String,
    ppid: String,
    ret: String,
    args: String,
}

fn row(line: &str, lead: usize) -> Row {
    let mut rest = line;
    let mut cols = Vec::new();
    for _ in 0..lead + 4 {
        let t = rest.trim_start();
        let end = t.find(' ').unwrap_or(t.len());
        cols.push(t[..end].to_string());
        rest = &t[end..];
    }
    // One space separates RET from ARGS.
    let args = rest.strip_prefix(' ').unwrap_or(rest).to_string();
    let mut it = cols.into_iter();
    let lead = it.by_ref().take(lead).collect();
    let mut next = || it.next().unwrap_or_default();
    Row {
        lead,
        comm: next(),
        pid: next(),
        ppid: next(),
        ret: next(),
        args,
    }
}

#[test]
fn table_shows_comm_pid_ppid_ret_and_full_args() {
    let tool = Tool::start("execsnoop", &[]);
    let token = unique("bpfkit-exec-");
    let pid = exec("/bin/true", &[&token, "with space"]);

    let r = row(&tool.expect_line(&token), 0);
    assert_eq!(r.comm, "true");
    assert_eq!(r.pid, pid.to_string(), "PID is the spawned child");
    assert_eq!(r.ppid, me(), "PPID is this test process");
    assert_eq!(r.ret, "0");
    assert_eq!(r.args, format!("/bin/true {token} with space"));
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0], "PCOMM            PID    PPID   RET ARGS",
        "header like libbpf-tools"
    );
}

#[test]
fn json_has_args_as_an_array() {
    let tool = Tool::start("execsnoop", &["--json"]);
    let token = unique("bpfkit-exec-");
    let pid = exec("/bin/true", &[&token, "with space", ""]);
    let v = tool.expect_json("args", &json!(["/bin/true", token, "with space", ""]));
    assert_eq!(v["pid"], json!(pid));
    assert_eq!(v["ppid"], json!(std::process::id()));
    assert_eq!(v["comm"], json!("true"));
    assert_eq!(v["ret"], json!(0));
    assert_eq!(v["uid"], json!(0));
    assert_eq!(v["args_truncated"], json!(false));
    tool.stop().assert_json_only();
}

#[test]
fn failed_exec_only_with_x() {
    let with_x = Tool::start("execsnoop", &["-x"]);
    let without = Tool::start("execsnoop", &[]);
    let missing = format!("/tmp/{}", unique("bpfkit-exec-missing-"));
    // The exec fails in the shell's own process (after fork), so PID is the
    // shell's; its PCOMM is still "sh" since the exec did not happen.
    let pid = exec("sh", &["-c", &format!("exec {missing} arg1")]);
    let marker = unique("bpfkit-exec-marker-");
    exec("/bin/true", &[&marker]);

    let failed = format!("{missing} arg1");
    let r = row(&with_x.expect_line(&format!("-2 {failed}")), 0);
    assert_eq!(r.comm, "sh");
    assert_eq!(r.pid, pid.to_string());
    assert_eq!(r.ppid, me());
    assert_eq!(r.ret, "-2", "ENOENT");
    assert_eq!(r.args, failed);
    // The shell's own (successful) exec is in both.
    let r = row(&without.expect_line(&format!("exec {failed}")), 0);
    assert_eq!((r.pid, r.ret), (pid.to_string(), "0".to_string()));
    without.expect_line(&marker);
    let fin = without.stop();
    assert!(
        !fin.stdout.iter().any(|l| row(l, 0).args == failed),
        "without -x a failed exec is hidden: {:?}",
        fin.stdout
    );
    assert!(with_x.stop().status.success());
}

#[test]
fn uid_filter_and_uid_column() {
    let tool = Tool::start("execsnoop", &["-u", "65534", "-U"]);
    let hidden = unique("bpfkit-exec-root-");
    let seen = unique("bpfkit-exec-nobody-");
    exec("/bin/true", &[&hidden]);
    // setpriv (root) drops to nobody, then execs /bin/true in the same process.
    let pid = exec(
        "setpriv",
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/bin/true",
            &seen,
        ],
    );
    let r = row(&tool.expect_line(&seen), 1);
    assert_eq!(r.lead, ["65534"]);
    assert_eq!(r.comm, "true");
    assert_eq!(r.pid, pid.to_string());
    assert_eq!(r.ppid, me());
    assert_eq!(r.args, format!("/bin/true {seen}"));
    let fin = tool.stop();
    assert!(
        fin.stdout[0].starts_with("UID    PCOMM"),
        "{:?}",
        fin.stdout[0]
    );
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&hidden)),
        "-u must hide root's exec"
    );
    assert!(
        fin.stdout
            .iter()
            .skip(1)
            .all(|l| row(l, 1).lead == ["65534"]),
        "only uid 65534: {:?}",
        fin.stdout
    );
}

#[test]
fn name_and_line_filters() {
    // The comm of an exec is the basename of the path it was given, so a
    // symlink to /bin/true gives a unique PCOMM (and cannot be ETXTBSY).
    let name = unique("bkt");
    let name = name[..name.len().min(15)].to_string();
    let link = format!("/tmp/{name}");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/bin/true", &link).unwrap();
    let by_name = Tool::start("execsnoop", &["-n", &name]);
    let line = unique("bpfkit-exec-line-");
    let by_line = Tool::start("execsnoop", &["-l", &line]);

    let other = unique("bpfkit-exec-other-");
    exec("/bin/true", &[&other]);
    let named_arg = unique("bpfkit-exec-named-");
    let named_pid = exec(&link, &[&named_arg]);
    // LINE inside an argument, not a whole argument.
    let line_pid = exec("/bin/true", &[&format!("x{line}y")]);

    let r = row(&by_name.expect_line(&named_arg), 0);
    assert_eq!(r.comm, name);
    assert_eq!(r.pid, named_pid.to_string());
    let r = row(&by_line.expect_line(&line), 0);
    assert_eq!(r.pid, line_pid.to_string());
    assert_eq!(r.args, format!("/bin/true x{line}y"));

    let fin = by_name.stop();
    assert!(
        fin.stdout.iter().skip(1).all(|l| row(l, 0).comm == name),
        "-n must hide other commands: {:?}",
        fin.stdout
    );
    let fin = by_line.stop();
    assert!(
        fin.stdout.iter().skip(1).all(|l| l.contains(&line)),
        "-l must hide other commands: {:?}",
        fin.stdout
    );
    assert!(!fin.stdout.iter().any(|l| l.contains(&other)));
    std::fs::remove_file(&link).unwrap();
}

/// A symlink to /bin/true with a unique name: exec'd through it, the comm
/// is that name (and the file cannot be ETXTBSY). Removed on drop.
struct UniqueTrue {
    name: String,
    path: String,
}

impl UniqueTrue {
    fn new(prefix: &str) -> UniqueTrue {
        let mut name = unique(prefix);
        name.truncate(15);
        let path = format!("/tmp/{name}");
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink("/bin/true", &path).unwrap();
        UniqueTrue { name, path }
    }
}

impl Drop for UniqueTrue {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn cgroup_filter_shows_only_execs_inside() {
    let cg = Cgroup::new("bpfkit-execsnoop-");
    let tool = Tool::start("execsnoop", &["-c", cg.arg()]);
    // A shell blocked on its stdin is moved into the cgroup, then execs.
    let inside = unique("bpfkit-exec-in-");
    let mut sh = Command::new("sh")
        .args(["-c", &format!("read x; exec /bin/true {inside}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    cg.add(sh.id());
    // Outside (like this test): a command of its own name, exec'd first.
    let outside = UniqueTrue::new("bkc");
    let outside_arg = unique("bpfkit-exec-out-");
    exec(&outside.path, &[&outside_arg]);
    sh.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    assert!(sh.wait().unwrap().success());

    let r = row(&tool.expect_line(&inside), 0);
    assert_eq!(r.comm, "true");
    assert_eq!(r.pid, sh.id().to_string());
    assert_eq!(r.ppid, me());
    assert_eq!(r.args, format!("/bin/true {inside}"));
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let rows: Vec<Row> = fin.stdout.iter().skip(1).map(|l| row(l, 0)).collect();
    assert!(
        !rows.iter().any(|r| r.comm == outside.name),
        "an exec outside the cgroup: {:?}",
        fin.stdout
    );
    assert!(
        rows.iter().all(|r| r.pid == sh.id().to_string()),
        "only the process in the cgroup: {:?}",
        fin.stdout
    );
    // Without -c it is there: the name and the exec are right.
    let all = Tool::start("execsnoop", &[]);
    let again = unique("bpfkit-exec-out-");
    exec(&outside.path, &[&again]);
    assert_eq!(row(&all.expect_line(&again), 0).comm, outside.name);
    assert!(all.stop().status.success());
}

#[test]
fn missing_cgroup_is_an_error() {
    let path = format!("{}/bpfkit-no-such-cgroup", cgroup2_root().display());
    let fin = common::run("execsnoop", &["-c", &path]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr, [format!("execsnoop: no such cgroup: {path}")]);
    assert!(fin.stdout.is_empty(), "{fin:?}");
}

#[test]
fn quote_wraps_and_escapes_args() {
    let tool = Tool::start("execsnoop", &["-q"]);
    let token = unique("bpfkit-exec-");
    exec("/bin/true", &[&token, "a b", "say \"hi\""]);
    let r = row(&tool.expect_line(&token), 0);
    assert_eq!(
        r.args,
        format!(r#""/bin/true" "{token}" "a b" "say \"hi\"""#)
    );
    assert!(tool.stop().status.success());
}

#[test]
fn control_bytes_in_args_are_escaped_quoted_or_not() {
    let plain = Tool::start("execsnoop", &[]);
    let quoted = Tool::start("execsnoop", &["-q"]);
    let token = unique("bpfkit-exec-ctl-");
    exec("/bin/true", &[&token, "a\x1b[31mred\nnext"]);
    let r = row(&plain.expect_line(&token), 0);
    assert_eq!(r.args, format!(r"/bin/true {token} a\x1b[31mred\nnext"));
    let r = row(&quoted.expect_line(&token), 0);
    assert_eq!(
        r.args,
        format!(r#""/bin/true" "{token}" "a\x1b[31mred\nnext""#)
    );
    for fin in [plain.stop(), quoted.stop()] {
        assert!(fin.status.success(), "{fin:?}");
        assert!(
            !fin.stdout.iter().any(|l| l.contains('\x1b') || l == "next"),
            "an argument forged a line or sent ESC: {:?}",
            fin.stdout
        );
    }
}

#[test]
fn execveat_is_traced_by_path_and_by_descriptor() {
    let tool = Tool::start("execsnoop", &[]);
    let at = unique("bpfkit-execveat-");
    let fd = unique("bpfkit-fexecve-");
    // execveat(dirfd of /bin, "true"), then fexecve (execveat with
    // AT_EMPTY_PATH): the path ARGS starts with is argv[0] there.
    let script = format!(
        "import ctypes, os\n\
         if os.fork() == 0:\n\
         \x20   libc = ctypes.CDLL(None, use_errno=True)\n\
         \x20   argv = (ctypes.c_char_p * 3)(b'ignored', b'{at}', None)\n\
         \x20   envp = (ctypes.c_char_p * 1)(None)\n\
         \x20   d = os.open('/bin', os.O_RDONLY | os.O_DIRECTORY)\n\
         \x20   libc.execveat(d, b'true', argv, envp, 0)\n\
         \x20   os._exit(1)\n\
         _, status = os.wait()\n\
         assert status == 0, status\n\
         os.execve(os.open('/bin/true', os.O_RDONLY), ['{fd}-argv0', 'x'], {{}})"
    );
    let pid = exec("python3", &["-c", &script]);
    let r = row(&tool.expect_line(&format!("true {at}")), 0);
    assert_eq!((r.comm.as_str(), r.ret.as_str()), ("true", "0"));
    assert_eq!(r.ppid, pid.to_string(), "the forked child of python3");
    let r = row(&tool.expect_line(&format!("{fd}-argv0 x")), 0);
    assert_eq!((r.pid, r.ret), (pid.to_string(), "0".to_string()));
    assert!(tool.stop().status.success());
}

#[test]
fn more_than_max_args_are_truncated() {
    let table = Tool::start("execsnoop", &[]);
    let json3 = Tool::start("execsnoop", &["--json", "--max-args", "3"]);
    let token = unique("bpfkit-exec-");
    let numbers: Vec<String> = (1..=25).map(|n| n.to_string()).collect();
    let mut argv: Vec<&str> = vec![&token];
    argv.extend(numbers.iter().map(String::as_str));
    exec("/bin/true", &argv);

    // 20 arguments by default: the path, the token and 1..=18.
    let r = row(&table.expect_line(&token), 0);
    assert_eq!(
        r.args,
        format!("/bin/true {token} {} ...", numbers[..18].join(" "))
    );
    let v = json3.expect_json("args", &json!(["/bin/true", token, "1"]));
    assert_eq!(v["args_truncated"], json!(true));

    // Exactly max-args arguments: nothing is cut.
    let exact = unique("bpfkit-exec-");
    exec("/bin/true", &[&exact, "1"]);
    let v = json3.expect_json("args", &json!(["/bin/true", exact, "1"]));
    assert_eq!(v["args_truncated"], json!(false));
    assert!(table.stop().status.success());
    assert!(json3.stop().status.success());
}

#[test]
fn exec_from_a_thread_reports_the_process() {
    // A non-leader thread execs: the kernel gives it the leader's id, so the
    // exit tracepoint runs under another thread id than the enter one.
    let tool = Tool::start("execsnoop", &[]);
    let token = unique("bpfkit-exec-thread-");
    let script = format!(
        "import os, threading\n\
         t = threading.Thread(target=lambda: os.execv('/bin/true', ['/bin/true', '{token}']))\n\
         t.start(); t.join()"
    );
    let pid = exec("python3", &["-c", &script]);
    let r = row(&tool.expect_line(&format!("/bin/true {token}")), 0);
    assert_eq!(r.comm, "true");
    assert_eq!(r.pid, pid.to_string());
    assert_eq!(r.ret, "0");
    assert!(tool.stop().status.success());
}

#[test]
fn time_columns() {
    let tool = Tool::start("execsnoop", &["-T", "-t"]);
    let token = unique("bpfkit-exec-");
    exec("/bin/true", &[&token]);
    let r = row(&tool.expect_line(&token), 2);
    assert_eq!(r.lead[0].len(), 8, "HH:MM:SS: {:?}", r.lead);
    assert_eq!(&r.lead[0][2..3], ":");
    let secs: f64 = r.lead[1].parse().unwrap();
    assert!((0.0..60.0).contains(&secs), "seconds since start: {secs}");
    assert_eq!(r.comm, "true");
    let fin = tool.stop();
    assert!(fin.stdout[0].starts_with("TIME     TIME(s)  PCOMM "));
}

#[test]
fn bad_max_args_is_a_usage_error() {
    let fin = common::run("execsnoop", &["--max-args", "61"]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
}

#[test]
fn lifecycle() {
    lifecycle_checks("execsnoop", &[], || {
        exec("/bin/true", &["bpfkit-exec-lifecycle"]);
    });
}

/// Lesson 7's point: the events reach user space through a perf buffer
/// (lesson 7, execsnoop: perf event array; lesson 8, exitsnoop: ring buffer).
#[test]
fn events_go_through_a_perf_buffer() {
    let tool = Tool::start("execsnoop", &[]);
    let types = common::map_types_of(tool.pid());
    assert!(
        types.contains(&common::BPF_MAP_TYPE_PERF_EVENT_ARRAY),
        "map types {types:?}"
    );
    assert!(
        !types.contains(&common::BPF_MAP_TYPE_RINGBUF),
        "map types {types:?}"
    );
    assert!(tool.stop().status.success());
}
