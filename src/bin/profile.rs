//! profile — lesson 12: a sampling CPU profiler.
//!
//! A perf event per online CPU (hardware cycles, else the software
//! cpu-clock) runs the BPF program FREQUENCY times a second, which takes
//! the interrupted task's kernel and user stacks. By default the samples
//! are counted per stack in BPF and printed once at the end, most frequent
//! first, as libbpf-tools profile does (`-f`: folded for flame graphs);
//! `--samples` prints every sample as the lesson does.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bpfkit::args::profile::Args;
use bpfkit::events::EventLoop;
use bpfkit::skel::profile::ProfileSkelBuilder;
use bpfkit::skel::profile::types::{key_t, stacktrace_event};
use bpfkit::stack_counts::{self, Layout, Report, StackCount};
use bpfkit::stacks::{self, SampleNames};
use bpfkit::sym::{Frame, Symbolizer};
use bpfkit::{Output, bpf, cli, fmt, perf, pprof, process};
use libbpf_rs::{MapCore, MapFlags};
use serde_json::{Value, json};

/// `counts` entries (distinct stacks) the BPF side can hold.
const MAX_ENTRIES: u32 = 10240;

fn main() -> ExitCode {
    bpfkit::main("profile", run)
}

fn run() -> Result<()> {
    let args = Args::parse_checked();
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
        (
            args.stack_storage_size,
            MAX_ENTRIES,
            process::page_size() as u32,
        )
    };
    stacks::size_map(
        &mut open.maps.stackmap,
        args.perf_max_stack_depth,
        stack_entries,
    )?;
    let sizing = "sizing the BPF maps";
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
        bpfkit::output::note(format_args!("{}", args.header(false)));
        let printer = SamplePrinter {
            out: &out,
            sym: &symbolizer,
            user: !args.kernel_stacks_only,
            kernel: !args.user_stacks_only,
            names: RefCell::default(),
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

    bpfkit::output::note(format_args!("{}", args.header(true)));
    // The processes named by -p are known now: keep their maps fresh, so
    // one that exits before the report is still symbolized.
    let _watches: Vec<_> = args
        .pid
        .iter()
        .filter(|_| !args.kernel_stacks_only)
        .map(|&p| symbolizer.watch(p as u32, Duration::from_secs(1)))
        .collect();
    let started = pprof::now_nanos();
    let pid_of = |key: &[u8]| bpfkit::decode::<key_t>(key).map(|k| k.pid);
    let remember = (!args.kernel_stacks_only).then_some(&symbolizer);
    stack_counts::wait(&out, args.duration, &skel.maps.counts, remember, pid_of);
    if out.is_closed() || bpfkit::output::stdout_gone() {
        return out.finish();
    }
    let entries = bpf::drain_map::<key_t, u64>(&skel.maps.counts)?;
    let mut counts: Vec<StackCount> = entries.iter().map(stack_count).collect();
    counts.retain(|c| c.count > 0);
    stack_counts::sort(&mut counts);
    let (user, kernel) = (!args.kernel_stacks_only, !args.user_stacks_only);
    let report = Report::build(&counts, &skel.maps.stackmap, &symbolizer, user, kernel);
    let layout = Layout {
        folded: args.folded,
        delimited: args.delimited,
        verbose: args.common.verbose,
    };
    report.print(&out, layout);
    if let Some(path) = &args.pprof {
        let (period, took) = (
            1_000_000_000 / args.frequency as i64,
            pprof::now_nanos() - started,
        );
        report.pprof(period, started, took).write(path)?;
    }
    let result = out.finish();
    report.missing.warn();
    let lost = bpf::percpu_sum(&skel.maps.drops)?;
    if lost > 0 {
        bpfkit::output::note(format_args!(
            "{lost} samples lost: the counts map is full ({MAX_ENTRIES} distinct stacks)"
        ));
    }
    result
}

fn stack_count((k, count): &(key_t, u64)) -> StackCount {
    StackCount {
        pid: k.pid,
        comm: fmt::c_chars(&k.name),
        user_id: k.user_stack_id.into(),
        kern_id: k.kern_stack_id.into(),
        count: *count,
    }
}

/// `--samples`: every sample as the lesson prints it.
struct SamplePrinter<'a> {
    out: &'a Output,
    sym: &'a Symbolizer,
    user: bool,
    kernel: bool,
    names: RefCell<SampleNames>,
}

/// `--samples --json`: one sample with its symbolized stacks.
fn sample_json(
    comm: &str,
    e: &stacktrace_event,
    kernel: &Option<Vec<Frame>>,
    user: &Option<Vec<Frame>>,
) -> Value {
    let side = |s: &Option<Vec<Frame>>| match s {
        Some(f) => f.iter().map(Frame::to_json).collect(),
        None => Value::Null,
    };
    json!({
        "comm": comm,
        "pid": e.pid,
        "tid": e.tid,
        "cpu": e.cpu_id,
        "kernel_stack": side(kernel),
        "user_stack": side(user),
    })
}

impl SamplePrinter<'_> {
    fn print(&self, e: &stacktrace_event) {
        let comm = fmt::c_chars(&e.comm);
        let mut names = self.names.borrow_mut();
        let kernel = (self.kernel && e.kstack_sz > 0)
            .then(|| names.kernel(self.sym, stacks::buffer_addrs(&e.kstack, e.kstack_sz)));
        let user = (self.user && e.ustack_sz > 0).then(|| {
            names.user(
                self.sym,
                e.pid,
                stacks::buffer_addrs(&e.ustack, e.ustack_sz),
            )
        });
        if self.out.is_json() {
            self.out.json(&sample_json(&comm, e, &kernel, &user));
            return;
        }
        for line in stacks::sample_lines(
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

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::stack_counts::StackCount;
    use bpfkit::stacks::Stack;
    use bpfkit::sym::Inlined;

    fn frame() -> Frame {
        Frame {
            name: Some("bpfkit_profile_hot_function".into()),
            file: Some("burn.c".into()),
            line: Some(7),
            inlined: vec![Inlined {
                name: "inner".into(),
                ..Default::default()
            }],
            ..Frame::unknown(0x1000)
        }
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let count = StackCount {
            pid: 1,
            comm: "burn".into(),
            user_id: 1,
            kern_id: -14,
            count: 9,
        };
        let v = count.json(&Stack::Frames(vec![frame()]), &Stack::Missed);
        bpfkit::row::assert_value_keys_in_schema("profile", &v);
        let e = stacktrace_event::default();
        let v = sample_json("burn", &e, &Some(vec![frame()]), &None);
        bpfkit::row::assert_value_keys_in_schema("profile", &v);
    }
}
