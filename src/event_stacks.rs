//! Stacks taken with each event (`bpf_get_stackid()` into a stack map, the
//! event carrying the ids), as libbpf-tools' event tools with `-K`/`-U`
//! (capable) show them: named when the event is printed, listed under its
//! row, and kept as arrays of frame names in JSON.

use libbpf_rs::{MapCore, OpenMapMut};

use crate::row::Cell;
use crate::stacks::{self, Side, Style};
use crate::sym::Symbolizer;

/// Sizes the stack map: `depth` frames a stack, `storage` stacks; one
/// entry when no stack is asked for (the map must exist, unused).
pub fn size_map(
    map: &mut OpenMapMut<'_>,
    wanted: bool,
    depth: u32,
    storage: u32,
) -> anyhow::Result<()> {
    map.set_value_size(depth * 8)?;
    map.set_max_entries(if wanted { storage } else { 1 })?;
    Ok(())
}

/// Names the stacks events point to.
pub struct EventStacks<'m> {
    map: &'m dyn MapCore,
    symbolizer: Symbolizer,
    style: Style,
}

impl<'m> EventStacks<'m> {
    /// `verbose`: every frame with its address and offset.
    pub fn new(map: &'m dyn MapCore, verbose: bool) -> Self {
        EventStacks {
            map,
            symbolizer: Symbolizer::new(),
            style: Style::Lines { verbose },
        }
    }

    /// The kernel stack `id` (from `bpf_get_stackid(ctx, map, 0)`), if `wanted`.
    pub fn kernel(&self, wanted: bool, id: i64) -> Side {
        self.side(wanted, id, |addrs| self.symbolizer.kernel(addrs))
    }

    /// Process `pid`'s user stack `id` (`BPF_F_USER_STACK`), if `wanted`.
    pub fn user(&self, wanted: bool, pid: u32, id: i64) -> Side {
        self.side(wanted, id, |addrs| self.symbolizer.user(pid, addrs))
    }

    fn side(&self, wanted: bool, id: i64, name: impl Fn(&[u64]) -> Vec<crate::sym::Frame>) -> Side {
        // -EFAULT: there was no such stack (a kernel thread's user stack).
        if !wanted || id == -stacks::EFAULT {
            return Side::Absent;
        }
        match stacks::addrs(self.map, id) {
            Some(addrs) => Side::Frames(stacks::frame_names(&name(&addrs), self.style)),
            None => Side::Missed,
        }
    }
}

/// Process `pid`'s user frames carried in the event itself (a
/// `bpf_get_stack()` buffer, innermost first, 0 where the stack ended), as
/// opensnoop -c takes them: no stack map. [`Side::Missed`] when the kernel
/// took none; `verbose`: every frame with its address and offset.
pub fn user_buffer(symbolizer: &Symbolizer, verbose: bool, pid: u32, addrs: &[u64]) -> Side {
    let addrs: Vec<u64> = addrs.iter().copied().take_while(|&a| a != 0).collect();
    if addrs.is_empty() {
        return Side::Missed;
    }
    let frames = symbolizer.user(pid, &addrs);
    Side::Frames(stacks::frame_names(&frames, Style::Lines { verbose }))
}

/// A stack's frames as lines under a row, each `indent` spaces in (or
/// `missed` when the kernel took none); none for a stack not asked for.
/// Control bytes in a name are escaped: a demangled name is any text.
pub fn indented(side: &Side, indent: usize, missed: &str) -> Vec<String> {
    match side {
        Side::Frames(names) => (names.iter())
            .map(|n| format!("{:indent$}{}", "", crate::fmt::escape_control(n)))
            .collect(),
        Side::Missed => vec![format!("{:indent$}{missed}", "")],
        Side::Absent => Vec::new(),
    }
}

/// The lines under an event's row, as libbpf-tools capable prints them:
/// kernel frames, user frames (innermost first), then `-  comm (pid)`;
/// nothing when neither stack was asked for.
pub fn lines(kernel: &Side, user: &Side, comm: &str, pid: u32) -> Vec<String> {
    let mut lines = Vec::new();
    for (side, missed) in [
        (kernel, "[Missed Kernel Stack]"),
        (user, "[Missed User Stack]"),
    ] {
        match side {
            Side::Frames(names) => lines.extend(names.iter().map(|n| format!("    {n}"))),
            Side::Missed => lines.push(format!("    {missed}")),
            Side::Absent => {}
        }
    }
    if !lines.is_empty() {
        lines.push(format!(
            "    {:<16} {} ({pid})",
            "-",
            crate::fmt::escape_control(comm)
        ));
    }
    lines
}

/// A stack as a JSON value: the frame names (innermost first), or `null`
/// when the kernel could not keep it or there was none.
pub fn json(side: &Side) -> Cell {
    match side {
        Side::Frames(names) => Cell::both("", names.clone()),
        Side::Missed | Side::Absent => Cell::Null(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_under_a_row() {
        let k = Side::Frames(vec!["cap_capable".into(), "capable".into()]);
        assert_eq!(
            lines(&k, &Side::Missed, "ping", 7),
            [
                "    cap_capable",
                "    capable",
                "    [Missed User Stack]",
                "    -                ping (7)"
            ]
        );
        assert!(lines(&Side::Absent, &Side::Absent, "ping", 7).is_empty());
        assert_eq!(
            json(&k).to_json(),
            serde_json::json!(["cap_capable", "capable"])
        );
        assert_eq!(json(&Side::Missed).to_json(), serde_json::Value::Null);
    }

    #[test]
    fn an_empty_stack_buffer_is_missed() {
        assert_eq!(
            user_buffer(&Symbolizer::new(), false, 1, &[0, 0]),
            Side::Missed
        );
    }

    #[test]
    fn indented_frames_missed_and_escaped() {
        let missed = "[Missed User Stack]";
        assert_eq!(
            super::indented(&Side::Missed, 2, missed),
            ["  [Missed User Stack]"]
        );
        let odd = Side::Frames(vec!["odd\nname".into()]);
        assert_eq!(super::indented(&odd, 1, missed), [r" odd\nname"]);
        assert!(super::indented(&Side::Absent, 4, missed).is_empty());
    }
}
