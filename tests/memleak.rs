//! memleak against real allocations: the test compiles a small C program
//! that leaks a known number of blocks of a known size from a function with
//! a distinctive name, frees others elsewhere, and then waits; the reports
//! must name that function and count exactly those bytes. Kernel mode is
//! checked with UDP sockets the test itself opens and holds.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use common::{Finished, Tool, lifecycle_checks};
use serde_json::Value;

const LEAKY_FN: &str = "bpfkit_leaky_function";
const TIDY_FN: &str = "bpfkit_tidy_function";
const MIXED_FN: &str = "bpfkit_mixed_function";
/// What MIXED_FN leaks per round: (allocator, size).
const MIXED_SIZES: &[(&str, u64)] = &[
    ("calloc", 3000),
    ("realloc", 7000),
    ("posix_memalign", 5000),
    ("aligned_alloc", 6016),
    ("memalign", 8000),
    ("valloc", 9000),
    ("pvalloc", 20000),
    ("mmap", 12288),
];
const PREFIXED_FN: &str = "bpfkit_prefixed_function";

/// `leaky N SIZE MODE [mix|prefixed]`: leaks N blocks of SIZE bytes from
/// LEAKY_FN and mallocs+frees 2N blocks in TIDY_FN (with `mix`, also leaks
/// N blocks through each other allocator in MIXED_FN; with `prefixed`, N
/// blocks of SIZE + 1 through its own `bk_malloc` in PREFIXED_FN), then
/// prints "leaked" and waits.
/// MODE `stdin` waits for a byte on stdin before starting (so the tracer
/// can attach first), `now` starts at once (for `-c`, which attaches before
/// exec), `exit` starts at once and exits 0.3 s later instead of waiting.
const LEAKY_C: &str = r#"
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *volatile sink;

/* One leak per allocator, each of its own size (see MIXED_SIZES). */
__attribute__((noinline)) void bpfkit_mixed_function(int n)
{
	void *p;

	for (int i = 0; i < n; i++) {
		sink = calloc(3, 1000);
		sink = realloc(malloc(10), 7000);
		if (posix_memalign(&p, 64, 5000) != 0)
			abort();
		sink = p;
		sink = aligned_alloc(64, 6016);
		sink = memalign(64, 8000);
		sink = valloc(9000);
		sink = pvalloc(20000);
		sink = mmap(NULL, 12288, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		/* Not leaked: unmapped again. */
		p = mmap(NULL, 16384, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(p, 16384);
	}
}

/* An allocator of its own, `bk_` prefixed (for -S bk_ -O this program). */
__attribute__((noinline)) void *bk_malloc(size_t n) { return malloc(n); }
__attribute__((noinline)) void *bk_calloc(size_t a, size_t b) { return calloc(a, b); }
__attribute__((noinline)) void *bk_realloc(void *p, size_t n) { return realloc(p, n); }
__attribute__((noinline)) void bk_free(void *p) { free(p); }

/* Leaks N blocks of SIZE + 1 through bk_malloc, frees N others. */
__attribute__((noinline)) void bpfkit_prefixed_function(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		sink = bk_malloc(size + 1);
		bk_free(bk_malloc(size + 2));
	}
}

__attribute__((noinline)) void bpfkit_leaky_function(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		volatile char *p = malloc(size);
		p[0] = 1;
	}
}

__attribute__((noinline)) void bpfkit_tidy_function(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		volatile char *p = malloc(size + 7);
		p[0] = 1;
		free((void *)p);
	}
}

int main(int argc, char **argv)
{
	char c;

	if (argc < 4)
		return 2;
	int n = atoi(argv[1]);
	size_t size = (size_t)atol(argv[2]);
	if (strcmp(argv[3], "stdin") == 0 && read(0, &c, 1) != 1)
		return 1;
	bpfkit_leaky_function(n, size);
	bpfkit_tidy_function(2 * n, size);
	if (argc > 4 && strcmp(argv[4], "mix") == 0)
		bpfkit_mixed_function(n);
	if (argc > 4 && strcmp(argv[4], "prefixed") == 0)
		bpfkit_prefixed_function(n, size);
	if (write(1, "leaked\n", 7) != 7)
		return 1;
	if (strcmp(argv[3], "exit") == 0) {
		usleep(300 * 1000);
		return 0;
	}
	for (;;)
		pause();
}
"#;

/// The compiled program, built once (see `common::compile_c`).
fn leaky_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| common::compile_c("leaky", LEAKY_C, "-O0"))
}

/// A running leaky program, killed on drop.
struct Leaky {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Leaky {
    /// Started in `stdin` mode: it leaks once [`go`](Self::go) is called.
    fn start(n: u32, size: u32) -> Leaky {
        Self::start_with(&[&n.to_string(), &size.to_string(), "stdin"])
    }

    fn start_with(args: &[&str]) -> Leaky {
        let mut child = Command::new(leaky_bin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the leaky program");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Leaky {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Lets it allocate, and returns once it has.
    fn go(&mut self) {
        let mut stdin = self.stdin.take().expect("go called once");
        stdin.write_all(b"g").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "leaked\n");
    }
}

impl Drop for Leaky {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Default, Clone)]
struct Stack {
    bytes: u64,
    count: u64,
    /// (address, size) from `-a`.
    allocs: Vec<(String, u64)>,
    /// Frame lines without their index and tab.
    frames: Vec<String>,
}

impl Stack {
    fn has_frame(&self, name: &str) -> bool {
        self.frames
            .iter()
            .any(|f| f.contains(&format!(" {name}+0x")))
    }
}

#[derive(Debug, Default, Clone)]
struct Report {
    shown: usize,
    stacks: Vec<Stack>,
}

/// Parses the table output, checking each line's shape on the way.
fn reports(lines: &[String]) -> Vec<Report> {
    let mut out: Vec<Report> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (time, rest) = rest.split_once("] Top ").expect(line);
            assert!(
                time.len() == 8 && time.as_bytes()[2] == b':' && time.as_bytes()[5] == b':',
                "{line}"
            );
            let n = rest
                .strip_suffix(" stacks with outstanding allocations:")
                .expect(line);
            out.push(Report {
                shown: n.parse().unwrap(),
                stacks: Vec::new(),
            });
            continue;
        }
        let report = out.last_mut().expect("a line before any report header");
        // As libbpf-tools: a stack's totals start the line, the rest is
        // indented by a tab.
        if let Some(rest) = line.strip_suffix(" allocations from stack") {
            let (bytes, count) = rest.split_once(" bytes in ").expect(line);
            report.stacks.push(Stack {
                bytes: bytes.parse().unwrap(),
                count: count.parse().unwrap(),
                ..Default::default()
            });
            continue;
        }
        let body = line
            .strip_prefix('\t')
            .unwrap_or_else(|| panic!("{line:?}"));
        if let Some(rest) = body.strip_prefix("addr = ") {
            let (addr, size) = rest.split_once(" size = ").expect(line);
            assert!(addr.starts_with("0x"), "{line}");
            let stack = report.stacks.last_mut().expect(line);
            stack.allocs.push((addr.to_string(), size.parse().unwrap()));
        } else {
            // `N [<16 hex digits>] symbol…`
            let (idx, frame) = body.split_once(' ').expect(line);
            let stack = report.stacks.last_mut().expect(line);
            assert_eq!(idx.parse::<usize>().unwrap(), stack.frames.len(), "{line}");
            let addr = frame
                .strip_prefix("[<")
                .and_then(|f| f.get(..16))
                .expect(line);
            assert!(addr.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
            assert_eq!(&frame[18..21], ">] ", "{line}");
            stack.frames.push(frame.to_string());
        }
    }
    for r in &out {
        assert_eq!(r.shown, r.stacks.len(), "{r:?}");
        for w in r.stacks.windows(2) {
            assert!(w[0].bytes >= w[1].bytes, "not sorted by bytes: {r:?}");
        }
    }
    out
}

/// Runs `memleak args…` (which must end by itself, through a count)
/// while `during` runs, and returns its parsed output.
fn run_with(args: &[&str], during: impl FnOnce()) -> (Finished, Vec<Report>) {
    let tool = Tool::start("memleak", args);
    during();
    let fin = tool.wait();
    assert!(fin.status.success(), "memleak {args:?}: {fin:?}");
    let r = if args.contains(&"--json") {
        Vec::new()
    } else {
        reports(&fin.stdout)
    };
    (fin, r)
}

/// The last report's stack from the leaky function.
fn leak_stack(reports: &[Report]) -> Option<Stack> {
    reports
        .last()?
        .stacks
        .iter()
        .find(|s| s.has_frame(LEAKY_FN))
        .cloned()
}

#[test]
fn leaked_bytes_and_stack_are_reported() {
    let mut leaky = Leaky::start(50, 4321);
    let pid = leaky.pid();
    let (fin, reports) = run_with(&["-p", &pid, "1", "3"], || leaky.go());
    assert_eq!(
        reports.len(),
        3,
        "one report per interval: {:?}",
        fin.stdout
    );
    let last = reports.last().unwrap();
    let top = &last.stacks[0];
    assert!(top.has_frame(LEAKY_FN), "top stack: {top:?}");
    assert_eq!((top.bytes, top.count), (50 * 4321, 50), "{top:?}");
    // Frame 0 is the caller of malloc, in the program, with its source line.
    assert!(
        top.frames[0].contains(&format!("] {LEAKY_FN}+0x")) && top.frames[0].contains("leaky.c:"),
        "{top:?}"
    );
    assert!(top.frames.iter().any(|f| f.contains(" main+0x")), "{top:?}");
    // Everything the tidy function allocated was freed again.
    assert!(
        last.stacks.iter().all(|s| !s.has_frame(TIDY_FN)),
        "freed allocations reported: {last:?}"
    );
    // Without -a no addresses are listed.
    assert!(top.allocs.is_empty());
}

#[test]
fn every_allocator_is_traced() {
    let mut leaky = Leaky::start_with(&["12", "4321", "stdin", "mix"]);
    let pid = leaky.pid();
    let (fin, reports) = run_with(&["-T", "100", "-p", &pid, "1", "2"], || leaky.go());
    let last = reports.last().unwrap();
    let mixed: Vec<&Stack> = last
        .stacks
        .iter()
        .filter(|s| s.has_frame(MIXED_FN))
        .collect();
    for (allocator, size) in MIXED_SIZES {
        assert!(
            mixed.iter().any(|s| s.bytes == 12 * size && s.count == 12),
            "{allocator}: no stack with 12 x {size} bytes: {:?}",
            fin.stdout
        );
    }
    // realloc freed its malloc(10); munmap undid the second mmap.
    assert_eq!(mixed.len(), MIXED_SIZES.len(), "{mixed:?}");
}

#[test]
fn symbols_prefix_traces_another_allocator() {
    let mut leaky = Leaky::start_with(&["15", "4000", "stdin", "prefixed"]);
    let pid = leaky.pid();
    let bin = leaky_bin().display().to_string();
    let args = ["-S", "bk_", "-O", &bin, "-T", "100", "-p", &pid, "1", "2"];
    let (fin, reports) = run_with(&args, || leaky.go());
    let last = reports.last().expect("a report");
    let s = last
        .stacks
        .iter()
        .find(|s| s.has_frame(PREFIXED_FN))
        .unwrap_or_else(|| panic!("no bk_malloc leak: {:?}", fin.stdout));
    assert_eq!((s.bytes, s.count), (15 * 4001, 15), "{s:?}");
    // libc's malloc is not traced: the plain leak is not seen.
    assert!(leak_stack(&reports).is_none(), "{:?}", fin.stdout);
}

#[test]
fn sample_rate_skips_allocations() {
    let mut leaky = Leaky::start(200, 4321);
    let pid = leaky.pid();
    // One allocation in a million (by the clock's nanoseconds).
    let (fin, reports) = run_with(&["-s", "1000000", "-p", &pid, "1", "2"], || leaky.go());
    let seen = leak_stack(&reports).map_or(0, |s| s.count);
    assert!(seen < 10, "{seen} of 200 sampled: {:?}", fin.stdout);
}

#[test]
fn trace_prints_each_call_to_the_trace_buffer() {
    const SIZE: &str = "54321";
    let mut leaky = Leaky::start(7, 54321);
    let pid = leaky.pid();
    let (_fin, reports) = run_with(&["-t", "-p", &pid, "1", "2"], || leaky.go());
    assert!(leak_stack(&reports).is_some());
    // bpf_printk lines, `leaky-PID [CPU] ... alloc entered, size = 54321`.
    let trace = std::fs::read_to_string("/sys/kernel/tracing/trace").unwrap();
    let ours = |what: &str| {
        trace
            .lines()
            .filter(|l| l.contains(&format!("-{pid} ")) && l.contains(what))
            .count()
    };
    assert!(
        ours(&format!("alloc entered, size = {SIZE}")) >= 7,
        "{trace}"
    );
    assert!(
        ours(&format!("alloc exited, size = {SIZE}")) >= 7,
        "{trace}"
    );
    assert!(ours("free entered") >= 7, "{trace}");
}

#[test]
fn uprobes_attach_as_multi_links_where_the_kernel_can() {
    // Each way: the note says which, and the leak is traced.
    let multi = bpfkit::funcprobes::multi_supported();
    for (force_single, expect) in [
        (
            "0",
            if multi {
                "2 uprobe_multi links"
            } else {
                "single uprobes"
            },
        ),
        ("1", "single uprobes"),
    ] {
        let mut leaky = Leaky::start(9, 2468);
        let pid = leaky.pid();
        let env = [(bpfkit::funcprobes::FORCE_SINGLE_ENV, force_single)];
        let tool = Tool::start_env("memleak", &["-p", &pid, "1", "2"], &env);
        leaky.go();
        let fin = tool.wait();
        assert!(fin.status.success(), "{fin:?}");
        let note = fin
            .stderr
            .iter()
            .find(|l| l.contains("functions traced with"))
            .unwrap_or_else(|| panic!("no attach note: {fin:?}"));
        assert!(note.contains(expect), "{note}");
        let s = leak_stack(&reports(&fin.stdout)).expect("leak reported");
        assert_eq!((s.bytes, s.count), (9 * 2468, 9), "{s:?}");
    }
}

#[test]
fn pprof_file_has_the_leak_in_use() {
    let file = std::env::temp_dir().join(format!("{}.pb.gz", common::unique("memleak-pprof")));
    let path = file.display().to_string();
    let mut leaky = Leaky::start(40, 5000);
    let pid = leaky.pid();
    let (_fin, reports) = run_with(&["--pprof", &path, "-p", &pid, "1", "2"], || leaky.go());
    assert!(leak_stack(&reports).is_some());
    let space = common::pprof_top(&file, &["-sample_index=inuse_space"]);
    let objects = common::pprof_top(&file, &["-sample_index=inuse_objects"]);
    let _ = std::fs::remove_file(&file);
    for (top, want) in [(&space, "195.31kB"), (&objects, "40 ")] {
        let row = top
            .iter()
            .find(|l| l.ends_with(LEAKY_FN))
            .unwrap_or_else(|| panic!("no {LEAKY_FN} row: {top:?}"));
        // The leaky function holds them itself (flat): 40 x 5000 bytes.
        assert!(row.trim_start().starts_with(want), "{row} (of {top:?})");
    }
}

#[test]
fn show_allocs_lists_each_allocation() {
    let mut leaky = Leaky::start(20, 3333);
    let pid = leaky.pid();
    let (_fin, reports) = run_with(&["-a", "-p", &pid, "1", "2"], || leaky.go());
    let s = leak_stack(&reports).expect("leak reported");
    assert_eq!((s.bytes, s.count), (20 * 3333, 20), "{s:?}");
    assert_eq!(s.allocs.len(), 20, "{s:?}");
    assert!(s.allocs.iter().all(|(_, size)| *size == 3333), "{s:?}");
    let mut addrs: Vec<&String> = s.allocs.iter().map(|(a, _)| a).collect();
    addrs.dedup();
    assert_eq!(addrs.len(), 20, "addresses are distinct: {s:?}");
}

#[test]
fn size_and_age_filters() {
    let mut leaky = Leaky::start(30, 4321);
    let pid = leaky.pid();
    let runs: [(&[&str], bool); 5] = [
        (&["-z", "4321", "-Z", "4321"], true),
        (&["-z", "4322"], false),
        (&["-Z", "4320"], false),
        // The leak is younger than a minute.
        (&["-o", "60000"], false),
        (&["-o", "1"], true),
    ];
    // Each tool reports every second until stopped, so all of them are
    // still running when the leak happens however slow their start (a TCG VM).
    let tools: Vec<Tool> = runs
        .iter()
        .map(|(flags, _)| {
            let mut a = vec!["-p", &pid];
            a.extend_from_slice(flags);
            a.push("1");
            Tool::start("memleak", &a)
        })
        .collect();
    leaky.go();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    for ((flags, sees), tool) in runs.iter().zip(tools) {
        // SIGINT prints a last report, made after the leak.
        let fin = tool.stop();
        assert!(fin.status.success(), "{flags:?}: {fin:?}");
        let r = reports(&fin.stdout);
        assert!(!r.is_empty(), "{flags:?}: {:?}", fin.stdout);
        match leak_stack(&r) {
            Some(s) if *sees => assert_eq!((s.bytes, s.count), (30 * 4321, 30), "{flags:?}"),
            None if !*sees => {}
            other => panic!("{flags:?}: expected leak shown = {sees}, got {other:?}"),
        }
    }
}

#[test]
fn pid_filter_ignores_other_processes() {
    let mut traced = Leaky::start(10, 4321);
    let mut other = Leaky::start(7, 777);
    let pid = traced.pid();
    let (_fin, reports) = run_with(&["-p", &pid, "1", "2"], || {
        traced.go();
        other.go();
    });
    let s = leak_stack(&reports).expect("traced leak reported");
    assert_eq!((s.bytes, s.count), (10 * 4321, 10));
    // The other process's 7 x 777 bytes come from the same function.
    assert!(
        reports
            .iter()
            .flat_map(|r| &r.stacks)
            .all(|s| s.bytes != 7 * 777),
        "{reports:?}"
    );
}

#[test]
fn combined_only_totals_per_stack() {
    let mut leaky = Leaky::start(40, 1111);
    let pid = leaky.pid();
    let (_fin, reports) = run_with(&["-C", "-p", &pid, "1", "2"], || leaky.go());
    let s = leak_stack(&reports).expect("leak reported");
    assert_eq!((s.bytes, s.count), (40 * 1111, 40), "{s:?}");
    assert!(
        reports
            .last()
            .unwrap()
            .stacks
            .iter()
            .all(|s| !s.has_frame(TIDY_FN)),
        "{reports:?}"
    );
}

#[test]
fn json_output() {
    let mut leaky = Leaky::start(50, 4321);
    let pid = leaky.pid();
    let (fin, _) = run_with(&["--json", "-a", "-p", &pid, "1", "2"], || leaky.go());
    fin.assert_json_only();
    let objs: Vec<Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2, "one object per interval: {objs:?}");
    let last = objs.last().unwrap();
    assert_eq!(last["time"].as_str().map(str::len), Some(8), "{last}");
    let stacks = last["stacks"].as_array().unwrap();
    let top = &stacks[0];
    assert_eq!(top["bytes"], 50 * 4321, "{top}");
    assert_eq!(top["count"], 50, "{top}");
    assert!(top["stack_id"].as_u64().is_some(), "{top}");
    let frames = top["frames"].as_array().unwrap();
    let f0 = &frames[0];
    assert_eq!(f0["symbol"], LEAKY_FN, "{top}");
    assert!(f0["addr"].as_str().unwrap().starts_with("0x"), "{f0}");
    assert!(f0["offset"].as_u64().is_some(), "{f0}");
    assert_eq!(f0["module"], "leaky", "{f0}");
    assert!(f0["file"].as_str().unwrap().ends_with("leaky.c"), "{f0}");
    assert!(f0["line"].as_u64().unwrap() > 0, "{f0}");
    let allocs = top["allocations"].as_array().unwrap();
    assert_eq!(allocs.len(), 50);
    assert!(allocs.iter().all(|a| a["bytes"] == 4321), "{top}");
}

/// The pid memleak reports on stderr for `-c`.
fn attached_pid(fin: &Finished) -> i32 {
    fin.stderr
        .iter()
        .find_map(|l| l.strip_prefix("Attaching to pid "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no 'Attaching to pid' line: {fin:?}"))
}

#[test]
fn command_is_started_and_traced_from_its_first_allocation() {
    let cmd = format!("{} 25 2222 now", leaky_bin().display());
    let tool = Tool::start("memleak", &["-c", &cmd, "1", "2"]);
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    // The command's own output passes through.
    let (program, ours): (Vec<String>, Vec<String>) =
        fin.stdout.iter().cloned().partition(|l| l == "leaked");
    assert_eq!(program.len(), 1, "{fin:?}");
    let reports = reports(&ours);
    let s = leak_stack(&reports).expect("leak of the command reported");
    assert_eq!((s.bytes, s.count), (25 * 2222, 25), "{s:?}");
    // memleak ends the command it started and reaps it.
    let pid = attached_pid(&fin);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "command {pid} left behind"
    );
}

#[test]
fn command_exit_ends_tracing() {
    let cmd = format!("{} 5 100 exit", leaky_bin().display());
    // A 600 s interval and no count: only the command's exit can end it
    // within wait()'s timeout (which fails the test otherwise). No tighter
    // bound: the final report's symbolization takes seconds in a TCG guest.
    let tool = Tool::start("memleak", &["-c", &cmd, "600"]);
    let fin = tool.wait();
    assert!(fin.status.success(), "{fin:?}");
    // The final report is printed (after the command's own line), its
    // stacks named from the maps the command had.
    let ours: Vec<String> = fin
        .stdout
        .iter()
        .filter(|l| *l != "leaked")
        .cloned()
        .collect();
    let reports = reports(&ours);
    assert_eq!(reports.len(), 1, "{fin:?}");
    let s = leak_stack(&reports).unwrap_or_else(|| panic!("leak not named: {fin:?}"));
    assert_eq!((s.bytes, s.count), (500, 5), "{s:?}");
}

#[test]
fn command_gets_default_sigpipe() {
    // Rust ignores SIGPIPE, and an ignored signal stays ignored across exec:
    // the command must get it back at its default, so `yes | head` ends
    // with `yes` killed by SIGPIPE (status 141), not exiting on EPIPE (1).
    let status_file = std::env::temp_dir().join(common::unique("memleak-sigpipe"));
    let cmd = format!(
        "sh -c '{{ yes; echo $? > {}; }} | head -c1 > /dev/null'",
        status_file.display()
    );
    let fin = Tool::start("memleak", &["-c", &cmd, "600"]).wait();
    assert!(fin.status.success(), "{fin:?}");
    let status = std::fs::read_to_string(&status_file).unwrap_or_default();
    let _ = std::fs::remove_file(&status_file);
    assert_eq!(status.trim(), "141", "yes did not die of SIGPIPE: {fin:?}");
}

#[test]
fn command_with_json_keeps_stdout_json() {
    let cmd = format!("{} 5 100 now", leaky_bin().display());
    let tool = Tool::start("memleak", &["--json", "-c", &cmd, "1", "1"]);
    let fin = tool.wait();
    fin.assert_json_only();
    assert_eq!(fin.stdout.len(), 1, "{fin:?}");
    // The command's output went to stderr instead.
    assert!(fin.stderr.iter().any(|l| l == "leaked"), "{fin:?}");
    let v: Value = serde_json::from_str(&fin.stdout[0]).unwrap();
    let leak = v["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["bytes"] == 500)
        .unwrap_or_else(|| panic!("no 5 x 100 byte stack: {v}"));
    assert_eq!(leak["count"], 5);
    assert_eq!(leak["frames"][0]["symbol"], LEAKY_FN, "{leak}");
}

#[test]
fn bad_command_is_a_clear_error() {
    let fin = common::run("memleak", &["-c", "bpfkit-no-such-program --x", "1", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("bpfkit-no-such-program") && l.contains("not found")),
        "{fin:?}"
    );
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error("memleak");
}

#[test]
fn allocator_object_option() {
    let mut leaky = Leaky::start(10, 4321);
    let pid = leaky.pid();
    let (_fin, reports) = run_with(&["-O", "libc.so.6", "-p", &pid, "1", "2"], || leaky.go());
    let s = leak_stack(&reports).expect("leak reported");
    assert_eq!((s.bytes, s.count), (10 * 4321, 10));
    // A library without an allocator.
    let fin = common::run("memleak", &["-O", "libm.so.6", "-p", &pid, "1", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("no function malloc")),
        "{fin:?}"
    );
    let fin = common::run(
        "memleak",
        &["-O", "/nonexistent/libx.so", "-p", &pid, "1", "1"],
    );
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(
        fin.stderr
            .iter()
            .any(|l| l.contains("/nonexistent/libx.so")),
        "{fin:?}"
    );
}

#[test]
fn options_of_the_other_mode_are_usage_errors() {
    let me = std::process::id().to_string();
    for args in [
        &["-O", "libc", "1", "1"][..],
        &["-S", "je_", "1", "1"],
        &["-P", "-p", &me, "1", "1"],
        &["-P", "-c", "true", "1", "1"],
    ] {
        let fin = common::run("memleak", args);
        assert_eq!(fin.status.code(), Some(2), "{args:?}: {fin:?}");
    }
}

#[test]
fn kernel_thread_pid_is_an_error() {
    // kthreadd: no user memory, no libc; attaching would trace nothing.
    let fin = common::run("memleak", &["-p", "2", "1", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(fin.stderr.len(), 1, "{fin:?}");
    assert!(
        fin.stderr[0].contains("no user memory") && fin.stderr[0].contains("without -p"),
        "{fin:?}"
    );
}

#[test]
fn min_above_max_is_an_error() {
    let fin = common::run("memleak", &["-z", "10", "-Z", "5", "1", "1"]);
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert!(fin.stderr.iter().any(|l| l.contains("min size")), "{fin:?}");
}

#[test]
fn percpu_allocations_with_percpu_flag() {
    use libbpf_rs::{MapHandle, MapType};
    const MAPS: usize = 40;
    // Per-CPU array maps: each one a percpu allocation held until closed.
    let mut held = Vec::new();
    let (fin, reports) = run_with(&["-P", "-F", "-T", "10000", "1", "2"], || {
        for _ in 0..MAPS {
            let opts = libbpf_sys::bpf_map_create_opts {
                sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as _,
                ..Default::default()
            };
            let map = MapHandle::create(MapType::PercpuArray, None::<&str>, 4, 8, 1, &opts)
                .expect("creating a per-CPU map");
            held.push(map);
        }
    });
    let last = reports.last().expect("a report");
    let percpu = last
        .stacks
        .iter()
        .filter(|s| s.frames.iter().any(|f| f.contains("pcpu_alloc")))
        .max_by_key(|s| s.count)
        .unwrap_or_else(|| panic!("no percpu allocation stack: {:?}", fin.stdout));
    assert!(percpu.count >= MAPS as u64, "{percpu:?}");
    assert!(
        percpu
            .frames
            .iter()
            .any(|f| f.contains("alloc_percpu") || f.contains("array_map_alloc")),
        "{percpu:?}"
    );
    drop(held);
}

/// The object size of the UDP socket slab (what kmem_cache_alloc reports
/// as bytes_alloc for a UDP socket), if /proc/slabinfo shows it.
fn udp_slab_size() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    text.lines()
        .find(|l| l.split_whitespace().next() == Some("UDP"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|s| s.parse().ok())
}

/// Lifts this process's open-file limit to at least `n` (up to the hard
/// limit): a VM's default soft limit of 1024 is below the sockets held.
fn raise_fd_limit(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < n {
            lim.rlim_cur = n.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[test]
fn kernel_mode_names_kernel_stacks() {
    const SOCKETS: usize = 2000;
    // Only allocations of a UDP socket's size, where slabinfo tells it:
    // page faults elsewhere on the machine would otherwise fill the top.
    let size = udp_slab_size().map(|s| s.to_string());
    let mut args: Vec<&str> = Vec::new();
    if let Some(s) = &size {
        args.extend(["-z", s, "-Z", s, "-T", "5"]);
    } else {
        args.extend(["-T", "10000"]);
    }
    args.extend(["1", "2"]);
    raise_fd_limit(SOCKETS as u64 + 100);
    let mut held = Vec::new();
    let (fin, reports) = run_with(&args, || {
        for _ in 0..SOCKETS {
            held.push(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
        }
    });
    let last = reports.last().expect("a report");
    assert!(!last.stacks.is_empty(), "{:?}", fin.stdout);
    // Kernel frames are named: `[<ffff…>] function+0x…`, no module.
    let named = last
        .stacks
        .iter()
        .flat_map(|s| &s.frames)
        .filter(|f| f.starts_with("[<ffff") && f.contains("+0x"))
        .count();
    assert!(named > 0, "{:?}", fin.stdout);
    // The sockets held open: one stack through sk_alloc with all of them.
    // (Without a slab size to filter on, e.g. where slab merging hides the
    // UDP cache, slab page refills through sk_alloc show up too: take the
    // stack with the most allocations, the per-socket one.)
    let socks = last
        .stacks
        .iter()
        .filter(|s| s.has_frame("sk_alloc"))
        .max_by_key(|s| s.count)
        .unwrap_or_else(|| panic!("no sk_alloc stack: {:?}", fin.stdout));
    assert!(socks.count >= SOCKETS as u64, "{socks:?}");
    if let Some(s) = &size {
        assert_eq!(socks.bytes, socks.count * s.parse::<u64>().unwrap());
    }
    drop(held);
}

#[test]
fn lifecycle() {
    let leaky = Leaky::start(1, 10);
    lifecycle_checks("memleak", &["-p", &leaky.pid(), "1"], || {});
}
