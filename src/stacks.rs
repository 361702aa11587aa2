//! Stacks kept in a `BPF_MAP_TYPE_STACK_TRACE` map (memleak, profile):
//! reading them, accounting for the ones the kernel could not keep, and the
//! text forms profilers print — libbpf-tools' multi-line stacks and the
//! folded `comm;outer;…;inner count` lines flame graphs are drawn from.

use libbpf_rs::{MapCore, MapFlags};

use crate::sym::Frame;

/// `bpf_get_stackid()` → -EFAULT: there was no such stack to take (a kernel
/// stack while the CPU was in user mode, a user stack of a kernel thread).
pub const EFAULT: i64 = 14;
/// `bpf_get_stackid()` → -EEXIST: a different stack already holds the
/// bucket (a hash collision): the stack map is too small.
pub const EEXIST: i64 = 17;

/// The addresses of one stack, innermost first; `None` when the id is an
/// error or the map no longer holds it.
pub fn addrs(map: &dyn MapCore, stack_id: i64) -> Option<Vec<u64>> {
    let id = u32::try_from(stack_id).ok()?;
    match map.lookup(&id.to_ne_bytes(), MapFlags::ANY) {
        Ok(Some(bytes)) => Some(
            bytes
                .chunks_exact(8)
                .filter_map(|c| c.try_into().ok().map(u64::from_ne_bytes))
                .take_while(|&a| a != 0)
                .collect(),
        ),
        _ => None,
    }
}

/// Stacks that could not be kept, for the warning libbpf-tools prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Missing {
    /// Stack ids that are errors other than EFAULT (no stack to take).
    pub stacks: u64,
    /// Of those, hash collisions (EEXIST): the stack map is too small.
    pub collisions: u64,
}

impl Missing {
    /// Counts `stack_id` `n` times if it is a stack that was lost.
    pub fn note(&mut self, stack_id: i64, n: u64) {
        if stack_id < 0 && stack_id != -EFAULT {
            self.stacks += n;
            if stack_id == -EEXIST {
                self.collisions += n;
            }
        }
    }
}

/// One side (kernel or user) of a sampled stack, as it will print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// Frame names, innermost first.
    Frames(Vec<String>),
    /// The kernel could not keep it (a stack-id error other than EFAULT, or
    /// gone from the map): printed as `[Missed Kernel Stack]`.
    Missed,
    /// Not asked for (-U/-K) or there was none (EFAULT): not printed.
    Absent,
}

/// How frames are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Multi-line stacks: `func`, `inner [inlined]`,
    /// `0x00007f… [unknown]`; verbose adds the address and offset to
    /// every frame (`0x00007f… func+0x1a (libc.so.6)`).
    Lines { verbose: bool },
    /// Folded stacks: `func`, `inner_[i]` (flamegraph.pl's and inferno's
    /// mark for inlined frames), `[unknown]`; no `;` inside a name.
    Folded,
}

/// The names of `frames` (innermost first), each inlined function a frame
/// of its own above the function it was inlined into.
pub fn frame_names(frames: &[Frame], style: Style) -> Vec<String> {
    let mut names = Vec::with_capacity(frames.len());
    for f in frames {
        for i in &f.inlined {
            names.push(match style {
                Style::Folded => format!("{}_[i]", fold_safe(&i.name)),
                Style::Lines { .. } => format!("{} [inlined]", i.name),
            });
        }
        names.push(match (style, &f.name) {
            (Style::Folded, Some(n)) => fold_safe(n),
            (Style::Folded, None) => "[unknown]".to_string(),
            (Style::Lines { verbose: false }, Some(n)) => n.clone(),
            (Style::Lines { verbose: true }, Some(n)) => {
                let mut s = format!("{:#018x} {n}+{:#x}", f.addr, f.offset);
                if let Some(m) = &f.module {
                    s += &format!(" ({m})");
                }
                s
            }
            (Style::Lines { .. }, None) => format!("{:#018x} [unknown]", f.addr),
        });
    }
    names
}

/// A name as a folded frame: `;` separates frames there.
fn fold_safe(name: &str) -> String {
    name.replace([';', '\n'], ":")
}

/// One folded line, as libbpf-tools profile -f prints it: the comm, then
/// the user frames and the kernel frames, each outermost first (so the
/// root of the flame graph is the process), `-` between the two with
/// `delimit`, then the count.
pub fn folded_line(comm: &str, user: &Side, kernel: &Side, delimit: bool, count: u64) -> String {
    format!("{} {count}", folded_stack(comm, user, kernel, delimit))
}

/// [`folded_line`] without the count: the stack's identity in a flame graph.
pub fn folded_stack(comm: &str, user: &Side, kernel: &Side, delimit: bool) -> String {
    let mut parts = vec![fold_safe(comm)];
    let user_shown = push_folded(&mut parts, user, "[Missed User Stack]");
    if delimit && user_shown && *kernel != Side::Absent {
        parts.push("-".into());
    }
    push_folded(&mut parts, kernel, "[Missed Kernel Stack]");
    parts.join(";")
}

fn push_folded(parts: &mut Vec<String>, side: &Side, missed: &str) -> bool {
    match side {
        Side::Frames(names) => {
            parts.extend(names.iter().rev().cloned());
            true
        }
        Side::Missed => {
            parts.push(missed.into());
            true
        }
        Side::Absent => false,
    }
}

/// One stack in libbpf-tools profile's multi-line form: the kernel frames
/// then the user frames, innermost first, `--` between them with
/// `delimit`, then `-  comm (pid)`, the count and an empty line.
pub fn multiline(
    comm: &str,
    pid: u32,
    user: &Side,
    kernel: &Side,
    delimit: bool,
    count: u64,
) -> Vec<String> {
    let mut lines = Vec::new();
    let kernel_shown = push_lines(&mut lines, kernel, "[Missed Kernel Stack]");
    if delimit && kernel_shown && *user != Side::Absent {
        lines.push("    --".into());
    }
    push_lines(&mut lines, user, "[Missed User Stack]");
    lines.push(format!("    {:<16} {comm} ({pid})", "-"));
    lines.push(format!("        {count}"));
    lines.push(String::new());
    lines
}

fn push_lines(lines: &mut Vec<String>, side: &Side, missed: &str) -> bool {
    match side {
        Side::Frames(names) => {
            lines.extend(names.iter().map(|n| format!("    {n}")));
            true
        }
        Side::Missed => {
            lines.push(format!("    {missed}"));
            true
        }
        Side::Absent => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sym::Inlined;

    fn names(v: &[&str]) -> Side {
        Side::Frames(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn missing_counts_errors_but_not_efault() {
        let mut m = Missing::default();
        m.note(3, 1);
        m.note(-EFAULT, 5);
        m.note(-EEXIST, 2);
        m.note(-12, 1); // ENOMEM
        assert_eq!(
            m,
            Missing {
                stacks: 3,
                collisions: 2
            }
        );
    }

    #[test]
    fn folded_is_outermost_first_user_then_kernel() {
        let user = names(&["burn", "main", "__libc_start_main"]);
        let kernel = names(&["irq_exit", "asm_sysvec_apic_timer_interrupt"]);
        assert_eq!(
            folded_line("app", &user, &kernel, false, 42),
            "app;__libc_start_main;main;burn;asm_sysvec_apic_timer_interrupt;irq_exit 42"
        );
        assert_eq!(
            folded_line("app", &user, &kernel, true, 42),
            "app;__libc_start_main;main;burn;-;asm_sysvec_apic_timer_interrupt;irq_exit 42"
        );
        // One side only: no delimiter.
        assert_eq!(
            folded_line("app", &user, &Side::Absent, true, 1),
            "app;__libc_start_main;main;burn 1"
        );
        assert_eq!(
            folded_line("kworker/0:1", &Side::Absent, &kernel, true, 7),
            "kworker/0:1;asm_sysvec_apic_timer_interrupt;irq_exit 7"
        );
        assert_eq!(
            folded_line("a;b", &Side::Missed, &Side::Missed, true, 3),
            "a:b;[Missed User Stack];-;[Missed Kernel Stack] 3"
        );
    }

    #[test]
    fn multiline_like_libbpf_tools() {
        let user = names(&["burn", "main"]);
        let kernel = names(&["irq_exit"]);
        assert_eq!(
            multiline("app", 181, &user, &kernel, false, 9),
            vec![
                "    irq_exit",
                "    burn",
                "    main",
                "    -                app (181)",
                "        9",
                "",
            ]
        );
        let lines = multiline("app", 181, &user, &kernel, true, 9);
        assert_eq!(lines[1], "    --");
        let lines = multiline("app", 181, &user, &Side::Missed, true, 2);
        assert_eq!(lines[0], "    [Missed Kernel Stack]");
        assert_eq!(lines[1], "    --");
        let lines = multiline("app", 181, &Side::Absent, &kernel, true, 2);
        assert_eq!(lines[1], "    -                app (181)");
    }

    fn frame(name: Option<&str>, addr: u64, inlined: &[&str]) -> Frame {
        Frame {
            addr,
            name: name.map(str::to_string),
            offset: 0x10,
            module: Some("app".into()),
            inlined: inlined
                .iter()
                .map(|n| Inlined {
                    name: n.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn frame_names_mark_inlined_and_unknown() {
        let frames = vec![
            frame(Some("outer"), 0x1000, &["leaf", "middle"]),
            frame(None, 0x7f00_0000_0001, &[]),
            frame(Some("ns::f<a;b>"), 0x2000, &[]),
        ];
        assert_eq!(
            frame_names(&frames, Style::Folded),
            vec!["leaf_[i]", "middle_[i]", "outer", "[unknown]", "ns::f<a:b>"]
        );
        assert_eq!(
            frame_names(&frames, Style::Lines { verbose: false }),
            vec![
                "leaf [inlined]",
                "middle [inlined]",
                "outer",
                "0x00007f0000000001 [unknown]",
                "ns::f<a;b>"
            ]
        );
        let verbose = frame_names(&frames[..1], Style::Lines { verbose: true });
        assert_eq!(verbose[2], "0x0000000000001000 outer+0x10 (app)");
    }
}
