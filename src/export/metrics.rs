//! What a scrape produces: metric families as plain data (collectors fill
//! them, unit tests read them), encoded by prometheus-client into the
//! Prometheus text format or OpenMetrics.

use std::collections::{BTreeMap, HashSet};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// Every metric name starts with this.
pub const PREFIX: &str = "bpfkit_";

/// The label pairs of one series.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A histogram ready to encode: per-bucket (not cumulative) counts with their
/// upper bounds in base units, the last bound `+Inf`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hist {
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
}

impl Hist {
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }

    /// Bounds cumulated as Prometheus shows them (`le`, count so far).
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut total = 0;
        self.buckets
            .iter()
            .map(|&(le, n)| {
                total += n;
                (le, total)
            })
            .collect()
    }

    /// Adds another histogram with the same bounds.
    pub fn add(&mut self, other: &Hist) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.1 += theirs.1;
        }
        self.sum += other.sum;
    }
}

/// A log2 histogram from BPF: slot `i` counts values `v` (in `unit`
/// seconds, truncated) with `floor(log2(v)) == i` (slot 0 also holds 0),
/// i.e. true values below `2^(i+1)` units; so slot i's `le` is
/// `2^(i+1) * unit`. The last slot also holds every larger value: its
/// bound is `+Inf`. `sum` is in seconds.
pub fn log2_hist(slots: &[u64], unit: f64, sum: f64) -> Hist {
    let last = slots.len().saturating_sub(1);
    let buckets = slots
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let le = if i == last {
                f64::INFINITY
            } else {
                2f64.powi(i as i32 + 1) * unit
            };
            (le, n)
        })
        .collect();
    Hist { buckets, sum }
}

/// The log2 slot of `v` (as bits.bpf.h's log2l, capped at `max_slots - 1`),
/// for histograms built in user space from events.
pub fn log2_slot(v: u64, max_slots: usize) -> usize {
    let slot = if v == 0 {
        0
    } else {
        63 - v.leading_zeros() as usize
    };
    slot.min(max_slots - 1)
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
    Hist(Hist),
}

#[derive(Clone, Debug)]
pub struct Family {
    /// Without the prefix; counters without `_total` (the encoder adds it).
    pub name: String,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<(Labels, Value)>,
}

/// Everything one scrape found.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub families: Vec<Family>,
}

impl Metrics {
    pub fn family(&mut self, name: &str, help: &'static str, kind: Kind) -> &mut Family {
        if let Some(i) = self.families.iter().position(|f| f.name == name) {
            return &mut self.families[i];
        }
        self.families.push(Family {
            name: name.to_string(),
            help,
            kind,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("just pushed")
    }

    pub fn counter(&mut self, name: &str, help: &'static str, labels: Labels, v: u64) {
        self.family(name, help, Kind::Counter)
            .samples
            .push((labels, Value::Int(v)));
    }

    pub fn counter_f(&mut self, name: &str, help: &'static str, labels: Labels, v: f64) {
        self.family(name, help, Kind::Counter)
            .samples
            .push((labels, Value::Float(v)));
    }

    pub fn gauge(&mut self, name: &str, help: &'static str, labels: Labels, v: f64) {
        self.family(name, help, Kind::Gauge)
            .samples
            .push((labels, Value::Float(v)));
    }

    pub fn histogram(&mut self, name: &str, help: &'static str, labels: Labels, h: Hist) {
        self.family(name, help, Kind::Histogram)
            .samples
            .push((labels, Value::Hist(h)));
    }

    /// A sample by family name and label values (tests and the bench).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Value> {
        let f = self.families.iter().find(|f| f.name == name)?;
        f.samples
            .iter()
            .find(|(l, _)| {
                labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| v)
    }

    /// The Prometheus text format (0.0.4), or OpenMetrics text.
    pub fn encode(self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::with_prefix(PREFIX.trim_end_matches('_'));
        registry.register_collector(Box::new(Snapshot(self)));
        let mut text = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut text, &registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
        }
        Ok(text)
    }
}

/// Hands the families to prometheus-client's encoder.
#[derive(Debug)]
struct Snapshot(Metrics);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0.families {
            let kind = match f.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(&f.name, f.help, None, kind)?;
            for (labels, value) in &f.samples {
                let mut sample = metric.encode_family(labels)?;
                match (f.kind, value) {
                    (Kind::Counter, Value::Int(v)) => {
                        sample.encode_counter::<Labels, _, f64>(v, None)?
                    }
                    (Kind::Counter, Value::Float(v)) => {
                        sample.encode_counter::<Labels, _, f64>(v, None)?
                    }
                    (Kind::Gauge, Value::Int(v)) => sample.encode_gauge(&(*v as f64))?,
                    (Kind::Gauge, Value::Float(v)) => sample.encode_gauge(v)?,
                    (Kind::Histogram, Value::Hist(h)) => {
                        sample.encode_histogram::<Labels>(h.sum, h.count(), &h.buckets, None)?
                    }
                    _ => return Err(std::fmt::Error),
                }
            }
        }
        Ok(())
    }
}

/// Bounds a label's values: the first `max` values seen keep their own
/// series, later ones add up in one `other` series. Admission is for the
/// life of the process, so every series (and `other`) only goes up.
#[derive(Debug)]
pub struct LabelCap {
    max: usize,
    admitted: HashSet<String>,
}

pub const OTHER: &str = "other";

impl LabelCap {
    pub fn new(max: usize) -> Self {
        LabelCap {
            max,
            admitted: HashSet::new(),
        }
    }

    /// The label value `value` is shown under.
    pub fn label(&mut self, value: &str) -> String {
        if self.admitted.contains(value) {
            return value.to_string();
        }
        if self.admitted.len() < self.max && value != OTHER {
            self.admitted.insert(value.to_string());
            return value.to_string();
        }
        OTHER.to_string()
    }

    /// Sums `entries` by capped label, in label order. New values are
    /// admitted in the order given (callers sort for determinism).
    pub fn fold<V: Clone>(
        &mut self,
        entries: impl IntoIterator<Item = (String, V)>,
        add: impl Fn(&mut V, &V),
    ) -> BTreeMap<String, V> {
        let mut out: BTreeMap<String, V> = BTreeMap::new();
        for (k, v) in entries {
            let label = self.label(&k);
            match out.get_mut(&label) {
                Some(acc) => add(acc, &v),
                None => {
                    out.insert(label, v);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_slots_become_cumulative_le_buckets_in_seconds() {
        // Microsecond slots: 0-1 us, 2-3 us, 4-7 us, and "8 us or more".
        let h = log2_hist(&[3, 0, 2, 1], 1e-6, 0.000_042);
        assert_eq!(
            h.buckets,
            [(2e-6, 3), (4e-6, 0), (8e-6, 2), (f64::INFINITY, 1)]
        );
        assert_eq!(
            h.cumulative(),
            [(2e-6, 3), (4e-6, 3), (8e-6, 5), (f64::INFINITY, 6)]
        );
        assert_eq!(h.count(), 6);
        let text = {
            let mut m = Metrics::default();
            m.histogram("x_seconds", "X.", vec![], h);
            m.encode(false).unwrap()
        };
        assert!(text.contains("# TYPE bpfkit_x_seconds histogram"), "{text}");
        assert!(
            text.contains("bpfkit_x_seconds_bucket{le=\"2e-06\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("bpfkit_x_seconds_bucket{le=\"4e-06\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("bpfkit_x_seconds_bucket{le=\"+Inf\"} 6"),
            "{text}"
        );
        assert!(text.contains("bpfkit_x_seconds_count 6"), "{text}");
        assert!(
            text.contains("bpfkit_x_seconds_sum 0.000042")
                || text.contains("bpfkit_x_seconds_sum 4.2e-5"),
            "{text}"
        );
    }

    #[test]
    fn log2_slot_matches_bpf() {
        assert_eq!(log2_slot(0, 26), 0);
        assert_eq!(log2_slot(1, 26), 0);
        assert_eq!(log2_slot(2, 26), 1);
        assert_eq!(log2_slot(7, 26), 2);
        assert_eq!(log2_slot(8, 26), 3);
        assert_eq!(log2_slot(u64::MAX, 26), 25);
    }

    #[test]
    fn counters_get_total_and_labels() {
        let mut m = Metrics::default();
        m.counter("execs", "Execs.", vec![], 7);
        m.counter("signals", "Signals.", vec![("signal", "SIGTERM".into())], 2);
        m.gauge(
            "collector_up",
            "Up.",
            vec![("collector", "runqlat".into())],
            1.0,
        );
        let text = m.encode(false).unwrap();
        assert!(
            text.contains("# TYPE bpfkit_execs_total counter\nbpfkit_execs_total 7\n"),
            "{text}"
        );
        assert!(
            text.contains("bpfkit_signals_total{signal=\"SIGTERM\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("bpfkit_collector_up{collector=\"runqlat\"} 1"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
        let mut m = Metrics::default();
        m.counter("execs", "Execs.", vec![], 7);
        assert!(m.encode(true).unwrap().ends_with("# EOF\n"));
    }

    #[test]
    fn label_cap_overflows_into_other_and_stays_stable() {
        let mut cap = LabelCap::new(2);
        assert_eq!(cap.label("a"), "a");
        assert_eq!(cap.label("b"), "b");
        assert_eq!(cap.label("c"), OTHER);
        assert_eq!(cap.label("a"), "a");
        // A later scrape: "c" and "d" still go to other, "b" keeps its own.
        let folded = cap.fold(
            [("b".into(), 1u64), ("c".into(), 2), ("d".into(), 3)],
            |acc, v| *acc += v,
        );
        assert_eq!(
            folded.into_iter().collect::<Vec<_>>(),
            [("b".to_string(), 1), (OTHER.to_string(), 5)]
        );
        // A value literally named "other" never takes a slot of its own.
        let mut cap = LabelCap::new(5);
        assert_eq!(cap.label(OTHER), OTHER);
        assert_eq!(cap.admitted.len(), 0);
    }
}
