//! profile — lesson 12: a sampling CPU profiler.
//!
//! A perf event per online CPU (hardware cycles, else the software
//! cpu-clock) runs the BPF program FREQUENCY times a second, which takes
//! the interrupted task's kernel and user stacks. By default the samples
//! are counted per stack in BPF and printed once at the end, most frequent
//! first, as libbpf-tools profile does (`-f`: folded for flame graphs);
//! `--samples` prints every sample as the lesson does.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bpfkit::args::profile::{Args, MAX_IDS};
use bpfkit::events::EventLoop;
use bpfkit::skel::profile::ProfileSkelBuilder;
use bpfkit::skel::profile::types::{key_t, stacktrace_event};
use bpfkit::stacks::{self, Missing, Side, Style};
use bpfkit::sym::{Frame, Symbolizer};
use bpfkit::{Output, bpf, cli, fmt, perf};
use clap::{CommandFactory, Parser};
use libbpf_rs::{MapCore, MapFlags};
use serde_json::{Value, json};

/// `counts` entries (distinct stacks) the BPF side can hold.
const MAX_ENTRIES: u32 = 10240;

fn main() -> ExitCode {
    bpfkit::main("profile", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    for (ids, flag) in [(&args.pid, "-p"), (&args.tid, "-L")] {
        if ids.len() > MAX_IDS {
            Args::command()
                .error(
                    clap::error::ErrorKind::TooManyValues,
                    format!("{flag} takes at most {MAX_IDS} ids"),
                )
                .exit();
        }
    }
    for &pid in &args.pid {
        cli::require_process(pid)?;
    }
    for &tid in &args.tid {
        cli::require_thread(tid)?;
    }
    let online = perf::online_cpus()?;
    let cpus = match args.cpu {
        Some(c) if online.contains(&c) => vec![c],
        Some(c) => bail!("CPU {c} is not online (online CPUs: {online:?})"),
        None => online,
    };

    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(ProfileSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.user_stacks_only = args.user_stacks_only;
    rodata.kernel_stacks_only = args.kernel_stacks_only;
    rodata.include_idle = args.include_idle;
    rodata.filter_by_pid = !args.pid.is_empty();
    rodata.filter_by_tid = !args.tid.is_empty();
    rodata.emit_samples = args.samples;
    rodata.stack_bytes = args.perf_max_stack_depth * 8;
    // Only one mode's maps are used: the other's get their minimum size.
    let (stack_entries, count_entries, ring_bytes) = if args.samples {
        (1, 1, 1 << 20)
    } else {
        (args.stack_storage_size, MAX_ENTRIES, page_size())
    };
    let sizing = "sizing the BPF maps";
    open.maps
        .stackmap
        .set_value_size(args.perf_max_stack_depth * 8)
        .context(sizing)?;
    open.maps
        .stackmap
        .set_max_entries(stack_entries)
        .context(sizing)?;
    open.maps
        .counts
        .set_max_entries(count_entries)
        .context(sizing)?;
    open.maps
        .events
        .set_max_entries(ring_bytes)
        .context(sizing)?;
    let skel = bpf::load(open)?;
    for (ids, map) in [(&args.pid, &skel.maps.pids), (&args.tid, &skel.maps.tids)] {
        for &id in ids.iter() {
            map.update(&(id as u32).to_ne_bytes(), &[1u8], MapFlags::ANY)
                .context("filling the pid/tid filter")?;
        }
    }

    let sampling = perf::open_sampling(args.frequency, &cpus)?;
    bpfkit::output::note(format_args!("{}", sampling.describe(args.frequency)));
    let _links = perf::attach(&skel.progs.do_perf_event, sampling)?;

    let out = Output::stdout(args.common.json)?;
    let symbolizer = Symbolizer::with_inlined();
    if args.samples {
        bpfkit::output::note(format_args!("{}", header(&args, false)));
        let printer = SamplePrinter {
            out: &out,
            sym: &symbolizer,
            user: !args.kernel_stacks_only,
            kernel: !args.user_stacks_only,
            kernel_frames: RefCell::new(FrameCache::new(None)),
            user_frames: RefCell::new(FrameCache::new(Some(USER_FRAMES_TTL))),
        };
        return EventLoop::ring(
            &skel.maps.events,
            &out,
            bpfkit::events::typed(|e: &stacktrace_event| printer.print(e)),
        )?
        .count_drops(&skel.maps.drops)
        .duration(args.duration)
        .run();
    }

    bpfkit::output::note(format_args!("{}", header(&args, true)));
    // The processes named by -p are known now: keep their maps fresh, so
    // one that exits before the report is still symbolized.
    let _watches: Vec<_> = args
        .pid
        .iter()
        .filter(|_| !args.kernel_stacks_only)
        .map(|&p| symbolizer.watch(p as u32, Duration::from_secs(1)))
        .collect();
    wait(&args, &out, &skel.maps.counts, &symbolizer);
    if out.is_closed() || bpfkit::output::stdout_gone() {
        return out.finish();
    }
    let entries = bpf::drain_map::<key_t, u64>(&skel.maps.counts)?;
    let mut counts: Vec<StackCount> = entries.iter().map(StackCount::from).collect();
    counts.retain(|c| c.count > 0);
    sort_counts(&mut counts);
    let report = Report::build(&args, &counts, &skel.maps.stackmap, &symbolizer);
    report.print(&out, &args);
    let result = out.finish();
    if report.missing.stacks > 0 {
        bpfkit::output::note(format_args!(
            "WARNING: {} stack traces could not be displayed ({} of them stack-map hash \
             collisions).{}",
            report.missing.stacks,
            report.missing.collisions,
            if report.missing.collisions > 0 {
                " Consider increasing --stack-storage-size."
            } else {
                ""
            }
        ));
    }
    let lost = bpf::percpu_sum(&skel.maps.drops)?;
    if lost > 0 {
        bpfkit::output::note(format_args!(
            "{lost} samples lost: the counts map is full ({MAX_ENTRIES} distinct stacks)"
        ));
    }
    result
}

fn page_size() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as u32 } else { 4096 }
}

/// libbpf-tools' `Sampling at 49 Hertz of all threads by user + kernel…`,
/// on stderr so stdout holds only the report.
fn header(args: &Args, ctrl_c: bool) -> String {
    let list = |ids: &[i32]| {
        ids.iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("Sampling at {} Hertz of", args.frequency);
    if !args.pid.is_empty() {
        s += &format!(" PID [{}]", list(&args.pid));
    } else if !args.tid.is_empty() {
        s += &format!(" TID [{}]", list(&args.tid));
    } else {
        s += " all threads";
    }
    s += if args.user_stacks_only {
        " by user"
    } else if args.kernel_stacks_only {
        " by kernel"
    } else {
        " by user + kernel"
    };
    if let Some(c) = args.cpu {
        s += &format!(" on CPU#{c}");
    }
    match (args.duration, ctrl_c) {
        (Some(d), true) => s += &format!(" for {} secs. Hit Ctrl-C to end.", d.as_secs()),
        (Some(d), false) => s += &format!(" for {} secs.", d.as_secs()),
        (None, true) => s += "... Hit Ctrl-C to end.",
        (None, false) => s += ".",
    }
    s
}

/// Sleeps until the duration has passed, a stop signal, or a closed
/// stdout. Meanwhile, every half second, the memory maps of each process
/// newly seen in `counts` are remembered, so a process that exits before
/// the report is still symbolized.
fn wait(args: &Args, out: &Output, counts: &dyn MapCore, sym: &Symbolizer) {
    let end = args.duration.and_then(|d| Instant::now().checked_add(d));
    let mut seen: HashSet<u32> = HashSet::new();
    let mut next_scan = Instant::now();
    loop {
        if bpfkit::stop::requested() || out.is_closed() || bpfkit::output::stdout_gone() {
            return;
        }
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            return;
        }
        if now >= next_scan && !args.kernel_stacks_only {
            for key in counts.keys() {
                if let Some(k) = bpfkit::decode::<key_t>(&key)
                    && seen.insert(k.pid)
                {
                    sym.remember(k.pid);
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

/// One entry of `counts`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StackCount {
    pid: u32,
    comm: String,
    user_id: i64,
    kern_id: i64,
    count: u64,
}

impl From<&(key_t, u64)> for StackCount {
    fn from((k, count): &(key_t, u64)) -> Self {
        StackCount {
            pid: k.pid,
            comm: fmt::c_chars(&k.name),
            user_id: k.user_stack_id.into(),
            kern_id: k.kern_stack_id.into(),
            count: *count,
        }
    }
}

/// Most samples first (as libbpf-tools); ties in a fixed order (pid,
/// comm, stacks) so the same counts always print the same.
fn sort_counts(counts: &mut [StackCount]) {
    counts.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.pid.cmp(&b.pid))
            .then_with(|| a.comm.cmp(&b.comm))
            .then(a.user_id.cmp(&b.user_id))
            .then(a.kern_id.cmp(&b.kern_id))
    });
}

/// A stack side, symbolized.
#[derive(Clone, Debug)]
enum Stack {
    Frames(Vec<Frame>),
    Missed,
    Absent,
}

impl Stack {
    fn side(&self, style: Style) -> Side {
        match self {
            Stack::Frames(f) => Side::Frames(stacks::frame_names(f, style)),
            Stack::Missed => Side::Missed,
            Stack::Absent => Side::Absent,
        }
    }

    fn json(&self) -> Value {
        match self {
            Stack::Frames(f) => f.iter().map(Frame::to_json).collect(),
            Stack::Missed | Stack::Absent => Value::Null,
        }
    }
}

/// Whether a stack id names a stack to print, and which state otherwise.
fn classify(id: i64, wanted: bool, missing: &mut Missing) -> Option<Stack> {
    if !wanted || id == -stacks::EFAULT {
        return Some(Stack::Absent);
    }
    if id < 0 {
        missing.note(id, 1);
        return Some(Stack::Missed);
    }
    None
}

struct Report<'a> {
    counts: &'a [StackCount],
    /// (user, kernel) per entry of `counts`.
    stacks: Vec<(Stack, Stack)>,
    missing: Missing,
}

impl<'a> Report<'a> {
    /// Reads every stack once and symbolizes each process's addresses in
    /// one pass (and the kernel's in one), each distinct address once.
    fn build(
        args: &Args,
        counts: &'a [StackCount],
        stackmap: &dyn MapCore,
        sym: &Symbolizer,
    ) -> Self {
        let mut missing = Missing::default();
        let mut kernel_addrs: HashMap<i64, Option<Vec<u64>>> = HashMap::new();
        let mut user_addrs: HashMap<(u32, i64), Option<Vec<u64>>> = HashMap::new();
        for c in counts {
            if c.kern_id >= 0 && !args.user_stacks_only {
                kernel_addrs
                    .entry(c.kern_id)
                    .or_insert_with(|| stacks::addrs(stackmap, c.kern_id));
            }
            if c.user_id >= 0 && !args.kernel_stacks_only {
                user_addrs
                    .entry((c.pid, c.user_id))
                    .or_insert_with(|| stacks::addrs(stackmap, c.user_id));
            }
        }
        let kernel_all: HashSet<u64> = kernel_addrs.values().flatten().flatten().copied().collect();
        let kernel_names = named(&kernel_all, |a| sym.kernel(a));
        let mut user_names: HashMap<u32, HashMap<u64, Frame>> = HashMap::new();
        let mut per_pid: HashMap<u32, HashSet<u64>> = HashMap::new();
        for ((pid, _), addrs) in &user_addrs {
            per_pid
                .entry(*pid)
                .or_default()
                .extend(addrs.iter().flatten());
        }
        for (pid, addrs) in &per_pid {
            user_names.insert(*pid, named(addrs, |a| sym.user(*pid, a)));
        }
        let frames = |addrs: &[u64], names: Option<&HashMap<u64, Frame>>| {
            addrs
                .iter()
                .map(|a| {
                    names
                        .and_then(|n| n.get(a).cloned())
                        .unwrap_or_else(|| Frame::unknown(*a))
                })
                .collect::<Vec<_>>()
        };
        let stacks = counts
            .iter()
            .map(|c| {
                let kernel = classify(c.kern_id, !args.user_stacks_only, &mut missing)
                    .unwrap_or_else(|| match kernel_addrs.get(&c.kern_id) {
                        Some(Some(a)) => Stack::Frames(frames(a, Some(&kernel_names))),
                        _ => {
                            missing.stacks += 1;
                            Stack::Missed
                        }
                    });
                let user = classify(c.user_id, !args.kernel_stacks_only, &mut missing)
                    .unwrap_or_else(|| match user_addrs.get(&(c.pid, c.user_id)) {
                        Some(Some(a)) => Stack::Frames(frames(a, user_names.get(&c.pid))),
                        _ => {
                            missing.stacks += 1;
                            Stack::Missed
                        }
                    });
                (user, kernel)
            })
            .collect();
        Report {
            counts,
            stacks,
            missing,
        }
    }

    fn print(&self, out: &Output, args: &Args) {
        let style = if args.folded {
            Style::Folded
        } else {
            Style::Lines {
                verbose: args.common.verbose,
            }
        };
        if args.folded && !out.is_json() {
            for (line, count) in self.folded(style, args.delimited) {
                out.line(format_args!("{line} {count}"));
            }
            return;
        }
        for (c, (user, kernel)) in self.counts.iter().zip(&self.stacks) {
            if out.is_json() {
                out.json(&json!({
                    "pid": c.pid,
                    "comm": c.comm,
                    "count": c.count,
                    "user_stack": user.json(),
                    "kernel_stack": kernel.json(),
                    "user_stack_missed": matches!(user, Stack::Missed),
                    "kernel_stack_missed": matches!(kernel, Stack::Missed),
                }));
            } else {
                for line in stacks::multiline(
                    &c.comm,
                    c.pid,
                    &user.side(style),
                    &kernel.side(style),
                    args.delimited,
                    c.count,
                ) {
                    out.line(format_args!("{line}"));
                }
            }
        }
    }
}

impl Report<'_> {
    /// The folded lines with their counts. Entries whose stacks differ only
    /// in addresses inside the same functions fold to the same text: they
    /// are merged, then sorted again, most samples first.
    fn folded(&self, style: Style, delimited: bool) -> Vec<(String, u64)> {
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
        merge_folded(lines)
    }
}

/// Sums the counts of identical folded stacks; most samples first, then
/// by text.
fn merge_folded(lines: impl IntoIterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut merged: HashMap<String, u64> = HashMap::new();
    for (text, count) in lines {
        *merged.entry(text).or_default() += count;
    }
    let mut v: Vec<(String, u64)> = merged.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Symbolizes each of `addrs` once.
fn named(addrs: &HashSet<u64>, symbolize: impl Fn(&[u64]) -> Vec<Frame>) -> HashMap<u64, Frame> {
    let list: Vec<u64> = addrs.iter().copied().collect();
    if list.is_empty() {
        return HashMap::new();
    }
    list.iter().copied().zip(symbolize(&list)).collect()
}

/// `--samples`: every sample as the lesson prints it.
struct SamplePrinter<'a> {
    out: &'a Output,
    sym: &'a Symbolizer,
    user: bool,
    kernel: bool,
    /// Frames already named: the same stacks come again and again, and
    /// each sample must be handled faster than samples arrive.
    kernel_frames: RefCell<FrameCache<u64>>,
    /// (pid, address): forgotten every [`USER_FRAMES_TTL`], as a process
    /// may exec or map new code (and a pid be reused).
    user_frames: RefCell<FrameCache<(u32, u64)>>,
}

const USER_FRAMES_TTL: Duration = Duration::from_secs(2);
/// Beyond this many frames a cache starts afresh (memory stays bounded).
const FRAME_CACHE_MAX: usize = 100_000;

struct FrameCache<K> {
    frames: HashMap<K, Frame>,
    since: Instant,
    ttl: Option<Duration>,
}

impl<K: std::hash::Hash + Eq + Copy> FrameCache<K> {
    fn new(ttl: Option<Duration>) -> Self {
        FrameCache {
            frames: HashMap::new(),
            since: Instant::now(),
            ttl,
        }
    }

    /// The frames of `keys`, naming the ones not seen yet in one call of
    /// `symbolize` (which gets their addresses).
    fn frames(
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

/// The addresses of a `bpf_get_stack()` buffer holding `size` bytes.
fn sample_addrs(buf: &[u64], size: i32) -> &[u64] {
    let n = (size.max(0) as usize / 8).min(buf.len());
    &buf[..n]
}

impl SamplePrinter<'_> {
    fn print(&self, e: &stacktrace_event) {
        let comm = fmt::c_chars(&e.comm);
        let kernel = (self.kernel && e.kstack_sz > 0).then(|| {
            self.kernel_frames.borrow_mut().frames(
                sample_addrs(&e.kstack, e.kstack_sz),
                |a| *a,
                |a| self.sym.kernel(a),
            )
        });
        let user = (self.user && e.ustack_sz > 0).then(|| {
            let keys: Vec<(u32, u64)> = sample_addrs(&e.ustack, e.ustack_sz)
                .iter()
                .map(|&a| (e.pid, a))
                .collect();
            self.user_frames
                .borrow_mut()
                .frames(&keys, |k| k.1, |a| self.sym.user(e.pid, a))
        });
        if self.out.is_json() {
            let side = |s: &Option<Vec<Frame>>| match s {
                Some(f) => f.iter().map(Frame::to_json).collect(),
                None => Value::Null,
            };
            self.out.json(&json!({
                "comm": comm,
                "pid": e.pid,
                "tid": e.tid,
                "cpu": e.cpu_id,
                "kernel_stack": side(&kernel),
                "user_stack": side(&user),
            }));
            return;
        }
        for line in sample_lines(
            &comm,
            e.pid,
            e.cpu_id,
            self.kernel.then_some(&kernel),
            self.user.then_some(&user),
        ) {
            self.out.line(format_args!("{line}"));
        }
    }
}

/// The lesson's text for one sample; a side is `None` when not asked
/// for (-U/-K), `Some(None)` when the sample had no such stack.
fn sample_lines(
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

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::sym::Inlined;

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
        sort_counts(&mut v);
        let order: Vec<(u32, u64, i64)> = v.iter().map(|c| (c.pid, c.count, c.user_id)).collect();
        assert_eq!(
            order,
            vec![(10, 9, 4), (10, 3, 4), (10, 3, 5), (20, 3, 1), (5, 1, 1)]
        );
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
        assert!(matches!(classify(-1, false, &mut m), Some(Stack::Absent)));
        assert!(matches!(
            classify(-stacks::EFAULT, true, &mut m),
            Some(Stack::Absent)
        ));
        assert!(matches!(
            classify(-stacks::EEXIST, true, &mut m),
            Some(Stack::Missed)
        ));
        assert!(matches!(classify(-12, true, &mut m), Some(Stack::Missed)));
        assert_eq!(m.stacks, 2);
        assert_eq!(m.collisions, 1);
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
        assert_eq!(sample_addrs(&buf, 16), &[1, 2]);
        assert_eq!(sample_addrs(&buf, -14), &[] as &[u64]);
        assert_eq!(sample_addrs(&buf, 800), &[1, 2, 3]);
    }

    #[test]
    fn header_like_libbpf_tools() {
        let a = Args::try_parse_from(["profile", "-p", "1,2", "-U", "5"]).unwrap();
        assert_eq!(
            header(&a, true),
            "Sampling at 49 Hertz of PID [1, 2] by user for 5 secs. Hit Ctrl-C to end."
        );
        let a = Args::try_parse_from(["profile", "-C", "1"]).unwrap();
        assert_eq!(
            header(&a, true),
            "Sampling at 49 Hertz of all threads by user + kernel on CPU#1... Hit Ctrl-C to end."
        );
    }
}
