//! Every tool's command line (clap `Args`, `EXAMPLES`, own value parsers),
//! in the library so man pages and completions can be generated from them.

pub mod tcpstates;
pub mod tcsnoop;
pub mod xdpcount;

/// Every tool's clap command.
pub fn commands() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![
        tcpstates::Args::command(),
        tcsnoop::Args::command(),
        xdpcount::Args::command(),
    ]
}
