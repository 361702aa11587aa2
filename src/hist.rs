//! Histograms as the libbpf-tools histogram tools print them, and the
//! interval loop those tools share (tcprtt, runqlat, hardirqs, softirqs...).
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

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::output::Output;

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

// ---------------------------------------------------------------------------
// The interval loop.

/// What the interval loop tells the tool at each print.
#[derive(Clone, Debug)]
pub struct Tick {
    /// `HH:MM:SS` when timestamps were asked for (`-T`).
    pub time: Option<String>,
    /// 1 for the first print.
    pub number: u64,
    /// This is the last print (count, duration or a stop request reached).
    pub last: bool,
}

/// Sleeps an interval, prints, repeats: the main loop of the histogram tools.
///
/// Each cycle waits `every` (or, without one, until the end), then in table
/// form writes an empty line and with `-T` a `HH:MM:SS` line (as
/// libbpf-tools do), and calls the tool's closure to read, print and clear
/// its maps. It ends after `count` prints, when `duration` has passed (with
/// a final print at that moment), on SIGINT/SIGTERM (with a final print of
/// what was gathered, like the C tools), or when stdout has gone away.
pub struct IntervalLoop<'a> {
    out: &'a Output,
    every: Option<Duration>,
    count: Option<u64>,
    duration: Option<Duration>,
    timestamp: bool,
    banner: String,
}

/// How long one sleep step lasts at most: the latency of noticing a stop.
const STEP: Duration = Duration::from_millis(100);

impl<'a> IntervalLoop<'a> {
    pub fn new(out: &'a Output) -> Self {
        IntervalLoop {
            out,
            every: None,
            count: None,
            duration: None,
            timestamp: false,
            banner: "Tracing... Hit Ctrl-C to end.".into(),
        }
    }

    /// Print every `every`; `None` prints once, at the end.
    pub fn every(mut self, every: Option<Duration>) -> Self {
        self.every = every.filter(|d| !d.is_zero());
        self
    }

    /// Stop after this many prints.
    pub fn count(mut self, count: Option<u64>) -> Self {
        self.count = count.filter(|&c| c > 0);
        self
    }

    /// Stop once this much time has passed (`-d`).
    pub fn duration(mut self, duration: Option<Duration>) -> Self {
        self.duration = duration;
        self
    }

    /// Print a `HH:MM:SS` line before each histogram (`-T`).
    pub fn timestamp(mut self, on: bool) -> Self {
        self.timestamp = on;
        self
    }

    /// The stderr line printed once the loop starts. Keep "Hit Ctrl-C to
    /// end" in it: the test harness waits for it.
    pub fn banner(mut self, line: impl Into<String>) -> Self {
        self.banner = line.into();
        self
    }

    /// Runs until done; `tick` reads, prints and clears the maps.
    pub fn run(self, mut tick: impl FnMut(&Tick) -> Result<()>) -> Result<()> {
        crate::stop::install_handler();
        self.out.flush();
        crate::output::note(format_args!("{}", self.banner));
        let start = Instant::now();
        // A time too far away to represent (`-d 18446744073709551615`) is
        // no deadline at all, not a panic.
        let end = self.duration.and_then(|d| start.checked_add(d));
        let mut number = 0u64;
        loop {
            let next = self.every.and_then(|e| nth_tick(start, e, number + 1));
            let wake = match (next, end) {
                (Some(n), Some(e)) => Some(n.min(e)),
                (n, e) => n.or(e),
            };
            self.sleep_until(wake);
            if self.out.is_closed() || crate::output::stdout_gone() {
                break;
            }
            number += 1;
            let last = crate::stop::requested()
                || end.is_some_and(|e| Instant::now() >= e)
                || self.count.is_some_and(|c| number >= c);
            if !self.out.is_json() {
                self.out.line(format_args!(""));
            }
            let time = self.timestamp.then(crate::fmt::hms_now);
            if let Some(t) = time.as_deref().filter(|_| !self.out.is_json()) {
                self.out.line(format_args!("{t:<8}"));
            }
            tick(&Tick { time, number, last })?;
            self.out.flush();
            if last {
                break;
            }
        }
        self.out.finish()
    }

    /// Sleeps until `wake` (forever if `None`), a stop request, or a closed
    /// stdout, whichever comes first.
    fn sleep_until(&self, wake: Option<Instant>) {
        loop {
            if crate::stop::requested() || self.out.is_closed() || crate::output::stdout_gone() {
                return;
            }
            let step = match wake {
                Some(w) => match w.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(STEP),
                    _ => return,
                },
                None => STEP,
            };
            std::thread::sleep(step);
        }
    }
}

/// `start + every * n`, or `None` when that is beyond what `Instant` holds.
fn nth_tick(start: Instant, every: Duration, n: u64) -> Option<Instant> {
    let n = u32::try_from(n).ok()?;
    start.checked_add(every.checked_mul(n)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct Capture(Rc<RefCell<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn capture(json: bool) -> (Capture, Output) {
        let cap = Capture::default();
        let out = Output::new(Box::new(cap.clone()), true, json);
        (cap, out)
    }

    fn text(c: &Capture) -> String {
        String::from_utf8(c.0.borrow().clone()).unwrap()
    }

    const BAR40: &str = "****************************************";

    #[test]
    fn empty_histogram_prints_nothing() {
        let h = Histogram::log2(&[0, 0, 0], "usecs");
        assert!(h.is_empty());
        assert!(h.lines().is_empty());
        assert!(h.buckets().is_empty());
        assert!(Histogram::log2(&[], "usecs").lines().is_empty());
        assert!(Histogram::linear(&[0; 4], 0, 1, "x").lines().is_empty());
        let (cap, out) = capture(false);
        h.print(&out, None, Value::Null);
        assert_eq!(text(&cap), "");
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
        let (cap, out) = capture(true);
        h.print(
            &out,
            Some("pid = 1 init"),
            json!({"pid": 1, "comm": "init"}),
        );
        let t = text(&cap);
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
    fn table_print_with_section_header() {
        let (cap, out) = capture(false);
        Histogram::log2(&[0, 1], "usecs").print(&out, Some("pid = 7 sh"), json!({"pid": 7}));
        assert_eq!(
            text(&cap),
            format!(
                "pid = 7 sh\n     usecs               : count    distribution\n         0 -> 1          : 0        |{}|\n         2 -> 3          : 1        |{BAR40}|\n",
                " ".repeat(40)
            )
        );
    }

    #[test]
    fn interval_loop_counts_and_prints_blank_and_time_lines() {
        let (cap, out) = capture(false);
        let mut seen = Vec::new();
        IntervalLoop::new(&out)
            .every(Some(Duration::from_millis(10)))
            .count(Some(3))
            .timestamp(true)
            .run(|t| {
                seen.push((t.number, t.last, t.time.is_some()));
                out.line(format_args!("tick {}", t.number));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![(1, false, true), (2, false, true), (3, true, true)]
        );
        let t = text(&cap);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 9, "{t}");
        assert_eq!(lines[0], "");
        assert_eq!(lines[1].len(), 8);
        assert_eq!(&lines[1][2..3], ":");
        assert_eq!(lines[2], "tick 1");
        assert_eq!(lines[8], "tick 3");
    }

    #[test]
    fn interval_loop_ends_at_the_duration_with_a_final_print() {
        let (cap, out) = capture(true);
        let start = Instant::now();
        let mut ticks = Vec::new();
        IntervalLoop::new(&out)
            .every(Some(Duration::from_millis(40)))
            .duration(Some(Duration::from_millis(100)))
            .run(|t| {
                ticks.push(t.last);
                Ok(())
            })
            .unwrap();
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        // 40, 80, then the end at 100 (fewer if the machine is slow): only
        // the print at the end is the last.
        assert!((1..=3).contains(&ticks.len()), "{ticks:?}");
        assert_eq!(ticks.iter().filter(|&&l| l).count(), 1, "{ticks:?}");
        assert_eq!(ticks.last(), Some(&true));
        // JSON output has no blank lines.
        assert_eq!(text(&cap), "");
    }

    #[test]
    fn interval_loop_without_interval_prints_once_at_the_end() {
        let (_cap, out) = capture(false);
        let mut n = 0;
        IntervalLoop::new(&out)
            .duration(Some(Duration::from_millis(50)))
            .run(|t| {
                n += 1;
                assert!(t.last);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn ticks_beyond_what_instant_holds_are_none() {
        let start = Instant::now();
        let sec = Duration::from_secs(1);
        assert_eq!(nth_tick(start, sec, 3), Some(start + 3 * sec));
        assert_eq!(nth_tick(start, Duration::from_secs(u64::MAX), 1), None);
        assert_eq!(
            nth_tick(start, Duration::from_secs(i64::MAX as u64), 2),
            None
        );
        assert_eq!(nth_tick(start, Duration::MAX, 1), None);
        assert_eq!(nth_tick(start, sec, u64::MAX), None);
    }

    #[test]
    fn interval_loop_passes_errors_on() {
        let (_cap, out) = capture(false);
        let err = IntervalLoop::new(&out)
            .every(Some(Duration::from_millis(1)))
            .run(|_| anyhow::bail!("map gone"))
            .unwrap_err();
        assert_eq!(err.to_string(), "map gone");
    }
}
