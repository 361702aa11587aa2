//! Every tool's command line, in the library so man pages and shell
//! completions can be generated from it.

pub mod profile;

/// The command of every tool, for generated docs.
pub fn commands() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![profile::Args::command()]
}
