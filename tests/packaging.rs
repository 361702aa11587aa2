//! Packaging (README "Packaging"): `make install`/`uninstall`, `make deb`
//! and `make STATIC=1`, run through the real make targets. They reuse what
//! an earlier `make` built when it is up to date; on a clean clone they
//! build it (release binaries, and the static set: a few minutes).
//! Not about the kernel: scripts/vm-run-tests.sh leaves this binary out.
mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{READY, setup, unique};

/// The tests share the release build and its stamps: one make at a time.
static MAKE: Mutex<()> = Mutex::new(());

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every tool, as the generator and the Makefile know them.
fn tools() -> Vec<String> {
    let mut t: Vec<String> = bpfkit::args::commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    t.sort();
    t
}

/// The name `tool` installs as: APP_PREFIX + tool, except for bpfkit's own
/// names (bpfkit-exporter), as the Makefile's `installed_name`.
fn installed_name(tool: &str, prefix: &str) -> String {
    if tool.starts_with("bpfkit-") {
        tool.to_string()
    } else {
        format!("{prefix}{tool}")
    }
}

/// Whether `tool` has a --json flag (the exporter has none).
fn has_json(tool: &str) -> bool {
    bpfkit::args::commands()
        .iter()
        .find(|c| c.get_name() == tool)
        .is_some_and(|c| c.get_arguments().any(|a| a.get_long() == Some("json")))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn make(args: &[&str]) -> String {
    let out = run(Command::new("make")
        .arg("--no-print-directory")
        .args(args)
        .current_dir(ROOT));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh empty directory under target/tmp (not /tmp: tmpfs may be noexec).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(ROOT).join("target/tmp").join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// libbpf-tools' per-file-system names `make install` links to fsslower
/// and fsdist (the Makefile's FS_ALIASES): (alias, tool).
fn fs_aliases() -> impl Iterator<Item = (String, &'static str)> {
    ["btrfs", "ext4", "nfs", "xfs", "f2fs"]
        .into_iter()
        .flat_map(|fs| {
            [
                (format!("{fs}slower"), "fsslower"),
                (format!("{fs}dist"), "fsdist"),
            ]
        })
}

/// Every file and symlink under `dir`, relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let out = run(Command::new("find")
        .arg(".")
        .args(["-mindepth", "1", "-not", "-type", "d"])
        .current_dir(dir));
    text(&out)
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .collect()
}

/// What one tool installs under PREFIX=/usr: binary, man page, completions.
fn installed_files(name: &str, zsh_dir: &str, man_suffix: &str) -> [String; 5] {
    [
        format!("usr/sbin/{name}"),
        format!("usr/share/man/man8/{name}.8{man_suffix}"),
        format!("usr/share/bash-completion/completions/{name}"),
        format!("{zsh_dir}/_{name}"),
        format!("usr/share/fish/vendor_completions.d/{name}.fish"),
    ]
}

/// `man -l` renders the page without a warning, under the installed name,
/// with the tool's options and its EXAMPLES run under that name.
fn check_man_page(page: &Path, tool: &str, name: &str) {
    let out = run(Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page)
        .env("MANWIDTH", "250")
        .env_remove("MANPAGER")
        .env("PAGER", "cat"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.trim().is_empty(), "{}: warnings: {err}", page.display());
    let man = text(&out);
    let cmd = bpfkit::args::commands()
        .into_iter()
        .find(|c| c.get_name() == tool)
        .unwrap();
    assert!(
        man.starts_with(&format!("{}(8)", name.to_uppercase())),
        "{man}"
    );
    let about = cmd.get_about().unwrap().to_string();
    let flat = man.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!("NAME {name} - {about}")),
        "{tool}: {man}"
    );
    for arg in cmd.get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(man.contains(&format!("--{long}")), "{tool}: --{long}");
        }
    }
    let examples = cmd.get_after_help().unwrap().to_string();
    let section = man
        .split("\nEXAMPLES\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{tool}: no EXAMPLES section: {man}"));
    for line in examples.lines().skip(1) {
        // `    opensnoop -T        # include timestamps` → `bpf-opensnoop -T`
        let Some(rest) = line.trim().strip_prefix(tool) else {
            continue;
        };
        let (args, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
        let command = format!("{name}{}", args.trim_end());
        // groff sets a tag shorter than the indent on the line of its text.
        let same_line = format!("{command} {}", comment.trim());
        let flat = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            section
                .lines()
                .any(|l| l.trim() == command || flat(l) == same_line),
            "{tool}: example {command:?} not in {section}"
        );
    }
    assert!(section.contains("\nNOTES\n") && section.contains("CAP_BPF"));
    check_sections_from_docs(&man, tool, name);
}

/// The body of man section `heading`: up to the next unindented line.
fn man_section<'a>(man: &'a str, heading: &str) -> &'a str {
    let start = man
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading} section: {man}"))
        + heading.len()
        + 2;
    let rest = &man[start..];
    let end = rest
        .match_indices('\n')
        .find(|&(i, _)| rest[i + 1..].starts_with(|c: char| !c.is_whitespace()))
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The OUTPUT, JSON, DIFFERENCES FROM LIBBPF-TOOLS and SEE ALSO sections,
/// in man page order, with the text of the tool's docs page: every column
/// of its Output table, its related tools under the installed names and
/// its original.
fn check_sections_from_docs(man: &str, tool: &str, name: &str) {
    let order = [
        "OPTIONS",
        "OUTPUT",
        "JSON",
        "EXAMPLES",
        "DIFFERENCES FROM LIBBPF-TOOLS",
        "NOTES",
        "SEE ALSO",
        "VERSION",
    ];
    let at: Vec<usize> = order
        .iter()
        .filter(|h| has_json(tool) || **h != "JSON")
        .map(|h| {
            man.find(&format!("\n{h}\n"))
                .unwrap_or_else(|| panic!("{tool}: no {h} section: {man}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "{tool}: sections out of order: {order:?} at {at:?}"
    );
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let page = std::fs::read_to_string(Path::new(ROOT).join(format!("docs/{tool}.md"))).unwrap();
    let docs_section = |heading: &str| {
        page.split(&format!("\n{heading}\n"))
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_else(|| panic!("docs/{tool}.md: no {heading}"))
            .to_string()
    };
    let prefix = name.strip_suffix(tool).unwrap();

    let output = flat(man_section(man, "OUTPUT"));
    let columns: Vec<String> = docs_section("## Output")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    assert!(!columns.is_empty(), "{tool}: no columns in docs' Output");
    for column in columns {
        assert!(
            output.contains(&flat(&column)),
            "{tool}: OUTPUT lacks {column}: {output}"
        );
    }

    if has_json(tool) {
        let json = flat(man_section(man, "JSON"));
        assert!(json.contains("docs/json.md"), "{tool}: {json}");
    } else {
        assert!(
            !man.contains("\nJSON\n"),
            "{tool}: a JSON section without --json"
        );
    }

    let differences = flat(man_section(man, "DIFFERENCES FROM LIBBPF-TOOLS"));
    assert!(differences.len() > 80, "{tool}: {differences}");

    let see_also = flat(man_section(man, "SEE ALSO"));
    let docs_see_also = docs_section("## See also");
    for link in docs_see_also.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        if let Some(other) = target.strip_suffix(".md") {
            let want = format!("{prefix}{other}(8)");
            assert!(
                see_also.contains(&want),
                "{tool}: SEE ALSO lacks {want}: {see_also}"
            );
        }
    }
    assert!(see_also.contains("The original:"), "{tool}: {see_also}");
}

/// The installed binary runs: `--help` with its EXAMPLES, `--version`.
fn check_binary(path: &Path, tool: &str) {
    let help = text(&run(Command::new(path).arg("--help")));
    assert!(
        help.contains("Usage:") && help.contains("EXAMPLES:"),
        "{tool}: {help}"
    );
    let version = text(&run(Command::new(path).arg("--version")));
    assert_eq!(
        version.trim(),
        format!("{tool} {}", env!("CARGO_PKG_VERSION"))
    );
}

/// bash really completes the installed name's long options.
fn check_bash_completion(file: &Path, name: &str) {
    let script = format!(
        "source {file}; f=$(complete -p {name} | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p'); \
         COMP_WORDS=({name} --ver); COMP_CWORD=1; COMP_LINE='{name} --ver'; COMP_POINT=${{#COMP_LINE}}; \
         \"$f\" {name} --ver {name}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file = file.display()
    );
    let out = run(Command::new("bash").args(["--norc", "-c", &script]));
    let words: Vec<String> = text(&out).lines().map(|l| l.trim().to_string()).collect();
    assert!(
        words.iter().any(|w| w == "--verbose") && words.iter().any(|w| w == "--version"),
        "{name}: {words:?}"
    );
}

fn check_zsh_fish_completions(zsh: &Path, fish: &Path, name: &str, json: bool) {
    let z = std::fs::read_to_string(zsh).unwrap();
    assert!(
        z.starts_with(&format!("#compdef {name}\n")),
        "{}",
        zsh.display()
    );
    assert!(
        z.contains("'--json[") == json && z.contains("'--verbose["),
        "{}",
        zsh.display()
    );
    let f = std::fs::read_to_string(fish).unwrap();
    assert!(
        f.contains(&format!("complete -c {name} ")),
        "{}",
        fish.display()
    );
    assert_eq!(f.contains("-l json"), json, "{}", fish.display());
}

#[test]
fn make_install_and_uninstall() {
    let _lock = MAKE.lock().unwrap_or_else(|e| e.into_inner());
    for prefix in ["", "bpf-"] {
        let dest = scratch("install");
        let vars = [
            format!("DESTDIR={}", dest.display()),
            "PREFIX=/usr".to_string(),
            format!("APP_PREFIX={prefix}"),
        ];
        let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
        make(&[&["install"], &vars[..]].concat());

        let mut expected = BTreeSet::new();
        for tool in tools() {
            expected.extend(installed_files(
                &installed_name(&tool, prefix),
                "usr/share/zsh/site-functions",
                "",
            ));
        }
        expected.extend(fs_aliases().map(|(alias, _)| format!("usr/sbin/{prefix}{alias}")));
        assert_eq!(files_under(&dest), expected, "APP_PREFIX={prefix}");
        for (alias, tool) in fs_aliases() {
            let link = dest.join(format!("usr/sbin/{prefix}{alias}"));
            let target = std::fs::read_link(&link).unwrap();
            assert_eq!(
                target,
                Path::new(&format!("{prefix}{tool}")),
                "{}",
                link.display()
            );
        }

        for tool in tools() {
            let name = installed_name(&tool, prefix);
            let [bin, man, bash, zsh, fish] =
                installed_files(&name, "usr/share/zsh/site-functions", "").map(|f| dest.join(f));
            check_binary(&bin, &tool);
            check_man_page(&man, &tool, &name);
            check_bash_completion(&bash, &name);
            check_zsh_fish_completions(&zsh, &fish, &name, has_json(&tool));
        }

        make(&[&["uninstall"], &vars[..]].concat());
        assert_eq!(files_under(&dest), BTreeSet::new(), "left by uninstall");
        std::fs::remove_dir_all(&dest).unwrap();
    }
}

/// dpkg fails at once when apt or another dpkg holds its lock: retry.
fn dpkg(args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let out = Command::new("dpkg").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !err.contains("lock") || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The packages that own the shared libraries `bin` needs.
fn needed_packages(bin: &Path) -> BTreeSet<String> {
    let dump = text(&run(Command::new("objdump").arg("-p").arg(bin)));
    let mut pkgs = BTreeSet::new();
    for lib in dump.lines().filter_map(|l| l.trim().strip_prefix("NEEDED")) {
        let lib = lib.trim();
        if lib.starts_with("ld-linux") {
            continue;
        }
        let owner = text(&run(Command::new("dpkg")
            .args(["-S", &format!("*/{lib}")])
            .env("LC_ALL", "C")));
        // `libelf1:amd64: /usr/lib/x86_64-linux-gnu/libelf.so.1`
        let pkg = owner.split([':', ',']).next().unwrap().trim().to_string();
        pkgs.insert(pkg);
    }
    pkgs
}

#[test]
fn make_deb_installs_and_removes() {
    setup();
    let _lock = MAKE.lock().unwrap_or_else(|e| e.into_inner());
    let deb = make(&["deb"]);
    let deb = Path::new(ROOT).join(deb.lines().last().expect("make deb printed nothing"));
    assert!(deb.exists(), "{}", deb.display());

    // The files: the same set `make install PREFIX=/usr` installs, under
    // the bpfkit- prefix, man pages compressed, plus the copyright file.
    let listing = text(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    let listed: BTreeSet<String> = listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .map(|l| {
            // A symlink (ext4slower...) lists as `NAME -> TARGET`.
            let l = l.split(" -> ").next().unwrap();
            l.split_whitespace()
                .last()
                .unwrap()
                .trim_start_matches("./")
                .to_string()
        })
        .collect();
    let mut expected = BTreeSet::from([
        "usr/share/doc/bpfkit/copyright".to_string(),
        "usr/lib/systemd/system/bpfkit-exporter.service".to_string(),
    ]);
    for tool in tools() {
        expected.extend(installed_files(
            &installed_name(&tool, "bpfkit-"),
            "usr/share/zsh/vendor-completions",
            ".gz",
        ));
    }
    expected.extend(fs_aliases().map(|(alias, _)| format!("usr/sbin/bpfkit-{alias}")));
    assert_eq!(listed, expected);

    // Depends names the owner of every library the binaries need.
    let depends = text(&run(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Depends")));
    let depends: BTreeSet<String> = depends
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    let release = Path::new(ROOT).join("target/release");
    for tool in tools() {
        for pkg in needed_packages(&release.join(&tool)) {
            assert!(
                depends.contains(&pkg),
                "{tool} needs {pkg}; Depends: {depends:?}"
            );
        }
    }
    assert!(
        depends.iter().any(|d| d.starts_with("libelf")),
        "{depends:?}"
    );

    // Installs (next to libbpf-tools, if that is installed), works, removes.
    let out = dpkg(&["-i", deb.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "dpkg -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = text(&dpkg(&["-s", "bpfkit"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    for tool in tools() {
        check_binary(
            Path::new(&format!("/usr/sbin/{}", installed_name(&tool, "bpfkit-"))),
            &tool,
        );
    }
    // The exporter's unit starts the installed binary.
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/bpfkit-exporter.service").unwrap();
    assert!(
        unit.lines()
            .any(|l| l.starts_with("ExecStart=/usr/sbin/bpfkit-exporter")),
        "{unit}"
    );
    let found = text(&run(Command::new("man").args(["-w", "bpfkit-opensnoop"])));
    assert_eq!(found.trim(), "/usr/share/man/man8/bpfkit-opensnoop.8.gz");
    let out = dpkg(&["-r", "bpfkit"]);
    assert!(
        out.status.success(),
        "dpkg -r: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dpkg(&["-s", "bpfkit"]).status.success(),
        "bpfkit still installed"
    );
    for f in &expected {
        assert!(!Path::new("/").join(f).exists(), "/{f} left by dpkg -r");
    }
}

#[test]
fn static_binaries_have_no_dynamic_dependencies() {
    setup();
    let _lock = MAKE.lock().unwrap_or_else(|e| e.into_inner());
    make(&["STATIC=1", "release"]);
    let rustc = text(&run(Command::new("rustc").arg("-vV")));
    let host = rustc
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap();
    let dir = Path::new(ROOT).join("target").join(host).join("release");
    for tool in tools() {
        let bin = dir.join(&tool);
        let ldd = Command::new("ldd")
            .arg(&bin)
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&ldd.stdout),
            String::from_utf8_lossy(&ldd.stderr)
        );
        assert!(
            said.contains("not a dynamic executable") || said.contains("statically linked"),
            "{tool}: ldd: {said}"
        );
        let dynamic = text(&run(Command::new("readelf").arg("-d").arg(&bin)));
        assert!(!dynamic.contains("(NEEDED)"), "{tool}: {dynamic}");
    }
    opensnoop_traces(&dir.join("opensnoop"));
}

/// The static opensnoop loads, sees an open, and ends by itself (`-d`).
fn opensnoop_traces(bin: &Path) {
    let path = format!("/tmp/{}", unique("static-open"));
    let mut child = Command::new(bin)
        .args(["-d", "3", "-x"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut stderr = BufReader::new(stderr).lines();
    let attached = stderr
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains(READY));
    assert!(attached, "static opensnoop did not attach");
    // A failed open (ENOENT): -x shows only failures, so ours stands out.
    assert!(std::fs::File::open(&path).is_err());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let printed = text(&out);
    assert!(printed.starts_with("PID"), "{printed}");
    let line = printed
        .lines()
        .find(|l| l.ends_with(&path))
        .unwrap_or_else(|| panic!("{path} not traced: {printed}"));
    assert!(line.contains(" -1   2 "), "{line}");
}
