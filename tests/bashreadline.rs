//! bashreadline against the real kernel: each test runs an interactive bash
//! (or another readline user) on a pseudo-terminal and types a unique line.
mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Tool, lifecycle_checks, run, unique};
use serde_json::json;

/// A program running on the slave side of a new pseudo-terminal, as its
/// controlling terminal (so bash -i and readline see a real terminal).
struct Pty {
    child: std::process::Child,
    master: std::fs::File,
    output: mpsc::Receiver<Vec<u8>>,
}

impl Pty {
    fn spawn(argv: &[&str]) -> Pty {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two fds; the other arguments may be NULL.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both fds were just returned by openpty and are owned here.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env("TERM", "dumb")
            .env("HISTFILE", "/dev/null")
            .env("PS1", "$ ")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {argv:?}: {e}"));
        drop(cmd); // closes our copies of the slave side
        let master = std::fs::File::from(master);
        let mut reader = master.try_clone().unwrap();
        let (tx, output) = mpsc::channel();
        // Drain the terminal so the program never blocks writing to it.
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            child,
            master,
            output,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the program's first output (bash's prompt): it is reading.
    fn wait_output(&self) {
        self.output
            .recv_timeout(common::event_timeout())
            .expect("no output (prompt) from the program on the terminal");
    }

    /// Types `text` (a line needs its own "\n").
    fn type_text(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    /// Ends the program with `last` (e.g. "exit\n", or "\x04" for EOF), then
    /// kills it if it has not exited within 5 s (times the emulation
    /// slowdown, so an emulated program has time to return its last line).
    fn finish(mut self, last: &str) {
        let _ = self.master.write_all(last.as_bytes());
        let deadline = Instant::now() + Duration::from_secs(5) * common::slowdown();
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `bash --norc -i` on a terminal, types `line`, exits; returns bash's pid.
fn bash_types(line: &str) -> u32 {
    run_and_type(&[&bash(), "--norc", "--noprofile", "-i"], line, "exit\n")
}

fn run_and_type(argv: &[&str], line: &str, last: &str) -> u32 {
    let mut pty = Pty::spawn(argv);
    let pid = pty.pid();
    pty.wait_output();
    pty.type_text(&format!("{line}\n"));
    // Give readline time to return the line before the next input arrives.
    thread::sleep(Duration::from_millis(300));
    pty.finish(last);
    pid
}

fn bash() -> String {
    let p = Path::new("/bin/bash");
    assert!(p.exists(), "bash is needed for these tests");
    p.to_str().unwrap().to_string()
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn table_shows_bash_pid_and_command() {
    let tool = Tool::start("bashreadline", &[]);
    let line = format!("echo {}", unique("bpfkit-"));
    let pid = bash_types(&line);
    // TIME PID COMMAND
    let row = tool.expect_line(&line);
    let c = columns(&row);
    assert_eq!(c[0].len(), 8, "HH:MM:SS: {row}");
    assert_eq!(c[1], pid.to_string(), "{row}");
    assert_eq!(c[2..].join(" "), line);
    // The exact layout: %-9s %-7d %s (time, space, pid, space, line).
    assert_eq!(&row[10..], format!("{:<7} {line}", pid));
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(
        fin.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME", "PID", "COMMAND"]
    );
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.starts_with("using readline() in ")),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn json_fields() {
    let tool = Tool::start("bashreadline", &["--json"]);
    let line = format!("echo {} 'two  spaces'", unique("bpfkit-json-"));
    let pid = bash_types(&line);
    let v = tool.expect_json("command", &json!(line));
    assert_eq!(v["pid"], json!(pid));
    assert_eq!(v["comm"], json!("bash"));
    assert_eq!(v["uid"], json!(0));
    assert_eq!(v["time"].as_str().unwrap().len(), 8);
    let fin = tool.stop();
    fin.assert_json_only();
}

#[test]
fn explicit_path_with_s() {
    // The file the default run probes, named explicitly, and by PATH lookup.
    let bash = std::fs::canonicalize(bash()).unwrap();
    for target in [bash.to_str().unwrap(), "bash"] {
        let tool = Tool::start("bashreadline", &["-s", target]);
        let line = format!("echo {}", unique("bpfkit-s-"));
        let pid = bash_types(&line);
        let c = columns(&tool.expect_line(&line));
        assert_eq!(c[1], pid.to_string());
        assert!(tool.stop().status.success());
    }
}

#[test]
fn missing_or_wrong_s_path_is_a_clear_error() {
    let missing = format!("/tmp/{}/libreadline.so", unique("bpfkit-none-"));
    let fin = run("bashreadline", &["-s", &missing]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "one line: {:?}", fin.stderr);
    assert!(
        fin.stderr[0].contains(&missing) && fin.stderr[0].contains("no such file"),
        "{:?}",
        fin.stderr
    );
    // An ELF file without readline().
    let fin = run("bashreadline", &["-s", "/bin/true"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("no function readline in /bin/true")),
        "{:?}",
        fin.stderr
    );
    // Not an ELF file at all.
    let fin = run("bashreadline", &["-s", "/etc/passwd"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("not an ELF file")),
        "{:?}",
        fin.stderr
    );
}

/// A program that reads lines with the shared libreadline (built here; its
/// headers come with libreadline-dev, scripts/deps.sh test), and that library.
fn readline_user() -> (PathBuf, PathBuf) {
    let prog = common::compile_c_with(
        "readline-user",
        "#include <stdio.h>\n#include <stdlib.h>\n#include <readline/readline.h>\n\
         int main(void) { char *l; while ((l = readline(\"> \")) != NULL) free(l); return 0; }\n",
        "-O0",
        &["-lreadline"],
    );
    let lib = bpfkit::uprobe::linked_library(&prog, "libreadline")
        .unwrap()
        .expect("the test program links libreadline");
    (prog, lib)
}

#[test]
fn shared_library_reports_only_tasks_named_bash() {
    let (prog, lib) = readline_user();
    // The same program, once under its own name and once as "bash".
    let dir = std::env::temp_dir().join(unique("bpfkit-rl-"));
    std::fs::create_dir_all(&dir).unwrap();
    let fake = dir.join("bash");
    std::fs::copy(&prog, &fake).unwrap();

    let tool = Tool::start("bashreadline", &["-s", lib.to_str().unwrap()]);
    assert!(
        tool.stderr_lines()
            .iter()
            .any(|l| l.contains("(tasks named bash only)")),
        "{:?}",
        tool.stderr_lines()
    );
    let hidden = format!("{} + 1", 1000 + std::process::id());
    let shown = format!("{} + 2", 1000 + std::process::id());
    run_and_type(&[prog.to_str().unwrap()], &hidden, "\x04");
    let pid = run_and_type(&[fake.to_str().unwrap()], &shown, "\x04");
    let c = columns(&tool.expect_line(&shown));
    assert_eq!(c[1], pid.to_string());
    let fin = tool.stop();
    assert!(
        !fin.stdout.iter().any(|l| l.contains(&hidden)),
        "a task not named bash must be filtered out: {:?}",
        fin.stdout
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn long_lines_keep_255_bytes() {
    let tool = Tool::start("bashreadline", &["--json"]);
    let token = unique("bpfkit-long-");
    let line = format!("echo {token}{}", "x".repeat(300));
    let pid = bash_types(&line);
    let v = tool.expect_json("pid", &json!(pid));
    assert_eq!(v["command"], json!(line[..255]), "{v}");
    assert!(tool.stop().status.success());
}

#[test]
fn lifecycle() {
    lifecycle_checks("bashreadline", &[], || {
        bash_types(&format!("echo {}", unique("bpfkit-life-")));
    });
}
