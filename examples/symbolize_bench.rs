//! Benchmark: how long bpfkit's symbolizer takes for a 1000-frame report,
//! kernel and user, cold (first call) and warm (cached). Prints one line per
//! case. Built and run by `make bench` (root: kallsyms addresses).

use std::time::Instant;

use bpfkit::sym::Symbolizer;

const FRAMES: usize = 1000;

fn main() {
    // Kernel: 1000 text symbols spread over /proc/kallsyms, each + 0x10.
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let text: Vec<u64> = kallsyms
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            matches!(f.next()?, "t" | "T").then_some(addr + 0x10)
        })
        .filter(|&a| a != 0x10)
        .collect();
    let step = (text.len() / FRAMES).max(1);
    let kernel: Vec<u64> = text.iter().step_by(step).take(FRAMES).copied().collect();

    // User: 1000 addresses spread over this executable's code.
    let maps =
        bpfkit::procmaps::parse(&std::fs::read_to_string("/proc/self/maps").unwrap_or_default());
    let exe = std::env::current_exe().ok();
    let code = maps
        .iter()
        .find(|m| m.exec && exe.as_ref().is_some_and(|e| &m.path == e));
    let user: Vec<u64> = match code {
        Some(m) => (0..FRAMES as u64)
            .map(|i| m.start + (m.end - m.start) * i / FRAMES as u64)
            .collect(),
        None => Vec::new(),
    };

    let sym = Symbolizer::new();
    let pid = std::process::id();
    for (what, run) in [
        (
            "kernel",
            Box::new(|| sym.kernel(&kernel)) as Box<dyn Fn() -> Vec<bpfkit::sym::Frame>>,
        ),
        ("user", Box::new(|| sym.user(pid, &user))),
    ] {
        for pass in ["cold", "warm"] {
            let t = Instant::now();
            let frames = run();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let named = frames.iter().filter(|f| f.name.is_some()).count();
            println!(
                "{what:<6} {pass}: {} frames in {ms:.1} ms ({named} named)",
                frames.len()
            );
        }
    }
}
