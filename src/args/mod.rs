//! Every tool's command line, in the library so that man pages and shell
//! completions can be generated from it without building or running the
//! tools (`make install`, examples/gen_manpages.rs).
//!
//! `src/args/<tool>.rs` holds the tool's `pub struct Args` (clap derive), its
//! `EXAMPLES` (the libbpf-tools style after-help) and its own value parsers.

use clap::CommandFactory;

pub mod bashreadline;
pub mod bindsnoop;
pub mod biolatency;
pub mod bootstrap;
pub mod bpfkit_exporter;
pub mod capable;
pub mod cpudist;
pub mod execsnoop;
pub mod exitsnoop;
pub mod fentry_unlink;
pub mod fsdist;
pub mod fsslower;
pub mod gethostlatency;
pub mod hardirqs;
pub mod javagc;
pub mod kprobe_unlink;
pub mod memleak;
pub mod minimal;
pub mod mountsnoop;
pub mod offcputime;
pub mod oomkill;
pub mod opensnoop;
pub mod profile;
pub mod runqlat;
pub mod runqlen;
pub mod runqslower;
pub mod sigsnoop;
pub mod softirqs;
pub mod statsnoop;
pub mod syscount;
pub mod tcpconnect;
pub mod tcpconnlat;
pub mod tcplife;
pub mod tcprtt;
pub mod tcpstates;
pub mod tcptop;
pub mod tcptracer;
pub mod tcsnoop;
pub mod xdpcount;

/// Every tool's clap command, named as its binary.
pub fn commands() -> Vec<clap::Command> {
    vec![
        bashreadline::Args::command(),
        bindsnoop::Args::command(),
        biolatency::Args::command(),
        bootstrap::Args::command(),
        bpfkit_exporter::Args::command(),
        capable::Args::command(),
        cpudist::Args::command(),
        execsnoop::Args::command(),
        exitsnoop::Args::command(),
        fentry_unlink::Args::command(),
        gethostlatency::Args::command(),
        fsdist::Args::command(),
        fsslower::Args::command(),
        hardirqs::Args::command(),
        javagc::Args::command(),
        kprobe_unlink::Args::command(),
        memleak::Args::command(),
        minimal::Args::command(),
        offcputime::Args::command(),
        mountsnoop::Args::command(),
        oomkill::Args::command(),
        opensnoop::Args::command(),
        profile::Args::command(),
        runqlat::Args::command(),
        runqlen::Args::command(),
        runqslower::Args::command(),
        sigsnoop::Args::command(),
        softirqs::Args::command(),
        statsnoop::Args::command(),
        tcpconnect::Args::command(),
        syscount::Args::command(),
        tcpconnlat::Args::command(),
        tcplife::Args::command(),
        tcprtt::Args::command(),
        tcpstates::Args::command(),
        tcptop::Args::command(),
        tcptracer::Args::command(),
        tcsnoop::Args::command(),
        xdpcount::Args::command(),
    ]
}

/// A tool's arguments parsed from `argv` (without the program name), for
/// the argument tests of `src/args/<tool>.rs`.
pub fn try_parse<A: clap::Parser>(argv: &[&str]) -> Result<A, clap::Error> {
    let name = A::command().get_name().to_string();
    A::try_parse_from(std::iter::once(name.as_str()).chain(argv.iter().copied()))
}

/// The same for arguments that must parse, for the row tests of a tool's
/// binary (`use bpfkit::args::parse_argv as args;`).
pub fn parse_argv<A: clap::Parser>(argv: &[&str]) -> A {
    try_parse(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_valid_and_has_version_and_examples() {
        let cmds = commands();
        let mut names: Vec<String> = cmds.iter().map(|c| c.get_name().to_string()).collect();
        for cmd in cmds {
            let name = cmd.get_name().to_string();
            assert!(cmd.get_version().is_some(), "{name}: no --version");
            let after = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(after.starts_with("EXAMPLES:\n    "), "{name}: no EXAMPLES");
            assert!(
                after.contains(&format!("    {name}")),
                "{name}: EXAMPLES of another tool"
            );
            assert!(cmd.get_about().is_some(), "{name}: no about");
            cmd.debug_assert();
        }
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "two commands with one name");
    }

    #[test]
    fn every_binary_has_a_command() {
        let bins: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
        let names: Vec<String> = commands()
            .iter()
            .map(|c| c.get_name().to_string())
            .collect();
        for bin in &bins {
            assert!(
                names.contains(bin),
                "src/bin/{bin}.rs has no command in src/args"
            );
        }
        assert_eq!(bins.len(), names.len());
    }
}
