//! cpudist — on-CPU time per task (`-O`: off-CPU time) as log2 histograms,
//! as libbpf-tools cpudist, plus `--json`. The kernel side hooks
//! sched_switch as a BTF-typed tracepoint, or a raw tracepoint where the
//! kernel lacks tp_btf.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::cpudist::Args;
use bpfkit::args::runqlat::Per;
use bpfkit::interval::IntervalLoop;
use bpfkit::skel::cpudist::CpudistSkelBuilder;
use bpfkit::skel::cpudist::types::hist;
use bpfkit::{Output, bpf, cgroup, cpudist, fmt, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("cpudist", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let per = args.per();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(CpudistSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_per_process = per == Per::Process;
    rodata.targ_per_thread = per == Per::Thread;
    rodata.targ_offcpu = args.offcpu;
    rodata.targ_ms = args.milliseconds;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.filter_cg = cgroup.is_on();
    probe::apply_raw_tp_style(open.open_object_mut(), &["sched_switch"]);
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let hists = &skel.maps.hists;
    let unit = if args.milliseconds { "msecs" } else { "usecs" };
    IntervalLoop::new(&out)
        .every(args.prints.interval)
        .count(args.prints.count)
        .timestamp(args.timestamp)
        .banner(args.banner())
        .run(|tick| {
            // Read and delete: each interval starts afresh, as in libbpf-tools.
            let mut entries: Vec<(u32, hist)> = bpf::drain_map(hists)?;
            entries.sort_by_key(|e| e.0);
            for (key, h) in &entries {
                let comm = fmt::c_chars(&h.comm);
                cpudist::print_hist(&out, per, unit, tick, *key, &comm, &h.slots);
            }
            Ok(())
        })
}

#[cfg(test)]
mod tests {
    use bpfkit::args::runqlat::Per;

    #[test]
    fn json_keys_follow_the_schema() {
        let keys =
            [Per::Process, Per::Thread].map(|p| bpfkit::cpudist::section(p, 1, "x").unwrap().0);
        bpfkit::row::assert_keys_in_schema("cpudist", &keys);
    }
}
