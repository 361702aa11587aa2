//! The interval loop of the summary tools (runqlat, tcprtt, hardirqs,
//! softirqs, xdpcount...): sleep an interval, print what was gathered,
//! repeat. How each tool prints (histograms, [`crate::row::Table`]s) is
//! theirs; this module only paces the prints and ends the loop.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Map, Value};

use crate::output::Output;

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

impl Tick {
    /// The interval's JSON fields: `{"time": "HH:MM:SS"}` with `-T`, else `{}`.
    pub fn fields(&self) -> Value {
        let mut m = Map::new();
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::from(t.as_str()));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_loop_counts_and_prints_blank_and_time_lines() {
        let (out, cap) = Output::captured(false);
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
        let t = cap.text();
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
        let (out, cap) = Output::captured(true);
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
        assert_eq!(cap.text(), "");
    }

    #[test]
    fn interval_loop_without_interval_prints_once_at_the_end() {
        let (out, _cap) = Output::captured(false);
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
        let (out, _cap) = Output::captured(false);
        let err = IntervalLoop::new(&out)
            .every(Some(Duration::from_millis(1)))
            .run(|_| anyhow::bail!("map gone"))
            .unwrap_err();
        assert_eq!(err.to_string(), "map gone");
    }

    #[test]
    fn tick_fields_hold_the_time_when_asked() {
        let tick = |time: Option<&str>| Tick {
            time: time.map(String::from),
            number: 1,
            last: false,
        };
        assert_eq!(tick(None).fields(), serde_json::json!({}));
        assert_eq!(
            tick(Some("12:00:00")).fields(),
            serde_json::json!({"time": "12:00:00"})
        );
    }
}
