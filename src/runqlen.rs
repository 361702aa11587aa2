//! runqlen's samples: run-queue lengths counted per CPU by
//! `src/bpf/runqlen.bpf.c` in a per-CPU array whose counters only go up.
//! The tool prints the difference between two reads each interval, as
//! libbpf-tools' linear histogram (`runqlen : count distribution`) or as
//! occupancy (`runqocc: 12.34%`), overall or per CPU (`-C`);
//! bpfkit-exporter reports the running totals.

use anyhow::{Result, anyhow};
use libbpf_rs::{MapCore, MapFlags};
use serde_json::json;

use crate::hist::{Histogram, Spacing};
use crate::interval::Tick;
use crate::output::Output;

/// Slots per CPU (src/bpf/runqlen.h's MAX_SLOTS): lengths 0..=30, then 31
/// and more.
pub const MAX_SLOTS: usize = 32;

/// Samples by run-queue length, per possible CPU (index = CPU number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub cpus: Vec<[u64; MAX_SLOTS]>,
}

impl Counts {
    /// The running totals in the `hists` per-CPU array.
    pub fn read(map: &dyn MapCore) -> Result<Counts> {
        let values = map
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| anyhow!("reading the runqlen samples: {e}"))?
            .unwrap_or_default();
        Ok(Counts {
            cpus: values.iter().map(|v| decode_slots(v)).collect(),
        })
    }

    /// What was counted since `earlier` (an earlier read of the same map).
    pub fn since(&self, earlier: &Counts) -> Counts {
        let zero = [0u64; MAX_SLOTS];
        let cpus = self
            .cpus
            .iter()
            .enumerate()
            .map(|(cpu, now)| {
                let before = earlier.cpus.get(cpu).unwrap_or(&zero);
                std::array::from_fn(|i| now[i].saturating_sub(before[i]))
            })
            .collect();
        Counts { cpus }
    }

    /// One CPU's slots (all zero for a CPU the map does not have).
    pub fn cpu(&self, cpu: u32) -> [u64; MAX_SLOTS] {
        self.cpus
            .get(cpu as usize)
            .copied()
            .unwrap_or([0; MAX_SLOTS])
    }

    /// The slots of `cpus` added up.
    pub fn sum(&self, cpus: &[u32]) -> [u64; MAX_SLOTS] {
        let mut total = [0u64; MAX_SLOTS];
        for &c in cpus {
            for (t, v) in total.iter_mut().zip(self.cpu(c)) {
                *t = t.saturating_add(v);
            }
        }
        total
    }
}

/// u64 slots from a per-CPU value's bytes (missing bytes read as 0).
fn decode_slots(bytes: &[u8]) -> [u64; MAX_SLOTS] {
    std::array::from_fn(|i| {
        bytes
            .get(i * 8..i * 8 + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    })
}

/// (samples, samples with a task waiting, the share of those in percent):
/// libbpf-tools' run-queue occupancy, 0% with no samples.
pub fn occupancy(slots: &[u64]) -> (u64, u64, f64) {
    let samples: u64 = slots.iter().sum();
    let queued = samples - slots.first().copied().unwrap_or(0);
    (
        samples,
        queued,
        100.0 * queued as f64 / samples.max(1) as f64,
    )
}

/// What one print shows.
#[derive(Clone, Debug)]
pub struct Report {
    /// `-C`: a section per CPU, else one for all of `cpus`.
    pub per_cpu: bool,
    /// `-O`: occupancy instead of the histogram.
    pub occupancy: bool,
    /// The CPUs sampled.
    pub cpus: Vec<u32>,
}

impl Report {
    /// Prints one interval's `counts`: as libbpf-tools' `print_linear_hists`
    /// (a `cpu = N` line above each CPU's histogram with `-C`) or
    /// `print_runq_occupancy`; in JSON one object per histogram or
    /// occupancy, with `cpu` when per CPU.
    pub fn print(&self, out: &Output, tick: &Tick, counts: &Counts) {
        let sections: Vec<(Option<u32>, [u64; MAX_SLOTS])> = if self.per_cpu {
            self.cpus
                .iter()
                .map(|&c| (Some(c), counts.cpu(c)))
                .collect()
        } else {
            vec![(None, counts.sum(&self.cpus))]
        };
        for (cpu, slots) in sections {
            let mut fields = tick.fields();
            if let Some(c) = cpu {
                fields["cpu"] = json!(c);
            }
            if self.occupancy {
                let (samples, queued, pct) = occupancy(&slots);
                if out.is_json() {
                    fields["samples"] = json!(samples);
                    fields["queued"] = json!(queued);
                    fields["occupancy_pct"] = json!((pct * 100.0).round() / 100.0);
                    out.json(&fields);
                } else if let Some(c) = cpu {
                    out.line(format_args!("runqocc, CPU {c:<3} {pct:6.2}%"));
                } else {
                    out.line(format_args!("runqocc: {pct:.2}%"));
                }
            } else {
                let header = cpu.map(|c| format!("cpu = {c}"));
                Histogram::linear(&slots, 0, 1, "runqlen").print_spaced(
                    out,
                    Spacing::None,
                    header.as_deref(),
                    fields,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick() -> Tick {
        Tick {
            time: None,
            number: 1,
            last: true,
        }
    }

    fn counts(per_cpu: &[&[(usize, u64)]]) -> Counts {
        Counts {
            cpus: per_cpu
                .iter()
                .map(|slots| {
                    let mut s = [0; MAX_SLOTS];
                    for &(i, n) in *slots {
                        s[i] = n;
                    }
                    s
                })
                .collect(),
        }
    }

    #[test]
    fn differences_between_reads() {
        let before = counts(&[&[(0, 5)], &[(1, 2)]]);
        let now = counts(&[&[(0, 9), (2, 1)], &[(1, 2)], &[(0, 4)]]);
        let d = now.since(&before);
        assert_eq!(d.cpu(0)[0], 4);
        assert_eq!(d.cpu(0)[2], 1);
        assert_eq!(d.cpu(1), [0; MAX_SLOTS]);
        assert_eq!(d.cpu(2)[0], 4);
        assert_eq!(d.cpu(7), [0; MAX_SLOTS]);
        assert_eq!(d.sum(&[0, 2])[0], 8);
    }

    #[test]
    fn slots_from_bytes() {
        let mut b = Vec::new();
        for i in 0..MAX_SLOTS as u64 {
            b.extend_from_slice(&(i * 10).to_ne_bytes());
        }
        let s = decode_slots(&b);
        assert_eq!((s[0], s[1], s[31]), (0, 10, 310));
        assert_eq!(decode_slots(&b[..12])[1], 0);
    }

    #[test]
    fn occupancy_like_libbpf_tools() {
        assert_eq!(occupancy(&[3, 1, 0]), (4, 1, 25.0));
        assert_eq!(occupancy(&[0; 4]), (0, 0, 0.0));
        assert_eq!(occupancy(&[0, 2, 2]).2, 100.0);
    }

    #[test]
    fn tables_like_libbpf_tools() {
        let c = counts(&[&[(0, 3), (2, 1)], &[(0, 4)]]);
        let report = |per_cpu, occ| Report {
            per_cpu,
            occupancy: occ,
            cpus: vec![0, 1],
        };
        let text = |r: Report| {
            let (out, cap) = Output::captured(false);
            r.print(&out, &tick(), &c);
            cap.text()
        };
        let bar = |n: usize| format!("{}{}", "*".repeat(n), " ".repeat(40 - n));
        assert_eq!(
            text(report(false, false)),
            format!(
                "     runqlen       : count     distribution\n        0          : 7        |{}|\n        2          : 1        |{}|\n",
                bar(40),
                bar(5)
            )
        );
        let t = text(report(true, false));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "cpu = 0");
        assert_eq!(lines[4], "cpu = 1");
        assert_eq!(lines.len(), 7, "{t}");
        assert_eq!(text(report(false, true)), "runqocc: 12.50%\n");
        assert_eq!(
            text(report(true, true)),
            "runqocc, CPU 0    25.00%\nrunqocc, CPU 1     0.00%\n"
        );
    }

    #[test]
    fn json_objects() {
        let c = counts(&[&[(0, 3), (1, 1)], &[(0, 4)]]);
        let (out, cap) = Output::captured(true);
        let t = Tick {
            time: Some("12:00:00".into()),
            number: 1,
            last: true,
        };
        Report {
            per_cpu: true,
            occupancy: true,
            cpus: vec![0, 1],
        }
        .print(&out, &t, &c);
        Report {
            per_cpu: false,
            occupancy: false,
            cpus: vec![0, 1],
        }
        .print(&out, &t, &c);
        let v = cap.json_lines();
        assert_eq!(
            v[0],
            json!({"time": "12:00:00", "cpu": 0, "samples": 4, "queued": 1, "occupancy_pct": 25.0})
        );
        assert_eq!(v[1]["cpu"], 1);
        assert_eq!(v[2]["unit"], "runqlen");
        assert_eq!(v[2]["count"], 8);
        assert_eq!(v[2]["buckets"][1], json!({"low": 1, "high": 1, "count": 1}));
        for obj in &v {
            // The buckets' keys are the histogram schema's (`{"low", "high", "count"}`).
            let mut top = obj.clone();
            top.as_object_mut().unwrap().remove("buckets");
            crate::row::assert_value_keys_in_schema("runqlen", &top);
        }
    }
}
