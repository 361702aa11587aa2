//! offcputime — time threads spend off-CPU (blocked or preempted), summed
//! per kernel and user stack, as libbpf-tools offcputime.
//!
//! sched_switch (tp_btf, else raw_tp) takes the stacks of the task leaving
//! the CPU and, when a task comes back, adds the time it was away to its
//! (thread, stacks) entry. At the end the entries are merged per process,
//! comm and stacks, symbolized and printed most time first (`-f`: folded
//! for flame graphs; `--pprof`: a pprof profile too).

#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use bpfkit::args::offcputime::Args;
use bpfkit::skel::offcputime::OffcputimeSkelBuilder;
use bpfkit::skel::offcputime::types::{key_t, val_t};
use bpfkit::stack_counts::{self, Layout, Report};
use bpfkit::sym::Symbolizer;
use bpfkit::{Output, bpf, cli, fmt, offcpu, pprof, probe, stacks};
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("offcputime", run)
}

fn run() -> Result<()> {
    let args = Args::parse_checked();
    for &pid in &args.pid {
        cli::require_process(pid)?;
    }
    for &tid in &args.tid {
        cli::require_thread(tid)?;
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(OffcputimeSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.user_threads_only = args.user_threads_only;
    rodata.kernel_threads_only = args.kernel_threads_only;
    rodata.user_stacks_only = args.user_stacks_only;
    rodata.kernel_stacks_only = args.kernel_stacks_only;
    rodata.min_block_us = args.min_block_time;
    rodata.max_block_us = args.max_block_time;
    // libbpf-tools' names: the kernel's tgid is the process, its pid the thread.
    rodata.filter_by_tgid = !args.pid.is_empty();
    rodata.filter_by_pid = !args.tid.is_empty();
    rodata.state = args.state.unwrap_or(-1);
    stacks::size_map(
        &mut open.maps.stackmap,
        args.perf_max_stack_depth,
        args.stack_storage_size,
    )?;
    probe::apply_raw_tp_style(open.open_object_mut(), &["sched_switch"]);
    let mut skel = bpf::load(open)?;
    offcpu::fill_ids(&skel.maps.tgids, &args.pid)?;
    offcpu::fill_ids(&skel.maps.pids, &args.tid)?;
    bpf::attach(&mut skel)?;
    bpfkit::output::note(format_args!("{}", args.header()));

    let out = Output::stdout(args.common.json)?;
    let symbolizer = Symbolizer::with_inlined();
    let (user, kernel) = (!args.kernel_stacks_only, !args.user_stacks_only);
    // The processes named by -p are known now: keep their maps fresh, so
    // one that exits before the report is still symbolized.
    let _watches: Vec<_> = args
        .pid
        .iter()
        .filter(|_| user)
        .map(|&p| symbolizer.watch(p as u32, Duration::from_secs(1)))
        .collect();
    let started = pprof::now_nanos();
    let tgid_of = |key: &[u8]| bpfkit::decode::<key_t>(key).map(|k| k.tgid);
    let remember = user.then_some(&symbolizer);
    stack_counts::wait(&out, args.duration, &skel.maps.info, remember, tgid_of);
    if out.is_closed() || bpfkit::output::stdout_gone() {
        return out.finish();
    }
    let entries = bpf::drain_map::<key_t, val_t>(&skel.maps.info)?;
    let counts = offcpu::stack_counts(entries.iter().map(|(k, v)| {
        let comm = fmt::c_chars(&v.comm);
        let (u, kern) = (k.user_stack_id.into(), k.kern_stack_id.into());
        (k.tgid, comm, u, kern, v.delta)
    }));
    let report = Report::build(&counts, &skel.maps.stackmap, &symbolizer, user, kernel);
    let layout = Layout {
        folded: args.folded,
        delimited: args.delimited,
        verbose: args.common.verbose,
    };
    offcpu::print(&report, &out, layout);
    if let Some(path) = &args.pprof {
        let took = pprof::now_nanos() - started;
        offcpu::pprof(&report, started, took).write(path)?;
    }
    let result = out.finish();
    report.missing.warn();
    if let Some(note) = offcpu::lost_note(bpf::percpu_sum(&skel.maps.drops)?) {
        bpfkit::output::note(format_args!("{note}"));
    }
    result
}

#[cfg(test)]
mod tests {
    use bpfkit::stack_counts::StackCount;
    use bpfkit::stacks::Stack;

    #[test]
    fn json_keys_follow_the_schema() {
        let count = StackCount {
            pid: 1,
            comm: "sleeper".into(),
            user_id: -14,
            kern_id: 3,
            count: 9,
        };
        let v = bpfkit::offcpu::json(&count, &Stack::Absent, &Stack::Missed);
        bpfkit::row::assert_value_keys_in_schema("offcputime", &v);
    }
}
