//! Choosing which programs of a BPF object load, from their section names:
//! a tool with several modes loads only the programs of the mode it runs
//! in, and tracepoint programs only where the kernel has the tracepoint.

use anyhow::Result;
use libbpf_rs::OpenObject;

/// The (category, name) of a `SEC("tracepoint/CATEGORY/NAME")` (or `tp/`)
/// section.
pub fn tracepoint_of(section: &str) -> Option<(&str, &str)> {
    let rest = section
        .strip_prefix("tracepoint/")
        .or_else(|| section.strip_prefix("tp/"))?;
    rest.split_once('/')
}

/// Whether a section is a uprobe or uretprobe (single or multi).
pub fn is_uprobe(section: &str) -> bool {
    section.starts_with("uprobe") || section.starts_with("uretprobe")
}

/// Loads the tracepoint programs whose category `want`s and whose
/// tracepoint this kernel has, and nothing else; returns the
/// `category:name` of each one loaded.
pub fn load_tracepoints(
    object: &mut OpenObject,
    want: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let mut loaded = Vec::new();
    for mut prog in object.progs_mut() {
        let section = prog.section().to_string_lossy().into_owned();
        let on = match tracepoint_of(&section) {
            Some((cat, name)) if want(cat) && crate::probe::tracepoint_exists(cat, name)? => {
                loaded.push(format!("{cat}:{name}"));
                true
            }
            _ => false,
        };
        prog.set_autoload(on);
    }
    Ok(loaded)
}

/// Loads the programs whose section `want`s, and nothing else.
pub fn load_only(object: &mut OpenObject, want: impl Fn(&str) -> bool) {
    for mut prog in object.progs_mut() {
        let on = want(&prog.section().to_string_lossy());
        prog.set_autoload(on);
    }
}

/// The syscall tracepoint programs of an object with two versions of each
/// syscall's program: exit-only ones, which read the arguments from the
/// task's saved registers (`bpf_task_pt_regs`, Linux 5.15), and
/// `*_paired` enter+exit ones for older kernels. Loads the version this
/// kernel can run, and neither for a syscall it does not have (`open` on
/// arm64, `openat2` before 5.6).
pub fn load_syscall_programs(object: &mut OpenObject) -> Result<()> {
    let exit_only = crate::kernel::TASK_PT_REGS.available();
    for mut prog in object.progs_mut() {
        let paired = prog.name().to_string_lossy().ends_with("_paired");
        let on = syscall_exists(&prog)? && paired != exit_only;
        prog.set_autoload(on);
    }
    Ok(())
}

/// Loads every syscall tracepoint program of `object` whose syscall this
/// kernel has (`newstat` is not on arm64, `statx` not before 4.11).
pub fn load_present_syscalls(object: &mut OpenObject) -> Result<()> {
    for mut prog in object.progs_mut() {
        let on = syscall_exists(&prog)?;
        prog.set_autoload(on);
    }
    Ok(())
}

/// Whether the syscall of a `syscalls:sys_{enter,exit}_*` program exists
/// here (true for any other program).
fn syscall_exists(prog: &libbpf_rs::OpenProgramMut<'_>) -> Result<bool> {
    let section = prog.section().to_string_lossy().into_owned();
    let syscall = tracepoint_of(&section).and_then(|(_, name)| {
        name.strip_prefix("sys_exit_")
            .or_else(|| name.strip_prefix("sys_enter_"))
    });
    match syscall {
        Some(s) => crate::probe::tracepoint_exists("syscalls", &format!("sys_exit_{s}")),
        None => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        assert_eq!(
            tracepoint_of("tracepoint/kmem/kmalloc"),
            Some(("kmem", "kmalloc"))
        );
        assert_eq!(
            tracepoint_of("tp/sched/sched_switch"),
            Some(("sched", "sched_switch"))
        );
        assert_eq!(tracepoint_of("uprobe"), None);
        assert_eq!(tracepoint_of("tracepoint/kmem"), None);
        assert!(is_uprobe("uprobe") && is_uprobe("uretprobe.multi") && !is_uprobe("tp/a/b"));
    }
}
