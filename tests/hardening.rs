//! Library-level hardening checked across tools: huge durations, write
//! errors on stdout, signals while stdout is a full pipe, every terminating
//! signal, control characters in errors, runs without root or tracefs, and
//! events left unprinted at exit.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::thread;
use std::time::{Duration, Instant};

use common::{Tool, bin, shell, slowdown, unique};
use nix::sys::signal::Signal;

/// Opens of a path unique to the test, from one thread of this process,
/// until dropped: events for tools filtering on our pid (`-p`) or on the
/// thread (`-t`).
struct OpenStorm {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    go: std::sync::Arc<std::sync::Barrier>,
    thread: Option<thread::JoinHandle<u64>>,
    tid: i32,
}

impl OpenStorm {
    fn start(path: &str) -> OpenStorm {
        let storm = OpenStorm::paused(path);
        storm.go.wait();
        storm
    }

    /// The thread exists (so its tid can be a filter) but opens nothing
    /// until [`OpenStorm::go`].
    fn paused(path: &str) -> OpenStorm {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let go = std::sync::Arc::new(std::sync::Barrier::new(2));
        let (s, g) = (std::sync::Arc::clone(&stop), std::sync::Arc::clone(&go));
        let (tx, rx) = std::sync::mpsc::channel();
        let path = path.to_string();
        let thread = thread::spawn(move || {
            let _ = tx.send(nix::unistd::gettid().as_raw());
            g.wait();
            let mut n = 0u64;
            while !s.load(Ordering::Relaxed) {
                let _ = File::open(&path);
                n += 1;
            }
            n
        });
        OpenStorm {
            stop,
            go,
            thread: Some(thread),
            tid: rx.recv().unwrap(),
        }
    }

    fn go(&self) {
        self.go.wait();
    }

    /// Stops and returns how many opens were made.
    fn finish(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for OpenStorm {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn me() -> String {
    std::process::id().to_string()
}

fn assert_no_panic(what: &str, stderr: &[String]) {
    assert!(
        !stderr
            .iter()
            .any(|l| l.contains("panicked") || l.contains("overflow")),
        "{what} panicked: {stderr:?}"
    );
}

/// Whether process `pid` is blocked writing to a pipe. Before 5.16 an x86
/// kernel built with the ORC unwinder (Debian 11's 5.10) prints 0 as every
/// task's wchan; its kernel stack (root only) names the function too.
fn blocked_in_pipe_write(pid: u32) -> bool {
    ["wchan", "stack"].iter().any(|f| {
        std::fs::read_to_string(format!("/proc/{pid}/{f}")).is_ok_and(|w| w.contains("pipe_write"))
    })
}

/// Waits (up to 20 s, scaled) until `pid` blocks writing to its full stdout pipe.
fn wait_blocked(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20) * slowdown();
    while !blocked_in_pipe_write(pid) {
        assert!(
            Instant::now() < deadline,
            "the tool never blocked on its full stdout pipe"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn read_all(fd: OwnedFd) -> String {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let mut text = Vec::new();
    let _ = File::from(fd).read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

// ---- 1. huge durations and intervals ----

#[test]
fn huge_durations_and_intervals_do_not_panic() {
    const U64_MAX: &str = "18446744073709551615";
    const I64_MAX: &str = "9223372036854775807";
    let pair = common::netns::VethPair::new();
    // memleak's target: alive until killed below (in a 5.10 guest the
    // tools before memleak took over a minute to get there).
    let mut sleeper = std::process::Command::new("sleep")
        .arg("infinity")
        .spawn()
        .unwrap();
    let sleeper_pid = sleeper.id().to_string();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("minimal", vec!["-d", I64_MAX]),
        ("minimal", vec!["-d", U64_MAX]),
        ("opensnoop", vec!["-d", U64_MAX, "-p", "1"]),
        ("tcprtt", vec!["-i", U64_MAX]),
        ("tcprtt", vec!["-d", I64_MAX]),
        ("runqlat", vec![U64_MAX]),
        ("hardirqs", vec![I64_MAX]),
        ("softirqs", vec![U64_MAX]),
        ("memleak", vec!["-p", &sleeper_pid, U64_MAX]),
        ("xdpcount", vec!["-i", &pair.host, U64_MAX]),
        ("xdpcount", vec!["-i", &pair.host, "-d", U64_MAX, "1"]),
        ("profile", vec![U64_MAX]),
    ];
    for (name, args) in cases {
        let what = format!("{name} {}", args.join(" "));
        let tool = Tool::start(name, &args);
        // Past the first poll / sleep step.
        thread::sleep(Duration::from_millis(300));
        let fin = tool.stop();
        assert_no_panic(&what, &fin.stderr);
        assert!(fin.status.success(), "{what}: {fin:?}");
    }
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

// ---- 2. write errors on stdout ----

#[test]
fn json_to_a_reader_that_goes_away_exits_0() {
    let path = format!("/tmp/{}", unique("bpfkit-hard-epipe-"));
    let storm = OpenStorm::start(&path);
    let script = format!(
        "set -o pipefail; {} --json -p {} | (sleep 3; head -c 1000 >/dev/null)",
        bin("opensnoop").display(),
        me()
    );
    let (status, _out, err) = shell(&script);
    drop(storm);
    assert!(status.success(), "status {status:?}, stderr: {err}");
    assert!(!err.contains("failed"), "{err}");
    assert_no_panic("opensnoop --json | head", &[err]);
}

#[test]
fn a_full_disk_is_named_in_table_and_json_mode() {
    let path = format!("/tmp/{}", unique("bpfkit-hard-full-"));
    let storm = OpenStorm::start(&path);
    for json in ["", "--json"] {
        let script = format!(
            "{} {json} -p {} -d 20 >/dev/full",
            bin("opensnoop").display(),
            me()
        );
        let (status, _out, err) = shell(&script);
        assert_eq!(status.code(), Some(1), "{json}: {err}");
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("Tracing") && !l.starts_with("using"))
            .collect();
        assert_eq!(
            lines,
            ["opensnoop: writing output failed: no space left on device"],
            "{json}: {err}"
        );
    }
    drop(storm);
}

// ---- 3. a stop signal while stdout is a full pipe ----

/// `name args` writing to a pipe nobody reads, kept busy by `storm`, ends
/// within a second of `sig` with status 0 and its programs freed.
fn stops_on_a_full_pipe(name: &str, args: &[&str], sig: Signal) -> common::Finished {
    let (tool, reader) = Tool::start_unread(name, args);
    let ids = tool.prog_ids();
    assert!(!ids.is_empty(), "{name}: no programs");
    wait_blocked(tool.pid());
    // Before the fix the tool stayed blocked in write(2) until the reader
    // died: it must now end while the reader is still there. (How fast is
    // for the benchmarks; 10 s only bounds the wait.)
    let (fin, took) = tool.signal_within(sig, Duration::from_secs(10) * slowdown());
    assert!(
        fin.status.success(),
        "{name} after {sig}, {took:?}: {fin:?}"
    );
    assert_no_panic(name, &fin.stderr);
    common::netns::assert_programs_freed(&ids);
    drop(reader);
    fin
}

#[test]
fn sigint_ends_opensnoop_blocked_on_a_full_pipe() {
    let path = format!("/tmp/{}", unique("bpfkit-hard-block-"));
    let storm = OpenStorm::start(&path);
    let pid = me();
    stops_on_a_full_pipe("opensnoop", &["--json", "-p", &pid], Signal::SIGINT);
    drop(storm);
}

#[test]
fn sigterm_ends_execsnoop_blocked_on_a_full_pipe() {
    // execsnoop reads a perf buffer; execs from a loop fill the pipe.
    let name = unique("bpfkit-hard-exec-");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = std::sync::Arc::clone(&stop);
    // 19 long arguments make each row about 2.5 KB: the 5.10 guest manages
    // only about 1.5 execs a second, too few short rows to fill a pipe.
    let pad = vec!["x".repeat(120); 19];
    let execs = thread::spawn(move || {
        while !s.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = std::process::Command::new("true")
                .arg(&name)
                .args(&pad)
                .status();
        }
    });
    stops_on_a_full_pipe("execsnoop", &["--json"], Signal::SIGTERM);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    execs.join().unwrap();
}

// ---- 9. events left unprinted at exit are counted ----

#[test]
fn events_left_in_the_buffer_at_exit_are_counted() {
    // The tool blocks on its full stdout while the storm fills its ring
    // buffer; at SIGINT every open is accounted for: printed, dropped from
    // the output, left unprinted in the buffer, or lost.
    let path = format!("/tmp/{}", unique("bpfkit-hard-left-"));
    let storm = OpenStorm::paused(&path);
    let tid = storm.tid.to_string();
    let (tool, reader) = Tool::start_unread("opensnoop", &["--json", "-t", &tid]);
    storm.go();
    wait_blocked(tool.pid());
    // Let the ring buffer take more while the tool is stuck, then stop
    // opening, so every open happened while the tool was attached.
    thread::sleep(Duration::from_millis(300));
    let opens = storm.finish();
    let (fin, _) = tool.signal_within(Signal::SIGINT, Duration::from_secs(10) * slowdown());
    assert!(fin.status.success(), "{fin:?}");
    let number = |suffix: &str| -> Option<u64> {
        fin.stderr.iter().find_map(|l| {
            l.strip_suffix(suffix)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    };
    let left = number(" events left unprinted at exit (printing could not keep up)")
        .unwrap_or_else(|| panic!("no count of events left unprinted: {:?}", fin.stderr));
    assert!(left > 0, "{:?}", fin.stderr);
    let dropped = number(" rows dropped at exit (stdout was not being read)")
        .unwrap_or_else(|| panic!("no count of rows dropped: {:?}", fin.stderr));
    let lost = number(" events lost").unwrap_or(0);
    let printed = read_all(reader)
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok() && l.contains(&path))
        .count() as u64;
    assert!(printed > 0, "nothing reached the pipe");
    assert_eq!(
        printed + dropped + left + lost,
        opens,
        "printed {printed} + dropped {dropped} + left {left} + lost {lost} != opens {opens}; {:?}",
        fin.stderr
    );
}

// ---- 4. every terminating signal ----

#[test]
fn sigquit_and_sighup_end_tools_cleanly() {
    for (name, args) in [("opensnoop", vec!["-p", "1"]), ("runqlat", vec![])] {
        for sig in [Signal::SIGQUIT, Signal::SIGHUP] {
            let tool = Tool::start(name, &args);
            let ids = tool.prog_ids();
            assert!(!ids.is_empty(), "{name}: no programs");
            let fin = tool.signal(sig);
            assert!(fin.status.success(), "{name} after {sig}: {fin:?}");
            assert_no_panic(name, &fin.stderr);
            common::netns::assert_programs_freed(&ids);
        }
    }
}

#[test]
fn nohup_keeps_hangups_ignored() {
    // A tool started with SIGHUP ignored (`nohup`) keeps running on SIGHUP
    // and still stops on SIGINT.
    let script = format!("trap '' HUP; exec {} -p 1 2>&1", bin("opensnoop").display());
    let mut child = std::process::Command::new("bash")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains(common::READY) {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "no banner: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
    thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP ended a nohup'd tool"
    );
    nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

// ---- 5. control characters in errors ----

#[test]
fn control_characters_in_errors_stay_on_one_line() {
    for (name, args, shown) in [
        ("tcsnoop", vec!["-i", "lo\nx"], "lo\\nx"),
        ("runqlat", vec!["-c", "/x\ny"], "/x\\ny"),
        ("bashreadline", vec!["-s", "/x\ny"], "/x\\ny"),
        (
            "bashreadline",
            vec!["-s", "/x\x1b[31my\t"],
            "/x\\x1b[31my\\t",
        ),
    ] {
        let fin = common::run(name, &args);
        assert_eq!(fin.status.code(), Some(1), "{name}: {fin:?}");
        let errors: Vec<&String> = fin
            .stderr
            .iter()
            .filter(|l| l.starts_with(&format!("{name}:")))
            .collect();
        assert_eq!(errors.len(), 1, "{name}: {:?}", fin.stderr);
        assert!(errors[0].contains(shown), "{name}: {:?}", fin.stderr);
        assert_eq!(fin.stderr.len(), 1, "{name}: one line: {:?}", fin.stderr);
    }
}

// ---- 6. not root ----

/// Runs `tool args` as nobody with CAP_BPF and CAP_PERFMON (+ `extra`), in
/// a mount namespace where /sys/kernel/tracing is a directory only root may
/// enter (as the kernel mounts tracefs: mode 0700).
fn run_as_nobody_with_private_tracefs(tool: &str, args: &str) -> (i32, String) {
    let (status, _out, err) = shell(&format!(
        "unshare -m --propagation private sh -c '\
         mount -t tmpfs -o mode=0700 bpfkit-hard /sys/kernel/tracing && \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups \
           --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon {} {args}'",
        bin(tool).display()
    ));
    (status.code().unwrap_or(-1), err)
}

#[test]
fn unreadable_tracefs_is_not_called_unmounted() {
    for (tool, args) in [("opensnoop", "-d 1"), ("memleak", "1 1")] {
        let (code, err) = run_as_nobody_with_private_tracefs(tool, args);
        assert_eq!(code, 1, "{tool}: {err}");
        assert_eq!(err.lines().count(), 1, "{tool}: one line: {err}");
        assert!(
            err.contains("tracefs at /sys/kernel/tracing is not readable by this user"),
            "{tool}: {err}"
        );
        assert!(err.contains("CAP_DAC_READ_SEARCH"), "{tool}: {err}");
        assert!(!err.contains("not mounted"), "{tool}: {err}");
    }
}

// ---- 7, 8. without tracefs ----

/// Runs `script` (with `$B` the binaries' directory) in a private mount
/// namespace where tracefs (and debugfs) are not mounted.
fn without_tracefs(script: &str) -> (i32, String, String) {
    let dir = bin("opensnoop").parent().unwrap().display().to_string();
    let (status, out, err) = shell(&format!(
        "B={dir} unshare -m --propagation private sh -c '\
         umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null; \
         test -d /sys/kernel/tracing/events && {{ echo tracefs still mounted >&2; exit 99; }}; \
         {script}'"
    ));
    (status.code().unwrap_or(-1), out, err)
}

#[test]
fn runqlat_and_runqslower_need_no_tracefs() {
    let (code, out, err) = without_tracefs(
        "$B/runqlat 1 1 && timeout -s INT --preserve-status 2 $B/runqslower 1000000 && \
         if test -d /sys/kernel/tracing/events; then echo MOUNTED; fi",
    );
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(!err.contains("tracefs"), "{err}");
    assert!(
        !out.contains("MOUNTED"),
        "tracefs was mounted needlessly: {err}"
    );
    assert!(out.contains("usecs"), "no runqlat histogram: {out}");
}

#[test]
fn tracefs_is_mounted_when_missing() {
    let (code, out, err) = without_tracefs(
        "$B/opensnoop -d 1 -p 1 && test -d /sys/kernel/tracing/events && echo MOUNTED",
    );
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        err.lines()
            .any(|l| l == "mounted tracefs at /sys/kernel/tracing"),
        "{err}"
    );
    assert!(out.contains("MOUNTED"), "{out}");
}

#[test]
fn tracefs_that_cannot_be_mounted_is_one_line_with_the_command() {
    // Root without CAP_SYS_ADMIN may load BPF (CAP_BPF, CAP_PERFMON) but
    // not mount.
    let (code, out, err) =
        without_tracefs("setpriv --bounding-set=-sys_admin $B/opensnoop -d 1 -p 1");
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        err.trim(),
        "opensnoop: tracefs is not mounted (tracepoints need it): run \
         `mount -t tracefs nodev /sys/kernel/tracing`"
    );
}
