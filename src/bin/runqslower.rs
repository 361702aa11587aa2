//! runqslower — seed 004: trace tasks that waited on a run queue longer
//! than a threshold before they got a CPU, one line per slow wait.
//!
//! Same flags and columns as libbpf-tools runqslower, plus `--json`. The
//! kernel side hooks sched_wakeup, sched_wakeup_new and sched_switch as
//! BTF-typed tracepoints, or raw tracepoints where the kernel lacks tp_btf.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::runqslower::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::runqslower::{RunqslowerSkelBuilder, types::event};
use bpfkit::{bpf, events, fmt, output, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

/// The tracepoints the programs hook (tp_btf or raw_tp).
const TRACEPOINTS: [&str; 3] = ["sched_wakeup", "sched_wakeup_new", "sched_switch"];

fn main() -> ExitCode {
    bpfkit::main("runqslower", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let comm = args.comm_prefix();
    if let Some((_, Some(warning))) = &comm {
        output::note(format_args!("{warning}"));
    }
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(RunqslowerSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.min_us = args.min_us;
    rodata.targ_tgid = args.target.pid.unwrap_or(0);
    rodata.targ_pid = args.target.tid.unwrap_or(0);
    if let Some((prefix, _)) = &comm {
        rodata.filter_comm = true;
        for (dst, &b) in rodata.targ_comm.iter_mut().zip(prefix) {
            *dst = b as _;
        }
    }
    probe::apply_raw_tp_style(open.open_object_mut(), &TRACEPOINTS);
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    events::stream(&skel, &args.common, None, &table(&args), |e: &event| {
        Some(Wait::from(e))
    })
}

/// One task that waited on a run queue longer than the threshold.
struct Wait {
    comm: String,
    tid: u32,
    pid: u32,
    lat_us: u64,
    cpu: u32,
    /// The task that ran before it got the CPU.
    prev_comm: String,
    prev_tid: u32,
}

impl From<&event> for Wait {
    fn from(e: &event) -> Self {
        Wait {
            comm: fmt::c_chars(&e.comm),
            tid: e.tid,
            pid: e.pid,
            lat_us: e.delta_us,
            cpu: e.cpu,
            prev_comm: fmt::c_chars(&e.prev_comm),
            prev_tid: e.prev_tid,
        }
    }
}

/// libbpf-tools' `%-8s %-16s %-6d %14llu`, then `%-16s %-6d` with -P.
fn table(args: &Args) -> Table<'static, Wait> {
    let title = format!("Tracing run queue latency higher than {} us", args.min_us);
    Table::new()
        .title(title)
        .time(true)
        .left("COMM", 16, "comm", |w: &Wait| Cell::text(&w.comm))
        .left("TID", 6, "tid", |w| w.tid.into())
        .json("pid", |w| w.pid.into())
        .right("LAT(us)", 14, "lat_us", |w| w.lat_us.into())
        .json("cpu", |w| w.cpu.into())
        .left("PREV COMM", 16, "prev_comm", |w| Cell::text(&w.prev_comm))
        .shown_if(args.previous)
        .left("PREV TID", 6, "prev_tid", |w| w.prev_tid.into())
        .shown_if(args.previous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use serde_json::json;

    fn sample() -> Wait {
        let mut e = event {
            delta_us: 12345,
            tid: 4321,
            pid: 4300,
            prev_tid: 77,
            cpu: 1,
            ..Default::default()
        };
        fmt::to_c_chars("busy", &mut e.comm);
        fmt::to_c_chars("kworker/1:0", &mut e.prev_comm);
        Wait::from(&e)
    }

    fn printed(argv: &[&str]) -> String {
        let args = Args::try_parse_from([&["runqslower"], argv].concat()).unwrap();
        let (out, cap) = Output::captured(args.common.json);
        let t = table(&args);
        t.print_header(&out);
        t.print(&out, &sample());
        cap.text()
    }

    #[test]
    fn columns_like_libbpf_tools() {
        let text = printed(&[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Tracing run queue latency higher than 10000 us");
        assert_eq!(lines[1], "TIME     COMM             TID           LAT(us)");
        assert_eq!(&lines[2][8..], " busy             4321            12345");
        let text = printed(&["-P", "1"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Tracing run queue latency higher than 1 us");
        assert_eq!(
            lines[1],
            "TIME     COMM             TID           LAT(us) PREV COMM        PREV TID"
        );
        assert_eq!(
            &lines[2][8..],
            " busy             4321            12345 kworker/1:0      77    "
        );
    }

    #[test]
    fn json_fields() {
        let text = printed(&["--json"]);
        let mut v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["time"].as_str().map(str::len), Some(8));
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(
            v,
            json!({"comm": "busy", "tid": 4321, "pid": 4300, "lat_us": 12345, "cpu": 1,
                "prev_comm": "kworker/1:0", "prev_tid": 77})
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let args = Args::try_parse_from(["runqslower", "-P"]).unwrap();
        bpfkit::row::assert_keys_in_schema("runqslower", &table(&args).keys());
    }
}
