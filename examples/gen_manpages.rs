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
//! The pages' OUTPUT, DIFFERENCES FROM LIBBPF-TOOLS and SEE ALSO sections are
//! the `## Output`, `## Differences from libbpf-tools` and `## See also`
//! sections of the tool's docs page (docs/<tool>.md), and its JSON section
//! points to docs/json.md and lists the tool's own keys from there: the
//! text exists once, in docs/, read from the source tree
//! (CARGO_MANIFEST_DIR) when the pages are generated. Reading at run time
//! rather than with `include_str!` keeps the tool list in one place
//! (`bpfkit::args::commands()`), and a tool without a page fails here, by
//! name. tests/docs.rs requires those sections on every page.
//!
//! It is an example, not a binary, so that `cargo install`, the tool list
//! (src/bin/) and the packages never contain it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Command;
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{Inline, Roff, bold, italic, roman};

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
    let tools: Vec<String> = bpfkit::args::commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    let json = read_doc("json")?;
    for cmd in bpfkit::args::commands() {
        // clap names are `&'static str` (without its `string` feature).
        let tool = cmd.get_name().to_string();
        let name: &'static str = installed_name(&tool, prefix).leak();
        let mut cmd = cmd.name(name).bin_name(name);
        // A tool without --json (the exporter) has no JSON section.
        let has_json = cmd.get_arguments().any(|a| a.get_id() == "json");
        let json_keys = match has_json {
            true => Some(json_keys(&json, &tool).ok_or_else(|| {
                std::io::Error::other(format!("docs/json.md has no `keys:` line for {tool}"))
            })?),
            false => None,
        };
        let docs = Docs {
            page: read_doc(&tool)?,
            json_keys,
            tools: &tools,
            prefix,
        };
        fs::write(
            out.join(format!("man8/{name}.8")),
            man_page(cmd.clone(), &tool, &docs)?,
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

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
}

/// docs/<name>.md, or an error naming it.
fn read_doc(name: &str) -> std::io::Result<String> {
    let path = docs_dir().join(format!("{name}.md"));
    fs::read_to_string(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// What a tool's page is made of besides its clap definition.
struct Docs<'a> {
    /// docs/<tool>.md.
    page: String,
    /// The text of the tool's `keys:` line in docs/json.md (may be empty);
    /// `None` for a tool without `--json`.
    json_keys: Option<String>,
    /// Every tool's name (links to their pages become `name(8)`).
    tools: &'a [String],
    /// APP_PREFIX, put before every bpfkit tool name.
    prefix: &'a str,
}

/// The sections taken from the tool's docs page: (man heading, page heading).
const DOC_SECTIONS: [(&str, &str); 3] = [
    ("OUTPUT", "## Output"),
    (
        "DIFFERENCES FROM LIBBPF-TOOLS",
        "## Differences from libbpf-tools",
    ),
    ("SEE ALSO", "## See also"),
];

/// clap_mangen's page, with the tool's OUTPUT and JSON sections, its
/// EXAMPLES (its after-help) as a real EXAMPLES section (run as `prefix` +
/// `tool`), its DIFFERENCES FROM LIBBPF-TOOLS, a NOTES section on what every
/// tool needs, and SEE ALSO.
fn man_page(cmd: Command, tool: &str, docs: &Docs) -> std::io::Result<Vec<u8>> {
    let prefix = docs.prefix;
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
    let [output, differences, see_also] = DOC_SECTIONS.map(|(man_heading, heading)| {
        md_section(&docs.page, heading)
            .map(|text| (man_heading, text))
            .ok_or(heading)
    });
    let missing = |heading| std::io::Error::other(format!("docs/{tool}.md has no `{heading}`"));
    let (output, differences, see_also) = (
        output.map_err(missing)?,
        differences.map_err(missing)?,
        see_also.map_err(missing)?,
    );
    let mut sections = Roff::new();
    doc_section(&mut sections, output, docs);
    if let Some(keys) = &docs.json_keys {
        json_section(&mut sections, keys, docs);
    }
    examples_section(&mut sections, &examples, tool, prefix);
    doc_section(&mut sections, differences, docs);
    notes_section(&mut sections);
    doc_section(&mut sections, see_also, docs);
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

/// The body of the `heading` section of a markdown page (up to the next
/// `## ` heading), without HTML comments; None if the page has none.
fn md_section<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
    let start = page
        .match_indices(heading)
        .find(|&(i, _)| {
            (i == 0 || page[..i].ends_with('\n'))
                && page[i + heading.len()..].starts_with(['\n', '\r'])
        })
        .map(|(i, _)| i + heading.len())?;
    let rest = &page[start..];
    let end = rest.find("\n## ").map_or(rest.len(), |e| e + 1);
    Some(rest[..end].trim())
}

/// The `keys:` line of `#### tool` in docs/json.md.
fn json_keys(json: &str, tool: &str) -> Option<String> {
    let section = md_section(json, &format!("#### {tool}"))?;
    let section = section.split("\n#").next().unwrap_or(section);
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("keys:"))
        .map(|k| k.trim().to_string())
}

fn doc_section(roff: &mut Roff, (heading, markdown): (&str, &str), docs: &Docs) {
    roff.control("SH", [heading]);
    md_to_roff(roff, markdown, docs);
}

fn json_section(roff: &mut Roff, keys: &str, docs: &Docs) {
    roff.control("SH", ["JSON"]);
    roff.text(
        [
            vec![roman(
                "With --json the tool prints one JSON object per line (JSON Lines) on stdout \
                 and nothing else. A key means the same, with the same type, in every bpfkit \
                 tool, and a key with a unit names it (",
            )],
            inlines("`_ns`, `_us`, `_ms`, `_s`, `_bytes`", docs),
            vec![roman(
                "): the keys are listed in docs/json.md of the bpfkit sources.",
            )],
        ]
        .concat(),
    );
    roff.control("PP", []);
    if keys.is_empty() {
        roff.text([roman(
            "This tool has no keys of its own: only the common keys of docs/json.md.",
        )]);
    } else {
        let mut text = vec![roman("This tool's own keys: ")];
        text.extend(inlines(keys, docs));
        text.push(roman("."));
        roff.text(text);
    }
}

/// Markdown to roff, for what the docs pages use: paragraphs, `- ` bullet
/// lists (continuation lines indented), `|` tables (a row becomes a tagged
/// paragraph: its first cell is the tag, the others the text), `###`
/// headings and fenced code blocks.
fn md_to_roff(roff: &mut Roff, markdown: &str, docs: &Docs) {
    #[derive(PartialEq)]
    enum Block {
        None,
        Paragraph,
        Bullet,
    }
    let mut block = Block::None;
    let mut text = String::new();
    let mut header: Vec<String> = Vec::new();
    let mut in_code = false;
    let flush = |roff: &mut Roff, block: &mut Block, text: &mut String| {
        match block {
            Block::None => {}
            Block::Paragraph => {
                roff.control("PP", []);
                roff.text(inlines(text, docs));
            }
            Block::Bullet => {
                roff.control("IP", ["\\(bu", "2"]);
                roff.text(inlines(text, docs));
            }
        }
        *block = Block::None;
        text.clear();
    };
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            flush(roff, &mut block, &mut text);
            if in_code {
                roff.control("fi", []);
                roff.control("RE", []);
            } else {
                roff.control("PP", []);
                roff.control("RS", ["4"]);
                roff.control("nf", []);
            }
            in_code = !in_code;
            continue;
        }
        if in_code {
            roff.text([roman(line)]);
            continue;
        }
        if trimmed.is_empty() {
            flush(roff, &mut block, &mut text);
            continue;
        }
        if let Some(sub) = trimmed.strip_prefix("### ") {
            flush(roff, &mut block, &mut text);
            roff.control("SS", [sub.trim()]);
            continue;
        }
        if trimmed.starts_with('|') {
            flush(roff, &mut block, &mut text);
            let cells: Vec<String> = trimmed
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| "-: ".contains(ch)))
            {
                continue; // the | --- | line
            }
            if header.is_empty() {
                header = cells;
                continue;
            }
            roff.control("TP", []);
            roff.text(inlines(&cells[0], docs));
            let body: Vec<String> = if cells.len() == 2 {
                vec![cells[1].clone()]
            } else {
                cells
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(i, c)| match header.get(i) {
                        Some(h) if !h.is_empty() => format!("{h}: {c}"),
                        _ => c.clone(),
                    })
                    .collect()
            };
            roff.text(inlines(&body.join("; "), docs));
            continue;
        }
        header.clear();
        if let Some(item) = trimmed.strip_prefix("- ").or(trimmed.strip_prefix("* ")) {
            flush(roff, &mut block, &mut text);
            block = Block::Bullet;
            text.push_str(item);
            continue;
        }
        if block == Block::None {
            block = Block::Paragraph;
        } else {
            text.push(' ');
        }
        text.push_str(trimmed);
    }
    flush(roff, &mut block, &mut text);
    if in_code {
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

/// Inline markdown: `code` and **strong** in bold, *emphasis* in italic,
/// links as their text (a link to a tool's page becomes `name(8)` with the
/// installed name, another page `text (docs/page.md)`), `name(8)` as a
/// man page reference.
fn inlines(text: &str, docs: &Docs) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let push_plain = |out: &mut Vec<Inline>, plain: &mut String| {
        if !plain.is_empty() {
            out.push(roman(std::mem::take(plain)));
        }
    };
    while let Some(c) = rest.chars().next() {
        let span = |open: &str, close: &str| -> Option<(&str, usize)> {
            let body = rest.strip_prefix(open)?;
            let end = body.find(close)?;
            (end > 0).then(|| (&body[..end], open.len() + end + close.len()))
        };
        if let Some((code, len)) = span("`", "`") {
            push_plain(&mut out, &mut plain);
            // `tc(8)`: the name in bold, the section in roman.
            match code.strip_suffix(')').and_then(|c| c.split_once('(')) {
                Some((name, section))
                    if !name.is_empty()
                        && !name.contains(' ')
                        && section.len() == 1
                        && section.chars().all(|c| c.is_ascii_digit()) =>
                {
                    out.push(bold(name));
                    plain.push_str(&format!("({section})"));
                }
                _ => out.push(bold(code)),
            }
            rest = &rest[len..];
        } else if let Some((strong, len)) = span("**", "**") {
            push_plain(&mut out, &mut plain);
            out.push(bold(strong.replace('`', "")));
            rest = &rest[len..];
        } else if let Some((em, len)) = span("*", "*").filter(|(e, _)| !e.starts_with(' ')) {
            push_plain(&mut out, &mut plain);
            out.push(italic(em.replace('`', "")));
            rest = &rest[len..];
        } else if let Some((label, target, len)) = link(rest) {
            let label = label.replace('`', "");
            let tool = target
                .strip_suffix(".md")
                .filter(|t| docs.tools.iter().any(|n| n == t));
            if let Some(tool) = tool {
                push_plain(&mut out, &mut plain);
                out.push(bold(format!("{}{tool}", docs.prefix)));
                plain.push_str("(8)");
            } else if target.starts_with("http") {
                // The label names the file; a long address cannot be
                // adjusted on a man page line (groff warns).
                plain.push_str(&label);
            } else if target.ends_with(".md") && !target.contains('/') {
                plain.push_str(&format!("{label} (docs/{target})"));
            } else {
                plain.push_str(&label);
            }
            rest = &rest[len..];
        } else {
            plain.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    push_plain(&mut out, &mut plain);
    out
}

/// `[label](target)` at the start of `text`: (label, target, length).
fn link(text: &str) -> Option<(&str, &str, usize)> {
    let body = text.strip_prefix('[')?;
    let close = body.find("](")?;
    let target_len = body[close + 2..].find(')')?;
    let target = &body[close + 2..close + 2 + target_len];
    Some((&body[..close], target, 1 + close + 2 + target_len + 1))
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

    fn docs<'a>(tools: &'a [String], prefix: &'a str) -> Docs<'a> {
        Docs {
            page: String::new(),
            json_keys: Some(String::new()),
            tools,
            prefix,
        }
    }

    #[test]
    fn sections_end_at_the_next_level_two_heading() {
        let page = "# t\n\n## Output\n\nA\n\n### Sub\n\nB\n## Outputs\n\nX\n## Output more\n";
        assert_eq!(md_section(page, "## Output"), Some("A\n\n### Sub\n\nB"));
        assert_eq!(md_section(page, "## See also"), None);
        let json = "#### opensnoop\n\nkeys: `flags`, `path`\n\n#### profile\n\nkeys: \n";
        assert_eq!(
            json_keys(json, "opensnoop").as_deref(),
            Some("`flags`, `path`")
        );
        assert_eq!(json_keys(json, "profile").as_deref(), Some(""));
        assert_eq!(json_keys(json, "memleak"), None);
    }

    #[test]
    fn markdown_tables_lists_and_links_become_roff() {
        let tools = ["execsnoop".to_string()];
        let md = "One line per exec:\n\n| column | meaning |\n| --- | --- |\n| `PID` | process id |\n\n\
                  - first, **bold**\n  continued\n- see [`execsnoop`](execsnoop.md), `tc(8)`, \
                  [json](json.md) and [x.c](https://example.org/x.c)\n";
        let mut roff = Roff::new();
        md_to_roff(&mut roff, md, &docs(&tools, "bpf-"));
        let want = ".PP\nOne line per exec:\n.TP\n\\fBPID\\fR\nprocess id\n\
                    .IP \\(bu 2\nfirst, \\fBbold\\fR continued\n.IP \\(bu 2\n\
                    see \\fBbpf\\-execsnoop\\fR(8), \\fBtc\\fR(8), json (docs/json.md) and x.c\n";
        assert_eq!(body(&roff), want);
    }

    #[test]
    fn wider_tables_name_their_columns() {
        let md = "| line | meaning | unit |\n| --- | --- | --- |\n| `a` | b | c |\n";
        let mut roff = Roff::new();
        md_to_roff(&mut roff, md, &docs(&[], ""));
        assert_eq!(body(&roff), ".TP\n\\fBa\\fR\nmeaning: b; unit: c\n");
    }

    #[test]
    fn every_tool_page_has_the_man_sections() {
        let json = read_doc("json").unwrap();
        for cmd in bpfkit::args::commands() {
            let tool = cmd.get_name().to_string();
            let page = read_doc(&tool).unwrap();
            for (_, heading) in DOC_SECTIONS {
                let text =
                    md_section(&page, heading).unwrap_or_else(|| panic!("{tool}: {heading}"));
                assert!(!text.is_empty(), "{tool}: empty {heading}");
            }
            let has_json = cmd.get_arguments().any(|a| a.get_id() == "json");
            assert!(
                !has_json || json_keys(&json, &tool).is_some(),
                "{tool}: no keys line"
            );
        }
    }
}
