//! Samples counted per (process, user stack, kernel stack), as a sampling
//! profiler's BPF side keeps them: ordered most samples first, both stack
//! sides read and symbolized once, and reported as libbpf-tools profile
//! does (multi-line stacks, folded lines, or JSON).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use libbpf_rs::MapCore;
use serde_json::json;

use crate::Output;
use crate::stacks::{self, Missing, Resolved, Space, Stack, Style};
use crate::sym::Symbolizer;

/// One counted (process, user stack, kernel stack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackCount {
    pub pid: u32,
    pub comm: String,
    /// Stack ids in the stack map, or negative `bpf_get_stackid()` errors.
    pub user_id: i64,
    pub kern_id: i64,
    pub count: u64,
}

impl StackCount {
    /// The `--json` object of one counted stack pair.
    pub fn json(&self, user: &Stack, kernel: &Stack) -> serde_json::Value {
        json!({
            "pid": self.pid,
            "comm": self.comm,
            "count": self.count,
            "user_stack": user.json(),
            "kernel_stack": kernel.json(),
            "user_stack_missed": matches!(user, Stack::Missed),
            "kernel_stack_missed": matches!(kernel, Stack::Missed),
        })
    }
}

/// Most samples first (as libbpf-tools); ties in a fixed order (pid,
/// comm, stacks) so the same counts always print the same.
pub fn sort(counts: &mut [StackCount]) {
    counts.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.pid.cmp(&b.pid))
            .then_with(|| a.comm.cmp(&b.comm))
            .then(a.user_id.cmp(&b.user_id))
            .then(a.kern_id.cmp(&b.kern_id))
    });
}

/// How a [`Report`] prints.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// Folded lines (`comm;outer;…;inner count`) instead of multi-line.
    pub folded: bool,
    /// A delimiter between the user and kernel sides.
    pub delimited: bool,
    /// Addresses, offsets and modules on multi-line frames.
    pub verbose: bool,
}

/// Counted stacks with both sides symbolized.
pub struct Report<'a> {
    pub counts: &'a [StackCount],
    /// (user, kernel) per entry of `counts`.
    pub stacks: Vec<(Stack, Stack)>,
    /// Stacks the kernel could not keep, for [`Missing::warn`].
    pub missing: Missing,
}

impl<'a> Report<'a> {
    /// Reads every stack once from `stackmap` and symbolizes each process's
    /// addresses in one pass (and the kernel's in one), each distinct
    /// address once; a side not wanted (-U/-K) is absent.
    pub fn build(
        counts: &'a [StackCount],
        stackmap: &dyn MapCore,
        sym: &Symbolizer,
        user_wanted: bool,
        kernel_wanted: bool,
    ) -> Self {
        let wanted = counts.iter().flat_map(|c| {
            let kernel = kernel_wanted.then_some((Space::Kernel, c.kern_id));
            let user = user_wanted.then_some((Space::User(c.pid), c.user_id));
            kernel.into_iter().chain(user)
        });
        let resolved = Resolved::read(stackmap, sym, wanted);
        let mut missing = Missing::default();
        let stacks = counts
            .iter()
            .map(|c| {
                let kernel = resolved.stack(Space::Kernel, c.kern_id, kernel_wanted, &mut missing);
                let user = resolved.stack(Space::User(c.pid), c.user_id, user_wanted, &mut missing);
                (user, kernel)
            })
            .collect();
        Report {
            counts,
            stacks,
            missing,
        }
    }

    /// Prints the report: folded lines, multi-line stacks, or one JSON
    /// object per entry.
    pub fn print(&self, out: &Output, layout: Layout) {
        let style = if layout.folded {
            Style::Folded
        } else {
            Style::Lines {
                verbose: layout.verbose,
            }
        };
        if layout.folded && !out.is_json() {
            for (line, count) in self.folded(style, layout.delimited) {
                out.line(format_args!("{line} {count}"));
            }
            return;
        }
        for (c, (user, kernel)) in self.counts.iter().zip(&self.stacks) {
            if out.is_json() {
                out.json(&c.json(user, kernel));
            } else {
                for line in stacks::multiline(
                    &c.comm,
                    c.pid,
                    &user.side(style),
                    &kernel.side(style),
                    layout.delimited,
                    c.count,
                ) {
                    out.line(format_args!("{line}"));
                }
            }
        }
    }

    /// The report as a pprof CPU profile: per entry `samples` (count) and
    /// `cpu` (count x `period_ns`), its kernel then user frames, `pid` and
    /// `comm` labels.
    pub fn pprof(&self, period_ns: i64, start_ns: i64, duration_ns: i64) -> crate::pprof::Builder {
        use crate::pprof::{Builder, Label};
        let mut b = Builder::new(
            &[("samples", "count"), ("cpu", "nanoseconds")],
            ("cpu", "nanoseconds"),
            period_ns,
        );
        b.time(start_ns, duration_ns);
        for (c, (user, kernel)) in self.counts.iter().zip(&self.stacks) {
            let stack = [
                (Space::Kernel, kernel.frames()),
                (Space::User(c.pid), user.frames()),
            ];
            let count = c.count as i64;
            let labels = [Label::Num("pid", c.pid.into()), Label::Str("comm", &c.comm)];
            b.sample(&stack, &[count, count.saturating_mul(period_ns)], &labels);
        }
        b
    }

    /// The folded lines with their counts. Entries whose stacks differ only
    /// in addresses inside the same functions fold to the same text: they
    /// are merged, then sorted again, most samples first.
    pub fn folded(&self, style: Style, delimited: bool) -> Vec<(String, u64)> {
        let lines = self
            .counts
            .iter()
            .zip(&self.stacks)
            .map(|(c, (user, kernel))| {
                let text = stacks::folded_stack(
                    &c.comm,
                    &user.side(style),
                    &kernel.side(style),
                    delimited,
                );
                (text, c.count)
            });
        stacks::merge_folded(lines)
    }
}

/// Sleeps until `duration` has passed, a stop signal, or a closed stdout.
/// Meanwhile, every half second, the memory maps of each process newly seen
/// in `counts` (`pid_of` a key) are remembered in `sym`, so a process that
/// exits before the report is still symbolized.
pub fn wait(
    out: &Output,
    duration: Option<Duration>,
    counts: &dyn MapCore,
    sym: Option<&Symbolizer>,
    pid_of: impl Fn(&[u8]) -> Option<u32>,
) {
    // A time too far away to represent (`-d u64::MAX`) is no deadline.
    let end = duration.and_then(|d| Instant::now().checked_add(d));
    let mut seen: HashSet<u32> = HashSet::new();
    let mut next_scan = Instant::now();
    loop {
        if crate::stop::requested() || out.is_closed() || crate::output::stdout_gone() {
            return;
        }
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            return;
        }
        if let Some(sym) = sym
            && now >= next_scan
        {
            for pid in counts.keys().filter_map(|k| pid_of(&k)) {
                if seen.insert(pid) {
                    sym.remember(pid);
                }
            }
            next_scan = now + Duration::from_millis(500);
        }
        let mut step = Duration::from_millis(100);
        if let Some(e) = end {
            step = step.min(e.saturating_duration_since(now));
        }
        std::thread::sleep(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sym::Frame;

    fn sc(pid: u32, comm: &str, count: u64, user_id: i64, kern_id: i64) -> StackCount {
        StackCount {
            pid,
            comm: comm.into(),
            user_id,
            kern_id,
            count,
        }
    }

    #[test]
    fn most_frequent_first_with_stable_ties() {
        let mut v = vec![
            sc(20, "b", 3, 1, 2),
            sc(10, "a", 9, 4, -14),
            sc(10, "a", 3, 5, 2),
            sc(10, "a", 3, 4, 2),
            sc(5, "z", 1, 1, 1),
        ];
        sort(&mut v);
        let order: Vec<(u32, u64, i64)> = v.iter().map(|c| (c.pid, c.count, c.user_id)).collect();
        assert_eq!(
            order,
            vec![(10, 9, 4), (10, 3, 4), (10, 3, 5), (20, 3, 1), (5, 1, 1)]
        );
    }

    #[test]
    fn entries_folding_alike_merge() {
        let counts = vec![sc(1, "app", 3, 1, -14), sc(1, "app", 4, 2, -14)];
        let f = |addr, name: &str| Frame {
            addr,
            name: Some(name.into()),
            ..Default::default()
        };
        // Two stack ids, same functions at different addresses.
        let report = Report {
            counts: &counts,
            stacks: vec![
                (
                    Stack::Frames(vec![f(0x10, "burn"), f(0x50, "main")]),
                    Stack::Absent,
                ),
                (
                    Stack::Frames(vec![f(0x14, "burn"), f(0x50, "main")]),
                    Stack::Absent,
                ),
            ],
            missing: Missing::default(),
        };
        assert_eq!(
            report.folded(Style::Folded, true),
            vec![("app;main;burn".to_string(), 7)]
        );
    }
}
