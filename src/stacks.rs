//! Stacks kept in a `BPF_MAP_TYPE_STACK_TRACE` map (memleak, profile):
//! reading them, accounting for the ones the kernel could not keep, and the
//! text forms profilers print — libbpf-tools' multi-line stacks and the
//! folded `comm;outer;…;inner count` lines flame graphs are drawn from.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags, OpenMapMut};
use serde_json::Value;

use crate::sym::{Frame, Symbolizer};

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

/// Sizes a stack map before load: room for `entries` stacks of `depth`
/// frames each.
pub fn size_map(map: &mut OpenMapMut<'_>, depth: u32, entries: u32) -> Result<()> {
    map.set_value_size(depth * 8)
        .context("sizing the stack map")?;
    map.set_max_entries(entries)
        .context("sizing the stack map")?;
    Ok(())
}

/// The addresses of a `bpf_get_stack()` buffer holding `size` bytes.
pub fn buffer_addrs(buf: &[u64], size: i32) -> &[u64] {
    let n = (size.max(0) as usize / 8).min(buf.len());
    &buf[..n]
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

    /// The warning for stacks that could not be shown; `None` when none.
    pub fn warning(&self) -> Option<String> {
        (self.stacks > 0).then(|| {
            format!(
                "WARNING: {} stack traces could not be displayed ({} of them stack-map hash \
                 collisions).{}",
                self.stacks,
                self.collisions,
                if self.collisions > 0 {
                    " Consider increasing --stack-storage-size."
                } else {
                    ""
                }
            )
        })
    }

    /// Prints [`warning`](Self::warning) on stderr, if any.
    pub fn warn(&self) {
        if let Some(w) = self.warning() {
            crate::output::note(format_args!("{w}"));
        }
    }
}

/// One side (kernel or user) of a stack, symbolized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stack {
    /// Innermost first.
    Frames(Vec<Frame>),
    /// The kernel could not keep it (see [`Side::Missed`]).
    Missed,
    /// Not asked for, or there was none (see [`Side::Absent`]).
    Absent,
}

impl Stack {
    /// The side as it will print, its frames named in `style`.
    pub fn side(&self, style: Style) -> Side {
        match self {
            Stack::Frames(f) => Side::Frames(frame_names(f, style)),
            Stack::Missed => Side::Missed,
            Stack::Absent => Side::Absent,
        }
    }

    /// The frames (none unless [`Stack::Frames`]).
    pub fn frames(&self) -> &[Frame] {
        match self {
            Stack::Frames(f) => f,
            Stack::Missed | Stack::Absent => &[],
        }
    }

    /// The JSON form: an array of frames, `null` without frames.
    pub fn json(&self) -> Value {
        match self {
            Stack::Frames(f) => f.iter().map(Frame::to_json).collect(),
            Stack::Missed | Stack::Absent => Value::Null,
        }
    }
}

/// Whether a stack id names a stack to read (`None`), and what the side is
/// otherwise: absent when not `wanted` or there was none (EFAULT), missed
/// (and counted in `missing`) for other errors.
pub fn classify(id: i64, wanted: bool, missing: &mut Missing) -> Option<Stack> {
    if !wanted || id == -EFAULT {
        return Some(Stack::Absent);
    }
    if id < 0 {
        missing.note(id, 1);
        return Some(Stack::Missed);
    }
    None
}

/// Whose addresses a stack holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    Kernel,
    /// A user stack of this process.
    User(u32),
}

/// Stacks read from a stack map and symbolized: each (space, id) read once,
/// each distinct address of a space named once, in one symbolizer call per
/// space.
pub struct Resolved {
    stacks: HashMap<(Space, i64), Option<Vec<Frame>>>,
}

impl Resolved {
    /// Reads and names the stacks `wanted` (negative ids are skipped).
    pub fn read(
        map: &dyn MapCore,
        sym: &Symbolizer,
        wanted: impl IntoIterator<Item = (Space, i64)>,
    ) -> Self {
        let mut addrs_of: HashMap<(Space, i64), Option<Vec<u64>>> = HashMap::new();
        for (space, id) in wanted {
            if id >= 0 {
                addrs_of
                    .entry((space, id))
                    .or_insert_with(|| addrs(map, id));
            }
        }
        let mut per_space: HashMap<Space, HashSet<u64>> = HashMap::new();
        for ((space, _), a) in &addrs_of {
            per_space
                .entry(*space)
                .or_default()
                .extend(a.iter().flatten());
        }
        let names: HashMap<Space, HashMap<u64, Frame>> = per_space
            .into_iter()
            .map(|(space, set)| {
                let list: Vec<u64> = set.into_iter().collect();
                let frames = match space {
                    _ if list.is_empty() => Vec::new(),
                    Space::Kernel => sym.kernel(&list),
                    Space::User(pid) => sym.user(pid, &list),
                };
                (space, list.into_iter().zip(frames).collect())
            })
            .collect();
        let stacks = addrs_of
            .into_iter()
            .map(|((space, id), a)| {
                let frames = a.map(|a| {
                    a.iter()
                        .map(|addr| {
                            names
                                .get(&space)
                                .and_then(|n| n.get(addr).cloned())
                                .unwrap_or_else(|| Frame::unknown(*addr))
                        })
                        .collect()
                });
                ((space, id), frames)
            })
            .collect();
        Resolved { stacks }
    }

    /// The frames of a stack read; `None` when the map no longer held it
    /// (or it was not asked for).
    pub fn frames(&self, space: Space, id: i64) -> Option<&Vec<Frame>> {
        self.stacks.get(&(space, id)).and_then(Option::as_ref)
    }

    /// The side of stack `id`: [`classify`]'d, then read; a stack gone from
    /// the map counts in `missing`.
    pub fn stack(&self, space: Space, id: i64, wanted: bool, missing: &mut Missing) -> Stack {
        classify(id, wanted, missing).unwrap_or_else(|| match self.frames(space, id) {
            Some(f) => Stack::Frames(f.clone()),
            None => {
                missing.stacks += 1;
                Stack::Missed
            }
        })
    }
}

/// Beyond this many frames a [`FrameCache`] starts afresh (memory stays
/// bounded).
const FRAME_CACHE_MAX: usize = 100_000;

/// Frames already named, by key (an address, or a (pid, address)): the same
/// stacks come again and again, and each sample must be handled faster than
/// samples arrive. With a time to live, everything is forgotten that often
/// (a process may exec or map new code, and a pid be reused).
pub struct FrameCache<K> {
    frames: HashMap<K, Frame>,
    since: Instant,
    ttl: Option<Duration>,
}

impl<K: Hash + Eq + Copy> FrameCache<K> {
    pub fn new(ttl: Option<Duration>) -> Self {
        FrameCache {
            frames: HashMap::new(),
            since: Instant::now(),
            ttl,
        }
    }

    /// The frames of `keys`, naming the ones not seen yet in one call of
    /// `symbolize` (which gets their addresses).
    pub fn frames(
        &mut self,
        keys: &[K],
        addr: impl Fn(&K) -> u64,
        symbolize: impl FnOnce(&[u64]) -> Vec<Frame>,
    ) -> Vec<Frame> {
        let expired = self.ttl.is_some_and(|t| self.since.elapsed() >= t);
        if expired || self.frames.len() > FRAME_CACHE_MAX {
            self.frames.clear();
            self.since = Instant::now();
        }
        let mut missing: Vec<K> = keys
            .iter()
            .filter(|k| !self.frames.contains_key(k))
            .copied()
            .collect();
        missing.dedup();
        if !missing.is_empty() {
            let addrs: Vec<u64> = missing.iter().map(&addr).collect();
            let named = symbolize(&addrs);
            for (k, f) in missing.into_iter().zip(named) {
                self.frames.insert(k, f);
            }
        }
        keys.iter()
            .map(|k| {
                self.frames
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| Frame::unknown(addr(k)))
            })
            .collect()
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

/// How long [`SampleNames`] keeps user frames: a process may exec or map
/// new code (and a pid be reused).
pub const USER_FRAMES_TTL: Duration = Duration::from_secs(2);

/// Names the stacks of single samples (`profile --samples`) through a
/// [`FrameCache`] per side: kernel frames by address, for good; user frames
/// by (pid, address), for [`USER_FRAMES_TTL`].
pub struct SampleNames {
    kernel: FrameCache<u64>,
    user: FrameCache<(u32, u64)>,
}

impl Default for SampleNames {
    fn default() -> Self {
        SampleNames {
            kernel: FrameCache::new(None),
            user: FrameCache::new(Some(USER_FRAMES_TTL)),
        }
    }
}

impl SampleNames {
    pub fn kernel(&mut self, sym: &Symbolizer, addrs: &[u64]) -> Vec<Frame> {
        self.kernel.frames(addrs, |a| *a, |a| sym.kernel(a))
    }

    pub fn user(&mut self, sym: &Symbolizer, pid: u32, addrs: &[u64]) -> Vec<Frame> {
        let keys: Vec<(u32, u64)> = addrs.iter().map(|&a| (pid, a)).collect();
        self.user.frames(&keys, |k| k.1, |a| sym.user(pid, a))
    }
}

/// Sums the counts of identical folded stacks; most samples first, then
/// by text.
pub fn merge_folded(lines: impl IntoIterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut merged: HashMap<String, u64> = HashMap::new();
    for (text, count) in lines {
        *merged.entry(text).or_default() += count;
    }
    let mut v: Vec<(String, u64)> = merged.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// One sample as the lesson prints it (`COMM: app (pid=42) @ CPU 1`, then
/// `Kernel:` and `Userspace:` frames, each inlined function on a line of its
/// own); a side is `None` when not asked for (-U/-K), `Some(None)` when the
/// sample had no such stack.
pub fn sample_lines(
    comm: &str,
    pid: u32,
    cpu: u32,
    kernel: Option<&Option<Vec<Frame>>>,
    user: Option<&Option<Vec<Frame>>>,
) -> Vec<String> {
    let mut lines = vec![format!("COMM: {comm} (pid={pid}) @ CPU {cpu}")];
    for (side, title, none) in [
        (kernel, "Kernel:", "No Kernel Stack"),
        (user, "Userspace:", "No Userspace Stack"),
    ] {
        match side {
            None => {}
            Some(None) => lines.push(none.to_string()),
            Some(Some(frames)) => {
                lines.push(title.to_string());
                for (i, f) in frames.iter().enumerate() {
                    let index = i.to_string();
                    let pad = " ".repeat(index.len());
                    let mut first = true;
                    for inl in &f.inlined {
                        let mut l = format!(
                            "{} [<{:016x}>] {} [inlined]",
                            if first { &index } else { &pad },
                            f.addr,
                            inl.name
                        );
                        if let (Some(file), Some(line)) = (&inl.file, inl.line) {
                            l += &format!(" {file}:{line}");
                        }
                        lines.push(l);
                        first = false;
                    }
                    lines.push(format!("{} {f}", if first { &index } else { &pad }));
                }
            }
        }
    }
    lines.push(String::new());
    lines
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

    #[test]
    fn identical_folded_stacks_merge() {
        let v = merge_folded(vec![
            ("app;main;burn".to_string(), 3),
            ("app;main;idle".to_string(), 5),
            ("app;main;burn".to_string(), 4),
            ("b;x".to_string(), 5),
        ]);
        assert_eq!(
            v,
            vec![
                ("app;main;burn".to_string(), 7),
                ("app;main;idle".to_string(), 5),
                ("b;x".to_string(), 5),
            ]
        );
    }

    #[test]
    fn stack_ids_classified_like_libbpf_tools() {
        let mut m = Missing::default();
        assert!(classify(5, true, &mut m).is_none());
        assert_eq!(classify(-1, false, &mut m), Some(Stack::Absent));
        assert_eq!(classify(-EFAULT, true, &mut m), Some(Stack::Absent));
        assert_eq!(classify(-EEXIST, true, &mut m), Some(Stack::Missed));
        assert_eq!(classify(-12, true, &mut m), Some(Stack::Missed));
        assert_eq!(m.stacks, 2);
        assert_eq!(m.collisions, 1);
    }

    #[test]
    fn warning_says_how_many_and_what_to_do() {
        assert_eq!(Missing::default().warning(), None);
        let m = Missing {
            stacks: 3,
            collisions: 1,
        };
        assert_eq!(
            m.warning().unwrap(),
            "WARNING: 3 stack traces could not be displayed (1 of them stack-map hash \
             collisions). Consider increasing --stack-storage-size."
        );
        let m = Missing {
            stacks: 2,
            collisions: 0,
        };
        assert!(m.warning().unwrap().ends_with("collisions)."));
    }

    #[test]
    fn sample_view_like_the_lesson() {
        let user = vec![
            Frame {
                addr: 0x5555_0000_1189,
                name: Some("burn".into()),
                offset: 0x19,
                module: Some("app".into()),
                file: Some("/src/app.c".into()),
                line: Some(12),
                inlined: vec![Inlined {
                    name: "leaf".into(),
                    file: Some("/src/app.c".into()),
                    line: Some(5),
                }],
            },
            Frame::unknown(0x7f00_0000_0001),
        ];
        let lines = sample_lines("app", 42, 1, Some(&None), Some(&Some(user)));
        assert_eq!(
            lines,
            vec![
                "COMM: app (pid=42) @ CPU 1",
                "No Kernel Stack",
                "Userspace:",
                "0 [<0000555500001189>] leaf [inlined] /src/app.c:5",
                "  [<0000555500001189>] burn+0x19 [app] /src/app.c:12",
                "1 [<00007f0000000001>] [unknown]",
                "",
            ]
        );
        // -U: no kernel section at all.
        let lines = sample_lines("app", 42, 0, None, Some(&None));
        assert_eq!(lines[1], "No Userspace Stack");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn frame_cache_names_each_address_once() {
        let calls = std::cell::Cell::new(0);
        let name = |a: &[u64]| {
            calls.set(calls.get() + 1);
            a.iter()
                .map(|&x| Frame {
                    addr: x,
                    name: Some(format!("f{x}")),
                    ..Default::default()
                })
                .collect::<Vec<_>>()
        };
        let mut c = FrameCache::new(None);
        let f = c.frames(&[1u64, 2, 2], |a| *a, name);
        assert_eq!(f.len(), 3);
        assert_eq!(f[2].name.as_deref(), Some("f2"));
        let f = c.frames(&[2u64, 3], |a| *a, name);
        assert_eq!(f[1].name.as_deref(), Some("f3"));
        assert_eq!(calls.get(), 2);
        // Everything known: no call.
        c.frames(&[1u64, 3], |a| *a, name);
        assert_eq!(calls.get(), 2);
        // Expired: named again.
        let mut c = FrameCache::new(Some(Duration::ZERO));
        c.frames(&[1u64], |a| *a, name);
        c.frames(&[1u64], |a| *a, name);
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn sample_sizes_are_bounded() {
        let buf = [1u64, 2, 3];
        assert_eq!(buffer_addrs(&buf, 16), &[1, 2]);
        assert_eq!(buffer_addrs(&buf, -14), &[] as &[u64]);
        assert_eq!(buffer_addrs(&buf, 800), &[1, 2, 3]);
    }
}
