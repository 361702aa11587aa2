//! `--btf FILE` / `BPFKIT_BTF`: CO-RE against a BTF file, for kernels
//! without /sys/kernel/btf/vmlinux. The kernel's BTF is hidden in a private
//! mount namespace (tmpfs over /sys/kernel/btf), so a passing run proves the
//! file was used; never on the host's own mounts.
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A copy of the running kernel's BTF, as a file a user would bring.
fn kernel_btf_copy() -> PathBuf {
    let path = std::env::temp_dir().join(common::unique("bpfkit-vmlinux-").to_string() + ".btf");
    std::fs::copy("/sys/kernel/btf/vmlinux", &path).expect("copying the kernel BTF");
    path
}

/// `tool args...` in a private mount namespace whose /sys/kernel/btf is empty.
fn without_kernel_btf(tool: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    common::setup();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs none /sys/kernel/btf && exec "$0" "$@""#)
        .arg(common::bin(tool))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs opensnoop for our own pid with the kernel's BTF hidden, opens a
/// unique missing path once it is tracing, and returns what it printed.
fn opensnoop_sees_our_open(args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let pid = std::process::id().to_string();
    let secs = (3 * common::slowdown()).to_string();
    let mut all = vec!["-p", &pid, "-d", &secs];
    all.extend_from_slice(args);
    let mut child = without_kernel_btf("opensnoop", &all, env).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut err = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains(common::READY) {
            break;
        }
    }
    let missing = format!("/nonexistent/{}", common::unique("btf-"));
    assert!(std::fs::File::open(&missing).is_err());
    for line in lines {
        err.push_str(&line.unwrap());
        err.push('\n');
    }
    let out = child.wait_with_output().unwrap();
    (out, missing + "\n" + &err)
}

#[test]
fn btf_file_works_where_the_kernel_has_none() {
    let btf = kernel_btf_copy();
    let (out, info) = opensnoop_sees_our_open(&["--btf", btf.to_str().unwrap()], &[]);
    std::fs::remove_file(&btf).unwrap();
    let missing = info.lines().next().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{info}");
    assert!(
        stdout
            .lines()
            .any(|l| l.ends_with(missing) && l.contains(" -1   2 ")),
        "our failed open of {missing} is not in:\n{stdout}\nstderr: {info}"
    );
}

#[test]
fn bpfkit_btf_environment_variable_works_too() {
    let btf = kernel_btf_copy();
    let (out, info) =
        opensnoop_sees_our_open(&["--json"], &[("BPFKIT_BTF", btf.to_str().unwrap())]);
    std::fs::remove_file(&btf).unwrap();
    let missing = info.lines().next().unwrap();
    assert!(out.status.success(), "{info}");
    let found = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| v["path"] == missing && v["errno"] == 2);
    assert!(found, "{info}");
}

/// `bpftool gen min_core_btf`: the BTF a tool's object needs, nothing more
/// (what people ship for kernels without BTF).
#[test]
fn minimized_btf_from_bpftool_works() {
    let obj = Path::new(env!("OUT_DIR")).join("opensnoop.bpf.o");
    let min = std::env::temp_dir().join(common::unique("bpfkit-min-") + ".btf");
    let status = Command::new("bpftool")
        .args(["gen", "min_core_btf", "/sys/kernel/btf/vmlinux"])
        .arg(&min)
        .arg(&obj)
        .status()
        .expect("running bpftool");
    assert!(status.success(), "bpftool gen min_core_btf failed");
    let size = std::fs::metadata(&min).unwrap().len();
    let full = std::fs::metadata("/sys/kernel/btf/vmlinux").unwrap().len();
    assert!(size < full / 10, "minimized BTF is {size} of {full} bytes");
    let (out, info) = opensnoop_sees_our_open(&["--btf", min.to_str().unwrap()], &[]);
    std::fs::remove_file(&min).unwrap();
    let missing = info.lines().next().unwrap();
    assert!(out.status.success(), "{info}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(missing),
        "{info}"
    );
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn no_kernel_btf_and_no_file_says_what_to_do() {
    let out = without_kernel_btf("opensnoop", &["-d", "1"], &[])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(
        err.contains("kernel BTF not found") && err.contains("--btf FILE"),
        "{err}"
    );
}

#[test]
fn missing_or_wrong_btf_file_is_one_clear_line() {
    common::setup();
    let out = Command::new(common::bin("opensnoop"))
        .args(["--btf", "/nonexistent/vmlinux.btf", "-d", "1"])
        .output()
        .unwrap();
    let err = one_line_error(&out);
    assert!(
        err.contains("--btf /nonexistent/vmlinux.btf: no such file"),
        "{err}"
    );

    let junk = std::env::temp_dir().join(common::unique("bpfkit-junk-") + ".btf");
    std::fs::write(&junk, "this is not BTF\n").unwrap();
    let out = Command::new(common::bin("execsnoop"))
        .arg("--btf")
        .arg(&junk)
        .output()
        .unwrap();
    std::fs::remove_file(&junk).unwrap();
    let err = one_line_error(&out);
    assert!(err.contains("not a BTF file"), "{err}");
}
