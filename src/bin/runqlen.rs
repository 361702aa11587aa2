//! runqlen — how many tasks wait on each CPU's run queue, sampled.
//!
//! Same flags and output as libbpf-tools runqlen (`-C`, `-O`, `-T`, `-f`,
//! `-H`, `interval [count]`), plus `--json`. A software cpu-clock perf
//! event per online CPU runs the BPF program FREQUENCY times a second; it
//! counts the length of the interrupted task's CFS run queue (CO-RE:
//! `nr_running`, `nr_queued` since 6.14). See src/runqlen.rs for the
//! counting and printing.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::runqlen::Args;
use bpfkit::interval::IntervalLoop;
use bpfkit::runqlen::{Counts, Report};
use bpfkit::skel::runqlen::RunqlenSkelBuilder;
use bpfkit::{Output, bpf, perf};
use clap::Parser;

fn main() -> ExitCode {
    bpfkit::main("runqlen", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(RunqlenSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_host = args.host;
    let skel = bpf::load(open)?;
    // The software clock keeps ticking on idle CPUs (hardware cycles stop),
    // so an idle run queue is sampled as often as a busy one.
    let sampling = perf::open_cpu_clock(args.frequency, &perf::online_cpus()?)?;
    bpfkit::output::note(format_args!("{}", sampling.describe(args.frequency)));
    let report = Report {
        per_cpu: args.cpus,
        occupancy: args.runqocc,
        cpus: sampling.events.iter().map(|e| e.0).collect(),
    };
    let _links = perf::attach(&skel.progs.do_sample, sampling)?;

    let out = Output::stdout(args.common.json)?;
    let mut before = Counts::read(&skel.maps.hists)?;
    IntervalLoop::new(&out)
        .every(args.prints.interval)
        .count(args.prints.count)
        .timestamp(args.timestamp)
        .banner("Sampling run queue length... Hit Ctrl-C to end.")
        .run(|tick| {
            let now = Counts::read(&skel.maps.hists)?;
            report.print(&out, tick, &now.since(&before));
            before = now;
            Ok(())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::interval::Tick;

    #[test]
    fn json_keys_follow_the_schema() {
        let mut counts = Counts::default();
        counts.cpus.push([1; bpfkit::runqlen::MAX_SLOTS]);
        let tick = Tick {
            time: Some("12:00:00".into()),
            number: 1,
            last: true,
        };
        for occupancy in [false, true] {
            let (out, cap) = Output::captured(true);
            let report = Report {
                per_cpu: true,
                occupancy,
                cpus: vec![0],
            };
            report.print(&out, &tick, &counts);
            for mut v in cap.json_lines() {
                // The buckets' keys are the histogram schema's.
                v.as_object_mut().unwrap().remove("buckets");
                bpfkit::row::assert_value_keys_in_schema("runqlen", &v);
            }
        }
    }
}
