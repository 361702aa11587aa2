//! Writes every tool's man page (section 8) and its bash, zsh and fish
//! completions from the clap definitions in `bpfkit::args`, for `make
//! install` and `make deb`. It never runs the tools, so a cross-compiling
//! packager can build it for the build machine.
//!
//!     gen_manpages OUTDIR [APP_PREFIX]
//!
//! writes OUTDIR/man8/<APP_PREFIX><tool>.8, OUTDIR/bash/<APP_PREFIX><tool>,
//! OUTDIR/zsh/_<APP_PREFIX><tool> and OUTDIR/fish/<APP_PREFIX><tool>.fish
//! (and nothing else: OUTDIR's old contents are removed).
//!
//! It is an example, not a binary, so that `cargo install`, the tool list
//! (src/bin/) and the packages never contain it.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use clap::Command;
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{Roff, bold, roman};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, prefix) = match args.as_slice() {
        [out] => (out.as_str(), ""),
        [out, prefix] => (out.as_str(), prefix.as_str()),
        _ => {
            eprintln!("usage: gen_manpages OUTDIR [APP_PREFIX]");
            return ExitCode::from(2);
        }
    };
    match generate(Path::new(out), prefix) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_manpages: {e}");
            ExitCode::FAILURE
        }
    }
}

/// APP_PREFIX + tool, except for bpfkit's own names (bpfkit-exporter),
/// which never clash with libbpf-tools (the Makefile's `installed_name`).
fn installed_name(tool: &str, prefix: &str) -> String {
    if tool.starts_with("bpfkit-") {
        tool.to_string()
    } else {
        format!("{prefix}{tool}")
    }
}

fn generate(out: &Path, prefix: &str) -> std::io::Result<()> {
    if out.exists() {
        fs::remove_dir_all(out)?;
    }
    for dir in ["man8", "bash", "zsh", "fish"] {
        fs::create_dir_all(out.join(dir))?;
    }
    for cmd in bpfkit::args::commands() {
        // clap names are `&'static str` (without its `string` feature).
        let tool = cmd.get_name().to_string();
        let name: &'static str = installed_name(&tool, prefix).leak();
        let mut cmd = cmd.name(name).bin_name(name);
        fs::write(
            out.join(format!("man8/{name}.8")),
            man_page(cmd.clone(), &tool, prefix)?,
        )?;
        for (shell, file) in [
            (Shell::Bash, format!("bash/{name}")),
            (Shell::Zsh, format!("zsh/_{name}")),
            (Shell::Fish, format!("fish/{name}.fish")),
        ] {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, name, &mut buf);
            fs::write(out.join(file), buf)?;
        }
    }
    Ok(())
}

/// clap_mangen's page, with the tool's EXAMPLES (its after-help) as a real
/// EXAMPLES section (run as `prefix` + `tool`) and a NOTES section on what
/// every tool needs.
fn man_page(cmd: Command, tool: &str, prefix: &str) -> std::io::Result<Vec<u8>> {
    let examples = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let title = cmd.get_name().to_uppercase();
    let man = Man::new(cmd.after_help(None::<&str>))
        .title(title)
        .section("8")
        .source(format!("bpfkit {}", env!("CARGO_PKG_VERSION")))
        .manual("System Manager's Manual");
    let mut page = Vec::new();
    man.render(&mut page)?;
    let page = String::from_utf8_lossy(&page).into_owned();
    // clap_mangen ends with the VERSION section: ours go before it.
    let at = page.find(".SH VERSION").unwrap_or(page.len());
    let mut sections = Roff::new();
    examples_section(&mut sections, &examples, tool, prefix);
    notes_section(&mut sections);
    Ok(format!("{}{}{}", &page[..at], body(&sections), &page[at..]).into_bytes())
}

/// Roff text without the apostrophe preamble (the page has it once, at the
/// top): the two `.ie`/`.el` lines `render()` starts with.
fn body(roff: &Roff) -> String {
    let text = roff.render();
    let mut rest = text.as_str();
    while rest.starts_with(".ie ") || rest.starts_with(".el ") {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest.to_string()
}

/// One entry of a libbpf-tools EXAMPLES text.
#[derive(Debug, PartialEq)]
enum Item {
    /// `    tool -x     # what it does` (the text may continue on lines
    /// indented deeper, as memleak's do).
    Example { command: String, text: Vec<String> },
    /// A paragraph after the examples (sigsnoop explains its RESULT column).
    Paragraph(String),
}

fn parse_examples(after_help: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut blank = false;
    for line in after_help
        .lines()
        .skip_while(|l| l.trim() != "EXAMPLES:")
        .skip(1)
    {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            blank = true;
            continue;
        }
        match items.last_mut() {
            Some(Item::Example { text, .. }) if indent > 4 && !blank => {
                text.push(trimmed.to_string());
            }
            Some(Item::Paragraph(p)) if indent == 0 && !blank => {
                p.push(' ');
                p.push_str(trimmed);
            }
            _ if indent == 0 => items.push(Item::Paragraph(trimmed.to_string())),
            _ => {
                let (command, text) = match trimmed.split_once(" # ") {
                    Some((c, t)) => (c.trim_end().to_string(), vec![t.trim().to_string()]),
                    None => (trimmed.to_string(), Vec::new()),
                };
                items.push(Item::Example { command, text });
            }
        }
        blank = false;
    }
    items
}

fn examples_section(roff: &mut Roff, after_help: &str, tool: &str, prefix: &str) {
    roff.control("SH", ["EXAMPLES"]);
    for item in parse_examples(after_help) {
        match item {
            Item::Example { command, text } => {
                roff.control("TP", []);
                let command = match command.strip_prefix(tool) {
                    Some(args) => format!("{}{args}", installed_name(tool, prefix)),
                    None => command,
                };
                roff.text([bold(command)]);
                roff.text([roman(text.join(" "))]);
            }
            Item::Paragraph(p) => {
                roff.control("PP", []);
                roff.text([roman(p)]);
            }
        }
    }
}

fn notes_section(roff: &mut Roff) {
    roff.control("SH", ["NOTES"]);
    roff.text([roman(
        "Needs root, or the capabilities CAP_BPF and CAP_PERFMON, and a Linux kernel \
         with BTF (/sys/kernel/btf/vmlinux). Tracepoint tools need tracefs: \
         mount -t tracefs nodev /sys/kernel/tracing.",
    )]);
    roff.control("PP", []);
    roff.text([roman(
        "Every tool exits cleanly, detaching everything, on SIGINT, SIGTERM, the end \
         of its duration or a closed output pipe. Events lost in the kernel (a full \
         ring buffer) are counted and reported on stderr. With --json, each event or \
         interval is one JSON object on its own line.",
    )]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(command: &str, text: &[&str]) -> Item {
        Item::Example {
            command: command.into(),
            text: text.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn one_line_examples_with_comments() {
        let items = parse_examples(
            "EXAMPLES:\n    opensnoop           # trace all open() syscalls\n    opensnoop -n main   # only print process names containing \"main\"",
        );
        assert_eq!(
            items,
            [
                example("opensnoop", &["trace all open() syscalls"]),
                example(
                    "opensnoop -n main",
                    &["only print process names containing \"main\""]
                ),
            ]
        );
    }

    #[test]
    fn continued_descriptions_and_paragraphs() {
        let items = parse_examples(
            "EXAMPLES:\n    memleak -p $(pidof allocs)\n            Trace allocations and display\n            every 5 seconds\n    sigsnoop -k          # kill only\n\nRESULT is the kernel's\nresult (0 delivered).",
        );
        assert_eq!(
            items,
            [
                example(
                    "memleak -p $(pidof allocs)",
                    &["Trace allocations and display", "every 5 seconds"]
                ),
                example("sigsnoop -k", &["kill only"]),
                Item::Paragraph("RESULT is the kernel's result (0 delivered).".into()),
            ]
        );
    }

    #[test]
    fn every_tool_has_examples_of_itself() {
        for cmd in bpfkit::args::commands() {
            let name = cmd.get_name().to_string();
            let items = parse_examples(&cmd.get_after_help().unwrap().to_string());
            let commands: Vec<&String> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Example { command, .. } => Some(command),
                    Item::Paragraph(_) => None,
                })
                .collect();
            assert!(!commands.is_empty(), "{name}");
            for c in commands {
                assert!(c.starts_with(&name), "{name}: {c}");
            }
        }
    }

    #[test]
    fn roff_escapes_dashes() {
        let mut roff = Roff::new();
        let ex = "EXAMPLES:\n    opensnoop -T        # include timestamps";
        examples_section(&mut roff, ex, "opensnoop", "bpf-");
        let s = body(&roff);
        let want = ".SH EXAMPLES\n.TP\n\\fBbpf\\-opensnoop \\-T\\fR\ninclude timestamps\n";
        assert_eq!(s, want);
    }
}
