//! profile against a real CPU burner: the test compiles a small C program
//! that burns CPU in a function with a distinctive name (and, in `mixed`
//! mode, also reads /dev/zero so part of its time is in the kernel), then
//! profiles it by pid and checks the stacks printed name that function.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{Finished, Tool, lifecycle_checks, slowdown};
use serde_json::Value;

const HOT_FN: &str = "bpfkit_profile_hot_function";

/// `burner MODE SECS [wait]`: prints "go" (with `wait`, once a byte
/// arrives on stdin), then burns SECS seconds of CPU time (not wall time:
/// on a busy machine it still gets that many samples) in HOT_FN and exits.
/// MODE `user`: pure computation; `mixed`: each round also reads 1 MiB of
/// /dev/zero, so most of its time is in the kernel.
const BURNER_C: &str = r#"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;
static char buf[1 << 20];

static double cpu_time(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* read(2) issued from inside the hot function: libc's read() wrapper keeps no
 * frame pointer, so a user stack taken in the syscall would skip its caller
 * (read -> main) and samples in the kernel would never name the function. */
static inline __attribute__((always_inline)) long read_here(int fd, void *b, unsigned long n)
{
#ifdef __x86_64__
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(0L), "D"((long)fd), "S"(b), "d"(n)
			 : "rcx", "r11", "memory");
	return ret;
#else
	return read(fd, b, n);
#endif
}

__attribute__((noinline)) void bpfkit_profile_hot_function(double secs, int fd)
{
	double end = cpu_time() + secs;
	while (cpu_time() < end) {
		for (int i = 0; i < 50000; i++)
			sink += (unsigned long)i * 2654435761u;
		if (fd >= 0 && read_here(fd, buf, sizeof(buf)) < 0)
			abort();
	}
}

int main(int argc, char **argv)
{
	char c;
	int fd = -1;

	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "mixed") == 0)
		fd = open("/dev/zero", O_RDONLY);
	if (argc > 3 && strcmp(argv[3], "wait") == 0 && read(0, &c, 1) != 1)
		return 1;
	if (write(1, "go\n", 3) != 3)
		return 1;
	bpfkit_profile_hot_function(atof(argv[2]), fd);
	return 0;
}
"#;

/// The compiled program, built once (see `common::compile_c`).
fn burner_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| common::compile_c("burner", BURNER_C, "-O1"))
}

/// A running burner, killed on drop.
struct Burner {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Burner {
    /// A burner already burning (for about as long as any test runs).
    fn burning(mode: &str) -> Burner {
        let mut b = Self::spawn(mode, 60.0 * slowdown() as f64, false);
        b.wait_go();
        b
    }

    /// A burner that starts burning `cpu_secs` once [`go`](Self::go) is called.
    fn waiting(mode: &str, cpu_secs: f64) -> Burner {
        Self::spawn(mode, cpu_secs, true)
    }

    fn spawn(mode: &str, secs: f64, wait: bool) -> Burner {
        let mut child = Command::new(burner_bin())
            .args([mode, &secs.to_string(), if wait { "wait" } else { "now" }])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the burner");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Burner {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn wait_go(&mut self) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "go\n");
    }

    fn go(&mut self) {
        let mut stdin = self.stdin.take().expect("go called once");
        stdin.write_all(b"g").unwrap();
        self.wait_go();
    }

    /// Waits until it has burnt its CPU time and exited.
    fn wait_exit(&mut self) {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "burner: {status:?}");
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `profile -p PID ARGS…` (ARGS ending with a duration) to its end
/// on a burner that burns all along.
fn profile_burner(mode: &str, args: &[&str]) -> Finished {
    let burner = Burner::burning(mode);
    let pid = burner.pid();
    let mut full = vec!["-p", &pid];
    full.extend_from_slice(args);
    let fin = common::run("profile", &full);
    assert!(fin.status.success(), "{fin:?}");
    drop(burner);
    fin
}

/// (text, count) of each folded line, checking the shape.
fn folded(lines: &[String]) -> Vec<(String, u64)> {
    lines
        .iter()
        .map(|l| {
            let (stack, count) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l:?}"));
            let count: u64 = count.parse().unwrap_or_else(|_| panic!("count in {l:?}"));
            assert!(count > 0, "{l:?}");
            (stack.to_string(), count)
        })
        .collect()
}

fn json_lines(fin: &Finished) -> Vec<Value> {
    fin.assert_json_only();
    fin.stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn names(stack: &Value) -> Vec<String> {
    stack
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["symbol"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn folded_hottest_line_is_the_burner() {
    let fin = profile_burner("user", &["-f", "2"]);
    assert!(
        fin.stderr.iter().any(|l| l.starts_with("sampling with ")
            && (l.contains("hardware cycles") || l.contains("software cpu-clock"))),
        "which event: {:?}",
        fin.stderr
    );
    let lines = folded(&fin.stdout);
    assert!(!lines.is_empty(), "{fin:?}");
    // Most samples first, every line of the filtered process.
    for w in lines.windows(2) {
        assert!(w[0].1 >= w[1].1, "not sorted: {lines:?}");
    }
    for (stack, _) in &lines {
        assert!(stack.starts_with("burner;"), "not the burner: {stack}");
    }
    let (hottest, count) = &lines[0];
    assert!(
        hottest.contains(HOT_FN),
        "hottest line {hottest:?} of {lines:?}"
    );
    // Outermost first: main calls the hot function.
    let frames: Vec<&str> = hottest.split(';').collect();
    let main = frames.iter().position(|f| *f == "main");
    let hot = frames.iter().position(|f| *f == HOT_FN);
    assert!(main.is_some() && main < hot, "{hottest}");
    assert!(*count >= 5, "{hottest} {count}");
}

#[test]
fn default_output_is_libbpf_tools_multiline() {
    let burner = Burner::burning("user");
    let pid = burner.pid();
    let tool = Tool::start("profile", &["-p", &pid]);
    std::thread::sleep(Duration::from_secs(2));
    // SIGINT ends sampling and prints what was gathered.
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let out = &fin.stdout;
    let trailer = out
        .iter()
        .position(|l| l.starts_with("    -  ") && l.ends_with(&format!(" burner ({pid})")))
        .unwrap_or_else(|| panic!("no `-  burner ({pid})` line: {out:?}"));
    assert!(
        out[..trailer].iter().any(|l| l == &format!("    {HOT_FN}")),
        "{out:?}"
    );
    let count: u64 = out[trailer + 1].trim().parse().unwrap();
    assert!(count > 0);
    assert_eq!(out[trailer + 2], "");
}

#[test]
fn thread_filter_with_delimited_stacks() {
    // The burner's main thread (tid = pid), user + kernel stacks (it reads
    // /dev/zero), `--` between the kernel and the user frames.
    let burner = Burner::burning("mixed");
    let tid = burner.pid();
    let fin = common::run("profile", &["-L", &tid, "-d", "-F", "199", "2"]);
    assert!(fin.status.success(), "{fin:?}");
    let out = &fin.stdout;
    let blocks: Vec<&[String]> = out
        .split(|l| l.is_empty())
        .filter(|b| !b.is_empty())
        .collect();
    assert!(!blocks.is_empty(), "{fin:?}");
    for b in &blocks {
        // `    -                burner (PID)` then the count.
        let trailer = &b[b.len() - 2];
        assert!(
            trailer.ends_with(&format!(" burner ({tid})")),
            "other thread: {b:?}"
        );
        assert!(b[b.len() - 1].trim().parse::<u64>().unwrap() > 0, "{b:?}");
    }
    // A sample in read(2): kernel frames, `--`, then the hot function.
    let both = blocks
        .iter()
        .find(|b| b.iter().any(|l| l == "    --"))
        .unwrap_or_else(|| panic!("no delimited stack: {out:?}"));
    let delim = both.iter().position(|l| l == "    --").unwrap();
    assert!(delim > 0, "{both:?}");
    assert!(
        both[delim..].iter().any(|l| l == &format!("    {HOT_FN}")),
        "{both:?}"
    );
}

#[test]
fn pprof_file_has_the_burner_on_top() {
    let file = std::env::temp_dir().join(format!("{}.pb.gz", common::unique("profile-pprof")));
    let path = file.display().to_string();
    let fin = profile_burner("user", &["--pprof", &path, "2"]);
    let top = common::pprof_top(&file, &[]);
    let _ = std::fs::remove_file(&file);
    assert!(top.iter().any(|l| l == "Type: cpu"), "{top:?}");
    // `      flat  flat%   sum%        cum   cum%`, then the hottest first.
    let header = top
        .iter()
        .position(|l| l.trim_start().starts_with("flat"))
        .unwrap_or_else(|| panic!("{top:?}"));
    let first = top
        .get(header + 1)
        .unwrap_or_else(|| panic!("no rows: {top:?} {fin:?}"));
    assert!(first.ends_with(HOT_FN), "{first} (of {top:?})");
    let flat = first.split_whitespace().next().unwrap();
    assert!(flat != "0", "{first}");
}

#[test]
fn user_only_has_no_kernel_frames() {
    // Without -U the same burner shows kernel stacks (it reads /dev/zero),
    // so their absence below means something.
    let both = json_lines(&profile_burner("mixed", &["-F", "199", "--json", "2"]));
    assert!(
        both.iter().any(|s| !names(&s["kernel_stack"]).is_empty()),
        "no kernel stacks at all: {both:?}"
    );
    let user = json_lines(&profile_burner(
        "mixed",
        &["-F", "199", "--json", "-U", "2"],
    ));
    assert!(!user.is_empty());
    for s in &user {
        assert!(s["kernel_stack"].is_null(), "{s}");
        assert_eq!(s["comm"], "burner");
    }
    assert!(
        user.iter()
            .any(|s| names(&s["user_stack"]).iter().any(|n| n == HOT_FN)),
        "{user:?}"
    );
}

#[test]
fn kernel_only_has_no_user_frames() {
    let fin = profile_burner("mixed", &["-F", "199", "--json", "-K", "2"]);
    let stacks = json_lines(&fin);
    for s in &stacks {
        assert!(s["user_stack"].is_null(), "{s}");
    }
    // Reading /dev/zero: read(2)'s kernel path, named through kallsyms.
    let read_path = ["vfs_read", "ksys_read", "__x64_sys_read"];
    assert!(
        stacks.iter().any(|s| names(&s["kernel_stack"])
            .iter()
            .any(|n| read_path.contains(&n.as_str()))),
        "{stacks:?}"
    );
    // And in the folded form: no user function.
    let fin = profile_burner("mixed", &["-F", "199", "-K", "-f", "2"]);
    for (stack, _) in folded(&fin.stdout) {
        assert!(
            !stack.contains(HOT_FN) && !stack.contains(";main"),
            "{stack}"
        );
    }
}

#[test]
fn samples_view_symbolizes_each_sample() {
    let burner = Burner::burning("user");
    let pid = burner.pid();
    let tool = Tool::start("profile", &["-p", &pid, "--samples"]);
    let head = tool.expect_line(&format!("COMM: burner (pid={pid}) @ CPU "));
    let cpu: u32 = head.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(cpu < 1024);
    tool.expect_line("Userspace:");
    // `N [<addr>] bpfkit_profile_hot_function+0x.. [burner] /tmp/…/burner.c:LINE`
    let frame = tool.expect_line(&format!("] {HOT_FN}+0x"));
    assert!(frame.contains(" [burner] "), "{frame}");
    let (_, line) = frame
        .rsplit_once("burner.c:")
        .unwrap_or_else(|| panic!("no file:line in {frame}"));
    assert!(line.parse::<u32>().is_ok_and(|l| l > 0), "{frame}");
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    // Filtered by pid: every sample is the burner's.
    for l in fin.stdout.iter().filter(|l| l.starts_with("COMM: ")) {
        assert!(l.starts_with(&format!("COMM: burner (pid={pid}) ")), "{l}");
    }
}

#[test]
fn samples_json() {
    let fin = profile_burner("mixed", &["--samples", "--json", "2"]);
    let samples = json_lines(&fin);
    assert!(!samples.is_empty());
    for s in &samples {
        assert_eq!(s["comm"], "burner");
        assert!(s["cpu"].is_u64() && s["tid"].is_u64(), "{s}");
    }
    assert!(
        samples
            .iter()
            .any(|s| names(&s["user_stack"]).iter().any(|n| n == HOT_FN)),
        "{samples:?}"
    );
}

/// Profiles (with `args`) a burner that starts once the tool is attached,
/// burns a second of CPU and exits; the report comes after it is gone.
fn profile_exiting_burner(args: &[&str]) -> (Finished, u32) {
    let mut burner = Burner::waiting("user", 1.0);
    let pid = burner.pid();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "{pid}" { pid.as_str() } else { a })
        .collect();
    let tool = Tool::start("profile", &args);
    burner.go();
    burner.wait_exit();
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    (fin, pid.parse().unwrap())
}

#[test]
fn exited_process_is_still_symbolized() {
    // Its stacks are named from the maps remembered while it ran.
    let (fin, _) = profile_exiting_burner(&["-p", "{pid}", "-f"]);
    let lines = folded(&fin.stdout);
    assert!(
        lines.first().is_some_and(|(s, _)| s.contains(HOT_FN)),
        "{lines:?}"
    );
}

#[test]
fn exited_process_is_symbolized_system_wide() {
    // Without -p the tool learns the processes from the samples as they
    // come (every half second) and remembers their maps.
    let (fin, pid) = profile_exiting_burner(&["--json", "-U"]);
    let ours: Vec<Value> = json_lines(&fin)
        .into_iter()
        .filter(|s| s["pid"] == pid)
        .collect();
    assert!(!ours.is_empty(), "no stacks of pid {pid}");
    assert!(
        ours.iter()
            .any(|s| names(&s["user_stack"]).iter().any(|n| n == HOT_FN)),
        "{ours:?}"
    );
}

#[test]
fn bad_pid_and_cpu_are_clear_errors() {
    common::assert_missing_pid_error("profile");
    let fin = common::run("profile", &["-C", "4000", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("CPU 4000 is not online")),
        "{fin:?}"
    );
    // Above kernel.perf_event_max_sample_rate: the kernel refuses, we say why.
    let fin = common::run("profile", &["-F", "100000000", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("perf_event_max_sample_rate")),
        "{fin:?}"
    );
    for args in [
        &["-U", "-K"][..],
        &["-F", "0"],
        &["-f", "--samples"],
        &["0"],
    ] {
        let fin = common::run("profile", args);
        assert_eq!(fin.status.code(), Some(2), "{args:?}: {fin:?}");
    }
}

#[test]
fn one_cpu_only() {
    // Kernel stacks only (-K): naming them is cheap, even for a whole
    // system under emulation.
    let fin = common::run(
        "profile",
        &["-C", "0", "-I", "-K", "--samples", "--json", "1"],
    );
    let samples = json_lines(&fin);
    assert!(!samples.is_empty(), "{fin:?}");
    for s in &samples {
        assert_eq!(s["cpu"], 0, "{s}");
    }
    assert!(
        fin.stderr.iter().any(|l| l.contains(" on 1 CPU")),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn lifecycle() {
    // --samples streams (so `| head -1` ends it); -I: idle samples too, so
    // there is always something to print; -K: only kernel stacks to name
    // (cheap, where a whole system's user stacks under emulation are not).
    lifecycle_checks("profile", &["--samples", "-I", "-K"], || {});
    // The aggregated report ends quietly on a closed pipe too.
    let (status, _out, err) = common::shell(&format!(
        "set -o pipefail; {} -I -K -f 1 | head -1 >/dev/null",
        common::bin("profile").display()
    ));
    assert!(status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
