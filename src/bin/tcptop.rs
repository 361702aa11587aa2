//! tcptop: the top TCP connections by throughput, per process, printed
//! every interval (like top, but for TCP).
//!
//! Same flags and columns as libbpf-tools tcptop (`-p`, `-c`, `-4`/`-6`,
//! `-C`, `-S`, `-s`, `-r`, `[interval] [count]`), plus `-d`, `--json` and
//! `--probe`: fexit/fentry or kprobes on tcp_sendmsg and tcp_cleanup_rbuf,
//! or the sock:sock_send_length/sock_recv_length tracepoints.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcptop::Args;
use bpfkit::skel::tcptop::TcptopSkelBuilder;
use bpfkit::{bpf, cgroup, probe, tcptop};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("tcptop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(TcptopSkelBuilder::default(), &mut object, &args.run.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.target_pid = args.target.pid.unwrap_or(0) as u32;
    rodata.target_family = args.inet.family();
    rodata.filter_cg = cgroup.is_on();
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &tcptop::needs(),
    )?;
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::attach(&mut skel)?;
    let options = tcptop::Options {
        every: args.every(),
        count: args.interval.times,
        duration: args.run.duration,
        clear: !args.noclear,
        summary: !args.nosummary,
        sort: args.sort,
        rows: args.rows,
        json: args.run.common.json,
    };
    tcptop::run(&skel.maps.traffic, &skel.maps.drops, &options)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_keys_follow_the_schema() {
        for v6 in [false, true] {
            let keys = bpfkit::tcptop::table(v6, 7).keys();
            bpfkit::row::assert_keys_in_schema("tcptop", &keys);
        }
    }
}
