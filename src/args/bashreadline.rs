//! `bashreadline`'s command line: flags, help text and EXAMPLES (the binary in
//! src/bin/bashreadline.rs parses it; the man page generator reads it).

use clap::Parser;

use crate::cli::CommonArgs;

pub const EXAMPLES: &str = "EXAMPLES:
    bashreadline                                  # commands of every bash
    bashreadline -s /usr/lib/libreadline.so.8     # readline() in this library
    bashreadline -s libreadline                   # ... found by name";

/// Print entered bash commands from all running shells
#[derive(Parser, Debug)]
#[command(name = "bashreadline", version, after_help = EXAMPLES)]
pub struct Args {
    /// The file holding readline(): a libreadline.so (path or library name) or a bash binary
    #[arg(short = 's', long = "shared", value_name = "PATH")]
    pub shared: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["bashreadline", "-s", "/usr/lib/libreadline.so"]).unwrap();
        assert_eq!(a.shared.as_deref(), Some("/usr/lib/libreadline.so"));
        let a =
            Args::try_parse_from(["bashreadline", "--shared=libreadline", "--json", "-v"]).unwrap();
        assert_eq!(a.shared.as_deref(), Some("libreadline"));
        assert!(a.common.json && a.common.verbose);
        assert!(Args::try_parse_from(["bashreadline", "-s"]).is_err());
        assert!(Args::try_parse_from(["bashreadline", "-p", "1"]).is_err());
    }
}
