//! Histograms as the libbpf-tools histogram tools print them (tcprtt,
//! runqlat, hardirqs, softirqs...); their interval loop is [`crate::interval`].
//!
//! The BPF side counts into a slot array (`__u64 slots[N]`, see
//! `src/bpf/bits.bpf.h` for the log2 slot of a value); user space reads it
//! each interval and prints it here:
//!
//! - table output is byte for byte libbpf-tools `trace_helpers.c`
//!   `print_log2_hist` / `print_linear_hist` (header, `low -> high : count
//!   |stars|` rows, 40-star bars scaled to the largest bucket, wider columns
//!   and 20-star bars once a log2 histogram reaches past slot 32);
//! - JSON output is one object per histogram: the caller's key fields, then
//!   `unit`, `buckets` (`[{low, high, count}]`, the rows the table shows),
//!   `count` (sum of the buckets) and, where the BPF side keeps a running sum,
//!   `sum` and `avg`.
//!
//! A tool with one histogram per key (per PID, per IRQ, per address) prints
//! each with [`Histogram::print`], giving the section header line the table
//! shows above it (`pid = 123 comm`) and the same key as JSON fields.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::output::Output;

/// The interval loop lived here; kept importable from here for the tools
/// not yet moved to `bpfkit::interval`.
pub use crate::interval::{IntervalLoop, Tick};

/// Width of the star bar of a narrow histogram (the libbpf-tools default).
const STARS_MAX: u32 = 40;

/// How slot `i` maps to a value range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Slot `i` counts values in `[2^i, 2^(i+1))`; slot 0 also counts 0.
    Log2,
    /// Slot `i` counts values in `[base + i*step, base + (i+1)*step)`.
    Linear { base: u64, step: u64 },
}

/// One row: the value range `low..=high` and how many samples fell in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub low: u64,
    pub high: u64,
    pub count: u64,
}

/// A histogram read from a BPF map, ready to print.
#[derive(Clone, Debug)]
pub struct Histogram<'a> {
    slots: &'a [u64],
    kind: Kind,
    unit: &'a str,
    /// (sum of the values, number of values) kept beside the slots, for `avg`.
    sum: Option<(u64, u64)>,
}

impl<'a> Histogram<'a> {
    /// A power-of-two histogram; `unit` names the values (`usecs`, `msecs`).
    pub fn log2(slots: &'a [u64], unit: &'a str) -> Self {
        Histogram {
            slots,
            kind: Kind::Log2,
            unit,
            sum: None,
        }
    }

    /// A histogram of equal-width buckets starting at `base`.
    pub fn linear(slots: &'a [u64], base: u64, step: u64, unit: &'a str) -> Self {
        Histogram {
            slots,
            kind: Kind::Linear { base, step },
            unit,
            sum: None,
        }
    }

    /// Adds the running sum and count the BPF side kept (for `avg`).
    pub fn with_sum(mut self, sum: u64, count: u64) -> Self {
        self.sum = Some((sum, count));
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn unit(&self) -> &str {
        self.unit
    }

    /// No sample in any slot.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|&v| v == 0)
    }

    /// Samples over all slots.
    pub fn total(&self) -> u64 {
        self.slots.iter().fold(0u64, |a, &v| a.saturating_add(v))
    }

    /// `sum / count` from [`with_sum`](Self::with_sum), truncated like the C
    /// tools' `%llu`; `None` without a sum or with no samples.
    pub fn average(&self) -> Option<u64> {
        match self.sum {
            Some((sum, count)) if count > 0 => Some(sum / count),
            _ => None,
        }
    }

    /// Index of the last non-empty slot.
    fn idx_max(&self) -> Option<usize> {
        self.slots.iter().rposition(|&v| v > 0)
    }

    fn idx_min(&self) -> Option<usize> {
        self.slots.iter().position(|&v| v > 0)
    }

    fn val_max(&self) -> u64 {
        self.slots.iter().copied().max().unwrap_or(0)
    }

    /// The value range of log2 slot `i`, as `print_log2_hist` computes it.
    /// Slots past 63 have no u64 range; they saturate.
    fn log2_range(i: usize) -> (u64, u64) {
        let high = if i >= 63 {
            u64::MAX
        } else {
            (1u64 << (i + 1)) - 1
        };
        let low = if i >= 64 { u64::MAX } else { 1u64 << i };
        if low == high {
            (low - 1, high)
        } else {
            (low, high)
        }
    }

    /// The rows the table shows: a log2 histogram from slot 0 up to its
    /// last non-empty slot (zeros included), a linear one only its non-empty
    /// slots between the first and the last. Empty: no rows.
    pub fn buckets(&self) -> Vec<Bucket> {
        let Some(idx_max) = self.idx_max() else {
            return Vec::new();
        };
        match self.kind {
            Kind::Log2 => (0..=idx_max)
                .map(|i| {
                    let (low, high) = Self::log2_range(i);
                    Bucket {
                        low,
                        high,
                        count: self.slots[i],
                    }
                })
                .collect(),
            Kind::Linear { base, step } => {
                let idx_min = self.idx_min().unwrap_or(0);
                (idx_min..=idx_max)
                    .filter(|&i| self.slots[i] > 0)
                    .map(|i| {
                        let low = base.saturating_add((i as u64).saturating_mul(step));
                        let high = low.saturating_add(step.saturating_sub(1));
                        Bucket {
                            low,
                            high,
                            count: self.slots[i],
                        }
                    })
                    .collect()
            }
        }
    }

    /// The table lines, exactly as libbpf-tools prints them (no trailing
    /// newlines). An empty histogram prints nothing, not even its header.
    pub fn lines(&self) -> Vec<String> {
        let Some(idx_max) = self.idx_max() else {
            return Vec::new();
        };
        let val_max = self.val_max();
        let mut lines = Vec::new();
        match self.kind {
            Kind::Log2 => {
                let wide = idx_max > 32;
                let (pad, unit_w, width, stars) = if wide {
                    (15, 29, 20, STARS_MAX / 2)
                } else {
                    (5, 19, 10, STARS_MAX)
                };
                lines.push(format!(
                    "{:pad$}{:<unit_w$} : count    distribution",
                    "", self.unit
                ));
                for b in self.buckets() {
                    lines.push(format!(
                        "{:>width$} -> {:<width$} : {:<8} |{}|",
                        b.low,
                        b.high,
                        b.count,
                        star_bar(b.count, val_max, stars)
                    ));
                }
            }
            Kind::Linear { .. } => {
                lines.push(format!("     {:<13} : count     distribution", self.unit));
                for b in self.buckets() {
                    lines.push(format!(
                        "        {:<10} : {:<8} |{}|",
                        b.low,
                        b.count,
                        star_bar(b.count, val_max, STARS_MAX)
                    ));
                }
            }
        }
        lines
    }

    /// The JSON form: `unit`, `buckets`, `count`, and `sum`/`avg` when a sum
    /// was given.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("unit".into(), json!(self.unit));
        m.insert("buckets".into(), json!(self.buckets()));
        m.insert("count".into(), json!(self.total()));
        if let Some((sum, count)) = self.sum {
            m.insert("sum".into(), json!(sum));
            let avg = if count > 0 {
                sum as f64 / count as f64
            } else {
                0.0
            };
            m.insert("avg".into(), json!(avg));
        }
        m
    }

    /// Prints the histogram in the output's form.
    ///
    /// Table: `header` (if any) on its own line, then [`lines`](Self::lines).
    /// JSON: one object, the caller's `fields` (an object such as
    /// `{"pid": 123, "comm": "bash"}`; anything else is ignored) followed by
    /// [`to_json`](Self::to_json).
    pub fn print(&self, out: &Output, header: Option<&str>, fields: Value) {
        if out.is_json() {
            let mut obj = match fields {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            obj.extend(self.to_json());
            out.json(&Value::Object(obj));
        } else {
            if let Some(h) = header {
                out.line(format_args!("{h}"));
            }
            for l in self.lines() {
                out.line(format_args!("{l}"));
            }
        }
    }
}

/// Where a table puts an empty line around one histogram of a series
/// (JSON has none): runqlat's per-key histograms follow one, softirqs'
/// are followed by one, as the C tools print them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spacing {
    None,
    Before,
    After,
}

impl Histogram<'_> {
    /// [`print`](Self::print) with the table's empty line before or after.
    pub fn print_spaced(
        &self,
        out: &Output,
        spacing: Spacing,
        header: Option<&str>,
        fields: Value,
    ) {
        let blank = |when| {
            if spacing == when && !out.is_json() {
                out.line(format_args!(""));
            }
        };
        blank(Spacing::Before);
        self.print(out, header, fields);
        blank(Spacing::After);
    }
}

/// `print_stars`: `width` columns, `val * width / val_max` of them stars,
/// and a `+` if `val` overflows the scale.
fn star_bar(val: u64, val_max: u64, width: u32) -> String {
    let width = width as usize;
    if val_max == 0 {
        return " ".repeat(width);
    }
    let stars = (u128::from(val.min(val_max)) * width as u128 / u128::from(val_max)) as usize;
    let mut s = "*".repeat(stars);
    s.push_str(&" ".repeat(width - stars));
    if val > val_max {
        s.push('+');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    const BAR40: &str = "****************************************";

    #[test]
    fn empty_histogram_prints_nothing() {
        let h = Histogram::log2(&[0, 0, 0], "usecs");
        assert!(h.is_empty());
        assert!(h.lines().is_empty());
        assert!(h.buckets().is_empty());
        assert!(Histogram::log2(&[], "usecs").lines().is_empty());
        assert!(Histogram::linear(&[0; 4], 0, 1, "x").lines().is_empty());
        let (out, cap) = Output::captured(false);
        h.print(&out, None, Value::Null);
        assert_eq!(cap.text(), "");
    }

    #[test]
    fn one_bucket() {
        let h = Histogram::log2(&[5], "usecs");
        assert_eq!(
            h.lines(),
            vec![
                "     usecs               : count    distribution".to_string(),
                format!("         0 -> 1          : 5        |{BAR40}|"),
            ]
        );
    }

    #[test]
    fn leading_zeros_kept_trailing_zeros_trimmed() {
        // Like runqlat: rows from slot 0, up to the last non-empty slot.
        let h = Histogram::log2(&[0, 0, 4, 2, 1, 0, 0, 0], "usecs");
        let expected = concat!(
            "     usecs               : count    distribution\n",
            "         0 -> 1          : 0        |                                        |\n",
            "         2 -> 3          : 0        |                                        |\n",
            "         4 -> 7          : 4        |****************************************|\n",
            "         8 -> 15         : 2        |********************                    |\n",
            "        16 -> 31         : 1        |**********                              |"
        );
        assert_eq!(h.lines().join("\n"), expected);
        assert_eq!(
            h.buckets()[2],
            Bucket {
                low: 4,
                high: 7,
                count: 4
            }
        );
        assert_eq!(h.buckets().len(), 5);
    }

    #[test]
    fn stars_scale_to_the_largest_bucket_and_round_down() {
        // 40 * 1/3 = 13.33 -> 13 stars, 40 * 2/3 = 26.67 -> 26.
        assert_eq!(
            star_bar(1, 3, 40),
            format!("{}{}", "*".repeat(13), " ".repeat(27))
        );
        assert_eq!(
            star_bar(2, 3, 40),
            format!("{}{}", "*".repeat(26), " ".repeat(14))
        );
        assert_eq!(star_bar(3, 3, 40), BAR40);
        assert_eq!(star_bar(0, 3, 40), " ".repeat(40));
        // One sample against a million: below one star.
        assert_eq!(star_bar(1, 1_000_000, 40), " ".repeat(40));
        // Huge counts do not overflow (C's unsigned int would).
        assert_eq!(
            star_bar(u64::MAX / 2, u64::MAX, 40).matches('*').count(),
            19
        );
        assert_eq!(star_bar(5, 4, 40), format!("{BAR40}+"));
    }

    #[test]
    fn beyond_32_slots_uses_wide_columns() {
        let mut slots = vec![0u64; 40];
        slots[0] = 1;
        slots[33] = 2;
        let lines = Histogram::log2(&slots, "nsecs").lines();
        assert_eq!(
            lines[0],
            format!("{}{:<29} : count    distribution", " ".repeat(15), "nsecs")
        );
        assert_eq!(lines.len(), 1 + 34);
        assert_eq!(
            lines[1],
            format!(
                "{:>20} -> {:<20} : 1        |{}{}|",
                0,
                1,
                "*".repeat(10),
                " ".repeat(10)
            )
        );
        assert_eq!(
            lines[34],
            "          8589934592 -> 17179869183          : 2        |********************|"
        );
        // Exactly slot 32 is still narrow.
        let mut slots = vec![0u64; 33];
        slots[32] = 1;
        let lines = Histogram::log2(&slots, "usecs").lines();
        assert_eq!(
            lines[33],
            format!("4294967296 -> 8589934591 : 1        |{BAR40}|")
        );
    }

    #[test]
    fn ranges_at_the_top_of_u64() {
        assert_eq!(Histogram::log2_range(0), (0, 1));
        assert_eq!(Histogram::log2_range(1), (2, 3));
        assert_eq!(Histogram::log2_range(10), (1024, 2047));
        assert_eq!(Histogram::log2_range(63), (1 << 63, u64::MAX));
        let mut slots = vec![0u64; 64];
        slots[63] = 1;
        let lines = Histogram::log2(&slots, "ns").lines();
        assert!(
            lines[64].starts_with(" 9223372036854775808 -> 18446744073709551615 : 1 "),
            "{}",
            lines[64]
        );
    }

    #[test]
    fn counts_beyond_32_bits() {
        let big = 5_000_000_000u64;
        let lines = Histogram::log2(&[big, big / 2], "usecs").lines();
        assert_eq!(
            lines[1],
            format!("         0 -> 1          : 5000000000 |{BAR40}|")
        );
        assert_eq!(
            lines[2],
            format!(
                "         2 -> 3          : 2500000000 |{}{}|",
                "*".repeat(20),
                " ".repeat(20)
            )
        );
    }

    #[test]
    fn linear_histogram_like_print_linear_hist() {
        // base 0, step 1 (runqlen): only non-empty rows between first and last.
        let h = Histogram::linear(&[0, 3, 0, 6, 0, 0], 0, 1, "runqlen");
        let expected = format!(
            "     runqlen       : count     distribution\n        1          : 3        |{}{}|\n        3          : 6        |{BAR40}|",
            "*".repeat(20),
            " ".repeat(20)
        );
        assert_eq!(h.lines().join("\n"), expected);
        let h = Histogram::linear(&[2, 0, 1], 100, 10, "msecs");
        assert_eq!(
            h.buckets(),
            vec![
                Bucket {
                    low: 100,
                    high: 109,
                    count: 2
                },
                Bucket {
                    low: 120,
                    high: 129,
                    count: 1
                }
            ]
        );
        assert_eq!(
            h.lines()[2],
            format!(
                "        120        : 1        |{}{}|",
                "*".repeat(20),
                " ".repeat(20)
            )
        );
    }

    #[test]
    fn json_shape() {
        let h = Histogram::log2(&[1, 0, 3, 0], "usecs").with_sum(20, 4);
        let (out, cap) = Output::captured(true);
        h.print(
            &out,
            Some("pid = 1 init"),
            json!({"pid": 1, "comm": "init"}),
        );
        let t = cap.text();
        assert_eq!(t.lines().count(), 1, "{t}");
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v,
            json!({
                "pid": 1, "comm": "init", "unit": "usecs",
                "buckets": [
                    {"low": 0, "high": 1, "count": 1},
                    {"low": 2, "high": 3, "count": 0},
                    {"low": 4, "high": 7, "count": 3}
                ],
                "count": 4, "sum": 20, "avg": 5.0
            })
        );
        // Without a sum: no sum/avg; empty: no buckets.
        let v = Value::Object(Histogram::log2(&[0, 0], "msecs").to_json());
        assert_eq!(v, json!({"unit": "msecs", "buckets": [], "count": 0}));
        assert_eq!(Histogram::log2(&[1], "x").with_sum(7, 0).average(), None);
        assert_eq!(Histogram::log2(&[1], "x").with_sum(7, 2).average(), Some(3));
    }

    #[test]
    fn spaced_sections_have_their_empty_line_in_tables_only() {
        let h = Histogram::log2(&[1], "usecs");
        let (out, cap) = Output::captured(false);
        h.print_spaced(&out, Spacing::Before, Some("a"), Value::Null);
        h.print_spaced(&out, Spacing::After, Some("b"), Value::Null);
        let t = cap.text();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            (lines[0], lines[1], lines[4], lines[7]),
            ("", "a", "b", ""),
            "{t}"
        );
        assert_eq!(lines.len(), 8, "{t}");
        let (out, cap) = Output::captured(true);
        h.print_spaced(&out, Spacing::After, Some("b"), json!({"k": 1}));
        assert_eq!(cap.json_lines().len(), 1);
        assert!(!cap.text().contains("\n\n"));
    }

    #[test]
    fn table_print_with_section_header() {
        let (out, cap) = Output::captured(false);
        Histogram::log2(&[0, 1], "usecs").print(&out, Some("pid = 7 sh"), json!({"pid": 7}));
        assert_eq!(
            cap.text(),
            format!(
                "pid = 7 sh\n     usecs               : count    distribution\n         0 -> 1          : 0        |{}|\n         2 -> 3          : 1        |{BAR40}|\n",
                " ".repeat(40)
            )
        );
    }
}
