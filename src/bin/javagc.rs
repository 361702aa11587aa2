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
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::javagc::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::javagc::{JavagcSkelBuilder, types::gc_event};
use bpfkit::{bpf, cli, events, fmt, uprobe};
use clap::Parser;

/// `kind` of `struct gc_event` (javagc.h) for a memory pool's part.
const GC_KIND_MEM_POOL: u32 = 1;

/// The USDT provider of HotSpot's probes.
const PROVIDER: &str = "hotspot";

fn main() -> ExitCode {
    bpfkit::main("javagc", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    cli::require_process(args.pid)?;
    // libbpf-tools reads the path from /proc/PID/maps too: libjvm.so is not
    // in any library directory libbpf would search.
    let libjvm = uprobe::mapped_library(args.pid, "libjvm.so")?;
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
    let _links = probes
        .into_iter()
        .map(|(prog, probe)| uprobe::attach_usdt(prog, args.pid, &libjvm, PROVIDER, probe))
        .collect::<Result<Vec<_>>>()?;
    events::stream(&skel, &args.common, None, &table(&args), |e: &gc_event| {
        Some(Gc::from(e))
    })
}

/// A whole collection, or with `--pools` one memory pool's part of one.
struct Gc {
    cpu: u32,
    pid: u32,
    tid: u32,
    gc_time_us: u64,
    /// A whole collection: whether it was a full one.
    full: Option<bool>,
    /// A memory pool's part: its manager and pool names.
    pool: Option<(String, String)>,
}

impl From<&gc_event> for Gc {
    fn from(e: &gc_event) -> Self {
        let in_pool = e.kind == GC_KIND_MEM_POOL;
        Gc {
            cpu: e.cpu,
            pid: e.pid,
            tid: e.tid,
            gc_time_us: e.duration_ns / 1000,
            full: (!in_pool).then_some(e.full != 0),
            pool: in_pool.then(|| (fmt::c_chars(&e.manager), fmt::c_chars(&e.pool))),
        }
    }
}

/// libbpf-tools' `%-8s %-7d %-7d %-7lld`, then POOL with `--pools`. JSON has
/// every key on every line, `null` where the row's kind has no such value.
fn table(args: &Args) -> Table<'static, Gc> {
    let name = |g: &Gc, i: usize| g.pool.as_ref().map(|p| [&p.0, &p.1][i].clone());
    Table::new()
        .time(true)
        .left("CPU", 7, "cpu", |g: &Gc| g.cpu.into())
        .left("PID", 7, "pid", |g| g.pid.into())
        .json("tid", |g| g.tid.into())
        .left("GC TIME", 7, "gc_time_us", |g| g.gc_time_us.into())
        .json("probe", |g| {
            Cell::text(if g.pool.is_some() { "mem_pool" } else { "gc" })
        })
        .json("full", |g| g.full.map_or(Cell::Null("-"), Cell::from))
        .json("manager", move |g| Cell::opt_text(name(g, 0), "-"))
        .last("POOL", "pool", move |g| Cell::opt_text(name(g, 1), "-"))
        .shown_if(args.pools)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use serde_json::json;

    fn gc(kind: u32, cpu: u32, pid: u32, us: u64) -> Gc {
        let mut e = gc_event {
            kind,
            cpu,
            pid,
            tid: pid + 11,
            duration_ns: us * 1000 + 999,
            full: 1,
            ..Default::default()
        };
        fmt::to_c_chars("G1 Young Generation", &mut e.manager);
        fmt::to_c_chars("G1 Eden Space", &mut e.pool);
        Gc::from(&e)
    }

    fn table_of(flags: &[&str]) -> Table<'static, Gc> {
        table(&Args::try_parse_from([&["javagc", "-p", "1"], flags].concat()).unwrap())
    }

    #[test]
    fn row_matches_libbpf_tools() {
        let t = table_of(&[]);
        assert_eq!(t.header_line(), "TIME     CPU     PID     GC TIME");
        assert_eq!(
            &t.table_line(&gc(0, 0, 3580, 18423))[8..],
            " 0       3580    18423  "
        );
        assert_eq!(
            &t.table_line(&gc(0, 12, 4194304, 123456789))[8..],
            " 12      4194304 123456789"
        );
        let t = table_of(&["--pools"]);
        assert_eq!(t.header_line(), "TIME     CPU     PID     GC TIME POOL");
        assert_eq!(
            &t.table_line(&gc(0, 0, 3580, 18423))[8..],
            " 0       3580    18423   -"
        );
        assert_eq!(
            &t.table_line(&gc(1, 0, 3580, 5))[8..],
            " 0       3580    5       G1 Eden Space"
        );
    }

    #[test]
    fn json_has_every_key() {
        let (out, cap) = Output::captured(true);
        let t = table_of(&["--json"]);
        t.print(&out, &gc(0, 1, 3580, 18423));
        t.print(&out, &gc(1, 1, 3580, 5));
        let mut v = cap.json_lines();
        for v in &mut v {
            assert_eq!(v["time"].as_str().map(str::len), Some(8));
            v.as_object_mut().unwrap().remove("time");
        }
        assert_eq!(
            v[0],
            json!({"cpu": 1, "pid": 3580, "tid": 3591, "gc_time_us": 18423, "probe": "gc",
                "full": true, "manager": null, "pool": null})
        );
        assert_eq!(
            v[1],
            json!({"cpu": 1, "pid": 3580, "tid": 3591, "gc_time_us": 5, "probe": "mem_pool",
                "full": null, "manager": "G1 Young Generation", "pool": "G1 Eden Space"})
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("javagc", &table_of(&["--pools"]).keys());
    }
}
