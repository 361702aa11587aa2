//! sigsnoop against the real kernel: each test signals children of its own
//! and matches rows by the child's pid (TPID), so other activity on the
//! machine never matches.
mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Tool, lifecycle_checks};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

/// The two ways sigsnoop traces: signal_generate, and the kill syscalls.
const MODES: [&[&str]; 2] = [&[], &["-k"]];

/// A pid above pid_max (at most 2^22): kill(2) fails with ESRCH.
const NO_SUCH_PID: i32 = 1 << 23;

/// A child process that is killed and reaped when dropped.
struct Target(Child);

impl Target {
    /// `sleep 30`: SIGUSR1 is delivered (and ends it).
    fn sleeper() -> Target {
        Target(Command::new("sleep").arg("30").spawn().unwrap()).once_sleeping()
    }

    /// `sleep 30` that ignores SIGUSR1: signal_generate reports IGNORED (1).
    fn ignoring_usr1() -> Target {
        // The trap is set once the shell has become `sleep`.
        Target(
            Command::new("sh")
                .args(["-c", "trap '' USR1; exec sleep 30"])
                .spawn()
                .unwrap(),
        )
        .once_sleeping()
    }

    /// Waits until the child has exec'd `sleep`: spawn() may return while
    /// the child is still a copy of the test (its comm, its dispositions).
    fn once_sleeping(self) -> Target {
        let deadline = Instant::now() + common::event_timeout();
        let comm = || std::fs::read_to_string(format!("/proc/{}/comm", self.pid())).ok();
        while comm().as_deref() != Some("sleep\n") {
            assert!(Instant::now() < deadline, "child never exec'd sleep");
            std::thread::sleep(Duration::from_millis(5));
        }
        self
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    fn pid_str(&self) -> String {
        self.pid().to_string()
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid()), sig).unwrap();
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn me() -> String {
    std::process::id().to_string()
}

/// The first row (TIME PID COMM SIG TPID RESULT) whose TPID is `tpid`.
fn expect_row(tool: &Tool, tpid: &str) -> Vec<String> {
    match tool.wait_line(|l| columns(l).get(4).map(String::as_str) == Some(tpid)) {
        Some(l) => columns(&l),
        None => panic!("no row with TPID {tpid}; stdout: {:?}", tool.lines()),
    }
}

fn rows_with_tpid(lines: &[String], tpid: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| columns(l).get(4).map(String::as_str) == Some(tpid))
        .cloned()
        .collect()
}

#[test]
fn table_shows_sender_signal_target_and_result() {
    for mode in MODES {
        let tool = Tool::start("sigsnoop", mode);
        let target = Target::sleeper();
        target.signal(Signal::SIGUSR1);
        let c = expect_row(&tool, &target.pid_str());
        assert_eq!(c[0].len(), 8, "HH:MM:SS: {c:?}");
        assert_eq!(c[1], me(), "sender is the test: {c:?}");
        assert_eq!(c[3], "10", "SIGUSR1 as a number: {c:?}");
        assert_eq!(c[5], "0", "delivered / kill returned 0: {c:?}");
        let fin = tool.stop();
        assert!(fin.status.success(), "{mode:?}: {fin:?}");
        assert_eq!(
            fin.stdout[0], "TIME     PID     COMM             SIG       TPID    RESULT",
            "header like /usr/sbin/sigsnoop"
        );
    }
}

#[test]
fn names_with_n() {
    for mode in MODES {
        let args: Vec<&str> = mode.iter().copied().chain(["-n"]).collect();
        let tool = Tool::start("sigsnoop", &args);
        let target = Target::sleeper();
        target.signal(Signal::SIGUSR1);
        let c = expect_row(&tool, &target.pid_str());
        assert_eq!(
            (c[1].as_str(), c[3].as_str(), c[5].as_str()),
            (me().as_str(), "SIGUSR1", "0")
        );
        assert!(tool.stop().status.success());
    }
}

#[test]
fn long_names_with_n_keep_the_columns_aligned() {
    let tool = Tool::start("sigsnoop", &["-n"]);
    let target = Target::sleeper();
    let rt16 = libc::SIGRTMIN() + 16;
    // SAFETY: a plain syscall on our own child, no memory involved.
    assert_eq!(unsafe { libc::kill(target.pid(), rt16) }, 0);
    let tpid = target.pid_str();
    let line = tool
        .wait_line(|l| columns(l).get(4) == Some(&tpid))
        .unwrap_or_else(|| panic!("no row with TPID {tpid}: {:?}", tool.lines()));
    let fin = tool.stop();
    let header = &fin.stdout[0];
    assert_eq!(
        header,
        "TIME     PID     COMM             SIG          TPID    RESULT"
    );
    // Every column starts where its header does.
    let sig = header.find("SIG").unwrap();
    assert_eq!(&line[sig..sig + 13], "SIGRTMIN+16  ", "{line:?}");
    assert_eq!(line.find(&tpid), header.find("TPID"), "{line:?}");
}

#[test]
fn json_fields() {
    for (mode, source) in MODES.into_iter().zip(["signal_generate", "kill"]) {
        let args: Vec<&str> = mode.iter().copied().chain(["--json"]).collect();
        let tool = Tool::start("sigsnoop", &args);
        let target = Target::sleeper();
        target.signal(Signal::SIGUSR1);
        let v = tool.expect_json("tpid", &json!(target.pid()));
        assert_eq!(v["pid"], json!(std::process::id()), "{v}");
        assert_eq!(v["signal"], json!(10), "{v}");
        assert_eq!(v["signal_name"], json!("SIGUSR1"), "{v}");
        assert_eq!(v["ret"], json!(0), "{v}");
        assert_eq!(v["source"], json!(source), "{v}");
        assert!(v["comm"].is_string() && v["time"].is_string(), "{v}");
        if mode.is_empty() {
            assert_eq!(v["delivery"], json!("delivered"), "{v}");
            assert_eq!(v["tcomm"], json!("sleep"), "{v}");
        } else {
            assert_eq!((&v["errno"], &v["error"]), (&json!(0), &json!(null)), "{v}");
        }
        tool.stop().assert_json_only();
    }
}

#[test]
fn signal_filter() {
    for mode in MODES {
        for spelling in ["10", "SIGUSR1", "usr1"] {
            let args: Vec<&str> = mode.iter().copied().chain(["-s", spelling]).collect();
            let tool = Tool::start("sigsnoop", &args);
            let usr2 = Target::sleeper();
            let usr1 = Target::sleeper();
            usr2.signal(Signal::SIGUSR2);
            usr1.signal(Signal::SIGUSR1);
            // Events come in order: once SIGUSR1 is shown, SIGUSR2 would have been.
            assert_eq!(expect_row(&tool, &usr1.pid_str())[3], "10");
            let fin = tool.stop();
            assert!(
                rows_with_tpid(&fin.stdout, &usr2.pid_str()).is_empty(),
                "-s {spelling} {mode:?} must hide SIGUSR2: {:?}",
                fin.stdout
            );
            assert!(
                fin.stdout.iter().skip(1).all(|l| columns(l)[3] == "10"),
                "only signal 10: {:?}",
                fin.stdout
            );
        }
    }
}

#[test]
fn failed_only_kill_mode_shows_esrch() {
    let tool = Tool::start("sigsnoop", &["-k", "-x"]);
    let ok = Target::sleeper();
    ok.signal(Signal::SIGUSR1);
    let err = kill(Pid::from_raw(NO_SUCH_PID), Signal::SIGUSR1).unwrap_err();
    assert_eq!(err, nix::errno::Errno::ESRCH);
    let c = expect_row(&tool, &NO_SUCH_PID.to_string());
    assert_eq!(
        (c[1].as_str(), c[3].as_str(), c[5].as_str()),
        (me().as_str(), "10", "-3")
    );
    let fin = tool.stop();
    assert!(
        rows_with_tpid(&fin.stdout, &ok.pid_str()).is_empty(),
        "-x must hide successful kills: {:?}",
        fin.stdout
    );
    assert!(fin.stdout.iter().skip(1).all(|l| columns(l)[5] != "0"));
}

#[test]
fn failed_only_default_mode_shows_ignored_signal() {
    let tool = Tool::start("sigsnoop", &["-x"]);
    let delivered = Target::sleeper();
    let ignoring = Target::ignoring_usr1();
    delivered.signal(Signal::SIGUSR1);
    ignoring.signal(Signal::SIGUSR1);
    // TRACE_SIGNAL_IGNORED = 1
    let c = expect_row(&tool, &ignoring.pid_str());
    assert_eq!(
        (c[1].as_str(), c[3].as_str(), c[5].as_str()),
        (me().as_str(), "10", "1")
    );
    let fin = tool.stop();
    assert!(
        rows_with_tpid(&fin.stdout, &delivered.pid_str()).is_empty(),
        "-x must hide delivered signals: {:?}",
        fin.stdout
    );
    assert!(fin.stdout.iter().skip(1).all(|l| columns(l)[5] != "0"));
}

#[test]
fn ignored_signal_is_result_1_without_x() {
    let tool = Tool::start("sigsnoop", &["--json"]);
    let ignoring = Target::ignoring_usr1();
    ignoring.signal(Signal::SIGUSR1);
    let v = tool.expect_json("tpid", &json!(ignoring.pid()));
    assert_eq!(
        (v["ret"].clone(), v["delivery"].clone()),
        (json!(1), json!("ignored"))
    );
    assert!(tool.stop().status.success());
}

/// A shell that waits for a line on stdin, then sends SIGUSR1 to `target`
/// with its builtin kill (so the shell itself is the sender).
fn shell_sender(target: &Target) -> Child {
    Command::new("sh")
        .args(["-c", &format!("read x; kill -USR1 {}", target.pid())])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap()
}

fn go(sender: &mut Child) {
    sender.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(sender.wait().unwrap().success());
}

#[test]
fn pid_filter_shows_only_that_sender() {
    for mode in MODES {
        // -p the shell: its kill is shown, the test's is not.
        let from_test = Target::sleeper();
        let from_shell = Target::sleeper();
        let mut sender = shell_sender(&from_shell);
        let sender_pid = sender.id().to_string();
        let args: Vec<&str> = mode.iter().copied().chain(["-p", &sender_pid]).collect();
        let tool = Tool::start("sigsnoop", &args);
        from_test.signal(Signal::SIGUSR1);
        go(&mut sender);
        let c = expect_row(&tool, &from_shell.pid_str());
        assert_eq!(
            (c[1].as_str(), c[2].as_str(), c[3].as_str()),
            (sender_pid.as_str(), "sh", "10")
        );
        let fin = tool.stop();
        assert!(
            rows_with_tpid(&fin.stdout, &from_test.pid_str()).is_empty(),
            "-p {sender_pid} {mode:?} must hide the test's kill: {:?}",
            fin.stdout
        );
        assert!(
            fin.stdout
                .iter()
                .skip(1)
                .all(|l| columns(l)[1] == sender_pid)
        );

        // -p the test: the other way round.
        let from_test = Target::sleeper();
        let from_shell = Target::sleeper();
        let mut sender = shell_sender(&from_shell);
        let me = me();
        let args: Vec<&str> = mode.iter().copied().chain(["-p", &me]).collect();
        let tool = Tool::start("sigsnoop", &args);
        go(&mut sender);
        from_test.signal(Signal::SIGUSR1);
        assert_eq!(expect_row(&tool, &from_test.pid_str())[1], me);
        let fin = tool.stop();
        assert!(
            rows_with_tpid(&fin.stdout, &from_shell.pid_str()).is_empty(),
            "-p {me} {mode:?} must hide the shell's kill: {:?}",
            fin.stdout
        );
        assert!(fin.stdout.iter().skip(1).all(|l| columns(l)[1] == me));
    }
}

#[test]
fn tkill_and_tgkill_are_traced_in_kill_mode() {
    let tool = Tool::start("sigsnoop", &["-k", "--json"]);
    let sender = json!(nix::unistd::gettid().as_raw());
    // tkill(tid, SIGUSR1) to a child.
    let child = Target::sleeper();
    // SAFETY: a plain syscall on our own child, no memory involved.
    let r = unsafe {
        libc::syscall(
            libc::SYS_tkill,
            child.pid() as libc::c_long,
            libc::SIGUSR1 as libc::c_long,
        )
    };
    assert_eq!(r, 0);
    // tgkill(tgid, tid, 0) to a second thread of ours: TPID is the thread
    // (args[1]), not the process (args[0]); signal 0 only checks it exists.
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
        let _ = done_rx.recv();
    });
    let thread_tid = tid_rx.recv().unwrap();
    assert_ne!(thread_tid, std::process::id() as i32);
    // SAFETY: as above; the thread lives until `done_tx` is dropped.
    let r = unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            std::process::id() as libc::c_long,
            thread_tid as libc::c_long,
            0 as libc::c_long,
        )
    };
    assert_eq!(r, 0);
    drop(done_tx);
    thread.join().unwrap();

    for (tpid, source, sig) in [(child.pid(), "tkill", 10), (thread_tid, "tgkill", 0)] {
        let v = tool.expect_json("tpid", &json!(tpid));
        assert_eq!(v["source"], json!(source), "{v}");
        assert_eq!(v["pid"], json!(std::process::id()), "{v}");
        assert_eq!(v["tid"], sender, "sender thread: {v}");
        assert_eq!(
            (v["signal"].clone(), v["ret"].clone()),
            (json!(sig), json!(0)),
            "{v}"
        );
    }
    assert!(tool.stop().status.success());
}

#[test]
fn missing_pid_is_a_clear_error() {
    common::assert_missing_pid_error("sigsnoop");
}

#[test]
fn lifecycle() {
    lifecycle_checks("sigsnoop", &[], || {
        // The exiting child sends SIGCHLD to the test.
        let _ = Command::new("true").status();
    });
    lifecycle_checks("sigsnoop", &["-k"], || {
        let _ = kill(Pid::from_raw(std::process::id() as i32), None);
    });
}
