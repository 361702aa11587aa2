//! gethostlatency against the real libc: each test looks up a name of its
//! own (`common::unique`), which exists only in a copy of /etc/hosts that
//! the looking-up child sees: the child runs in a private mount namespace
//! where the copy is bind-mounted over /etc/hosts. The real /etc/hosts is
//! never written, so nothing is left behind, whatever happens to the test
//! (panic, kill), and it works where /etc is read-only (the test guests).
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use common::{Tool, lifecycle_checks};
use serde_json::{Value, json};

const TOOL: &str = "gethostlatency";

/// Calls libc's gethostbyname(argv[1]) and fails unless it resolved.
const GETHOSTBYNAME: &str = "import ctypes,sys\n\
                             libc = ctypes.CDLL('libc.so.6')\n\
                             libc.gethostbyname.restype = ctypes.c_void_p\n\
                             sys.exit(0 if libc.gethostbyname(sys.argv[1].encode()) else 1)";

/// A unique host name and the hosts file that has it (removed on drop).
struct Name {
    name: String,
    hosts: PathBuf,
}

impl Name {
    fn new() -> Name {
        let name = format!("{}.bpfkit.test", common::unique("ghl"));
        let hosts = std::env::temp_dir().join(format!("{name}.hosts"));
        let mut text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        text.push_str(&format!("\n127.0.0.1 {name}\n"));
        std::fs::write(&hosts, text).unwrap();
        Name { name, hosts }
    }

    /// `argv` run in a private mount namespace that sees this name, as the
    /// spawned process itself (unshare and sh exec it: same pid).
    fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("unshare");
        cmd.args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind "$0" /etc/hosts && exec "$@""#,
        ])
        .arg(&self.hosts)
        .args(argv);
        cmd
    }

    /// Runs `argv` to its end; its pid.
    fn run(&self, argv: &[&str]) -> u32 {
        let mut child = self.command(argv).stdout(Stdio::null()).spawn().unwrap();
        let pid = child.id();
        let st = child.wait().unwrap();
        assert!(st.success(), "{argv:?}: {st}");
        pid
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.hosts);
    }
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn table_shows_pid_comm_latency_and_host() {
    let tool = Tool::start(TOOL, &[]);
    let n = Name::new();
    // getent ahosts: getaddrinfo(); getent hosts: gethostbyname2().
    for argv in [["getent", "ahosts"], ["getent", "hosts"]] {
        let pid = n.run(&[argv[0], argv[1], &n.name]).to_string();
        // TIME PID COMM LATms HOST
        let line = tool
            .wait_line(|l| {
                let c = columns(l);
                c.len() == 5 && c[1] == pid && c[4] == n.name
            })
            .unwrap_or_else(|| {
                panic!(
                    "no row of {pid}: {:?} {:?}",
                    tool.lines(),
                    tool.stderr_lines()
                )
            });
        let c = columns(&line);
        assert_eq!(c[0].len(), 8, "{line}");
        assert_eq!(c[2], "getent", "{line}");
        let ms: f64 = c[3].parse().unwrap();
        assert!(ms > 0.0, "{line}");
        assert_eq!(c[3].split('.').nth(1).map(str::len), Some(3), "{line}");
    }
    assert_eq!(
        tool.lines()[0],
        "TIME     PID     COMM             LATms      HOST"
    );
}

#[test]
fn every_function_in_json() {
    let tool = Tool::start(TOOL, &["--json"]);
    let n = Name::new();
    let runs = [
        // getaddrinfo, then gethostbyname2 (for AF_INET6, then AF_INET)
        (n.run(&["getent", "ahosts", &n.name]), "getent", 1),
        (n.run(&["getent", "hosts", &n.name]), "getent", 2),
        // gethostbyname (perl would call gethostbyname_r: threaded build)
        (
            n.run(&["python3", "-c", GETHOSTBYNAME, &n.name]),
            "python3",
            1,
        ),
    ];
    for (pid, comm, _) in &runs {
        let v = tool.expect_json("pid", &json!(pid));
        assert_eq!(v["comm"], *comm, "{v}");
        assert_eq!(v["host"], n.name, "{v}");
        assert_eq!(v["tid"], json!(pid), "{v}");
        assert!(v["lat_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{v}");
        assert_eq!(v["time"].as_str().map(str::len), Some(8), "{v}");
    }
    let fin = tool.stop();
    fin.assert_json_only();
    for (pid, _, rows) in runs {
        let n = fin
            .stdout
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["pid"] == json!(pid))
            .count();
        assert_eq!(n, rows, "pid {pid}: {:?}", fin.stdout);
    }
}

/// A python3 child (in the namespace that knows `name`) that looks the name
/// up with getaddrinfo() each time it reads a line.
struct Looker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Looker {
    fn start(n: &Name) -> Looker {
        let script = "import socket,sys\n\
                      print('ready', flush=True)\n\
                      for line in sys.stdin:\n    \
                      socket.getaddrinfo(sys.argv[1], None)\n    \
                      print('done', flush=True)";
        let mut child = n
            .command(&["python3", "-c", script, &n.name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        Looker {
            child,
            stdin,
            stdout,
        }
    }

    fn lookup(&mut self) {
        writeln!(self.stdin).unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "done\n");
    }
}

impl Drop for Looker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pid_filter_shows_only_that_process() {
    let n = Name::new();
    let mut looker = Looker::start(&n);
    let pid = looker.child.id();
    let tool = Tool::start(TOOL, &["--json", "-p", &pid.to_string()]);
    // A lookup of the same name by another process is not shown.
    let other = n.run(&["getent", "ahosts", &n.name]);
    looker.lookup();
    let v = tool.expect_json("pid", &json!(pid));
    assert_eq!(v["comm"], "python3", "{v}");
    assert_eq!(v["host"], n.name, "{v}");
    let fin = tool.stop();
    assert!(
        !fin.stdout
            .iter()
            .any(|l| l.contains(&format!("\"pid\":{other},"))),
        "{:?}",
        fin.stdout
    );
}

#[test]
fn libc_by_path_and_errors() {
    let libc = bpfkit::uprobe::resolve("libc", Some(std::process::id() as i32)).unwrap();
    let tool = Tool::start(TOOL, &["-l", libc.to_str().unwrap(), "--json"]);
    assert!(
        tool.stderr_lines()
            .iter()
            .any(|l| l == &format!("using {}", libc.display())),
        "{:?}",
        tool.stderr_lines()
    );
    let n = Name::new();
    let pid = n.run(&["getent", "ahosts", &n.name]);
    assert_eq!(tool.expect_json("pid", &json!(pid))["host"], n.name);
    drop(tool);
    let fin = common::run(TOOL, &["-l", "/no/such/libc.so.6"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "{fin:?}");
    assert!(fin.stderr[0].starts_with("gethostlatency: "), "{fin:?}");
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error(TOOL);
}

#[test]
fn bad_arguments_are_usage_errors() {
    for bad in [&["-p", "0"][..], &["-l"], &["-x"]] {
        let fin = common::run(TOOL, bad);
        assert_eq!(fin.status.code(), Some(2), "{bad:?}: {fin:?}");
    }
}

#[test]
fn lifecycle() {
    let n = Name::new();
    lifecycle_checks(TOOL, &[], || {
        n.run(&["getent", "ahosts", &n.name]);
    });
}
