//! Harness for the root integration tests: start a built tool, wait until
//! it has attached, cause real events, read what it printed, stop it.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::thread;

pub mod cgroup;
pub mod exporter;
pub mod loopdev;
pub mod netns;
pub mod oom;
use std::time::{Duration, Instant};

/// How many times slower than the host this machine runs the tests:
/// `BPFKIT_TEST_SLOWDOWN` (`make vmtest` sets it in its emulated guests,
/// where attaching kprobes alone has taken over a minute), else 1. Scales
/// every harness timeout; assertions on what the tools print stay the same.
pub fn slowdown() -> u32 {
    std::env::var("BPFKIT_TEST_SLOWDOWN")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

/// How long a tool may take to attach.
pub fn attach_timeout() -> Duration {
    Duration::from_secs(60) * slowdown()
}

/// How long a tool that ends by itself (count, duration, command) may run.
pub fn exit_timeout() -> Duration {
    Duration::from_secs(60) * slowdown()
}

/// How long an event may take to show up once caused.
pub fn event_timeout() -> Duration {
    Duration::from_secs(20) * slowdown()
}
/// What every streaming tool prints on stderr once its probes are attached.
pub const READY: &str = "Hit Ctrl-C to end";

/// The built binary `name` (tests live in target/<profile>/deps/).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built (run `cargo build` or `cargo test`)",
        path.display()
    );
    path
}

/// Root and a mounted tracefs, which every tool needs; fails loudly otherwise.
pub fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        assert!(
            nix::unistd::geteuid().is_root(),
            "bpfkit integration tests load BPF programs: run them as root (make test does)"
        );
        if !std::path::Path::new("/sys/kernel/tracing/events").is_dir() {
            let status = Command::new("mount")
                .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
                .status()
                .expect("running mount");
            assert!(status.success(), "mounting tracefs failed");
        }
        // Run under `nohup`, this process and every tool it starts would
        // ignore SIGHUP (a disposition exec keeps), and the tools rightly
        // keep it ignored: the tests that end a tool with SIGHUP need the
        // default. (tests/hardening.rs starts its nohup case by itself.)
        use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_DFL installs no handler of ours.
        unsafe { sigaction(Signal::SIGHUP, &default) }.expect("resetting SIGHUP");
    });
}

/// Mechanisms the test runner says this kernel must offer
/// (`BPFKIT_EXPECT_MECHANISMS=fentry,kprobe,tracepoint`, set by `make vmtest`),
/// so a detection bug cannot hide behind "not available here".
pub fn expected_mechanisms() -> Option<Vec<String>> {
    // Unset or empty: no expectation (the host run).
    std::env::var("BPFKIT_EXPECT_MECHANISMS")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
}

/// What `--probe=auto` must pick, stated per kernel (not derived from the
/// chooser the tools use): the test VMs (`BPFKIT_EXPECT_MECHANISMS` set)
/// have fentry; this host's kernel (6.18 in a Firecracker VM: no kprobes,
/// fentry loads refused with EPERM) leaves the tracepoint.
pub fn expected_auto_mechanism() -> bpfkit::probe::Mechanism {
    use bpfkit::probe::Mechanism;
    match expected_mechanisms() {
        Some(list) => Mechanism::ALL
            .into_iter()
            .find(|m| list.iter().any(|e| e == m.name()))
            .expect("BPFKIT_EXPECT_MECHANISMS names no mechanism"),
        None => Mechanism::Tracepoint,
    }
}

/// The mechanism the runner forces on every multi-mechanism tool
/// (`BPFKIT_PROBE`, which the tools read as their `--probe` default).
pub fn forced_probe_mode() -> bpfkit::probe::ProbeMode {
    std::env::var("BPFKIT_PROBE")
        .ok()
        .and_then(|v| bpfkit::probe::parse_probe_mode(&v).ok())
        .unwrap_or_default()
}

/// Pins the calling thread to `cpu` (traffic whose softirqs and IRQs must
/// land on a known CPU: loopback packets are received on the sender's CPU).
pub fn pin_current_thread(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and
    // sched_setaffinity only touch the set we own.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(
        rc,
        0,
        "pinning to CPU {cpu}: {}",
        std::io::Error::last_os_error()
    );
}

/// A unique token for names and paths, so tests never match other activity.
pub fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{prefix}{}x{n}", std::process::id())
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    closed: bool,
}

type Shared = Arc<(Mutex<Lines>, Condvar)>;

fn collect(stream: impl std::io::Read + Send + 'static) -> Shared {
    let shared: Shared = Arc::default();
    let s = Arc::clone(&shared);
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let (m, cv) = &*s;
            m.lock().unwrap().lines.push(line);
            cv.notify_all();
        }
        let (m, cv) = &*s;
        m.lock().unwrap().closed = true;
        cv.notify_all();
    });
    shared
}

fn wait_in(shared: &Shared, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let (m, cv) = &**shared;
    let mut g = m.lock().unwrap();
    loop {
        if let Some(l) = g.lines.iter().find(|l| pred(l)) {
            return Some(l.clone());
        }
        let now = Instant::now();
        if g.closed || now >= deadline {
            return None;
        }
        g = cv.wait_timeout(g, deadline - now).unwrap().0;
    }
}

fn snapshot(shared: &Shared) -> Vec<String> {
    shared.0.lock().unwrap().lines.clone()
}

/// A running tool.
pub struct Tool {
    name: String,
    child: Child,
    stdout: Shared,
    stderr: Shared,
}

/// A tool that has exited.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Finished {
    /// Exit status 0 and nothing but JSON objects on stdout (`--json`).
    pub fn assert_json_only(&self) {
        assert!(self.status.success(), "exit status: {self:?}");
        let bad: Vec<&String> = self
            .stdout
            .iter()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_err())
            .collect();
        assert!(bad.is_empty(), "non-JSON lines on stdout: {bad:?}");
    }
}

/// `-p` with a pid that cannot exist is a one-line runtime error (exit 1).
pub fn assert_missing_pid_error(name: &str) {
    // pid_max is at most 2^22.
    let fin = run(name, &["-p", "99999999"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("no such process")),
        "{:?}",
        fin.stderr
    );
}

/// `name -i <missing interface>` exits 1 naming the interface.
pub fn assert_missing_interface_error(name: &str) {
    let fin = run(name, &["-i", "bpfkit-nosuch0"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("no such interface: bpfkit-nosuch0")),
        "{:?}",
        fin.stderr
    );
}

impl Tool {
    /// Starts `name args…` and returns once it reports being attached.
    pub fn start(name: &str, args: &[&str]) -> Tool {
        Self::start_env(name, args, &[])
    }

    /// Like `start`, with extra environment variables (e.g. BPFKIT_RAW_TP=1).
    pub fn start_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Tool {
        let tool = Self::spawn_env(name, args, env);
        if wait_in(&tool.stderr, attach_timeout(), |l| l.contains(READY)).is_none() {
            let fin = tool.stop();
            panic!("{name} did not attach: {fin:?}");
        }
        tool
    }

    /// Starts the tool without waiting for it to attach.
    pub fn spawn(name: &str, args: &[&str]) -> Tool {
        Self::spawn_env(name, args, &[])
    }

    fn spawn_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Tool {
        setup();
        let mut child = Command::new(bin(name))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Tool {
            name: name.to_string(),
            child,
            stdout,
            stderr,
        }
    }

    /// Starts `name args…` with stdout going to a pipe nobody reads (its
    /// read end is returned, to keep it open and to read it afterwards),
    /// and returns once the tool reports being attached.
    pub fn start_unread(name: &str, args: &[&str]) -> (Tool, std::os::fd::OwnedFd) {
        setup();
        let (reader, writer) = nix::unistd::pipe().expect("pipe");
        let mut child = Command::new(bin(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let stderr = collect(child.stderr.take().unwrap());
        let tool = Tool {
            name: name.to_string(),
            child,
            stdout: collect(std::io::empty()),
            stderr,
        };
        if wait_in(&tool.stderr, attach_timeout(), |l| l.contains(READY)).is_none() {
            let fin = tool.stop();
            panic!("{name} did not attach: {fin:?}");
        }
        (tool, reader)
    }

    /// Sends `sig` and waits at most `limit` for the tool to exit; a tool
    /// still running then is killed and the test fails, showing its stderr.
    /// Returns the outcome and how long the exit took.
    pub fn signal_within(
        mut self,
        sig: nix::sys::signal::Signal,
        limit: Duration,
    ) -> (Finished, Duration) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let sent = Instant::now();
        let _ = nix::sys::signal::kill(pid, sig);
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if sent.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} still running {limit:?} after {sig}; stderr: {:?}",
                    self.name,
                    snapshot(&self.stderr)
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let took = sent.elapsed();
        wait_in(&self.stdout, Duration::from_secs(5), |_| false);
        wait_in(&self.stderr, Duration::from_secs(5), |_| false);
        let fin = Finished {
            status,
            stdout: snapshot(&self.stdout),
            stderr: snapshot(&self.stderr),
        };
        (fin, took)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first stdout line matching `pred`, waiting up to event_timeout().
    pub fn wait_line(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        wait_in(&self.stdout, event_timeout(), pred)
    }

    /// The first stdout line containing `needle`, or a panic showing what was printed.
    pub fn expect_line(&self, needle: &str) -> String {
        match self.wait_line(|l| l.contains(needle)) {
            Some(l) => l,
            None => panic!(
                "{}: no line containing {needle:?}; stdout tail: {:?}; stderr: {:?}",
                self.name,
                tail(&snapshot(&self.stdout)),
                snapshot(&self.stderr)
            ),
        }
    }

    /// The first stdout line containing every one of `needles` (tests
    /// running in parallel in one process share its pid filter).
    pub fn expect_line_with(&self, needles: &[&str]) -> String {
        match self.wait_line(|l| needles.iter().all(|n| l.contains(n))) {
            Some(l) => l,
            None => panic!(
                "{}: no line containing all of {needles:?}; stdout tail: {:?}; stderr: {:?}",
                self.name,
                tail(&snapshot(&self.stdout)),
                snapshot(&self.stderr)
            ),
        }
    }

    /// The first JSON line whose `key` equals `value`, parsed.
    pub fn expect_json(&self, key: &str, value: &serde_json::Value) -> serde_json::Value {
        let found = self.wait_line(|l| {
            serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.get(key) == Some(value))
        });
        match found {
            Some(l) => serde_json::from_str(&l).unwrap(),
            None => panic!(
                "{}: no JSON line with {key} = {value}; stdout tail: {:?}; stderr: {:?}",
                self.name,
                tail(&snapshot(&self.stdout)),
                snapshot(&self.stderr)
            ),
        }
    }

    /// Everything printed on stderr so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        snapshot(&self.stderr)
    }

    /// Everything printed on stdout so far.
    pub fn lines(&self) -> Vec<String> {
        snapshot(&self.stdout)
    }

    /// BPF program ids the tool holds open right now (from /proc/PID/fdinfo).
    pub fn prog_ids(&self) -> BTreeSet<u32> {
        prog_ids_of(self.child.id())
    }

    /// Sends SIGINT and collects the outcome.
    pub fn stop(self) -> Finished {
        self.signal(nix::sys::signal::Signal::SIGINT)
    }

    pub fn signal(self, sig: nix::sys::signal::Signal) -> Finished {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, sig);
        self.wait()
    }

    /// Waits for the tool to exit by itself (e.g. after `-d`), killing it after 60 s.
    pub fn wait(mut self) -> Finished {
        let deadline = Instant::now() + exit_timeout();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit; stderr: {:?}",
                    self.name,
                    snapshot(&self.stderr)
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        // Let the reader threads see EOF.
        wait_in(&self.stdout, Duration::from_secs(5), |_| false);
        wait_in(&self.stderr, Duration::from_secs(5), |_| false);
        Finished {
            status,
            stdout: snapshot(&self.stdout),
            stderr: snapshot(&self.stderr),
        }
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(lines: &[String]) -> &[String] {
    &lines[lines.len().saturating_sub(10)..]
}

/// BPF program ids referenced by the fds of process `pid`.
pub fn prog_ids_of(pid: u32) -> BTreeSet<u32> {
    let mut ids = BTreeSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for entry in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            for line in text.lines() {
                if let Some(Ok(id)) = line.strip_prefix("prog_id:").map(|v| v.trim().parse()) {
                    ids.insert(id);
                }
            }
        }
    }
    ids
}

/// The types (`enum bpf_map_type`) of the BPF maps process `pid` holds fds
/// of: 4 is a perf event array, 27 a ring buffer.
pub fn map_types_of(pid: u32) -> BTreeSet<u32> {
    let mut types = BTreeSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return types;
    };
    for entry in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            for line in text.lines() {
                if let Some(Ok(t)) = line.strip_prefix("map_type:").map(|v| v.trim().parse()) {
                    types.insert(t);
                }
            }
        }
    }
    types
}

/// The hash maps (plain or per-CPU) process `pid` holds fds of that are
/// not preallocated (`BPF_F_NO_PREALLOC`), as `map_id`s. Before Linux 6.1
/// the verifier WARNs and taints the kernel for a tracing program using one.
pub fn unpreallocated_hash_maps_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return found;
    };
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        let hash = matches!(field("map_type:").as_deref(), Some("1") | Some("5"));
        let flags = field("map_flags:")
            .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        if hash && flags & 1 != 0 {
            found.extend(field("map_id:").and_then(|id| id.parse::<u32>().ok()));
        }
    }
    found
}

pub const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;

/// Ids of all BPF programs loaded in the kernel (`bpftool prog list`).
pub fn loaded_prog_ids() -> BTreeSet<u32> {
    let out = Command::new("bpftool")
        .args(["prog", "list", "-j"])
        .output()
        .expect("running bpftool");
    assert!(out.status.success(), "bpftool prog list failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64().map(|id| id as u32))
        .collect()
}

/// Runs a tool to completion with a time limit (for usage errors, `-d`, pipes).
pub fn run(name: &str, args: &[&str]) -> Finished {
    Tool::spawn(name, args).wait()
}

/// Runs a shell pipeline (e.g. `tool | head -1`) and returns (status, stdout, stderr).
pub fn shell(script: &str) -> (ExitStatus, String, String) {
    setup();
    let out = Command::new("bash")
        .args(["-c", script])
        .output()
        .expect("bash");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The checks every streaming tool must pass, shared so each tool's test
/// file only names its own arguments:
/// - SIGTERM ends it with status 0 and frees every BPF program it held;
/// - `| head -1` ends it quietly with status 0 (EPIPE, no panic);
/// - a bad argument exits 2 with a usage message.
pub fn lifecycle_checks(name: &str, args: &[&str], make_event: impl Fn()) {
    // SIGTERM: exit 0, programs gone.
    let tool = Tool::start(name, args);
    let ids = tool.prog_ids();
    assert!(
        !ids.is_empty(),
        "{name}: no BPF program fds found while running"
    );
    let unpreallocated = unpreallocated_hash_maps_of(tool.pid());
    assert!(
        unpreallocated.is_empty(),
        "{name}: hash maps {unpreallocated:?} are not preallocated (before 6.1 the kernel WARNs and taints itself)"
    );
    let fin = tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(
        fin.status.success(),
        "{name}: SIGTERM exit status {:?}; stderr {:?}",
        fin.status,
        fin.stderr
    );
    // The kernel frees a program a little after its last link (an RCU grace
    // period for raw tracepoints), so give it a moment.
    let grace = Duration::from_secs(3) * slowdown();
    let deadline = Instant::now() + grace;
    let left = loop {
        let left: Vec<u32> = loaded_prog_ids().intersection(&ids).copied().collect();
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        left.is_empty(),
        "{name}: programs {left:?} still loaded {grace:?} after SIGTERM"
    );

    // A closed pipe: `| head -1` must exit 0 without a panic message.
    let bin = bin(name);
    let joined = args.join(" ");
    // A name of this run's own: two test binaries may check one tool at once.
    let err_file = std::env::temp_dir().join(unique(&format!("bpfkit-pipe-{name}-")));
    let err_file = err_file.display();
    let polls = 100 * slowdown();
    let script = format!(
        "set -o pipefail; ( {} {joined} 2>{err_file} | head -1 >/dev/null ) & p=$!; \
         for i in $(seq 1 {polls}); do sleep 0.1; grep -q '{READY}' {err_file} 2>/dev/null && break; done; \
         wait $p; rc=$?; cat {err_file} >&2; rm -f {err_file}; exit $rc",
        bin.display()
    );
    let handle = thread::spawn(move || shell(&script));
    // Events until the pipeline ends (head exits after the first line).
    let deadline = Instant::now() + attach_timeout();
    while !handle.is_finished() && Instant::now() < deadline {
        make_event();
        thread::sleep(Duration::from_millis(100));
    }
    let (status, _out, err) = handle.join().unwrap();
    assert!(
        status.success(),
        "{name} | head -1: status {status:?}, stderr: {err}"
    );
    assert!(
        !err.contains("panicked"),
        "{name} panicked on a closed pipe: {err}"
    );

    // Usage error.
    let fin = run(name, &["--no-such-flag"]);
    assert_eq!(
        fin.status.code(),
        Some(2),
        "{name}: bad flag must exit 2: {fin:?}"
    );
    assert!(
        fin.stderr.iter().any(|l| l.contains("Usage")),
        "{name}: no usage message: {:?}",
        fin.stderr
    );
}

// ---- multi-mechanism tools (fentry → kprobe → tracepoint) ----

use bpfkit::probe::{self, Mechanism, Needs, ProbeMode};

/// Whether `needs` has programs for `mechanism`.
fn offers(needs: &Needs, mechanism: Mechanism) -> bool {
    match mechanism {
        Mechanism::Fentry => !needs.fentry.is_empty(),
        Mechanism::Kprobe => !needs.kprobe.is_empty(),
        Mechanism::Tracepoint => !needs.tracepoint.is_empty(),
    }
}

/// The tool said on stderr that it uses `mechanism`.
pub fn assert_using(tool: &Tool, mechanism: Mechanism) {
    let err = tool.stderr_lines();
    assert!(
        err.iter()
            .any(|l| l.starts_with(&format!("using {mechanism}"))),
        "{}: expected `using {mechanism}` on stderr: {err:?}",
        tool.name
    );
}

/// Arguments and expected mechanism for a run "without --probe": the
/// runner's BPFKIT_PROBE if the tool offers it, else an explicit auto.
pub fn default_mechanism(needs: &Needs) -> (Vec<&'static str>, Mechanism) {
    let (args, mode) = match forced_probe_mode() {
        ProbeMode::Force(m) if !offers(needs, m) => (vec!["--probe=auto"], ProbeMode::Auto),
        mode => (vec![], mode),
    };
    let choice = probe::choose(mode, needs)
        .unwrap_or_else(|e| panic!("no mechanism for the default run: {e}"));
    (args, choice.mechanism)
}

/// The mechanism tests of a multi-mechanism tool, one per mechanism:
/// `mechanism_auto` expects the mechanism stated for this kernel
/// ([`expected_auto_mechanism`]); `mechanism_fentry`, `_kprobe` and
/// `_tracepoint` force theirs ([`check_mechanism`]). `sees(args, m)` runs
/// the tool with `args` and checks it saw real events through `m`.
#[macro_export]
macro_rules! mechanism_tests {
    ($tool:expr, $needs:expr, $sees:expr) => {
        #[test]
        fn mechanism_auto() {
            ($sees)(&["--probe=auto"], common::expected_auto_mechanism());
        }
        #[test]
        fn mechanism_fentry() {
            common::check_mechanism($tool, &$needs, bpfkit::probe::Mechanism::Fentry, $sees);
        }
        #[test]
        fn mechanism_kprobe() {
            common::check_mechanism($tool, &$needs, bpfkit::probe::Mechanism::Kprobe, $sees);
        }
        #[test]
        fn mechanism_tracepoint() {
            common::check_mechanism($tool, &$needs, bpfkit::probe::Mechanism::Tracepoint, $sees);
        }
    };
}

/// One forced mechanism of a multi-mechanism tool. Where this kernel offers
/// it, `sees(&["--probe=<m>"], m)` must observe real events through it;
/// elsewhere the tool must exit 1 naming the mechanism and why. Under
/// `make vmtest` (BPFKIT_EXPECT_MECHANISMS) detection itself is checked too.
pub fn check_mechanism(
    tool: &str,
    needs: &Needs,
    mechanism: Mechanism,
    sees: impl FnOnce(&[&str], Mechanism),
) {
    check_mechanism_with(tool, &[], needs, mechanism, sees)
}

/// [`check_mechanism`] for a tool that needs arguments even to fail
/// (fsslower's `-t ext4`): `args` go before `--probe=<m> -d 1`.
pub fn check_mechanism_with(
    tool: &str,
    args: &[&str],
    needs: &Needs,
    mechanism: Mechanism,
    sees: impl FnOnce(&[&str], Mechanism),
) {
    let why = probe::unavailable_reason(mechanism, needs);
    if let Some(expected) = expected_mechanisms().filter(|_| offers(needs, mechanism)) {
        assert_eq!(
            why.is_none(),
            expected.iter().any(|m| m == mechanism.name()),
            "{tool}: detection says {mechanism} {why:?}, the runner expects {expected:?}"
        );
    }
    let flag = format!("--probe={mechanism}");
    match why {
        None => sees(&[&flag], mechanism),
        Some(reason) => {
            let mut argv = args.to_vec();
            argv.extend([flag.as_str(), "-d", "1"]);
            let fin = run(tool, &argv);
            assert_eq!(fin.status.code(), Some(1), "{tool} {flag}: {fin:?}");
            let err = fin.stderr.join("\n");
            assert!(
                err.contains(&format!("--probe {mechanism} is not available")),
                "{err}"
            );
            assert!(err.contains(&reason), "{err} should say why: {reason}");
        }
    }
}

// ---- CPU contention for the scheduler tools ----

/// CPUs the test machine has (2 here).
pub fn cpus() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

/// A thread name unique to this test (at most 15 bytes: it becomes the comm).
pub fn thread_name(prefix: &str) -> String {
    let mut n = unique(prefix);
    n.truncate(15);
    n
}

/// Busy threads of this test process, all named `name`; they spin (30 s at
/// most) until dropped.
/// Lowest CPU priority for the calling thread (Linux nice values are per
/// thread). Spinners run at nice 19: they still queue behind each other, which
/// is the latency the scheduler tools must see, but the tool under test and
/// the harness (nice 0) are not starved. In a TCG guest, 8+ nice-0 spinners on
/// 2 emulated CPUs kept runqlat from even attaching within 60 s.
pub fn nice_self() {
    // SAFETY: setpriority only reads its integer arguments.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
}

pub struct Spinners {
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
    pub tids: Vec<i32>,
    pub name: String,
}

impl Spinners {
    pub fn start(n: usize, name: &str) -> Spinners {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let threads = (0..n)
            .map(|_| {
                let stop = Arc::clone(&stop);
                let tx = tx.clone();
                // std names the OS thread (its comm) after the Builder's name.
                thread::Builder::new()
                    .name(name.to_string())
                    .spawn(move || {
                        nice_self();
                        let _ = tx.send(nix::unistd::gettid().as_raw());
                        // Scaled: an emulated tool can take longer than 30 s to attach.
                        let end = Instant::now() + Duration::from_secs(30) * slowdown();
                        let mut x = 0u64;
                        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                            x = std::hint::black_box(x.wrapping_add(1));
                        }
                    })
                    .expect("spawning a spinner")
            })
            .collect();
        let tids = (0..n).map(|_| rx.recv().expect("spinner tid")).collect();
        Spinners {
            stop,
            threads,
            tids,
            name: name.to_string(),
        }
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

// ---- background load ----

/// A thread repeating one round of work (a packet, a read) until dropped,
/// counting the rounds done.
pub struct Background {
    stop: Arc<std::sync::atomic::AtomicBool>,
    rounds: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Background {
    /// `setup` runs once in the thread and returns the round to repeat.
    pub fn start<R: FnMut() + 'static>(setup: impl FnOnce() -> R + Send + 'static) -> Background {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let (s, n) = (Arc::clone(&stop), Arc::clone(&rounds));
        let thread = thread::spawn(move || {
            let mut round = setup();
            while !s.load(Ordering::Relaxed) {
                round();
                n.fetch_add(1, Ordering::Relaxed);
            }
        });
        Background {
            stop,
            rounds,
            thread: Some(thread),
        }
    }

    pub fn rounds(&self) -> u64 {
        self.rounds.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until at least `n` rounds are done (false on timeout), so a
    /// tool started afterwards traces load that is already flowing.
    pub fn wait_rounds(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.rounds() < n {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- histogram tables (libbpf-tools print_log2_hist) ----

/// One printed log2 histogram.
#[derive(Debug, Default, Clone)]
pub struct Section {
    /// The line above the histogram (`pid = 123 comm`), empty if none.
    pub header: String,
    pub unit: String,
    /// (low, high, count)
    pub rows: Vec<(u64, u64, u64)>,
}

impl Section {
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|r| r.2).sum()
    }

    /// `pid = 123 comm` → ("pid", 123, "comm").
    pub fn key(&self) -> Option<(&str, u64, &str)> {
        let (kind, rest) = self.header.split_once(" = ")?;
        let (id, comm) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((kind, id.parse().ok()?, comm))
    }
}

/// Parses table output into its histograms, checking each row's shape
/// (`     low -> high       : count    |<40 columns>|`) and that log2 rows
/// run from `0 -> 1`, contiguous, with no trailing empty row.
pub fn hist_sections(lines: &[String]) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut prev = String::new();
    for line in lines {
        if line.ends_with(" : count    distribution") {
            assert!(line.starts_with("     "), "header indent: {line:?}");
            out.push(Section {
                header: prev.clone(),
                unit: line.split_whitespace().next().unwrap().to_string(),
                rows: Vec::new(),
            });
        } else if line.contains(" -> ") && line.contains(" : ") {
            let (range, rest) = line.split_once(" : ").unwrap();
            let (low, high) = range.split_once(" -> ").unwrap();
            let (count, bar) = rest.split_once('|').unwrap();
            assert_eq!(range.len(), 24, "row columns: {line:?}");
            assert!(count.len() >= 9, "count column: {line:?}");
            assert!(bar.ends_with('|') && bar.len() == 41, "bar: {line:?}");
            let row = (
                low.trim().parse().unwrap(),
                high.trim().parse().unwrap(),
                count.trim().parse().unwrap(),
            );
            out.last_mut().expect("row before a header").rows.push(row);
        }
        prev = line.clone();
    }
    for s in &out {
        assert_eq!(s.rows.first().map(|r| (r.0, r.1)), Some((0, 1)), "{s:?}");
        for w in s.rows.windows(2) {
            assert_eq!(w[1].0, w[0].1 + 1, "{s:?}");
        }
        assert!(
            s.rows.last().is_some_and(|r| r.2 > 0),
            "trailing zero row: {s:?}"
        );
    }
    out
}

/// Compiles the C program `source` (with `-g -fno-omit-frame-pointer` and
/// `opt`) into `/tmp/bpfkit-<name>-<hash of source>/<name>`: built once per
/// source (reruns reuse it, nothing piles up in /tmp), under a unique name
/// and renamed, so a concurrent test never runs a half-written binary.
pub fn compile_c(name: &str, source: &str, opt: &str) -> PathBuf {
    compile_c_with(name, source, opt, &[])
}

/// [`compile_c`] linking `libs` (`-lreadline`).
pub fn compile_c_with(name: &str, source: &str, opt: &str, libs: &[&str]) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut h);
    libs.hash(&mut h);
    let dir = std::env::temp_dir().join(format!("bpfkit-{name}-{:016x}", h.finish()));
    let bin = dir.join(name);
    if bin.exists() {
        return bin;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let tmp = dir.join(unique(&format!("{name}-")));
    let out = Command::new("cc")
        .args(["-g", opt, "-fno-omit-frame-pointer", "-o"])
        .arg(&tmp)
        .arg(&src)
        .args(libs)
        .output()
        .unwrap_or_else(|e| {
            panic!("the tests compile a C program ({name}) and need `cc` (apt install gcc): {e}")
        });
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).unwrap();
    bin
}

/// `go tool pprof -top FILE`'s lines (Debian's golang-go: scripts/deps.sh
/// test), for the tools' `--pprof` files.
pub fn pprof_top(file: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let cache = std::env::temp_dir().join("bpfkit-go-cache");
    let out = Command::new("go")
        .args(["tool", "pprof", "-top"])
        .args(extra)
        .arg(file)
        .env("GOCACHE", &cache)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("the --pprof tests need `go` (apt install golang-go): {e}"));
    assert!(
        out.status.success(),
        "go tool pprof: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
