//! javagc against the real kernel: a small Java program, started by these
//! tests, calls System.gc() ten times a second; javagc must time those
//! collections for that JVM's pid.
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use common::{Tool, lifecycle_checks, run, unique};
use serde_json::json;

const PROGRAM: &str = r#"
public class BpfkitGc {
    public static void main(String[] args) throws Exception {
        // End with the test run: its end closes our stdin.
        Thread watch = new Thread(() -> {
            try { while (System.in.read() >= 0) { } } catch (Exception e) { }
            System.exit(0);
        });
        watch.setDaemon(true);
        watch.start();
        System.out.println("pid " + ProcessHandle.current().pid());
        System.out.flush();
        Object keep = null;
        while (true) {
            keep = new byte[1 << 20];
            System.gc();
            Thread.sleep(100);
        }
    }
}
"#;

/// The JVM the tests share (one start costs seconds of CPU): its pid.
fn jvm_pid() -> u32 {
    static JVM: OnceLock<(Mutex<Child>, u32)> = OnceLock::new();
    JVM.get_or_init(|| {
        common::setup();
        let dir = std::env::temp_dir().join(unique("bpfkit-javagc-"));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("BpfkitGc.java");
        std::fs::write(&src, PROGRAM).unwrap();
        // Source-launch mode (JDK 11+): no separate javac step.
        let mut child = Command::new("java")
            .args(["-Xmx128m", src.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "javagc tests need `java` (JDK 11+ with HotSpot USDT probes, e.g. Debian's \
                     default-jre-headless; scripts/deps.sh installs it): {e}"
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid: u32 = line
            .trim()
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the Java program did not print its pid: {line:?}"));
        (Mutex::new(child), pid)
    })
    .1
}

fn columns(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// A row `TIME CPU PID GC-TIME [POOL]` of process `pid`.
fn is_row_of(line: &str, pid: u32) -> bool {
    let c = columns(line);
    c.len() >= 4 && c[2] == pid.to_string() && c[3].parse::<u64>().is_ok()
}

#[test]
fn table_shows_gc_times_of_the_jvm() {
    let pid = jvm_pid();
    let tool = Tool::start("javagc", &["-p", &pid.to_string(), "-t", "0"]);
    let row = tool
        .wait_line(|l| is_row_of(l, pid))
        .unwrap_or_else(|| panic!("no GC row: {:?} {:?}", tool.lines(), tool.stderr_lines()));
    let c = columns(&row);
    assert_eq!(c.len(), 4, "{row}");
    assert_eq!(c[0].len(), 8, "HH:MM:SS: {row}");
    assert!(c[1].parse::<u32>().is_ok(), "CPU: {row}");
    assert!(c[3].parse::<u64>().unwrap() > 0, "GC time in µs: {row}");
    // libbpf-tools' layout: %-8s %-7d %-7d %-7lld.
    assert_eq!(
        &row[9..],
        format!("{:<7} {:<7} {:<7}", c[1], pid, c[3]),
        "{row}"
    );
    let fin = tool.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(fin.stdout[0], "TIME     CPU     PID     GC TIME");
    assert!(
        fin.stdout.iter().skip(1).all(|l| is_row_of(l, pid)),
        "only rows of pid {pid}: {:?}",
        fin.stdout
    );
}

#[test]
fn json_fields() {
    let pid = jvm_pid();
    let tool = Tool::start("javagc", &["-p", &pid.to_string(), "-t", "0", "--json"]);
    let v = tool.expect_json("pid", &json!(pid));
    assert_eq!(v["probe"], json!("gc"));
    assert!(v["gc_time_us"].as_u64().unwrap() > 0, "{v}");
    // System.gc() is a full collection (no -XX:+ExplicitGCInvokesConcurrent).
    assert_eq!(v["full"], json!(true), "{v}");
    assert!(v["cpu"].is_u64() && v["tid"].is_u64(), "{v}");
    assert_eq!(v["time"].as_str().unwrap().len(), 8);
    tool.stop().assert_json_only();
}

#[test]
fn pools_add_a_row_per_memory_pool() {
    let pid = jvm_pid();
    let tool = Tool::start("javagc", &["-p", &pid.to_string(), "-t", "0", "--pools"]);
    // Every collector has an Eden space ("G1 Eden Space", "Eden Space").
    let row = tool.expect_line("Eden Space");
    assert!(is_row_of(&row, pid), "{row}");
    // ... and the whole collection's row, with "-" for the pool.
    let whole = tool
        .wait_line(|l| is_row_of(l, pid) && l.ends_with(" -"))
        .expect("a whole-collection row");
    assert_eq!(columns(&whole).len(), 5, "{whole}");
    let fin = tool.stop();
    assert!(
        fin.stdout[0].ends_with("GC TIME POOL"),
        "{:?}",
        fin.stdout[0]
    );

    let tool = Tool::start(
        "javagc",
        &["-p", &pid.to_string(), "-t", "0", "--pools", "--json"],
    );
    let v = tool.expect_json("probe", &json!("mem_pool"));
    assert_eq!(v["pid"], json!(pid));
    assert!(!v["manager"].as_str().unwrap().is_empty(), "{v}");
    assert!(!v["pool"].as_str().unwrap().is_empty(), "{v}");
    tool.stop().assert_json_only();
}

#[test]
fn threshold_hides_shorter_collections() {
    let pid = jvm_pid().to_string();
    // Both watch the same collections: only the one without a threshold sees them.
    let slow = Tool::start("javagc", &["-p", &pid, "-t", "10000000"]);
    let all = Tool::start("javagc", &["-p", &pid, "-t", "0"]);
    all.expect_line(&format!(" {pid} "));
    // A few more collections for the thresholded one to (not) report.
    thread::sleep(Duration::from_millis(500));
    let fin = all.stop();
    assert!(fin.stdout.len() > 2, "{fin:?}");
    let fin = slow.stop();
    assert!(fin.status.success(), "{fin:?}");
    assert_eq!(fin.stdout.len(), 1, "only the header: {:?}", fin.stdout);
}

#[test]
fn not_a_jvm_is_a_clear_error() {
    let mut sleep = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleep.id().to_string();
    let fin = run("javagc", &["-p", &pid]);
    let _ = sleep.kill();
    let _ = sleep.wait();
    assert_eq!(fin.status.code(), Some(1), "{fin:?}");
    assert_eq!(
        fin.stderr,
        [format!(
            "javagc: process {pid} has no libjvm.so mapped: is it a JVM?"
        )]
    );
}

#[test]
fn missing_pid_and_usage_errors() {
    common::assert_missing_pid_error("javagc");
    // -p is required.
    let fin = run("javagc", &[]);
    assert_eq!(fin.status.code(), Some(2), "{fin:?}");
    assert!(
        fin.stderr.iter().any(|l| l.contains("--pid")),
        "{:?}",
        fin.stderr
    );
}

#[test]
fn lifecycle() {
    let pid = jvm_pid().to_string();
    // The JVM collects ten times a second by itself.
    lifecycle_checks("javagc", &["-p", &pid, "-t", "0"], || {});
}
