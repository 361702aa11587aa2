//! offcputime's report: off-CPU microseconds per (thread, stack) as the
//! BPF side sums them, merged per (process, comm, stacks), and written as
//! the profile tools' reports are (multi-line, folded, JSON, pprof).

use std::collections::HashMap;

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags};

use crate::Output;
use crate::pprof::{Builder, Label};
use crate::stack_counts::{self, Layout, Report, StackCount};
use crate::stacks::{Space, Stack};
use serde_json::Value;

/// One entry of the BPF `info` map, decoded: (tgid, comm, user stack id,
/// kernel stack id, microseconds off-CPU).
pub type Entry = (u32, String, i64, i64, u64);

/// The entries as counted stacks: threads of one process with the same
/// name and stacks summed into one, empty ones left out, most time first.
pub fn stack_counts(entries: impl IntoIterator<Item = Entry>) -> Vec<StackCount> {
    let mut sums: HashMap<(u32, String, i64, i64), u64> = HashMap::new();
    for (tgid, comm, user_id, kern_id, us) in entries {
        *sums.entry((tgid, comm, user_id, kern_id)).or_default() += us;
    }
    let mut counts: Vec<StackCount> = sums
        .into_iter()
        .filter(|(_, us)| *us > 0)
        .map(|((pid, comm, user_id, kern_id), count)| StackCount {
            pid,
            comm,
            user_id,
            kern_id,
            count,
        })
        .collect();
    stack_counts::sort(&mut counts);
    counts
}

/// The report as a pprof profile: per entry one `off_cpu` value in
/// nanoseconds (the counts are microseconds), its kernel then user frames,
/// `pid` and `comm` labels.
pub fn pprof(report: &Report<'_>, start_ns: i64, duration_ns: i64) -> Builder {
    let mut b = Builder::new(&[("off_cpu", "nanoseconds")], ("off_cpu", "nanoseconds"), 1);
    b.time(start_ns, duration_ns);
    for (c, (user, kernel)) in report.counts.iter().zip(&report.stacks) {
        let stack = [
            (Space::Kernel, kernel.frames()),
            (Space::User(c.pid), user.frames()),
        ];
        let ns = (c.count as i64).saturating_mul(1000);
        let labels = [Label::Num("pid", c.pid.into()), Label::Str("comm", &c.comm)];
        b.sample(&stack, &[ns], &labels);
    }
    b
}

/// Prints the report as profile's, but in JSON each entry has `time_us`
/// (the microseconds off-CPU) where profile has `count` (samples).
pub fn print(report: &Report<'_>, out: &Output, layout: Layout) {
    if !out.is_json() {
        return report.print(out, layout);
    }
    for (c, (user, kernel)) in report.counts.iter().zip(&report.stacks) {
        out.json(&json(c, user, kernel));
    }
}

/// The `--json` object of one entry.
pub fn json(c: &StackCount, user: &Stack, kernel: &Stack) -> Value {
    let mut v = c.json(user, kernel);
    if let Some(o) = v.as_object_mut() {
        o.remove("count");
        o.insert("time_us".into(), c.count.into());
    }
    v
}

/// Puts each id of `ids` in the BPF filter set `map` (id → 1).
pub fn fill_ids(map: &dyn MapCore, ids: &[i32]) -> Result<()> {
    for &id in ids {
        map.update(&(id as u32).to_ne_bytes(), &[1u8], MapFlags::ANY)
            .context("filling the pid/tid filter")?;
    }
    Ok(())
}

/// The stderr line for off-CPU periods the BPF side could not keep.
pub fn lost_note(lost: u64) -> Option<String> {
    (lost > 0).then(|| {
        format!(
            "{lost} off-CPU periods lost: a BPF map was full (10240 threads blocked at once, or 10240 distinct stacks)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::Missing;
    use crate::sym::Frame;

    fn e(tgid: u32, comm: &str, u: i64, k: i64, us: u64) -> Entry {
        (tgid, comm.into(), u, k, us)
    }

    #[test]
    fn threads_alike_merge_and_most_time_first() {
        let counts = stack_counts([
            e(10, "worker", 1, 2, 300),
            e(10, "worker", 1, 2, 200),
            e(10, "main", 1, 2, 400),
            e(11, "idle", -14, 3, 0),
            e(12, "x", -14, 3, 1),
        ]);
        let got: Vec<(u32, &str, u64)> = counts
            .iter()
            .map(|c| (c.pid, c.comm.as_str(), c.count))
            .collect();
        assert_eq!(
            got,
            vec![(10, "worker", 500), (10, "main", 400), (12, "x", 1)]
        );
    }

    #[test]
    fn pprof_values_are_nanoseconds() {
        let counts = stack_counts([e(7, "sleeper", -14, 1, 250)]);
        let frame = Frame {
            addr: 0xffff_ffff_8100_0000,
            name: Some("schedule".into()),
            ..Default::default()
        };
        let report = Report {
            counts: &counts,
            stacks: vec![(Stack::Absent, Stack::Frames(vec![frame]))],
            missing: Missing::default(),
        };
        let p = crate::pprof::decode(&pprof(&report, 1, 2).gzipped().unwrap()).unwrap();
        assert_eq!(p.sample.len(), 1);
        assert_eq!(p.sample[0].value, vec![250_000]);
        let t = &p.sample_type[0];
        assert_eq!(p.string_table[t.r#type as usize], "off_cpu");
        assert_eq!(p.string_table[t.unit as usize], "nanoseconds");
        assert!(p.string_table.iter().any(|s| s == "schedule"));
    }

    #[test]
    fn json_has_time_us_not_count() {
        let c = &stack_counts([e(7, "sleeper", -14, 1, 250)])[0];
        let v = json(c, &Stack::Absent, &Stack::Missed);
        assert_eq!(v["time_us"], 250);
        assert!(v.get("count").is_none());
        assert_eq!(v["kernel_stack_missed"], true);
        crate::row::assert_value_keys_in_schema("offcputime", &v);
    }

    #[test]
    fn lost_periods_are_said() {
        assert_eq!(lost_note(0), None);
        assert!(lost_note(3).unwrap().starts_with("3 off-CPU periods lost"));
    }
}
