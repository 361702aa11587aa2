//! Which BPF features the running kernel has, probed rather than guessed
//! from the version (distributions backport), so a tool picks the programs
//! this kernel can verify, or exits with one line naming what is missing
//! and the first Linux version that has it. The oldest kernel tested is
//! 5.10 (`make vmtest`).

use anyhow::{Result, bail};

/// A kernel feature a tool may need: what it is and where it first appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    /// As a user would look it up: `the bpf_task_pt_regs helper`.
    pub name: &'static str,
    /// The first mainline release that has it: `5.15`.
    pub since: &'static str,
    probe: Probe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    /// A helper, tried in a program of this type.
    Helper(libbpf_sys::bpf_prog_type, libbpf_sys::bpf_func_id),
}

/// `bpf_task_pt_regs()`: a task's saved user registers (syscall arguments
/// read at syscall exit). Linux 5.15.
pub const TASK_PT_REGS: Feature = Feature {
    name: "the bpf_task_pt_regs helper",
    since: "5.15",
    probe: Probe::Helper(
        libbpf_sys::BPF_PROG_TYPE_TRACEPOINT,
        libbpf_sys::BPF_FUNC_task_pt_regs,
    ),
};

/// `bpf_get_current_task_btf()`: the current task as a typed pointer. Linux 5.11.
pub const CURRENT_TASK_BTF: Feature = Feature {
    name: "the bpf_get_current_task_btf helper",
    since: "5.11",
    probe: Probe::Helper(
        libbpf_sys::BPF_PROG_TYPE_TRACEPOINT,
        libbpf_sys::BPF_FUNC_get_current_task_btf,
    ),
};

/// `bpf_get_attach_cookie()` in kprobe/uprobe programs. Linux 5.15.
pub const ATTACH_COOKIE: Feature = Feature {
    name: "the bpf_get_attach_cookie helper",
    since: "5.15",
    probe: Probe::Helper(
        libbpf_sys::BPF_PROG_TYPE_KPROBE,
        libbpf_sys::BPF_FUNC_get_attach_cookie,
    ),
};

impl Feature {
    /// Whether the running kernel has it. A probe that cannot run at all
    /// (no privileges) counts as no: the tool's own load then says why.
    pub fn available(&self) -> bool {
        match self.probe {
            Probe::Helper(prog_type, helper) => {
                // SAFETY: a plain libbpf call; NULL opts is documented as allowed.
                unsafe {
                    libbpf_sys::libbpf_probe_bpf_helper(prog_type, helper, std::ptr::null()) == 1
                }
            }
        }
    }

    /// The one-line reason a tool cannot run without it.
    pub fn missing(&self) -> String {
        format!(
            "this kernel ({}) lacks {}, which needs Linux {} or newer",
            release(),
            self.name,
            self.since
        )
    }

    /// Fails with [`Feature::missing`] when the kernel does not have it.
    pub fn require(&self) -> Result<()> {
        if !self.available() {
            bail!("{}", self.missing());
        }
        Ok(())
    }
}

/// The running kernel's release (`uname -r`), e.g. `5.10.0-46-amd64`.
pub fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_names_feature_and_version() {
        let line = TASK_PT_REGS.missing();
        assert!(line.contains("bpf_task_pt_regs"), "{line}");
        assert!(line.ends_with("needs Linux 5.15 or newer"), "{line}");
        assert!(line.contains(&release()), "{line}");
    }
}
