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

/// The options every tool shares (`CommonArgs`, and clap's own), which the
/// README's "Common options" table documents once for all pages.
fn common_options() -> BTreeSet<String> {
    use clap::Args;
    let mut cmd = bpfkit::cli::CommonArgs::augment_args(clap::Command::new("t").version("1"));
    help_options(&cmd.render_help().to_string())
}

#[test]
fn readme_documents_the_common_options() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("### Common options")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Common options section");
    let common = common_options();
    assert!(
        common.contains("--btf") && common.contains("--json"),
        "{common:?}"
    );
    for opt in common {
        assert!(
            mentions(section, &opt),
            "README's Common options do not mention {opt}"
        );
    }
}

#[test]
fn every_tool_has_a_page_with_every_option() {
    let common = common_options();
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
        for opt in options.difference(&common) {
            if !mentions(&text, opt) {
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
        // The man pages take `## Output`, `## Differences from
        // libbpf-tools` and `## See also` from here (gen_manpages).
        for section in [
            "## Kernel mechanism",
            "## Differences from libbpf-tools",
            "## Output",
            "## See also",
            "## Options",
            "## Examples",
        ] {
            assert!(
                text.lines().any(|l| l == section),
                "{tool}: no `{section}` heading"
            );
        }
        let see_also = text.split("\n## See also\n").nth(1).unwrap();
        let see_also = see_also.split("\n## ").next().unwrap();
        assert!(
            see_also.contains("- bpfkit: [`") && see_also.contains("- The original: "),
            "{tool}: See also names no related bpfkit tool or no original"
        );
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

/// The pages explain where the tools come from in words a reader knows:
/// "the tutorial's lesson 4", not the names of the source files the
/// project started from ("seed 003").
#[test]
fn pages_do_not_speak_of_seeds() {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            if lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "seed" || w == "seeds")
            {
                problems.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every relative link between pages (`[x](opensnoop.md)`, `(docs/x.md)`)
/// leads to a file that exists.
#[test]
fn links_between_pages_resolve() {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.push(root().join("README.md"));
    let mut problems = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let Some(end) = target.find(')') else {
                continue;
            };
            let target = target[..end].split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || !target.ends_with(".md") {
                continue;
            }
            if !page.parent().unwrap().join(target).exists() {
                problems.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `#[test]` functions of tests/<file>.rs, each with its body.
fn test_functions(file: &str) -> Vec<(String, String)> {
    let path = root().join("tests").join(format!("{file}.rs"));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    src.split("#[test]")
        .skip(1)
        .filter_map(|chunk| {
            let name = chunk.split("fn ").nth(1)?.split('(').next()?.trim();
            Some((name.to_string(), chunk.to_string()))
        })
        .collect()
}

/// Every test docs/parity.md cites (`file: `name`, `name`` in a row) is a
/// test of a tool the row is about: in tests/<tool>.rs, or in a shared file
/// (tests/unlink.rs) and running that tool by name. A `name*` cites every
/// test starting with `name`.
#[test]
fn parity_rows_cite_tests_of_their_tools() {
    let parity = std::fs::read_to_string(root().join("docs/parity.md")).unwrap();
    let tools = tools();
    let mut problems = Vec::new();
    let mut cited = 0;
    for row in parity.lines().filter(|l| l.starts_with('|')) {
        // The tools a row is about: links to their pages and commands.
        let row_tools: Vec<&String> = tools
            .iter()
            .filter(|t| row.contains(&format!("]({t}.md)")) || row.contains(&format!("`{t}")))
            .collect();
        // "file: `a`, `b` (why), `c`" citations.
        for (i, _) in row.match_indices(": `") {
            let file = row[..i]
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap();
            if !root().join("tests").join(format!("{file}.rs")).exists() {
                continue;
            }
            let tests = test_functions(file);
            let mut rest = &row[i + 2..];
            while let Some(name) = rest.strip_prefix('`').and_then(|r| r.split('`').next()) {
                cited += 1;
                let (prefix, wildcard) = match name.strip_suffix('*') {
                    Some(p) => (p, true),
                    None => (name, false),
                };
                let matching: Vec<&(String, String)> = tests
                    .iter()
                    .filter(|(n, _)| {
                        if wildcard {
                            n.starts_with(prefix)
                        } else {
                            n == prefix
                        }
                    })
                    .collect();
                if matching.is_empty() {
                    problems.push(format!("no test {name} in tests/{file}.rs: {row}"));
                }
                for (n, body) in matching {
                    let runs_row_tool = row_tools
                        .iter()
                        .any(|t| *t == file || body.contains(&format!("\"{t}\"")));
                    if !runs_row_tool {
                        problems.push(format!(
                            "tests/{file}.rs {n} runs none of {row_tools:?}: {row}"
                        ));
                    }
                }
                // Past the name, an optional "(why)", and ", ".
                rest = &rest[name.len() + 2..];
                if rest.starts_with(" (") {
                    rest = rest.split_once(')').map_or("", |(_, r)| r);
                }
                rest = rest.strip_prefix(", ").unwrap_or("");
            }
        }
    }
    assert!(cited > 50, "found only {cited} cited tests");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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

/// Every tool's JSON keys are checked against docs/json.md by a unit test of
/// its own (`row::assert_keys_in_schema`, no root): a new tool cannot skip it.
#[test]
fn every_tool_checks_its_json_keys_against_the_schema() {
    let mut missing = Vec::new();
    for tool in tools() {
        if tool == "bpfkit-exporter" {
            continue; // serves Prometheus text, not JSON lines
        }
        let src = std::fs::read_to_string(root().join("src/bin").join(format!("{tool}.rs")))
            .unwrap_or_default();
        let shared = ["fentry-unlink", "kprobe-unlink"].contains(&tool.as_str());
        let body = if shared {
            std::fs::read_to_string(root().join("src/unlink.rs")).unwrap()
        } else {
            src
        };
        if !body.contains("keys_in_schema(") {
            missing.push(tool);
        }
    }
    assert!(
        missing.is_empty(),
        "no json_keys_follow_the_schema test in: {missing:?}"
    );
}
