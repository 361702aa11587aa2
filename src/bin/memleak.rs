//! memleak — lesson 16: outstanding memory allocations and the stacks that
//! made them.
//!
//! With `-p PID` or `-c COMMAND` the allocator functions of libc (or `-O
//! OBJ`) are traced through uprobes; without either, the kernel's kmem and
//! percpu tracepoints. Every interval the top stacks by outstanding bytes
//! are printed, symbolized, as libbpf-tools memleak does, plus `--json`.

#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use bpfkit::allocs::{self, Alloc, StackSum};
use bpfkit::args::memleak::Args;
use bpfkit::funcprobes::{self, FuncProbe};
use bpfkit::hist::IntervalLoop;
use bpfkit::process::{self, PausedChild};
use bpfkit::skel::memleak::MemleakSkelBuilder;
use bpfkit::skel::memleak::types::{alloc_info, combined_alloc_info};
use bpfkit::stacks::{self, Resolved, Space};
use bpfkit::sym::{Frame, Symbolizer};
use bpfkit::{Output, bpf, cli, fmt, maps, progs};
use clap::Parser;
use libbpf_rs::MapCore;
use libbpf_rs::skel::{OpenSkel, Skel};

/// The allocator functions traced in user mode.
const UPROBES: &[FuncProbe] = &[
    probe("malloc", "malloc_enter", Some("malloc_exit")),
    probe("calloc", "calloc_enter", Some("calloc_exit")),
    probe("realloc", "realloc_enter", Some("realloc_exit")),
    probe("free", "free_enter", None),
    probe("mmap", "mmap_enter", Some("mmap_exit")),
    probe("mremap", "mremap_enter", Some("mremap_exit")),
    probe("munmap", "munmap_enter", None),
    probe(
        "posix_memalign",
        "posix_memalign_enter",
        Some("posix_memalign_exit"),
    ),
    probe("memalign", "memalign_enter", Some("memalign_exit")),
    probe("valloc", "valloc_enter", Some("valloc_exit")),
    probe("pvalloc", "pvalloc_enter", Some("pvalloc_exit")),
    probe(
        "aligned_alloc",
        "aligned_alloc_enter",
        Some("aligned_alloc_exit"),
    ),
];

const fn probe(func: &'static str, enter: &'static str, exit: Option<&'static str>) -> FuncProbe {
    FuncProbe { func, enter, exit }
}

/// Functions every allocator library must have, even with `-O`/`-S`.
const ALWAYS_REQUIRED: &[&str] = &["malloc", "calloc", "realloc", "free"];
/// Functions a C library may lack: mremap (not in every libc), valloc and
/// pvalloc (deprecated, missing from bionic), aligned_alloc (C11).
const OPTIONAL_IN_LIBC: &[&str] = &["mremap", "valloc", "pvalloc", "aligned_alloc"];

/// `BPF_F_USER_STACK`: bpf_get_stackid() walks the user stack.
const BPF_F_USER_STACK: u64 = 1 << 8;

fn main() -> ExitCode {
    bpfkit::main("memleak", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    let min_size = args.min_size.unwrap_or(0);
    let max_size = args.max_size.unwrap_or(u64::MAX);
    if min_size > max_size {
        bail!("min size (-z) can't be greater than max size (-Z)");
    }
    if let Some(pid) = args.pid {
        cli::require_process(pid)?;
        if !process::has_user_memory(pid) {
            bail!(
                "process {pid} has no user memory to trace (a kernel thread?): trace kernel allocations without -p"
            );
        }
    }
    let kernel_mode = args.pid.is_none() && args.command.is_none();

    // The command is forked now and exec'd once the probes are attached.
    let mut child = match &args.command {
        // With --json the command's stdout goes to stderr, keeping stdout JSON.
        Some(cmd) => Some(PausedChild::spawn(cmd, args.common.json)?),
        None => None,
    };
    let target_pid = args.pid.or(child.as_ref().map(|c| c.pid));

    // A forked child maps what this process maps until it execs.
    let lookup_pid = if child.is_some() { None } else { target_pid };
    let object_path = match kernel_mode {
        true => None,
        false => Some(funcprobes::find_object(
            args.object.as_deref(),
            "libc",
            lookup_pid,
            &args.symbols_prefix,
            ALWAYS_REQUIRED,
        )?),
    };

    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(MemleakSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.min_size = min_size;
    rodata.max_size = max_size;
    rodata.page_size = process::page_size();
    rodata.sample_rate = args.sample_rate;
    rodata.trace_all = args.trace;
    rodata.stack_flags = if kernel_mode { 0 } else { BPF_F_USER_STACK };
    rodata.wa_missing_free = args.wa_missing_free;
    stacks::size_map(
        &mut open.maps.stack_traces,
        args.perf_max_stack_depth,
        args.stack_storage_size,
    )?;
    // Kernel mode loads the tracepoints this kernel has (percpu ones only
    // with -P); user mode only the uprobe programs.
    // One uprobe_multi program pair where the kernel has them.
    let multi = !kernel_mode && funcprobes::multi_supported();
    if kernel_mode {
        let want = |cat: &str| cat == "kmem" || (cat == "percpu" && args.percpu);
        let loaded = progs::load_tracepoints(open.open_object_mut(), want)?;
        if !loaded.iter().any(|t| t == "kmem:kmalloc") {
            bail!("tracepoint kmem:kmalloc not found: this kernel cannot be traced");
        }
    } else {
        progs::load_only(open.open_object_mut(), |s| {
            progs::is_uprobe(s) && s.ends_with(".multi") == multi
        });
    }
    let mut skel = bpf::load(open)?;

    // Tracepoints (kernel mode) attach here; SEC("uprobe") programs are
    // never auto-attached.
    bpf::attach(&mut skel)?;
    let mut _links = Vec::new();
    match (&object_path, target_pid) {
        (Some(path), Some(pid)) => {
            bpfkit::output::note(format_args!(
                "Attaching to pid {pid} ({}), Ctrl+C to quit.",
                path.display()
            ));
            let custom = args.object.is_some() || !args.symbols_prefix.is_empty();
            let required = |f: &str| {
                ALWAYS_REQUIRED.contains(&f) || !(custom || OPTIONAL_IN_LIBC.contains(&f))
            };
            let multi = multi.then_some(("alloc_multi_enter", "alloc_multi_exit"));
            let prefix = &args.symbols_prefix;
            let target = (pid, path.as_path());
            let attached =
                funcprobes::attach(skel.object(), UPROBES, multi, target, prefix, required)?;
            attached.note(path, args.common.verbose);
            _links = attached.links;
        }
        _ => {
            bpfkit::output::note(format_args!(
                "Attaching to kernel allocators, Ctrl+C to quit."
            ));
        }
    }

    // The probes are in place: let the command run.
    if let Some(c) = child.as_mut() {
        c.release()?;
    }

    let out = Output::stdout(args.common.json)?;
    let symbolizer = Symbolizer::new();
    // Remember the target's maps while it runs, so the stacks of a process
    // that exits (a short command) can still be named.
    // A command of ours is watched closely (it may be short-lived), a
    // process given by -p more lightly.
    let every = Duration::from_millis(if child.is_some() { 50 } else { 1000 });
    let _watch = target_pid
        .filter(|_| !kernel_mode)
        .map(|p| symbolizer.watch(p as u32, every));
    let space = match target_pid {
        Some(pid) if !kernel_mode => Space::User(pid as u32),
        _ => Space::Kernel,
    };
    let maps = &skel.maps;
    let result = IntervalLoop::new(&out)
        .every(Some(Duration::from_secs(args.interval)))
        .count(args.count)
        .banner("Tracing outstanding memory allocs...  Hit Ctrl-C to end.")
        .run(|_| {
            let stacks = outstanding(&args, &maps.allocs, &maps.combined_allocs)?;
            let shown = &stacks[..stacks.len().min(args.top as usize)];
            let ids = shown.iter().map(|s| (space, s.stack_id));
            let resolved = Resolved::read(&maps.stack_traces, &symbolizer, ids);
            let frames: Vec<&[Frame]> = shown
                .iter()
                .map(|s| resolved.frames(space, s.stack_id).map_or(&[][..], |f| f))
                .collect();
            allocs::print_report(&out, &fmt::hms_now(), shown, &frames, args.show_allocs);
            if let Some(path) = &args.pprof {
                allocs::pprof(shown, &frames, space).write(path)?;
            }
            Ok(())
        });
    if let Some(c) = child.take() {
        c.finish();
    }
    result
}

/// The stacks with outstanding allocations, most bytes first (`-C`: from
/// the BPF side's per-stack totals); lost stacks are warned about.
fn outstanding(args: &Args, allocs: &dyn MapCore, combined: &dyn MapCore) -> Result<Vec<StackSum>> {
    let (stacks, missing) = if args.combined_only {
        let totals = maps::dump::<u64, combined_alloc_info>(combined)?;
        allocs::from_totals(
            totals
                .into_iter()
                .map(|(id, c)| (id as i64, c.total_size, c.number_of_allocs)),
        )
    } else {
        let min_age_ns = args.older.unwrap_or(0).saturating_mul(1_000_000);
        let outstanding = maps::dump::<u64, alloc_info>(allocs)?;
        let outstanding = outstanding.into_iter().map(|(addr, info)| Alloc {
            addr,
            size: info.size,
            timestamp_ns: info.timestamp_ns,
            stack_id: info.stack_id,
        });
        allocs::by_stack(
            outstanding,
            fmt::monotonic_ns()?,
            min_age_ns,
            args.show_allocs,
        )
    };
    missing.warn();
    Ok(stacks)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_keys_follow_the_schema() {
        use bpfkit::allocs::{StackSum, report_json};
        use bpfkit::sym::Frame;
        let stacks = vec![StackSum {
            stack_id: 3,
            bytes: 4321,
            count: 1,
            allocs: vec![(0x1000, 4321)],
        }];
        let frames = vec![Frame::unknown(0x1000)];
        let v = report_json("12:34:56", &stacks, &[&frames], true);
        bpfkit::row::assert_value_keys_in_schema("memleak", &v);
    }

    use super::*;
    use clap::CommandFactory;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("memleak").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_is_valid() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_like_libbpf_tools() {
        let a = parse(&[
            "-p",
            "42",
            "-a",
            "-o",
            "100",
            "-s",
            "3",
            "-T",
            "5",
            "-z",
            "16",
            "-Z",
            "4096",
            "-O",
            "libjemalloc",
            "-S",
            "je_",
            "-C",
            "-t",
            "2",
            "7",
        ])
        .unwrap();
        assert_eq!(a.pid, Some(42));
        assert!(a.show_allocs && a.combined_only && a.trace);
        assert!(parse(&["-F", "-P"]).unwrap().wa_missing_free);
        assert_eq!(a.older, Some(100));
        assert_eq!((a.sample_rate, a.top), (3, 5));
        assert_eq!((a.min_size, a.max_size), (Some(16), Some(4096)));
        assert_eq!(a.object.as_deref(), Some("libjemalloc"));
        assert_eq!(a.symbols_prefix, "je_");
        assert_eq!((a.interval, a.count), (2, Some(7)));
        // Defaults.
        let a = parse(&[]).unwrap();
        assert_eq!(
            (a.interval, a.count, a.top, a.sample_rate),
            (5, None, 10, 1)
        );
        assert_eq!(a.perf_max_stack_depth, 127);
        assert_eq!(a.stack_storage_size, 10240);
        let a = parse(&["-ap", "7", "10"]).unwrap();
        assert!(a.show_allocs);
        assert_eq!((a.pid, a.interval), (Some(7), 10));
        let a = parse(&["-c", "./allocs --big 'a b'", "--json"]).unwrap();
        assert_eq!(a.command.as_deref(), Some("./allocs --big 'a b'"));
        assert!(a.common.json);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["0"][..],
            &["1", "0"],
            &["1", "2", "3"],
            &["-T", "0"],
            &["-s", "0"],
            &["-o", "x"],
            &["-p", "0"],
            &["-p", "1", "-c", "ls"],
            // Options that only mean something in the other mode.
            &["-O", "libc"],
            &["-S", "je_"],
            &["-P", "-p", "1"],
            &["-P", "-c", "ls"],
            &["-F", "-p", "1"],
            &["--perf-max-stack-depth", "128"],
            &["--stack-storage-size", "0"],
        ] {
            let e = parse(argv).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{argv:?}");
        }
    }

    #[test]
    fn every_program_has_a_table_entry() {
        // The BPF object's programs and the attach table agree.
        let names: Vec<&str> = UPROBES
            .iter()
            .flat_map(|p| std::iter::once(p.enter).chain(p.exit))
            .collect();
        let mut object = MaybeUninit::uninit();
        let open = libbpf_rs::skel::SkelBuilder::open(MemleakSkelBuilder::default(), &mut object)
            .expect("opening the BPF object needs no privileges");
        let progs: Vec<(String, String)> = open
            .open_object()
            .progs()
            .map(|p| {
                let name = p.name().to_string_lossy().into_owned();
                (name, p.section().to_string_lossy().into_owned())
            })
            .collect();
        for (p, section) in &progs {
            let known = names.contains(&p.as_str())
                || p.starts_with("alloc_multi_")
                || progs::tracepoint_of(section).is_some_and(|(c, _)| c == "kmem" || c == "percpu");
            assert!(known, "{p} ({section}) has no table entry");
        }
        for n in &names {
            assert!(
                progs.iter().any(|(p, _)| p == n),
                "{n} is not a BPF program"
            );
        }
    }

    #[test]
    fn multi_uprobe_cookies_match_the_bpf_side() {
        // alloc_multi_enter/exit tell the function by its cookie: its
        // position in UPROBES, from 1, as memleak.h defines FN_*.
        let header = include_str!("../bpf/memleak.h");
        for (i, p) in UPROBES.iter().enumerate() {
            let define = format!("#define FN_{} {}", p.func.to_uppercase(), i + 1);
            assert!(header.lines().any(|l| l == define), "{define} missing");
        }
    }
}
