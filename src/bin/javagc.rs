//! javagc — lesson 15 (USDT): how long a JVM's garbage collections take.
//!
//! Attaches to the HotSpot USDT probes `hotspot:gc__begin`/`gc__end` (a whole
//! collection) and `mem__pool__gc__begin`/`_end` (each memory pool's part) in
//! the libjvm.so that process `-p PID` has mapped. Same flags and columns as
//! libbpf-tools javagc (GC TIME in microseconds, `-t` threshold in
//! microseconds, default 1000), plus `--json` and `--pools`.
//!
//! One row per collection: libbpf-tools feeds all four probes into one start
//! time per pid, so the per-pool probes (up to 8 per collection, nested in
//! gc__begin/gc__end) clobber it and what it prints is one pool's time. Here
//! a row is the whole collection (gc__begin → gc__end); `--pools` adds a row
//! per memory pool, with the pool's name in an extra POOL column.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bpfkit::args::javagc::Args;
use bpfkit::cli::{self};
use bpfkit::events::{EventLoop, typed};
use bpfkit::skel::javagc::{JavagcSkel, JavagcSkelBuilder, types::gc_event};
use bpfkit::{Output, bpf, fmt, uprobe};
use clap::Parser;
use serde_json::json;

/// `kind` values of `struct gc_event` (javagc.h).
const GC_KIND_GC: u32 = 0;
const GC_KIND_MEM_POOL: u32 = 1;

/// The USDT provider of HotSpot's probes.
const PROVIDER: &str = "hotspot";

fn main() -> ExitCode {
    bpfkit::main("javagc", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let pid = args.pid.context("-p PID is required")?;
    cli::require_process(pid)?;
    // libbpf-tools reads the path from /proc/PID/maps too: libjvm.so is not
    // in any library directory libbpf would search.
    let libjvm = uprobe::mapped_library(pid, "libjvm.so")?;
    uprobe::require_usdt(&libjvm, PROVIDER, "gc__begin")?;

    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(JavagcSkelBuilder::default(), &mut object, &args.common)?;
    bpf::rodata(open.maps.rodata_data.as_deref_mut())?.min_ns = args.time.saturating_mul(1000);
    let skel = bpf::load(open)?;
    let progs = &skel.progs;
    let mut probes = vec![
        (&progs.handle_gc_start, "gc__begin"),
        (&progs.handle_gc_end, "gc__end"),
    ];
    if args.pools {
        probes.push((&progs.handle_mem_pool_gc_start, "mem__pool__gc__begin"));
        probes.push((&progs.handle_mem_pool_gc_end, "mem__pool__gc__end"));
    }
    let mut links = Vec::new();
    for (prog, probe) in probes {
        let link = prog
            .attach_usdt(pid, &libjvm, PROVIDER, probe)
            .map_err(|e| {
                bpf::explain(
                    e,
                    &format!(
                        "attaching to USDT {PROVIDER}:{probe} in {}",
                        libjvm.display()
                    ),
                )
            })?;
        links.push(link);
    }

    let result = trace(&args, &skel);
    drop(links);
    drop(skel);
    result
}

fn trace(args: &Args, skel: &JavagcSkel) -> Result<()> {
    let out = Output::stdout(args.common.json)?;
    let pool_column = if args.pools { " POOL" } else { "" };
    out.header(format_args!(
        "{:<8} {:<7} {:<7} {:<7}{pool_column}",
        "TIME", "CPU", "PID", "GC TIME"
    ));
    EventLoop::ring(
        &skel.maps.events,
        &out,
        typed(|e: &gc_event| print_event(&out, args.pools, e)),
    )?
    .count_drops(&skel.maps.drops)
    .run()
}

fn print_event(out: &Output, pools: bool, e: &gc_event) {
    let time = fmt::hms_now();
    let us = e.duration_ns / 1000;
    if out.is_json() {
        let mut v = json!({
            "time": time,
            "cpu": e.cpu,
            "pid": e.pid,
            "tid": e.tid,
            "gc_time_us": us,
            "probe": probe_name(e.kind),
        });
        match e.kind {
            GC_KIND_GC => v["full"] = json!(e.full != 0),
            GC_KIND_MEM_POOL => {
                v["manager"] = json!(fmt::c_chars(&e.manager));
                v["pool"] = json!(fmt::c_chars(&e.pool));
            }
            _ => {}
        }
        out.json(&v);
    } else if pools {
        let pool = match e.kind {
            GC_KIND_MEM_POOL => fmt::c_chars(&e.pool),
            _ => "-".to_string(),
        };
        out.line(format_args!("{} {pool}", row(&time, e.cpu, e.pid, us)));
    } else {
        out.line(format_args!("{}", row(&time, e.cpu, e.pid, us)));
    }
}

/// The probe pair an event comes from, as JSON names it.
fn probe_name(kind: u32) -> &'static str {
    match kind {
        GC_KIND_GC => "gc",
        GC_KIND_MEM_POOL => "mem_pool",
        _ => "unknown",
    }
}

/// One table row: libbpf-tools' `%-8s %-7d %-7d %-7lld`.
fn row(time: &str, cpu: u32, pid: u32, us: u64) -> String {
    format!("{time:<8} {cpu:<7} {pid:<7} {us:<7}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_matches_libbpf_tools() {
        assert_eq!(
            row("03:55:24", 0, 3580, 18423),
            "03:55:24 0       3580    18423  "
        );
        assert_eq!(
            row("03:55:24", 12, 4194304, 123456789),
            "03:55:24 12      4194304 123456789"
        );
    }

    #[test]
    fn probe_names() {
        assert_eq!(probe_name(GC_KIND_GC), "gc");
        assert_eq!(probe_name(GC_KIND_MEM_POOL), "mem_pool");
        assert_eq!(probe_name(7), "unknown");
    }

    #[test]
    fn flags() {
        let a = Args::try_parse_from(["javagc", "-p", "185", "-t", "100"]).unwrap();
        assert_eq!((a.pid, a.time), (Some(185), 100));
        assert!(!a.pools);
        let a = Args::try_parse_from(["javagc", "--pid=185", "--json", "--pools"]).unwrap();
        assert_eq!(a.time, 1000, "libbpf-tools' default threshold");
        assert!(a.common.json && a.pools);
        // -p is required: there is no system-wide mode.
        assert!(Args::try_parse_from(["javagc"]).is_err());
        assert!(Args::try_parse_from(["javagc", "-p", "x"]).is_err());
        assert!(Args::try_parse_from(["javagc", "-p", "1", "-t", "-5"]).is_err());
    }
}
