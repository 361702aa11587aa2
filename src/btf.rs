//! The kernel's BTF, or a BTF file given with `--btf` / `BPFKIT_BTF`, which
//! CO-RE relocations are made against.
//!
//! Kernels built without `CONFIG_DEBUG_INFO_BTF` have no
//! `/sys/kernel/btf/vmlinux`; a BTF file for that exact kernel (from
//! BTFHub, or made by `bpftool gen min_core_btf`) lets the tools run there.

use std::io::Read;
use std::path::Path;

use anyhow::{Result, bail};

pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// What a BTF source starts with: raw BTF (`btf_header.magic`, either byte
/// order) or an ELF file holding a `.BTF` section (libbpf reads both).
fn looks_like_btf(head: &[u8]) -> bool {
    head.starts_with(&[0x9f, 0xeb])
        || head.starts_with(&[0xeb, 0x9f])
        || head.starts_with(b"\x7fELF")
}

/// Checks a `--btf` file before libbpf reads it: it exists, can be read and
/// is BTF, each failure named in one line.
pub fn check_file(path: &Path) -> Result<()> {
    let shown = crate::fmt::escape_control(&path.to_string_lossy()).into_owned();
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("--btf {shown}: no such file")
        }
        Err(e) => bail!("--btf {shown}: cannot read it: {e}"),
    };
    if path.is_dir() {
        bail!("--btf {shown}: is a directory, not a BTF file");
    }
    let mut head = [0u8; 4];
    let n = file.read(&mut head).unwrap_or(0);
    if !looks_like_btf(&head[..n]) {
        bail!(
            "--btf {shown}: not a BTF file (neither raw BTF nor ELF); give the kernel's BTF, \
             e.g. from BTFHub or `bpftool gen min_core_btf`"
        );
    }
    Ok(())
}

/// Fails with what to do when the kernel has no BTF and no file was given.
pub fn require_kernel_btf() -> Result<()> {
    if !Path::new(VMLINUX_BTF).exists() {
        bail!(
            "kernel BTF not found at {VMLINUX_BTF} (kernel built without CONFIG_DEBUG_INFO_BTF): \
             give this kernel's BTF with --btf FILE or BPFKIT_BTF=FILE (BTFHub has files for \
             many distribution kernels)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_raw_btf_and_elf() {
        assert!(looks_like_btf(&[0x9f, 0xeb, 1, 0]));
        assert!(looks_like_btf(b"\x7fELF"));
        assert!(!looks_like_btf(b"hello"));
        assert!(!looks_like_btf(&[]));
    }

    #[test]
    fn bad_files_are_named() {
        let e = check_file(Path::new("/nonexistent/bpfkit.btf")).unwrap_err();
        assert_eq!(e.to_string(), "--btf /nonexistent/bpfkit.btf: no such file");
        let dir = std::env::temp_dir().join(format!("bpfkit-btf-test-{}", std::process::id()));
        std::fs::write(&dir, b"not btf at all").unwrap();
        let e = check_file(&dir).unwrap_err().to_string();
        std::fs::remove_file(&dir).unwrap();
        assert!(e.contains("not a BTF file"), "{e}");
        assert!(check_file(Path::new("/")).is_err());
    }
}
