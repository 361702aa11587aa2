//! The allocation model of a leak tracer: the allocations still outstanding
//! (allocated, not freed yet), summed per allocating stack and ordered the
//! way libbpf-tools memleak reports them, most outstanding bytes first.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::stacks::{Missing, Space};
use crate::sym::Frame;

/// One outstanding allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alloc {
    pub addr: u64,
    pub size: u64,
    /// When it was made (`CLOCK_MONOTONIC`, ns).
    pub timestamp_ns: u64,
    /// The allocating stack, or a negative `bpf_get_stackid()` error.
    pub stack_id: i64,
}

/// What one stack has outstanding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackSum {
    pub stack_id: i64,
    pub bytes: u64,
    pub count: u64,
    /// (address, size) of each allocation, when kept, by address.
    pub allocs: Vec<(u64, u64)>,
}

/// Groups allocations by stack, drops the ones younger than `min_age_ns`,
/// and sorts by outstanding bytes (descending) as libbpf-tools does.
/// With `keep_allocs` each sum lists its allocations.
pub fn by_stack(
    allocs: impl IntoIterator<Item = Alloc>,
    now_ns: u64,
    min_age_ns: u64,
    keep_allocs: bool,
) -> (Vec<StackSum>, Missing) {
    let mut by_stack: HashMap<i64, StackSum> = HashMap::new();
    let mut missing = Missing::default();
    for a in allocs {
        if now_ns.saturating_sub(min_age_ns) < a.timestamp_ns {
            continue;
        }
        if a.stack_id < 0 {
            missing.note(a.stack_id, 1);
            continue;
        }
        let s = by_stack.entry(a.stack_id).or_insert_with(|| StackSum {
            stack_id: a.stack_id,
            ..Default::default()
        });
        s.bytes = s.bytes.saturating_add(a.size);
        s.count += 1;
        if keep_allocs {
            s.allocs.push((a.addr, a.size));
        }
    }
    let mut stacks: Vec<StackSum> = by_stack.into_values().collect();
    for s in &mut stacks {
        s.allocs.sort_unstable();
    }
    sort(&mut stacks);
    (stacks, missing)
}

/// Per-stack totals kept by the BPF side, (stack id, bytes, count), as
/// sums sorted like [`by_stack`]; stacks with nothing outstanding are left
/// out.
pub fn from_totals(entries: impl IntoIterator<Item = (i64, u64, u64)>) -> (Vec<StackSum>, Missing) {
    let mut missing = Missing::default();
    let mut stacks = Vec::new();
    for (stack_id, bytes, count) in entries {
        if count == 0 {
            continue;
        }
        if stack_id < 0 {
            missing.note(stack_id, count);
            continue;
        }
        stacks.push(StackSum {
            stack_id,
            bytes,
            count,
            allocs: Vec::new(),
        });
    }
    sort(&mut stacks);
    (stacks, missing)
}

/// Most bytes first, then most allocations, then by stack id.
fn sort(stacks: &mut [StackSum]) {
    stacks.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then(b.count.cmp(&a.count))
            .then(a.stack_id.cmp(&b.stack_id))
    });
}

/// One report as a pprof heap profile: per stack `inuse_objects` (count)
/// and `inuse_space` (bytes), its frames in `space`, a `pid` label in a
/// process.
pub fn pprof(stacks: &[StackSum], frames: &[&[Frame]], space: Space) -> crate::pprof::Builder {
    use crate::pprof::{Builder, Label};
    let mut b = Builder::new(
        &[("inuse_objects", "count"), ("inuse_space", "bytes")],
        ("space", "bytes"),
        1,
    );
    b.time(crate::pprof::now_nanos(), 0);
    for (s, fr) in stacks.iter().zip(frames) {
        let labels: Vec<Label<'_>> = match space {
            Space::User(pid) => vec![Label::Num("pid", pid.into())],
            Space::Kernel => Vec::new(),
        };
        b.sample(&[(space, fr)], &[s.count as i64, s.bytes as i64], &labels);
    }
    b
}

/// Prints one report: [`report_lines`], or with `--json` [`report_json`].
pub fn print_report(
    out: &crate::Output,
    time: &str,
    stacks: &[StackSum],
    frames: &[&[Frame]],
    show_allocs: bool,
) {
    if out.is_json() {
        out.json(&report_json(time, stacks, frames, show_allocs));
    } else {
        for line in report_lines(time, stacks, frames, show_allocs) {
            out.line(format_args!("{line}"));
        }
    }
}

/// The table form of one report, as libbpf-tools prints it: the header,
/// then per stack its totals (not indented), its allocations with `-a` and
/// its frames (each indented by a tab).
pub fn report_lines(
    time: &str,
    stacks: &[StackSum],
    frames: &[&[Frame]],
    show_allocs: bool,
) -> Vec<String> {
    let mut lines = vec![format!(
        "[{time}] Top {} stacks with outstanding allocations:",
        stacks.len()
    )];
    for (s, fr) in stacks.iter().zip(frames) {
        lines.push(format!(
            "{} bytes in {} allocations from stack",
            s.bytes, s.count
        ));
        if show_allocs {
            for (addr, size) in &s.allocs {
                lines.push(format!("\taddr = {addr:#x} size = {size}"));
            }
        }
        for (i, f) in fr.iter().enumerate() {
            lines.push(format!("\t{i} {f}"));
        }
    }
    lines
}

/// The JSON form of one report: one object per interval.
pub fn report_json(
    time: &str,
    stacks: &[StackSum],
    frames: &[&[Frame]],
    show_allocs: bool,
) -> Value {
    let stacks: Vec<Value> = stacks
        .iter()
        .zip(frames)
        .map(|(s, fr)| {
            let mut o = json!({
                "stack_id": s.stack_id,
                "bytes": s.bytes,
                "count": s.count,
                "frames": fr.iter().map(Frame::to_json).collect::<Vec<_>>(),
            });
            if show_allocs {
                o["allocations"] = s
                    .allocs
                    .iter()
                    .map(|(a, sz)| json!({"addr": format!("{a:#x}"), "bytes": sz}))
                    .collect();
            }
            o
        })
        .collect();
    json!({"time": time, "stacks": stacks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::{EEXIST, EFAULT};

    fn alloc(addr: u64, size: u64, ts: u64, stack_id: i64) -> Alloc {
        Alloc {
            addr,
            size,
            timestamp_ns: ts,
            stack_id,
        }
    }

    #[test]
    fn aggregation_groups_sorts_and_filters() {
        let allocs = vec![
            alloc(0x30, 100, 10, 1),
            alloc(0x10, 100, 10, 1),
            alloc(0x20, 500, 10, 2),
            alloc(0x40, 7, 10, -EFAULT),
            alloc(0x50, 7, 10, -EEXIST),
            alloc(0x60, 7, 10, -12),
            // Too young for a 50 ns minimum age at now = 100.
            alloc(0x70, 9999, 60, 3),
        ];
        let (stacks, missing) = by_stack(allocs.clone(), 100, 50, true);
        assert_eq!(stacks.len(), 2);
        assert_eq!(
            (stacks[0].stack_id, stacks[0].bytes, stacks[0].count),
            (2, 500, 1)
        );
        assert_eq!(
            (stacks[1].stack_id, stacks[1].bytes, stacks[1].count),
            (1, 200, 2)
        );
        assert_eq!(stacks[1].allocs, vec![(0x10, 100), (0x30, 100)]);
        // EFAULT means "no stack", not a lost one.
        assert_eq!(
            missing,
            Missing {
                stacks: 2,
                collisions: 1
            }
        );
        // No minimum age: the young one counts and leads.
        let (stacks, _) = by_stack(allocs, 100, 0, false);
        assert_eq!(stacks[0].stack_id, 3);
        assert!(stacks.iter().all(|s| s.allocs.is_empty()));
    }

    #[test]
    fn ties_sort_by_count_then_stack_id() {
        let (stacks, _) = by_stack(
            vec![
                alloc(1, 100, 0, 9),
                alloc(2, 50, 0, 4),
                alloc(3, 50, 0, 4),
                alloc(4, 100, 0, 2),
            ],
            10,
            0,
            false,
        );
        let ids: Vec<i64> = stacks.iter().map(|s| s.stack_id).collect();
        assert_eq!(ids, vec![4, 2, 9]);
    }

    #[test]
    fn combined_totals_skip_freed_stacks() {
        let (stacks, missing) =
            from_totals(vec![(4, 10, 1), (5, 0, 0), (6, 300, 3), (-EEXIST, 5, 2)]);
        assert_eq!(
            stacks.iter().map(|s| s.stack_id).collect::<Vec<_>>(),
            vec![6, 4]
        );
        assert_eq!(missing.stacks, 2);
    }

    fn frames() -> Vec<Frame> {
        vec![
            Frame {
                addr: 0x55d0_0000_1189,
                name: Some("bpfkit_leaky_function".into()),
                offset: 0x20,
                module: Some("leaky".into()),
                file: Some("/tmp/leaky.c".into()),
                line: Some(12),
                inlined: Vec::new(),
            },
            Frame::unknown(0x7f00_0000_0001),
        ]
    }

    #[test]
    fn table_like_libbpf_tools() {
        let stacks = vec![StackSum {
            stack_id: 3,
            bytes: 8642,
            count: 2,
            allocs: vec![(0x1000, 4321), (0x3000, 4321)],
        }];
        let lines = report_lines("12:34:56", &stacks, &[&frames()], true);
        assert_eq!(
            lines,
            vec![
                "[12:34:56] Top 1 stacks with outstanding allocations:",
                "8642 bytes in 2 allocations from stack",
                "\taddr = 0x1000 size = 4321",
                "\taddr = 0x3000 size = 4321",
                "\t0 [<000055d000001189>] bpfkit_leaky_function+0x20 [leaky] /tmp/leaky.c:12",
                "\t1 [<00007f0000000001>] [unknown]",
            ]
        );
        let lines = report_lines("12:34:56", &stacks, &[&frames()], false);
        assert_eq!(lines.len(), 4);
        let lines = report_lines("01:02:03", &[], &[], false);
        assert_eq!(
            lines,
            vec!["[01:02:03] Top 0 stacks with outstanding allocations:"]
        );
    }

    #[test]
    fn json_shape() {
        let stacks = vec![StackSum {
            stack_id: 3,
            bytes: 4321,
            count: 1,
            allocs: vec![(0x1000, 4321)],
        }];
        let v = report_json("12:34:56", &stacks, &[&frames()], true);
        assert_eq!(v["time"], "12:34:56");
        let s = &v["stacks"][0];
        assert_eq!(
            (s["bytes"].as_u64(), s["count"].as_u64()),
            (Some(4321), Some(1))
        );
        assert_eq!(s["stack_id"], 3);
        assert_eq!(s["allocations"][0]["addr"], "0x1000");
        assert_eq!(s["allocations"][0]["bytes"], 4321);
        assert_eq!(s["frames"][0]["symbol"], "bpfkit_leaky_function");
        assert_eq!(s["frames"][0]["addr"], "0x55d000001189");
        assert_eq!(s["frames"][0]["offset"], 0x20);
        assert_eq!(s["frames"][0]["line"], 12);
        assert!(s["frames"][1]["symbol"].is_null());
        let v = report_json("12:34:56", &stacks, &[&frames()], false);
        assert!(v["stacks"][0].get("allocations").is_none());
    }
}
