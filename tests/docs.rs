//! Documentation checks (no root, not about the kernel): every tool in
//! src/bin/ has docs/<tool>.md, the page lists every option its --help
//! lists (both spellings), carries captured example output, and README
//! links it.
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every binary in src/bin/ (file name without `.rs`).
fn tools() -> Vec<String> {
    let mut tools: Vec<String> = std::fs::read_dir(root().join("src/bin"))
        .expect("src/bin")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".rs"))
                .map(str::to_string)
        })
        .collect();
    tools.sort();
    tools
}

/// The option spellings in a clap `--help` text: `-x` and `--long` from
/// every entry of its Options section (entries start within 6 columns;
/// wrapped descriptions are indented deeper and ignored).
fn help_options(help: &str) -> BTreeSet<String> {
    let mut opts = BTreeSet::new();
    let mut in_options = false;
    for line in help.lines() {
        if line == "Options:" {
            in_options = true;
            continue;
        }
        if !in_options {
            continue;
        }
        // A new unindented line (EXAMPLES...) ends the section.
        if !line.is_empty() && !line.starts_with(' ') {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        let entry = line.trim_start();
        if indent > 6 || !entry.starts_with('-') {
            continue;
        }
        // "-p, --pid <PID>  Process ID" → "-p", "--pid"
        let spec = entry.split("  ").next().unwrap_or(entry);
        for word in spec.split([',', ' ']) {
            let word = word.trim();
            let is_short = word.len() == 2 && word.starts_with('-') && word != "--";
            let is_long = word.starts_with("--") && word.len() > 2;
            if is_short || is_long {
                opts.insert(word.to_string());
            }
        }
    }
    opts
}

fn help_of(tool: &str) -> String {
    let out = Command::new(common::bin(tool))
        .arg("--help")
        .output()
        .expect("running --help");
    assert!(out.status.success(), "{tool} --help: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

fn page(tool: &str) -> String {
    let path = root().join("docs").join(format!("{tool}.md"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{tool} has no page {}: {e}", path.display()))
}

/// True if `opt` appears on the page as a whole option, not as the prefix
/// of a longer one (`--pid` inside `--pidnss` does not count).
fn mentions(page: &str, opt: &str) -> bool {
    page.match_indices(opt).any(|(i, _)| {
        let next = page[i + opt.len()..].chars().next();
        let prev = page[..i].chars().next_back();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn help_parser_finds_both_spellings() {
    let help = "Usage: t [OPTIONS]\n\nOptions:\n  -p, --pid <PID>  Process ID\n      \
                --pidnss  Per namespace\n  -d, --duration <D>\n          Duration, like -x in text\n  \
                -h, --help  Print help\n\nEXAMPLES:\n    t -z\n";
    let got: Vec<String> = help_options(help).into_iter().collect();
    assert_eq!(
        got,
        [
            "--duration",
            "--help",
            "--pid",
            "--pidnss",
            "-d",
            "-h",
            "-p"
        ]
    );
}

#[test]
fn mentions_is_whole_word() {
    assert!(mentions("| `-p, --pid <PID>` |", "--pid"));
    assert!(!mentions("`--pidnss`", "--pid"));
    assert!(!mentions("`-pX`", "-p"));
    assert!(mentions("`-p`", "-p"));
}

#[test]
fn every_tool_has_a_page_with_every_option() {
    let mut problems = Vec::new();
    for tool in tools() {
        let path: &Path = &root().join("docs").join(format!("{tool}.md"));
        if !path.exists() {
            problems.push(format!("{tool}: no docs/{tool}.md"));
            continue;
        }
        let text = page(&tool);
        let options = help_options(&help_of(&tool));
        assert!(
            options.contains("--help") && options.contains("--version"),
            "{tool}: the --help parser found {options:?}"
        );
        for opt in options {
            if !mentions(&text, &opt) {
                problems.push(format!("{tool}: docs/{tool}.md does not mention {opt}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_page_has_the_sections_and_captured_output() {
    for tool in tools() {
        let text = page(&tool);
        for section in ["## Kernel mechanism", "## Options", "## Examples"] {
            assert!(text.contains(section), "{tool}: no `{section}`");
        }
        assert!(
            text.contains("Tutorial origin"),
            "{tool}: no tutorial origin"
        );
        // Every example block was filled by scripts/docs-examples.py:
        // it starts with the command and has output after it.
        let blocks: Vec<&str> = text.split("<!-- example\n").skip(1).collect();
        assert!(!blocks.is_empty(), "{tool}: no captured example");
        // The exporter has no --json (it serves Prometheus text).
        assert!(
            !help_of(&tool).contains("--json") || blocks.iter().any(|b| b.contains("--json")),
            "{tool}: no --json example"
        );
        for b in blocks {
            let body = b
                .split_once("```text\n")
                .and_then(|(_, rest)| rest.split_once("```"))
                .map(|(body, _)| body)
                .unwrap_or_else(|| panic!("{tool}: example without a ```text block"));
            let mut lines = body.lines();
            let first = lines.next().unwrap_or("");
            assert!(
                first.starts_with(&format!("$ sudo {tool}")),
                "{tool}: example block not captured (run `sudo make docs`): {first:?}"
            );
            assert!(
                lines.any(|l| !l.trim().is_empty()),
                "{tool}: example `{first}` printed nothing"
            );
        }
    }
}

#[test]
fn readme_links_every_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for tool in tools() {
        assert!(
            readme.contains(&format!("(docs/{tool}.md)")),
            "README.md does not link docs/{tool}.md"
        );
    }
    assert!(readme.contains("(docs/parity.md)"));
}
