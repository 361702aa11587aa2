//! syscount — summarize syscall counts, and with `-L` the time spent in
//! them, per syscall or (`-P`) per process.
//!
//! Same flags and output as libbpf-tools syscount (`-p PID`, `-c CGROUP`,
//! `-x`, `-e ERRNO`, `-l`, `-T TOP`, `-L`, `-m`, `-P`, `-i INTERVAL`,
//! `-d DURATION`), plus `--json`. The kernel side hooks the raw_syscalls
//! sys_enter/sys_exit raw tracepoints (tp_btf, or raw_tp where tp_btf is
//! refused) and counts in a BPF hash map that each print reads and clears.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::syscount::Args;
use bpfkit::interval::IntervalLoop;
use bpfkit::skel::syscount::SyscountSkelBuilder;
use bpfkit::skel::syscount::types::data_t;
use bpfkit::syscount::{self, Row};
use bpfkit::{Output, bpf, cgroup, fmt};
use clap::Parser;
use libbpf_rs::MapCore;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("syscount", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    if args.list {
        let out = Output::stdout(false)?;
        for line in syscount::list_lines() {
            out.line(format_args!("{line}"));
        }
        return out.finish();
    }
    args.target.require()?;
    // A wrong path fails before anything is loaded.
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(SyscountSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.filter_pid = args.target.pid.unwrap_or(0);
    rodata.filter_failed = args.failures;
    rodata.filter_errno = args.errno.unwrap_or(0);
    rodata.measure_latency = args.latency;
    rodata.count_by_process = args.process;
    rodata.filter_cg = cgroup.is_on();
    syscount::select_programs(open.open_object_mut(), args.latency);
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;
    let out = Output::stdout(args.common.json)?;
    let table = syscount::table(&args);
    IntervalLoop::new(&out)
        .every(args.interval)
        .duration(args.duration)
        .banner(format!(
            "Tracing syscalls, printing top {}... Hit Ctrl-C to end.",
            args.top
        ))
        .run(|_tick| {
            let entries = bpf::drain_map::<u32, data_t>(&skel.maps.data)?;
            let rows = entries.into_iter().map(Row::from_map).collect();
            syscount::print(&out, &table, &fmt::hms_now(), &syscount::top(rows, &args));
            Ok(())
        })?;
    let dropped = bpf::percpu_sum(&skel.maps.drops)?;
    if dropped > 0 {
        bpfkit::output::note(format_args!(
            "{dropped} syscalls not counted: the map of {} entries was full",
            skel.maps.data.max_entries()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_follow_the_schema() {
        for argv in [&[][..], &["-L"], &["-Lm"], &["-P"], &["-PL"]] {
            let args =
                Args::try_parse_from(std::iter::once("syscount").chain(argv.iter().copied()));
            let keys = syscount::table(&args.unwrap()).keys();
            bpfkit::row::assert_keys_in_schema("syscount", &keys);
        }
    }
}
