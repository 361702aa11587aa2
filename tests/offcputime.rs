//! offcputime against threads of this test that block in a known way for a
//! known time: a named thread sleeping in nanosleep(2), another reading a
//! pipe that is written only later. The tool traces this process (-p) or
//! that thread (-t), so other activity cannot make a test pass or fail.
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use common::{Finished, Tool, lifecycle_checks, thread_name};
use serde_json::Value;

/// How long each blocking thread blocks, µs.
const BLOCK_US: u64 = 300_000;
/// The least off-CPU time two such sleeps can show: the switch-out comes a
/// moment after nanosleep armed its timer (3.2 ms of 600 under emulation).
const TWO_SLEEPS_US: u64 = 2 * BLOCK_US * 95 / 100;

fn our_pid() -> String {
    std::process::id().to_string()
}

/// A thread named `name` that sleeps BLOCK_US twice; returns its tid.
fn sleeper(name: &str) -> (thread::JoinHandle<()>, u32) {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            tx.send(nix::unistd::gettid().as_raw() as u32).unwrap();
            for _ in 0..2 {
                thread::sleep(Duration::from_micros(BLOCK_US));
            }
        })
        .unwrap();
    (h, rx.recv().unwrap())
}

/// Runs the tool with `args` while a sleeper named `name` sleeps, then
/// stops it (SIGINT prints the report).
///
/// Every thread of this test process puts its stacks into the tool's stack
/// map, and a stack whose hash bucket another stack holds is lost (the tool
/// warns, as libbpf-tools does). With the default 1024 buckets a 6.12 guest
/// lost the sleeper's kernel stack; a larger map makes that rare, and a run
/// that still reports a collision is run again.
fn trace_sleeper(args: &[&str], env: &[(&str, &str)], name: &str) -> Finished {
    let args = [args, &["--stack-storage-size", "32768"]].concat();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let tool = Tool::start_env("offcputime", &args, env);
        let (h, _) = sleeper(name);
        h.join().unwrap();
        // Its last wake-up has been counted once it runs again: it has exited.
        let fin = tool.stop();
        assert!(fin.status.success(), "{fin:?}");
        if attempt == 3 || !fin.stderr.iter().any(|l| l.contains("hash collisions")) {
            return fin;
        }
    }
}

/// (stack, µs) of each folded line, checking the shape.
fn folded(lines: &[String]) -> Vec<(String, u64)> {
    lines
        .iter()
        .map(|l| {
            let (stack, us) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l:?}"));
            let us: u64 = us.parse().unwrap_or_else(|_| panic!("µs in {l:?}"));
            assert!(us > 0, "{l:?}");
            (stack.to_string(), us)
        })
        .collect()
}

/// The folded lines of thread `name` whose stack names `function`: their
/// total µs.
fn total_in(lines: &[(String, u64)], name: &str, function: &str) -> u64 {
    lines
        .iter()
        .filter(|(s, _)| s.starts_with(&format!("{name};")) && s.contains(function))
        .map(|(_, us)| us)
        .sum()
}

#[test]
fn folded_line_names_the_sleeping_thread() {
    let name = thread_name("ocs");
    let fin = trace_sleeper(&["-f", "-p", &our_pid()], &[], &name);
    assert!(
        fin.stderr.iter().any(|l| l == "using tp_btf"),
        "{:?}",
        fin.stderr
    );
    let lines = folded(&fin.stdout);
    for w in lines.windows(2) {
        assert!(w[0].1 >= w[1].1, "not sorted: {lines:?}");
    }
    let us = total_in(&lines, &name, "nanosleep");
    assert!(us >= TWO_SLEEPS_US, "{us} µs: {lines:?}");
    // Its kernel stack ends in the scheduler.
    let own: Vec<_> = lines.iter().filter(|(s, _)| s.starts_with(&name)).collect();
    assert!(
        own.iter()
            .any(|(s, _)| s.contains("nanosleep;") && s.contains(";schedule")),
        "{own:?} {:?}",
        fin.stderr
    );
}

#[test]
fn raw_tp_fallback() {
    let name = thread_name("ocr");
    let fin = trace_sleeper(&["-f", "-p", &our_pid()], &[("BPFKIT_RAW_TP", "1")], &name);
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "using raw_tp (BPFKIT_RAW_TP=1)"),
        "{:?}",
        fin.stderr
    );
    let us = total_in(&folded(&fin.stdout), &name, "nanosleep");
    assert!(us >= TWO_SLEEPS_US, "{us} µs: {:?}", fin.stdout);
}

#[test]
fn thread_filter_kernel_stacks_of_a_socket_read() {
    // A thread blocked reading a socket pair, written only later.
    let name = thread_name("ocp");
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let mut buf = [0u8; 1];
            // Wait for "go" (the tool is attached), then block again.
            b.read_exact(&mut buf).unwrap();
            b.read_exact(&mut buf).unwrap();
        })
        .unwrap();
    let tid = rx.recv().unwrap().to_string();
    let tool = Tool::start("offcputime", &["-f", "-K", "-t", &tid]);
    a.write_all(b"g").unwrap();
    // It blocks again within a moment of reading "g": 2 × BLOCK_US later,
    // it has surely been blocked BLOCK_US.
    thread::sleep(Duration::from_micros(2 * BLOCK_US));
    a.write_all(b"x").unwrap();
    reader.join().unwrap();
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    let lines = folded(&fin.stdout);
    assert!(!lines.is_empty(), "{fin:?}");
    for (stack, _) in &lines {
        assert!(
            stack.starts_with(&format!("{name};")),
            "other thread: {stack}"
        );
    }
    let us = total_in(&lines, &name, "unix_stream_read");
    assert!(us >= BLOCK_US, "{us} µs: {lines:?}");
    // -K: kernel frames only, the syscall entry outermost.
    let (stack, _) = lines
        .iter()
        .find(|(s, _)| s.contains("unix_stream_read"))
        .unwrap();
    let first = stack.split(';').nth(1).unwrap();
    assert!(
        first.starts_with("entry_SYSCALL") || first.contains("syscall"),
        "{stack}"
    );
}

#[test]
fn default_output_is_libbpf_tools_multiline() {
    let name = thread_name("ocm");
    let fin = trace_sleeper(&["-p", &our_pid()], &[], &name);
    let out = &fin.stdout;
    let pid = our_pid();
    let trailer = out
        .iter()
        .position(|l| l.starts_with("    -  ") && l.ends_with(&format!(" {name} ({pid})")))
        .unwrap_or_else(|| panic!("no `-  {name} ({pid})` line: {out:?}"));
    let start = out[..trailer]
        .iter()
        .rposition(String::is_empty)
        .map_or(0, |i| i + 1);
    assert!(
        out[start..trailer].iter().any(|l| l.contains("nanosleep")),
        "{:?}",
        &out[start..trailer]
    );
    let us: u64 = out[trailer + 1].trim().parse().unwrap();
    assert!(us > 0);
    assert_eq!(out[trailer + 2], "");
}

#[test]
fn json_stacks_and_time() {
    let name = thread_name("ocj");
    let fin = trace_sleeper(&["--json", "-p", &our_pid()], &[], &name);
    fin.assert_json_only();
    let ours: Vec<Value> = fin
        .stdout
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["comm"] == name.as_str())
        .collect();
    assert!(!ours.is_empty(), "{fin:?}");
    let sleeping: u64 = ours
        .iter()
        .filter(|v| {
            v["kernel_stack"].as_array().into_iter().flatten().any(|f| {
                f["symbol"]
                    .as_str()
                    .is_some_and(|s| s.contains("nanosleep"))
            })
        })
        .map(|v| v["time_us"].as_u64().unwrap())
        .sum();
    assert!(sleeping >= TWO_SLEEPS_US, "{ours:?}");
    for v in &ours {
        assert_eq!(v["pid"], std::process::id(), "{v}");
    }
}

#[test]
fn block_time_limits() {
    // -m: only blocks longer than 10 s; -M: only blocks shorter than 1 ms.
    for limit in [["-m", "10000000"], ["-M", "1000"]] {
        let name = thread_name("ocl");
        let mut args = vec!["-f", "-p"];
        let pid = our_pid();
        args.push(&pid);
        args.extend(limit);
        let fin = trace_sleeper(&args, &[], &name);
        let lines = folded(&fin.stdout);
        assert_eq!(
            total_in(&lines, &name, "nanosleep"),
            0,
            "{limit:?}: {lines:?}"
        );
    }
}

#[test]
fn pprof_file_parses() {
    let file = std::env::temp_dir().join(format!("{}.pb.gz", common::unique("offcpu-pprof")));
    let path = file.display().to_string();
    let name = thread_name("ocg");
    let fin = trace_sleeper(&["-K", "-p", &our_pid(), "--pprof", &path], &[], &name);
    let top = common::pprof_top(&file, &["-tagfocus", &format!("comm={name}")]);
    let _ = std::fs::remove_file(&file);
    assert!(top.iter().any(|l| l == "Type: off_cpu"), "{top:?}");
    // Its samples are the sleeper's: their total is at least its sleep.
    assert!(
        top.iter().any(|l| l.contains("nanosleep")),
        "{top:?} {fin:?}"
    );
    let total = top
        .iter()
        .find_map(|l| {
            l.split(" of ")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
        })
        .unwrap_or_else(|| panic!("no total: {top:?}"));
    let secs = parse_pprof_secs(total).unwrap_or_else(|| panic!("{total}"));
    assert!(secs >= TWO_SLEEPS_US as f64 / 1e6, "{top:?}");
}

/// `go tool pprof`'s durations: `600.12ms`, `1.20s`, `950us`.
fn parse_pprof_secs(s: &str) -> Option<f64> {
    for (unit, scale) in [("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0)] {
        if let Some(n) = s.strip_suffix(unit) {
            return n.parse::<f64>().ok().map(|n| n * scale);
        }
    }
    None
}

#[test]
fn missing_pid_is_an_error() {
    common::assert_missing_pid_error("offcputime");
}

#[test]
fn lifecycle() {
    // -K: only kernel stacks to name (cheap, where a whole system's user
    // stacks under emulation are not); the report comes at the end.
    lifecycle_checks("offcputime", &["-K", "-f", "5"], || {
        thread::sleep(Duration::from_millis(5));
    });
}
